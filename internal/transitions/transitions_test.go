package transitions

import (
	"errors"
	"strings"
	"testing"

	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/settings"
)

func applied() Applied {
	return Applied{SystemPoolVMSize: "Standard_D4ds_v5", AzureRBAC: true, GeoRedundantBackup: false, KubernetesMinor: 36, PostgresMajor: 16}
}

func TestCheckRefusesWhatAzureCannotChange(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Applied)
		key    string
		msg    string
	}{
		{"system pool size", func(a *Applied) { a.SystemPoolVMSize = "Standard_D8ds_v5" }, "aks.systemPool.vmSize", "cannot change the VM size"},
		{"azure rbac off", func(a *Applied) { a.AzureRBAC = false }, "aks.azureRbac", "cannot go back to false"},
		{"geo backup on", func(a *Applied) { a.GeoRedundantBackup = true }, "postgres.geoRedundantBackup", "fixed when the PostgreSQL server is created"},
		{"kubernetes downgrade", func(a *Applied) { a.KubernetesMinor = 35 }, "aks.kubernetesVersion", "downgrade"},
		{"postgres downgrade", func(a *Applied) { a.PostgresMajor = 15 }, "postgres.version", "downgrade"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prev, next := applied(), applied()
			tc.change(&next)
			err := Check(&prev, next, Deployed{})
			var fe *settings.FieldError
			if !errors.As(err, &fe) || fe.Path != tc.key || !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("Check: %v; want an error on %s containing %q", err, tc.key, tc.msg)
			}
		})
	}
}

func TestCheckAllowsWhatAzureCanChange(t *testing.T) {
	prev := applied()
	next := applied()
	next.KubernetesMinor, next.PostgresMajor = 37, 17
	if err := Check(&prev, next, Deployed{}); err != nil {
		t.Errorf("upgrades refused: %v", err)
	}
	prev.AzureRBAC = false
	next.AzureRBAC = true
	if err := Check(&prev, next, Deployed{}); err != nil {
		t.Errorf("turning Azure RBAC on refused: %v", err)
	}
	if err := Check(nil, next, Deployed{}); err != nil {
		t.Errorf("a first deployment refused: %v", err)
	}
}

func TestParse(t *testing.T) {
	a, err := Parse(map[string]any{"systemPoolVmSize": "Standard_D4ds_v5", "azureRbac": true, "kubernetesMinor": 36.0})
	if err != nil || a.SystemPoolVMSize != "Standard_D4ds_v5" || !a.AzureRBAC || a.KubernetesMinor != 36 {
		t.Errorf("Parse: %+v, %v", a, err)
	}
	if a, err := Parse(nil); a != nil || err != nil {
		t.Errorf("Parse(nil) = %+v, %v", a, err)
	}
}

// Role assignments on the datastore container sit under the delete-locked storage account, so
// removing one is refused while the locks stand, or in the up that sets or lifts them.
func TestCheckRefusesRemovingADatastoreGrantUnderDeleteLocks(t *testing.T) {
	locked := func(grants ...string) Applied {
		a := applied()
		a.DeleteLocks, a.DatastoreGrants = true, grants
		return a
	}
	refused := func(name string, prev *Applied, next Applied, key, msg string) {
		t.Helper()
		var fe *settings.FieldError
		err := Check(prev, next, Deployed{})
		if !errors.As(err, &fe) || fe.Path != key || !strings.Contains(fe.Msg, msg) || !strings.Contains(fe.Msg, "protectData: false") {
			t.Errorf("%s: Check = %v; want a refusal on %s containing %q and the way out", name, err, key, msg)
		}
	}
	runner := GrantFlowRunner + "3f2a9c1e-0000-4000-8000-000000000001"
	prev := locked(GrantWorkloadIdentities, runner)
	refused("flow runner removed", &prev, locked(GrantWorkloadIdentities), "access.flowRunners", "removing flow runner 3f2a9c1e")
	refused("to client secret", &prev, locked(GrantClientSecret, runner), "identity.clientSecret", "from workload identity")
	lifting := locked(GrantWorkloadIdentities)
	lifting.DeleteLocks = false
	refused("removed while lifting the locks", &prev, lifting, "access.flowRunners", "removing flow runner")

	// A deployment made before the stack recorded its grants used the client secret; upgrading
	// a protected stack to workload identity in one up would fail on Azure.
	old := applied()
	refused("upgrade of a protected stack", &old, locked(GrantWorkloadIdentities), "identity.clientSecret", "keep identity.clientSecret: true")

	for name, next := range map[string]Applied{
		"flow runner added":     locked(GrantWorkloadIdentities, runner, GrantFlowRunner+"other"),
		"locks lifted, same":    func() Applied { a := locked(GrantWorkloadIdentities, runner); a.DeleteLocks = false; return a }(),
		"nothing changed":       locked(GrantWorkloadIdentities, runner),
		"unlocked, runner gone": func() Applied { a := applied(); a.DatastoreGrants = []string{GrantWorkloadIdentities}; return a }(),
	} {
		p := prev
		if name == "unlocked, runner gone" {
			p.DeleteLocks = false
		}
		if err := Check(&p, next, Deployed{}); err != nil {
			t.Errorf("%s: refused: %v", name, err)
		}
	}
}

