package armcontract

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func mustLoad(t *testing.T) *Contracts {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The default (2023-04-01) AKS tokens have a contract but the stack never sends them (it pins
// containerservice/v20241001), so nobody read their mutability; tests/ checks that every type the
// stack declares has it.
func TestMutabilityIsReadForTheTokensTheStackSends(t *testing.T) {
	c := mustLoad(t)
	for _, tok := range c.Tokens() {
		rc := c.byToken[tok]
		if rc.res.Body == "" || strings.HasPrefix(tok, "azure-native:containerservice:") {
			continue
		}
		if !c.HasMutability(tok) {
			t.Errorf("%s: no entry in %s", tok, mutabilityFile)
		}
	}
}

// Every create-only path names a property the request body really has, so a misspelt path
// cannot silently make a replacement an update.
func TestCreateOnlyPathsExistInTheRequestBody(t *testing.T) {
	c := mustLoad(t)
	for _, tok := range c.Tokens() {
		rc := c.byToken[tok]
		for _, p := range rc.createOnly {
			if !rc.bodyHas(p) {
				t.Errorf("%s: create-only path %q is not in the body model %s", tok, p, rc.res.Body)
			}
		}
	}
}

func (rc *resourceContract) bodyHas(p string) bool {
	model := rc.res.Body
	segs := strings.Split(p, ".")
	for i, seg := range segs {
		seg = strings.TrimSuffix(seg, "[]")
		idx, ok := rc.file.byName[model][strings.ToLower(seg)]
		if !ok {
			return false
		}
		f := rc.file.Models[model].Fields[idx]
		typ := strings.TrimPrefix(f.Type, "[]")
		if i == len(segs)-1 {
			return true
		}
		next, isObj := strings.CutPrefix(typ, "object:")
		if !isObj {
			return false
		}
		model = next
	}
	return false
}

func props(m map[string]any) resource.PropertyMap { return resource.NewPropertyMapFromMap(m) }

func server(over map[string]any) resource.PropertyMap {
	in := map[string]any{
		"resourceGroupName": "rg", "serverName": "psql-a", "location": "westeurope",
		"administratorLogin": "metaflowadmin", "administratorLoginPassword": "p",
		"version": "16", "sku": map[string]any{"name": "Standard_B1ms", "tier": "Burstable"},
		"storage":           map[string]any{"storageSizeGB": 32},
		"backup":            map[string]any{"backupRetentionDays": 7, "geoRedundantBackup": "Disabled"},
		"tags":              map[string]any{"environment": "dev"},
		"network":           map[string]any{"publicNetworkAccess": "Disabled"},
		"maintenanceWindow": map[string]any{"customWindow": "Enabled", "dayOfWeek": 0, "startHour": 2, "startMinute": 0},
	}
	for k, v := range over {
		in[k] = v
	}
	return props(in)
}

// The decisions that matter on day 2, each from the spec's data: what replaces and what updates.
func TestDiffDecidesFromTheContract(t *testing.T) {
	c := mustLoad(t)
	const pg = "azure-native:dbforpostgresql/v20240801:Server"
	cases := []struct {
		name    string
		token   string
		olds    resource.PropertyMap
		news    resource.PropertyMap
		replace []string // ARM paths that must replace; every other change must update
		updates []string
	}{
		{"sku up", pg, server(nil), server(map[string]any{"sku": map[string]any{"name": "Standard_D2ds_v5", "tier": "GeneralPurpose"}}),
			nil, []string{"sku.name", "sku.tier"}},
		{"storage grows", pg, server(nil), server(map[string]any{"storage": map[string]any{"storageSizeGB": 64}}),
			nil, []string{"properties.storage.storageSizeGB"}},
		{"major upgrade", pg, server(nil), server(map[string]any{"version": "17"}), nil, []string{"properties.version"}},
		{"password", pg, server(nil), server(map[string]any{"administratorLoginPassword": "q"}), nil, []string{"properties.administratorLoginPassword"}},
		{"tags", pg, server(nil), server(map[string]any{"tags": map[string]any{"environment": "prod"}}), nil, []string{"tags.environment"}},
		{"login", pg, server(nil), server(map[string]any{"administratorLogin": "other"}), []string{"properties.administratorLogin"}, nil},
		{"geo backup", pg, server(nil), server(map[string]any{"backup": map[string]any{"backupRetentionDays": 7, "geoRedundantBackup": "Enabled"}}),
			[]string{"properties.backup.geoRedundantBackup"}, nil},
		{"location", pg, server(nil), server(map[string]any{"location": "northeurope"}), []string{"location"}, nil},
		{"name", pg, server(nil), server(map[string]any{"serverName": "psql-b"}), []string{"{serverName}"}, nil},
		{"resource group", pg, server(nil), server(map[string]any{"resourceGroupName": "rg2"}), []string{"{resourceGroupName}"}, nil},
		{"identity location", "azure-native:managedidentity:UserAssignedIdentity",
			props(map[string]any{"resourceGroupName": "rg", "resourceName": "id", "location": "westeurope"}),
			props(map[string]any{"resourceGroupName": "rg", "resourceName": "id", "location": "northeurope"}),
			[]string{"location"}, nil},
		{"pool size", "azure-native:containerservice/v20241001:AgentPool",
			props(map[string]any{"resourceGroupName": "rg", "resourceName": "aks", "agentPoolName": "tasks", "maxCount": 5, "vmSize": "Standard_D4ds_v5"}),
			props(map[string]any{"resourceGroupName": "rg", "resourceName": "aks", "agentPoolName": "tasks", "maxCount": 9, "vmSize": "Standard_D4ds_v5"}),
			nil, []string{"properties.maxCount"}},
		{"pool VM size (azure-native's forceNewMap)", "azure-native:containerservice/v20241001:AgentPool",
			props(map[string]any{"resourceGroupName": "rg", "resourceName": "aks", "agentPoolName": "gpu", "maxCount": 5, "vmSize": "Standard_NC24ads_A100_v4"}),
			props(map[string]any{"resourceGroupName": "rg", "resourceName": "aks", "agentPoolName": "gpu", "maxCount": 5, "vmSize": "Standard_NC48ads_A100_v4"}),
			[]string{"properties.vmSize"}, nil},
		{"assignment principal (azure-native's forceNewMap)", "azure-native:authorization:RoleAssignment",
			props(map[string]any{"scope": "/s", "roleAssignmentName": "a", "principalId": "p1", "roleDefinitionId": "/r"}),
			props(map[string]any{"scope": "/s", "roleAssignmentName": "a", "principalId": "p2", "roleDefinitionId": "/r"}),
			[]string{"properties.principalId"}, nil},
		{"assignment description", "azure-native:authorization:RoleAssignment",
			props(map[string]any{"scope": "/s", "roleAssignmentName": "a", "principalId": "p1", "roleDefinitionId": "/r", "description": "x"}),
			props(map[string]any{"scope": "/s", "roleAssignmentName": "a", "principalId": "p1", "roleDefinitionId": "/r", "description": "y"}),
			nil, []string{"properties.description"}},
		{"subnet prefix", "azure-native:network:Subnet",
			props(map[string]any{"resourceGroupName": "rg", "virtualNetworkName": "vnet", "subnetName": "s", "addressPrefix": "10.0.0.0/24"}),
			props(map[string]any{"resourceGroupName": "rg", "virtualNetworkName": "vnet", "subnetName": "s", "addressPrefix": "10.0.0.0/23"}),
			nil, []string{"properties.addressPrefix"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			changes, err := c.Diff(tc.token, tc.olds, tc.news)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, ch := range changes {
				got[ch.Path] = ch.Replace
			}
			for _, p := range tc.replace {
				if r, ok := got[p]; !ok || !r {
					t.Errorf("%s: want a replacement, got changes %+v", p, changes)
				}
			}
			for _, p := range tc.updates {
				if r, ok := got[p]; !ok || r {
					t.Errorf("%s: want an in-place update, got changes %+v", p, changes)
				}
			}
			if len(changes) != len(tc.replace)+len(tc.updates) {
				t.Errorf("changes %+v, want exactly %v replaced and %v updated", changes, tc.replace, tc.updates)
			}
		})
	}
}

func TestDiffOfEqualOrUnknownInputsIsEmpty(t *testing.T) {
	c := mustLoad(t)
	const tok = "azure-native:managedidentity:UserAssignedIdentity"
	in := props(map[string]any{"resourceGroupName": "rg", "resourceName": "id", "location": "westeurope", "tags": map[string]any{"a": "b"}})
	if ch, err := c.Diff(tok, in, in.Copy()); err != nil || len(ch) != 0 {
		t.Fatalf("equal inputs: %+v %v", ch, err)
	}
	secret := in.Copy()
	secret["tags"] = resource.MakeSecret(secret["tags"])
	if ch, err := c.Diff(tok, in, secret); err != nil || len(ch) != 0 {
		t.Fatalf("the same value made secret is no change: %+v %v", ch, err)
	}
	unknown := in.Copy()
	unknown["resourceGroupName"] = resource.MakeComputed(resource.NewStringProperty(""))
	ch, err := c.Diff(tok, in, unknown)
	if err != nil || len(ch) != 0 {
		t.Fatalf("an unknown new value counts as the same, as in azure-native's diff: %+v %v", ch, err)
	}
}

func TestDiffRefusesATokenWithoutMutabilityData(t *testing.T) {
	c := mustLoad(t)
	c.byToken["azure-native:storage:BlobContainer"].mutabilityRead = false
	if _, err := c.Diff("azure-native:storage:BlobContainer", resource.PropertyMap{}, resource.PropertyMap{}); err == nil {
		t.Fatal("no error for a token whose mutability was never read")
	}
}

// azure-native's forceNewMap names inputs; each must be an input the resource has, or a typo
// would silently turn a replacement into an update.
func TestProviderForceNewInputsExist(t *testing.T) {
	c := mustLoad(t)
	n := 0
	for _, tok := range c.Tokens() {
		rc := c.byToken[tok]
		for _, in := range rc.forceNew {
			n++
			if _, _, _, ok := rc.field(rc.res.Body, in); !ok {
				t.Errorf("%s: forceNew input %q is not an input of %s", tok, in, rc.res.Body)
			}
		}
	}
	if n == 0 {
		t.Fatal("no forceNew input loaded")
	}
}

func TestClusterUpgradeUpdatesAndNetworkChangeReplaces(t *testing.T) {
	c := mustLoad(t)
	const tok = "azure-native:containerservice/v20241001:ManagedCluster"
	base := func(version, policy string) resource.PropertyMap {
		return props(map[string]any{"resourceGroupName": "rg", "resourceName": "aks", "location": "westeurope", "dnsPrefix": "aks",
			"kubernetesVersion": version, "networkProfile": map[string]any{"networkPlugin": "azure", "networkPolicy": policy}})
	}
	ch, err := c.Diff(tok, base("1.35", ""), base("1.36", ""))
	if err != nil || len(ch) != 1 || ch[0].Replace {
		t.Errorf("a Kubernetes upgrade must be an in-place update: %+v %v", ch, err)
	}
	ch, err = c.Diff(tok, base("1.36", "azure"), base("1.36", "cilium"))
	if err != nil || len(ch) != 1 || !ch[0].Replace {
		t.Errorf("azure-native replaces the cluster on any networkProfile change: %+v %v", ch, err)
	}
}

// The IDs the fake Azure gives resources are the ones their contracts' paths give: the same rule
// azure-native follows, checked on three shapes (a top-level resource, a child with a constant
// segment, an extension resource under a scope).
func TestResourceIDFillsTheContractsPath(t *testing.T) {
	c := mustLoad(t)
	const sub = "00000000-0000-4000-8000-00000000cafe"
	rg := "/subscriptions/" + sub + "/resourceGroups/rg-a"
	for _, tc := range []struct {
		token  string
		inputs map[string]any
		want   string
	}{
		{"azure-native:network:Subnet", map[string]any{"resourceGroupName": "rg-a", "virtualNetworkName": "vnet", "subnetName": "s1", "addressPrefix": "10.0.0.0/24"},
			rg + "/providers/Microsoft.Network/virtualNetworks/vnet/subnets/s1"},
		{"azure-native:storage:BlobContainer", map[string]any{"resourceGroupName": "rg-a", "accountName": "st", "containerName": "metaflow"},
			rg + "/providers/Microsoft.Storage/storageAccounts/st/blobServices/default/containers/metaflow"},
		{"azure-native:authorization:ManagementLockByScope", map[string]any{"scope": rg + "/providers/Microsoft.Storage/storageAccounts/st", "lockName": "l", "level": "CanNotDelete"},
			rg + "/providers/Microsoft.Storage/storageAccounts/st/providers/Microsoft.Authorization/locks/l"},
	} {
		got, err := c.ResourceID(tc.token, props(tc.inputs), sub)
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.token, got, err, tc.want)
		}
	}
	if _, err := c.ResourceID("azure-native:network:Subnet", props(map[string]any{"resourceGroupName": "rg-a"}), sub); err == nil {
		t.Error("missing path parameters must be an error")
	}
}
