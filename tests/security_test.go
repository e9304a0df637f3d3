package tests

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/fakeazure"
)

const (
	tPrivateEndpoint = "azure-native:network:PrivateEndpoint"
	tZoneGroup       = "azure-native:network:PrivateDnsZoneGroup"
	tPrivateZone     = "azure-native:network:PrivateZone"
	tZoneLink        = "azure-native:network:VirtualNetworkLink"
)

// New clusters run Azure CNI powered by Cilium, which enforces the NetworkPolicies, and a
// cluster that moves to it later (outside the stack) is not replaced: the dataplane fields are
// ignored on update.
func TestNewClustersRunCilium(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"dev", "prod"} {
		c := runStack(t, name).one(tCluster, "aks")
		for path, want := range map[string]string{
			"networkProfile.networkDataplane":  azurefacts.NetworkDataplaneCilium,
			"networkProfile.networkPolicy":     azurefacts.NetworkPolicyCilium,
			"networkProfile.networkPlugin":     "azure",
			"networkProfile.networkPluginMode": "overlay",
		} {
			if got := str(c.Inputs, path); got != want {
				t.Errorf("%s: %s = %q, want %q", name, path, got, want)
			}
		}
		for _, path := range []string{"networkProfile.networkDataplane", "networkProfile.networkPolicy"} {
			if !slices.Contains(c.IgnoreChanges, path) {
				t.Errorf("%s: the cluster must ignore changes of %s (a change of networkProfile replaces it)", name, path)
			}
		}
		parts := strings.Split(str(c.Inputs, "kubernetesVersion"), ".")
		minor, _ := strconv.Atoi(parts[1])
		if _, ok := azurefacts.CiliumMinimumVersion(minor); !ok {
			t.Errorf("%s: Kubernetes %s is not in Microsoft's Cilium table", name, str(c.Inputs, "kubernetesVersion"))
		}
	}
}

// aks.networkDataplane: azure sends the profile as the stack did before Cilium (no dataplane,
// no policy engine), so a cluster deployed then sees no change, and the plan warns.
func TestAzureDataplaneKeepsTheProfileOfOlderStacks(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev", "aks.networkDataplane=azure")
	c := s.one(tCluster, "aks")
	for _, path := range []string{"networkProfile.networkDataplane", "networkProfile.networkPolicy"} {
		if _, ok := prop(c.Inputs, path); ok {
			t.Errorf("%s is sent with aks.networkDataplane: azure", path)
		}
	}
	_, stderr, code := runCLI(t, "plan", "--stack", "dev", "--config", "aks.networkDataplane=azure")
	if code != 0 || !strings.Contains(stderr, "aks.networkDataplane: azure: the cluster has no network policy engine") {
		t.Errorf("plan must warn that nothing enforces the policies (exit %d):\n%s", code, stderr)
	}
}

// A stack deployed before Cilium cannot move to it through the stack: azure-native would replace
// the cluster. The program reads the deployed cluster from Azure: still on Azure's dataplane,
// the change is refused with the in-place command; moved outside the stack, it is accepted and
// recorded, as an update.
func TestMovingADeployedClusterToCilium(t *testing.T) {
	t.Parallel()
	first := runStack(t, "prod")
	applied := map[string]any{}
	for k, v := range first.outputs["appliedSettings"].Value.(map[string]any) {
		if k != "networkDataplane" { // deployed before the field existed
			applied[k] = v
		}
	}
	previous := map[string]any{"appliedSettings": applied}
	live := func(dataplane string) func(*fakeazure.Azure) {
		return func(f *fakeazure.Azure) { f.SetDeployedCluster("", dataplane) }
	}

	_, err := runDeployed("prod", previous, live(""))
	if err == nil || !strings.Contains(err.Error(), "metaflow-azure:aks.networkDataplane") ||
		!strings.Contains(err.Error(), "az aks update --resource-group rg-acme-metaflow-prod-westeurope --name aks-acme-metaflow-prod --network-dataplane cilium") {
		t.Errorf("moving a deployed Azure-dataplane cluster to Cilium: %v; want a refusal with the in-place command", err)
	}
	if _, err := runDeployed("prod", previous, live(""), "aks.networkDataplane=azure"); err != nil {
		t.Errorf("keeping Azure's dataplane was refused: %v", err)
	}
	moved, err := runDeployed("prod", previous, live(azurefacts.NetworkDataplaneCilium))
	if err != nil {
		t.Fatalf("a cluster moved to Cilium outside the stack was refused: %v", err)
	}
	if got := moved.outputs["appliedSettings"].Value.(map[string]any)["networkDataplane"]; got != azurefacts.NetworkDataplaneCilium {
		t.Errorf("the moved stack records %v, want cilium", got)
	}
	if !slices.ContainsFunc(moved.fake.Invokes(), func(i fakeazure.Invoke) bool {
		return i.Token == "azure-native:containerservice/v20241001:getManagedCluster"
	}) {
		t.Error("the program must read the deployed cluster from Azure before accepting the move")
	}
	// Once on Cilium, nothing is read again, and there is no documented way back.
	again := map[string]any{"appliedSettings": moved.outputs["appliedSettings"].Value}
	s, err := runWithPrevious("prod", again)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(s.fake.Invokes(), func(i fakeazure.Invoke) bool { return strings.HasSuffix(i.Token, ":getManagedCluster") }) {
		t.Error("a stack already on Cilium reads its cluster again")
	}
	if _, err := runWithPrevious("prod", again, "aks.networkDataplane=azure"); err == nil || !strings.Contains(err.Error(), "no way back") {
		t.Errorf("cilium -> azure: %v; want a refusal", err)
	}
}

