// Package transitions refuses setting changes that Azure cannot apply to a deployed stack,
// before any resource is declared, instead of letting them fail halfway through an update. The
// stack exports what it applied (Applied) and reads it back on the next run.
package transitions

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/settings"
)

// Applied is what a deployment fixed that Azure cannot change in place. Its JSON is the stack
// output appliedSettings; fields are only ever added.
type Applied struct {
	// SystemPoolVMSize: AKS cannot change the VM size of an existing node pool, and the system
	// pool is declared inside the cluster.
	SystemPoolVMSize string `json:"systemPoolVmSize"`
	// AzureRBAC: AKS-managed Microsoft Entra ID cannot be turned off once on.
	AzureRBAC bool `json:"azureRbac"`
	// GeoRedundantBackup is fixed when the PostgreSQL server is created.
	GeoRedundantBackup bool `json:"geoRedundantBackup"`
	// KubernetesMinor: AKS upgrades; it never downgrades.
	KubernetesMinor int `json:"kubernetesMinor"`
	// PostgresMajor: PostgreSQL major versions upgrade in place; they never downgrade.
	PostgresMajor int `json:"postgresMajor"`
	// DeleteLocks: protectData put CanNotDelete locks on the storage account and the server.
	DeleteLocks bool `json:"deleteLocks"`
	// DatastoreGrants name who holds a role on the datastore container (GrantWorkloadIdentities,
	// GrantClientSecret, GrantFlowRunner+object id). A lock is inherited by everything under the
	// locked scope, role assignments included, so Azure refuses to delete one of these while the
	// storage account is locked (ScopeLocked), and Pulumi deletes them last, after it has set
	// the locks of the same up. Nil in deployments made before the field existed.
	DatastoreGrants []string `json:"datastoreGrants"`
	// Diagnostics: monitoring put diagnostic settings on the storage account's blob service and on
	// the PostgreSQL server. They are extension resources of the locked resources, so a lock
	// refuses their deletion too (ScopeLocked, as the rehearsal tier shows). Nil in deployments
	// made before the field existed.
	Diagnostics *bool `json:"diagnostics,omitempty"`
	// NetworkDataplane is the cluster's network dataplane (azurefacts.NetworkDataplane*).
	// azure-native replaces a ManagedCluster on any change of networkProfile, which would delete
	// every workload, so a change is refused unless the cluster was already moved outside the
	// stack (MigratedToCilium). Empty in deployments made before the field existed: those
	// clusters run Azure's dataplane.
	NetworkDataplane string `json:"networkDataplane"`
}

// Deployed is what the program read from Azure itself about the deployed stack, for the changes
// that can be made outside it.
type Deployed struct {
	// LiveNetworkDataplane is the deployed cluster's networkProfile.networkDataplane as Azure
	// reports it; empty when not read.
	LiveNetworkDataplane string
	// ResourceGroup and Cluster name the deployed cluster in the commands a refusal gives.
	ResourceGroup, Cluster string
}

// NeedsLiveDataplane tells whether Check needs the deployed cluster's dataplane from Azure: only
// for a move to Cilium, which is made outside the stack first.
func NeedsLiveDataplane(prev *Applied, next Applied) bool {
	return prev != nil && prev.dataplane() != azurefacts.NetworkDataplaneCilium && next.dataplane() == azurefacts.NetworkDataplaneCilium
}

func (a *Applied) dataplane() string {
	if a.NetworkDataplane == "" {
		return azurefacts.NetworkDataplaneAzure
	}
	return a.NetworkDataplane
}

// The holders of a role on the datastore container, as DatastoreGrants records them.
const (
	GrantWorkloadIdentities = "workload-identities"
	GrantClientSecret       = "client-secret-service-principal"
	GrantFlowRunner         = "flow-runner:"
)

// FromSettings is what a deployment of these settings applies.
func FromSettings(s *settings.Settings) Applied {
	minor := 0
	if parts := strings.Split(s.AKS.KubernetesVersion, "."); len(parts) >= 2 {
		minor, _ = strconv.Atoi(parts[1])
	}
	major, _ := strconv.Atoi(s.Postgres.Version)
	grants := []string{GrantWorkloadIdentities}
	if s.Identity.ClientSecret {
		grants = []string{GrantClientSecret}
	}
	for _, r := range s.Access.FlowRunners {
		grants = append(grants, GrantFlowRunner+r.ObjectID)
	}
	return Applied{
		SystemPoolVMSize:   s.AKS.SystemPool.VMSize,
		AzureRBAC:          s.AKS.AzureRBAC,
		GeoRedundantBackup: s.Postgres.GeoRedundantBackup,
		KubernetesMinor:    minor,
		PostgresMajor:      major,
		DeleteLocks:        s.ProtectData,
		DatastoreGrants:    grants,
		Diagnostics:        &s.Monitoring.Enabled,
		NetworkDataplane:   s.AKS.NetworkDataplane,
	}
}

// previousGrants are the grants a deployment left; one made before DatastoreGrants existed
// used the client-secret service principal, the only mode then (its flow runners are unknown).
func previousGrants(prev *Applied) []string {
	if prev.DatastoreGrants == nil {
		return []string{GrantClientSecret}
	}
	return prev.DatastoreGrants
}