func TestFromSettingsRecordsLocksAndGrants(t *testing.T) {
	s := settings.Defaults()
	s.ProtectData = true
	s.Access.FlowRunners = []settings.Principal{{ObjectID: "abc", Type: "Group"}}
	a := FromSettings(&s)
	if !a.DeleteLocks || strings.Join(a.DatastoreGrants, ",") != GrantWorkloadIdentities+","+GrantFlowRunner+"abc" {
		t.Errorf("FromSettings: locks %v grants %v", a.DeleteLocks, a.DatastoreGrants)
	}
	s.Identity.ClientSecret = true
	if a := FromSettings(&s); a.DatastoreGrants[0] != GrantClientSecret {
		t.Errorf("client-secret mode grants %v", a.DatastoreGrants)
	}
}

// Monitoring off deletes the diagnostic settings, extension resources of the locked storage account
// and server: refused while the locks are on (or go on in the same up), allowed once they are off.
func TestCheckRefusesMonitoringOffUnderDeleteLocks(t *testing.T) {
	on, off := true, false
	state := func(locks bool, diagnostics *bool) Applied {
		return Applied{DeleteLocks: locks, DatastoreGrants: []string{GrantWorkloadIdentities}, Diagnostics: diagnostics}
	}
	for name, tc := range map[string]struct {
		prev, next Applied
		refused    bool
	}{
		"locked, monitoring off":             {state(true, &on), state(true, &off), true},
		"locks going on in the same up":      {state(false, &on), state(true, &off), true},
		"recorded before the field, locked":  {state(true, nil), state(true, &off), true},
		"locks lifted first":                 {state(false, &on), state(false, &off), false},
		"locked, monitoring stays on":        {state(true, &on), state(true, &on), false},
		"locked, monitoring already was off": {state(true, &off), state(true, &off), false},
		"locked, monitoring back on":         {state(true, &off), state(true, &on), false},
	} {
		err := Check(&tc.prev, tc.next, Deployed{})
		if got := err != nil; got != tc.refused || (got && !strings.Contains(err.Error(), "protectData: false")) {
			t.Errorf("%s: refused %v (%v), want %v with the way out", name, got, err, tc.refused)
		}
	}
	s := settings.Defaults()
	if a := FromSettings(&s); a.Diagnostics == nil || !*a.Diagnostics {
		t.Error("FromSettings must record monitoring's diagnostic settings")
	}
}

// azure-native replaces a ManagedCluster on any change of networkProfile, so the dataplane
// changes only where the cluster was already moved outside the stack; there is no way back.
func TestCheckNetworkDataplane(t *testing.T) {
	old := applied() // deployed before the field existed: Azure's dataplane
	cilium := applied()
	cilium.NetworkDataplane = azurefacts.NetworkDataplaneCilium
	azure := applied()
	azure.NetworkDataplane = azurefacts.NetworkDataplaneAzure

	if !NeedsLiveDataplane(&old, cilium) || NeedsLiveDataplane(&cilium, cilium) || NeedsLiveDataplane(&old, azure) || NeedsLiveDataplane(nil, cilium) {
		t.Error("NeedsLiveDataplane must ask Azure only for a move to Cilium of a deployed stack")
	}
	live := Deployed{LiveNetworkDataplane: azurefacts.NetworkDataplaneAzure, ResourceGroup: "rg-x", Cluster: "aks-x"}
	var fe *settings.FieldError
	if err := Check(&old, cilium, live); !errors.As(err, &fe) || fe.Path != "aks.networkDataplane" ||
		!strings.Contains(fe.Msg, "az aks update --resource-group rg-x --name aks-x --network-dataplane cilium") || !strings.Contains(fe.Msg, "replaces the AKS cluster") {
		t.Errorf("moving an Azure-dataplane cluster through the stack: %v", err)
	}
	live.LiveNetworkDataplane = azurefacts.NetworkDataplaneCilium
	if err := Check(&old, cilium, live); err != nil {
		t.Errorf("a cluster moved outside the stack was refused: %v", err)
	}
	if err := Check(&cilium, azure, Deployed{}); !errors.As(err, &fe) || fe.Path != "aks.networkDataplane" || !strings.Contains(fe.Msg, "no way back") {
		t.Errorf("cilium -> azure: %v", err)
	}
	for name, pair := range map[string][2]Applied{"old -> azure": {old, azure}, "azure -> azure": {azure, azure}, "cilium -> cilium": {cilium, cilium}} {
		if err := Check(&pair[0], pair[1], Deployed{}); err != nil {
			t.Errorf("%s refused: %v", name, err)
		}
	}
}