// The Azure Policy add-on is on; the Defender profile is off unless asked for, and then reports
// to the stack's workspace.
func TestAzurePolicyAddonAndDefenderProfile(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"dev", "prod"} {
		c := runStack(t, name).one(tCluster, "aks")
		if on, _ := boolean(c.Inputs, "addonProfiles."+azurefacts.AzurePolicyAddon+".enabled"); !on {
			t.Errorf("%s: the Azure Policy add-on is off", name)
		}
		if _, ok := prop(c.Inputs, "securityProfile.defender"); ok {
			t.Errorf("%s: the Defender profile is on by default", name)
		}
	}
	s := runStack(t, "dev", "aks.defender=true", "aks.azurePolicy=false")
	c := s.one(tCluster, "aks")
	if _, ok := prop(c.Inputs, "addonProfiles."+azurefacts.AzurePolicyAddon); ok {
		t.Error("aks.azurePolicy: false still sends the add-on")
	}
	if on, _ := boolean(c.Inputs, "securityProfile.defender.securityMonitoring.enabled"); !on {
		t.Error("aks.defender: true does not turn security monitoring on")
	}
	if got, want := str(c.Inputs, "securityProfile.defender.logAnalyticsWorkspaceResourceId"), s.one(tWorkspace, "monitoring-workspace").ID; got != want {
		t.Errorf("the Defender profile reports to %q, want the stack's workspace %q", got, want)
	}
	if _, err := tryStack("dev", "aks.defender=true", "monitoring.enabled=false"); err == nil || !strings.Contains(err.Error(), "aks.defender") {
		t.Errorf("aks.defender without monitoring: %v", err)
	}
}

