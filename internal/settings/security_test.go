package settings

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"metaflow-azure/internal/azurefacts"
)

func TestSecurityDefaults(t *testing.T) {
	t.Parallel()
	s, err := load(minimal())
	if err != nil {
		t.Fatal(err)
	}
	if s.AKS.NetworkDataplane != azurefacts.NetworkDataplaneCilium || !s.AKS.AzurePolicy || s.AKS.Defender {
		t.Errorf("aks security defaults: dataplane %q, policy %v, defender %v", s.AKS.NetworkDataplane, s.AKS.AzurePolicy, s.AKS.Defender)
	}
	if s.Storage.NetworkAccess != StorageAccessPublic || !s.Metaflow.TaskInternetEgress {
		t.Errorf("storage access %q, task internet %v", s.Storage.NetworkAccess, s.Metaflow.TaskInternetEgress)
	}
}

func TestSecuritySettingsRejects(t *testing.T) {
	t.Parallel()
	many := make([]string, azurefacts.StorageMaxIPRules+1)
	for i := range many {
		many[i] = fmt.Sprintf(`"20.%d.%d.1"`, i/250, i%250)
	}
	allow := func(cidrs string) map[string]string {
		return with(map[string]string{"metaflow-azure:storage": `{"networkAccess":"allowlist","allowedCidrs":` + cidrs + `}`})
	}
	for _, tt := range []struct {
		name    string
		config  map[string]string
		key     string
		message string
	}{
		{"dataplane", with(map[string]string{"metaflow-azure:aks": `{"networkDataplane":"calico"}`}), "aks.networkDataplane", "cilium, azure"},
		// 1.30 is also out of support; what matters here is that the Cilium table is consulted.
		{"minor without a cilium version", with(map[string]string{"metaflow-azure:aks": `{"kubernetesVersion":"1.30"}`}), "aks.kubernetesVersion", "no Cilium version for 1.30"},
		{"defender without monitoring", with(map[string]string{"metaflow-azure:aks": `{"defender":true}`, "metaflow-azure:monitoring": `{"enabled":false}`}), "aks.defender", "needs monitoring.enabled"},
		{"network access", with(map[string]string{"metaflow-azure:storage": `{"networkAccess":"vnet"}`}), "storage.networkAccess", "public, allowlist, private"},
		{"cidrs without allowlist", with(map[string]string{"metaflow-azure:storage": `{"allowedCidrs":["203.0.113.7"]}`}), "storage.allowedCidrs", "only read with storage.networkAccess: allowlist"},
		{"private range", allow(`["10.1.0.0/16"]`), "storage.allowedCidrs[0]", "private range"},
		{"slash 32", allow(`["203.0.113.7/32"]`), "storage.allowedCidrs[0]", "/31 or /32"},
		{"slash 31", allow(`["203.0.113.6/31"]`), "storage.allowedCidrs[0]", "/31 or /32"},
		{"ipv6", allow(`["2001:db8::1"]`), "storage.allowedCidrs[0]", "IPv4 addresses only"},
		{"not an address", allow(`["office"]`), "storage.allowedCidrs[0]", "not an IPv4 address"},
		{"host bits", allow(`["203.0.113.7/24"]`), "storage.allowedCidrs[0]", "did you mean 203.0.113.0/24"},
		{"twice", allow(`["203.0.113.7","203.0.113.7"]`), "storage.allowedCidrs[1]", "listed twice"},
		{"too many", allow("[" + strings.Join(many, ",") + "]"), "storage.allowedCidrs", "at most 200"},
		{"private endpoint subnet outside the vnet", with(map[string]string{"metaflow-azure:storage": `{"networkAccess":"private"}`, "metaflow-azure:network": `{"privateEndpointSubnetCidr":"10.41.0.0/28"}`}), "network.privateEndpointSubnetCidr", "inside network.vnetCidr"},
		{"private endpoint subnet overlaps postgres", with(map[string]string{"metaflow-azure:storage": `{"networkAccess":"private"}`, "metaflow-azure:network": `{"privateEndpointSubnetCidr":"10.40.8.0/28"}`}), "network.privateEndpointSubnetCidr", "overlaps network.postgresSubnetCidr"},
		{"private endpoint subnet too small", with(map[string]string{"metaflow-azure:storage": `{"networkAccess":"private"}`, "metaflow-azure:network": `{"privateEndpointSubnetCidr":"10.40.9.0/30"}`}), "network.privateEndpointSubnetCidr", "/29 or larger"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(tt.config)
			if !hasFieldError(err, "metaflow-azure:"+tt.key, tt.message) {
				t.Errorf("want an error on %s containing %q, got:\n%v", tt.key, tt.message, err)
			}
		})
	}
}

func TestSecuritySettingsAccepts(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]map[string]string{
		"allowlist":         {"metaflow-azure:storage": `{"networkAccess":"allowlist","allowedCidrs":["203.0.113.7","198.51.100.0/24","198.51.100.0/30"]}`},
		"private":           {"metaflow-azure:storage": `{"networkAccess":"private"}`},
		"private elsewhere": {"metaflow-azure:storage": `{"networkAccess":"private"}`, "metaflow-azure:network": `{"privateEndpointSubnetCidr":"10.40.10.0/29"}`},
		"azure dataplane":   {"metaflow-azure:aks": `{"networkDataplane":"azure"}`},
		"defender":          {"metaflow-azure:aks": `{"defender":true}`},
		"no task internet":  {"metaflow-azure:metaflow": `{"taskInternetEgress":false}`},
	} {
		if _, err := load(with(cfg)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSecurityWarnings(t *testing.T) {
	t.Parallel()
	for cfg, want := range map[string]string{
		`{"aks":{"networkDataplane":"azure"}}`:      "aks.networkDataplane: azure: the cluster has no network policy engine",
		`{"storage":{"networkAccess":"allowlist"}}`: "storage.allowedCidrs: is empty",
		`{"storage":{"networkAccess":"private"}}`:   "storage.networkAccess: private: only the VNet reaches the datastore; laptops",
	} {
		c := minimal()
		for k, v := range mustJSON(t, cfg) {
			c["metaflow-azure:"+k] = v
		}
		s, err := load(c)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(s.Warnings(), func(w string) bool { return strings.HasPrefix(w, want) }) {
			t.Errorf("%s: warnings %q, want one starting %q", cfg, s.Warnings(), want)
		}
	}
}

// mustJSON splits a JSON object of top-level settings into config values.
func mustJSON(t *testing.T, raw string) map[string]string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}
