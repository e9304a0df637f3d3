package settings

import (
	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/images"
)

// defaultSpotMaxPrice pays up to the on-demand price, so nodes are evicted only when Azure
// needs the capacity back, never for price (azurefacts.SpotSource).
const defaultSpotMaxPrice = azurefacts.SpotMaxPriceOnDemand

// ArgoHelmRepository is the official repository of the Argo Helm charts (argoproj/argo-helm @03779e2b
// README: `helm repo add argo https://argoproj.github.io/argo-helm`).
const ArgoHelmRepository = "https://argoproj.github.io/argo-helm"

// Defaults returns the settings a stack gets for every key it leaves out. Each default lives here
// and only here; the comments say why it was chosen. The README's settings table shows these
// values (go run ./internal/settings/settingsdoc -write), and a comment on a value's own line
// after it is shown there too, in parentheses after the default.
func Defaults() Settings {
	return Settings{
		// Production-safe: deleting a stack must not silently delete the datastore or the
		// metadata database. Development stacks turn it off explicitly.
		ProtectData: true,
		Network: Network{
			// A /16 out of 10.0.0.0/8 that avoids AKS's default service range and Docker's
			// 172.17.0.0/16 (a range the reference used for its AKS subnet).
			VNetCIDR: "10.40.0.0/16",
			// 1,019 node addresses: with Azure CNI Overlay pods do not take subnet addresses.
			AKSSubnetCIDR: "10.40.0.0/22",
			// Flexible Server needs a delegated subnet of /28 or more; /24 leaves room for HA
			// standbys and more servers.
			PostgresSubnetCIDR: "10.40.8.0/24",
			PodCIDR:            "10.244.0.0/16",
			ServiceCIDR:        "10.0.0.0/16",
			// After the PostgreSQL subnet; a /28 holds the blob private endpoint with room to
			// spare. Declared only with storage.networkAccess: private.
			PrivateEndpointSubnetCIDR: "10.40.9.0/28",
		},
		AKS: AKS{
			// The newest minor in AKS standard support (until June 2027, azurefacts); pinned so
			// clusters don't drift to whatever is current.
			KubernetesVersion: "1.36",
			// Patches within the pinned minor arrive without a redeploy.
			UpgradeChannel: "patch",
			// Nothing to install, and the same identity that deploys to Azure deploys to the
			// cluster: a laptop's az login, CI's service principal or OIDC federation.
			KubeLogin: "token",
			// The financially backed API server SLA is what production wants.
			SKUTier: "Standard",
			// Two system nodes so a node upgrade never takes the Metaflow services down.
			SystemPool: NodePool{VMSize: "Standard_D4ds_v5", MinCount: 2, MaxCount: 4},
			// Tasks scale from zero: nothing runs, nothing is paid for.
			TaskPool: NodePool{VMSize: "Standard_D8ds_v5", MinCount: 0, MaxCount: 10},
			// Microsoft's recommended engine (use-network-policies.md), so the stack's
			// NetworkPolicies are enforced; Azure Network Policy Manager is being retired.
			NetworkDataplane: azurefacts.NetworkDataplaneCilium,
			// Azure Policy can only audit a cluster whose add-on runs, and the benchmark expects it.
			AzurePolicy: true,
			// Off: Defender for Containers is a paid plan of the subscription.
			Defender: false,
		},
		Postgres: Postgres{
			// 16: the newest major the 2024-08-01 API lists, supported until November 2028.
			Version: "16",
			// General Purpose: burstable credits run out under steady metadata traffic.
			SKU:                 "GP_Standard_D2ds_v5",
			StorageGB:           32,
			BackupRetentionDays: 14,
		},
		Storage: Storage{
			// Zone-redundant: survives a zone outage without a cross-region copy.
			Replication:    "ZRS",
			SoftDeleteDays: 14,
			// Public, with Entra ID sign-in only (no keys, no anonymous access): laptops running
			// flows read and write the datastore directly, from anywhere.
			NetworkAccess: "public",
		},
		Identity: Identity{
			// Six months: short enough that a leaked secret dies, long enough to rotate calmly.
			SecretLifetimeDays: 180,
		},
		Metaflow: Metaflow{
			// The newest releases, read and checked in package images: metadata service v2.5.1
			// fixes an SQL injection (Netflix/metaflow-service #467).
			MetadataImage: images.MetadataImage,
			UIImage:       images.UIImage,
			Replicas:      2,
			Namespace:     "metaflow",
			// One namespace for tasks, workflows and events, so the Metaflow config needs no edits.
			TaskNamespace: "metaflow-jobs",
			// On: without metaflow.taskImage, Metaflow's default image installs the Azure SDK
			// from PyPI at every task start.
			TaskInternetEgress: true,
		},
		Registry: Registry{
			// Off: a registry costs money every day and dev stacks can use public images.
			Enabled: false,
			// Standard: the storage and throughput a team's images need; Premium adds
			// geo-replication and private endpoints, which nothing here uses.
			SKU: "Standard",
		},
		Argo: Argo{
			Enabled: true,
			// The 3.7 line: Argo 4.x is a breaking line for downstream tools; opt in by setting.
			ChartVersion:    "0.47.5", // Argo v3.7.11
			ChartRepository: ArgoHelmRepository,
			Namespace:       "argo",
			// The UI is reached by port-forward; "client" still makes each user present a token.
			AuthMode: "client",
		},
		ArgoEvents: ArgoEvents{
			Enabled:          true,
			ChartVersion:     "2.4.22", // Argo Events v1.9.10
			ChartRepository:  ArgoHelmRepository,
			Namespace:        "argo-events",
			JetStreamVersion: "2.10.10",
		},
		Monitoring: Monitoring{
			// A production cluster is not run blind; dev stacks keep it with a daily cap.
			Enabled: true,
			// 30 days: the shortest retention Log Analytics allows.
			RetentionDays: 30,
			// No daily cap and no budget: an amount only makes sense per subscription and stack;
			// dev stacks set a small cap.
			DailyCapGB:    0,
			MonthlyBudget: 0,
		},
		Maintenance: Maintenance{
			// Early Sunday UTC: the quietest slot for most teams; four hours is AKS's minimum
			// for auto-upgrade windows.
			Window: MaintenanceWindow{DayOfWeek: "Sunday", StartHour: 2, DurationHours: 4},
			// Node images carry the OS patches and a fresh kubelet/containerd build.
			NodeOSChannel: "NodeImage",
		},
	}
}