// storage.networkAccess: public sends no firewall (as before); allowlist denies all but the
// listed addresses and the AKS subnet through its service endpoint; private disables public
// access and gives the blob service a private endpoint resolved through its private DNS zone.
func TestStorageNetworkAccess(t *testing.T) {
	t.Parallel()
	public := runStack(t, "prod")
	if _, ok := prop(public.one(tStorage, "datastore-account").Inputs, "networkRuleSet"); ok {
		t.Error("public access sends a firewall")
	}
	if len(list(public.one(tSubnet, "network-aks").Inputs, "serviceEndpoints")) != 0 || len(public.all(tPrivateEndpoint)) != 0 {
		t.Error("public access adds a service endpoint or a private endpoint")
	}

	allow := runStack(t, "prod", "storage.networkAccess=allowlist", `storage.allowedCidrs=["203.0.113.7","198.51.100.0/24"]`)
	account := allow.one(tStorage, "datastore-account")
	aks := allow.one(tSubnet, "network-aks")
	if str(account.Inputs, "networkRuleSet.defaultAction") != "Deny" || str(account.Inputs, "networkRuleSet.bypass") != "None" {
		t.Errorf("allowlist firewall: %v", account.Inputs["networkRuleSet"])
	}
	var ips []string
	for _, r := range list(account.Inputs, "networkRuleSet.ipRules") {
		ips = append(ips, str(r.ObjectValue(), "iPAddressOrRange"))
	}
	if !slices.Equal(ips, []string{"203.0.113.7", "198.51.100.0/24"}) {
		t.Errorf("IP rules %v", ips)
	}
	rules := list(account.Inputs, "networkRuleSet.virtualNetworkRules")
	if len(rules) != 1 || str(rules[0].ObjectValue(), "virtualNetworkResourceId") != aks.ID {
		t.Errorf("virtual network rules %v, want the AKS subnet %s", rules, aks.ID)
	}
	endpoints := list(aks.Inputs, "serviceEndpoints")
	if len(endpoints) != 1 || str(endpoints[0].ObjectValue(), "service") != azurefacts.StorageServiceEndpoint {
		t.Errorf("AKS subnet service endpoints %v, want %s", endpoints, azurefacts.StorageServiceEndpoint)
	}

	private := runStack(t, "prod", "storage.networkAccess=private", "network.privateEndpointSubnetCidr=10.60.17.0/28")
	account = private.one(tStorage, "datastore-account")
	if str(account.Inputs, "publicNetworkAccess") != "Disabled" || str(account.Inputs, "networkRuleSet.defaultAction") != "Deny" {
		t.Errorf("private access: publicNetworkAccess %q, defaultAction %q", str(account.Inputs, "publicNetworkAccess"), str(account.Inputs, "networkRuleSet.defaultAction"))
	}
	pe := private.one(tPrivateEndpoint, "datastore-blob-endpoint")
	subnet := private.one(tSubnet, "network-pep")
	conn := list(pe.Inputs, "privateLinkServiceConnections")
	if str(pe.Inputs, "subnet.id") != subnet.ID || len(conn) != 1 ||
		str(conn[0].ObjectValue(), "privateLinkServiceId") != account.ID ||
		!slices.Equal(strings_(list(conn[0].ObjectValue(), "groupIds")), []string{azurefacts.BlobPrivateLinkGroup}) {
		t.Errorf("private endpoint %v", pe.Inputs)
	}
	if str(subnet.Inputs, "addressPrefix") != "10.60.17.0/28" {
		t.Errorf("private endpoint subnet %q", str(subnet.Inputs, "addressPrefix"))
	}
	zone := private.one(tPrivateZone, "datastore-blob-zone")
	group := private.one(tZoneGroup, "datastore-blob-zone-group")
	if str(zone.Inputs, "privateZoneName") != azurefacts.BlobPrivateDNSZone ||
		str(list(group.Inputs, "privateDnsZoneConfigs")[0].ObjectValue(), "privateDnsZoneId") != zone.ID {
		t.Errorf("private DNS zone %q, zone group %v", str(zone.Inputs, "privateZoneName"), group.Inputs)
	}
	link := private.one(tZoneLink, "datastore-blob-zone-link")
	if str(link.Inputs, "privateZoneName") != azurefacts.BlobPrivateDNSZone || str(link.Inputs, "virtualNetwork.id") != private.one("azure-native:network:VirtualNetwork", "network-vnet").ID {
		t.Errorf("the blob zone must be linked to the stack's VNet: %v", link.Inputs)
	}
}

// The conformance layer knows the new facts: the dataplane's enum, and that Cilium policy needs
// the Cilium dataplane.
func TestConformanceRefusesWrongNetworkProfiles(t *testing.T) {
	t.Parallel()
	s := runStack(t, "prod")
	c := s.one(tCluster, "aks")
	for _, tc := range []struct {
		name   string
		change func(resource.PropertyMap)
		want   string
	}{
		{"dataplane the API does not list", set("networkProfile.networkDataplane", "ebpf"), "ENUM_MISMATCH properties.networkProfile.networkDataplane"},
		{"policy engine the API does not list", set("networkProfile.networkPolicy", "antrea"), "ENUM_MISMATCH properties.networkProfile.networkPolicy"},
		{"cilium policy on Azure's dataplane", set("networkProfile.networkDataplane", "azure"), "CiliumPolicyNeedsCiliumDataplane networkProfile.networkPolicy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := corrupt(t, s, c, tc.change)
			if !strings.Contains(strings.Join(got, "; "), tc.want) {
				t.Errorf("refusals %v; want %q", got, tc.want)
			}
		})
	}
}