// Parse reads an appliedSettings output; an absent output (a stack never deployed, or deployed
// before the output existed) is nil.
func Parse(raw any) (*Applied, error) {
	if raw == nil {
		return nil, nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	var a Applied
	if s, ok := raw.(string); ok {
		b = []byte(s)
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("reading the stack's appliedSettings output: %w", err)
	}
	return &a, nil
}

// Check returns one *settings.FieldError per change Azure would refuse, each naming the key
// and what to do instead. prev nil (nothing deployed yet) allows everything. live is what Azure
// reports of the deployed stack (NeedsLiveDataplane says when it is needed).
func Check(prev *Applied, next Applied, live Deployed) error {
	if prev == nil {
		return nil
	}
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, &settings.FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if prev.SystemPoolVMSize != "" && prev.SystemPoolVMSize != next.SystemPoolVMSize {
		add("aks.systemPool.vmSize", "changes from %s to %s, but AKS cannot change the VM size of an existing node pool and the cluster would have to be replaced; keep %s (a new system pool of the new size, then removing the old one, is a manual AKS operation: az aks nodepool add --mode System)",
			prev.SystemPoolVMSize, next.SystemPoolVMSize, prev.SystemPoolVMSize)
	}
	if prev.AzureRBAC && !next.AzureRBAC {
		add("aks.azureRbac", "cannot go back to false: AKS-managed Microsoft Entra ID cannot be turned off on a cluster; keep it true")
	}
	if prev.GeoRedundantBackup != next.GeoRedundantBackup {
		add("postgres.geoRedundantBackup", "is fixed when the PostgreSQL server is created (it is %v); keep %v, or restore the server into a new one with the setting you want (docs: point-in-time restore)", prev.GeoRedundantBackup, prev.GeoRedundantBackup)
	}
	if prev.KubernetesMinor > 0 && next.KubernetesMinor > 0 && next.KubernetesMinor < prev.KubernetesMinor {
		add("aks.kubernetesVersion", "would downgrade the cluster from 1.%d to 1.%d; AKS only upgrades", prev.KubernetesMinor, next.KubernetesMinor)
	}
	if prev.PostgresMajor > 0 && next.PostgresMajor > 0 && next.PostgresMajor < prev.PostgresMajor {
		add("postgres.version", "would downgrade PostgreSQL from %d to %d; major versions only upgrade", prev.PostgresMajor, next.PostgresMajor)
	}
	switch from, to := prev.dataplane(), next.dataplane(); {
	case from == to:
	case to == azurefacts.NetworkDataplaneCilium && live.LiveNetworkDataplane == azurefacts.NetworkDataplaneCilium:
		// Moved outside the stack as documented; the cluster ignores changes of the dataplane
		// fields (infra.Cluster), so this up updates nothing there and records Cilium.
	case to == azurefacts.NetworkDataplaneCilium:
		add("aks.networkDataplane", "changes from %s to cilium, but azure-native replaces the AKS cluster on any change of its networkProfile, deleting every workload; move the deployed cluster in place first (every node pool is reimaged at once, and Cilium enforces policies once the last node is done): %q, then deploy again (docs/security.md#moving-a-deployed-cluster-to-cilium; %s). Until then keep aks.networkDataplane: azure",
			from, fmt.Sprintf(azurefacts.DataplaneMigrationCommand, or(live.ResourceGroup, "<resource group>"), or(live.Cluster, "<cluster>")), azurefacts.DataplaneMigrationSource)
	default:
		add("aks.networkDataplane", "changes from %s to %s, but AKS documents no way back from Azure CNI powered by Cilium (only the way to it: %s), and the stack would replace the cluster; keep %s", from, to, azurefacts.DataplaneMigrationSource, from)
	}
	if prev.DeleteLocks || next.DeleteLocks {
		const steps = "Azure refuses to delete a role assignment under a delete-locked storage account (ScopeLocked), so: deploy once with protectData: false (that lifts the locks), then make this change, then set protectData back to true"
		for _, g := range previousGrants(prev) {
			if slices.Contains(next.DatastoreGrants, g) {
				continue
			}
			switch {
			case g == GrantClientSecret:
				add("identity.clientSecret", "moving from the client-secret service principal to workload identity deletes the service principal's role on the datastore container; %s (or keep identity.clientSecret: true for now)", steps)
			case g == GrantWorkloadIdentities:
				add("identity.clientSecret", "moving from workload identity to the client-secret service principal deletes the workload identities' roles on the datastore container; %s", steps)
			case strings.HasPrefix(g, GrantFlowRunner):
				add("access.flowRunners", "removing flow runner %s deletes their role on the datastore container; %s", strings.TrimPrefix(g, GrantFlowRunner), steps)
			}
		}
		// A deployment that did not record it may have had monitoring on (the default).
		hadDiagnostics := prev.Diagnostics == nil || *prev.Diagnostics
		if hadDiagnostics && next.Diagnostics != nil && !*next.Diagnostics {
			add("monitoring.enabled", "false deletes the diagnostic settings on the storage account and the PostgreSQL server, which their delete locks protect like everything under them (Azure refuses with ScopeLocked); deploy once with protectData: false (that lifts the locks), then turn monitoring off, then set protectData back to true")
		}
	}
	return errors.Join(errs...)
}

func or(v, otherwise string) string {
	if v == "" {
		return otherwise
	}
	return v
}
