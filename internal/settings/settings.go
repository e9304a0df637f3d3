// Package settings is the typed, validated model of a stack's configuration. It is loaded once
// from the stack's config (the `metaflow-azure:` keys of Pulumi.<stack>.yaml, structured values as
// `pulumi config set --path` writes them), defaulted, and checked before any resource is declared.
// It imports no Pulumi or Azure SDK, so its tests run in milliseconds.
//
// The doc comment of each Settings field is its user-facing description: what the setting is and
// what is allowed, in Markdown (code in backticks, links relative to the README). The README's
// settings table and the key list in Pulumi.yaml are generated from these comments and from
// Defaults (go run ./internal/settings/settingsdoc -write). A comment starts with the field's
// name, which the table drops along with a following "is" or "are"; it ends in "Required." if
// the setting has no default. Defaults are not written in the comments: they are in defaults.go.
package settings

import "time"

// Project is the Pulumi project name; config keys live under "<Project>:".
const Project = "metaflow-azure"

// Settings is everything a stack can be configured with. The json tags are the config keys.
type Settings struct {
	// Location is the Azure region name for every resource (`westeurope`). Required.
	Location string `json:"location"`
	// NamePrefix is the organisation prefix in every Azure name: 2–8 lowercase letters/digits,
	// starting with a letter (storage names allow 24 characters). Required.
	NamePrefix string `json:"namePrefix"`
	// Tags are merged into every taggable resource (a map), together with `environment` (the
	// stack) and `managed-by`.
	Tags map[string]string `json:"tags"`
	// ProtectData sets protect + retainOnDelete on the resource group, storage account and
	// database server, and Azure `CanNotDelete` locks on the storage account and the server so
	// no tool deletes them ([delete locks](docs/operations.md#delete-locks)).
	ProtectData bool `json:"protectData"`

	// Network is the address plan.
	Network Network `json:"network"`
	// AKS is the cluster.
	AKS AKS `json:"aks"`
	// Postgres is the metadata service's database server.
	Postgres Postgres `json:"postgres"`
	// Storage is the datastore's storage account.
	Storage Storage `json:"storage"`
	// Identity is how Metaflow's pods sign in to Azure.
	Identity Identity `json:"identity"`
	// Access is who runs flows.
	Access Access `json:"access"`
	// Metaflow is the Metaflow services and tasks.
	Metaflow Metaflow `json:"metaflow"`
	// Registry is the optional container registry for task images.
	Registry Registry `json:"registry"`
	// Argo is Argo Workflows.
	Argo Argo `json:"argo"`
	// ArgoEvents is Argo Events.
	ArgoEvents ArgoEvents `json:"argoEvents"`
	// Monitoring is the day-2 telemetry and alerts.
	Monitoring Monitoring `json:"monitoring"`
	// Maintenance is when Azure may patch the cluster and the database.
	Maintenance Maintenance `json:"maintenance"`

	// today is the day the settings were loaded (UTC): versions were checked against it, and a
	// budget created now starts in its month.
	today time.Time
	// project is the config namespace errors are named in; supportEnded the versions out of
	// support that CheckSupport decides on.
	project      string
	supportEnded []supportEnded

	// warnings are what validation found worth saying but not refusing: a version near the
	// end of its support, a region whose capabilities the stack cannot confirm.
	warnings []string
}

// Today is the day the settings were loaded, in UTC.
func (s *Settings) Today() time.Time { return s.today }

// Warnings are the validation warnings, each starting with the key it is about.
func (s *Settings) Warnings() []string { return s.warnings }

// Network holds the address plan. Pods use Azure CNI Overlay, so the AKS subnet only needs an
// address per node, and the pod and service ranges must not overlap the VNet.
type Network struct {
	// VNetCIDR is the virtual network's address space, an IPv4 CIDR.
	VNetCIDR string `json:"vnetCidr"`
	// AKSSubnetCIDR holds the AKS nodes: inside the VNet, disjoint from the PostgreSQL subnet,
	// an address per possible node.
	AKSSubnetCIDR string `json:"aksSubnetCidr"`
	// PostgresSubnetCIDR is delegated to PostgreSQL Flexible Server: inside the VNet, `/28` or
	// larger.
	PostgresSubnetCIDR string `json:"postgresSubnetCidr"`
	// PodCIDR is the overlay range pods get addresses from: outside the VNet, a `/24` per
	// possible node.
	PodCIDR string `json:"podCidr"`
	// ServiceCIDR is the Kubernetes service range: outside the VNet and pod range, `/12` to
	// `/28` (the cluster DNS takes its tenth address).
	ServiceCIDR string `json:"serviceCidr"`
	// PrivateEndpointSubnetCIDR holds the datastore's private endpoint with
	// `storage.networkAccess: private` (unused otherwise): inside the VNet, disjoint from the
	// other subnets, `/29` or larger.
	PrivateEndpointSubnetCIDR string `json:"privateEndpointSubnetCidr"`
}

// AKS configures the cluster.
type AKS struct {
	// KubernetesVersion is pinned, `1.N` or `1.N.P` with N a minor in AKS standard support on
	// the day you deploy (today 1.35, 1.36; LTS-only and preview minors are refused, and a
	// minor within 90 days of its end warns) — Microsoft's calendar with its source is in
	// `internal/azurefacts`.
	KubernetesVersion string `json:"kubernetesVersion"`
	// UpgradeChannel is AKS's automatic upgrade channel: `patch` (patches within the pinned
	// minor), `node-image` (node images only) or `none`; a patch-pinned version (`1.36.4`)
	// needs `node-image` or `none`, or AKS's own patches would make the next update a downgrade.
	UpgradeChannel string `json:"upgradeChannel"`
	// KubeLogin is how the stack's Kubernetes provider signs in to an `azureRbac` cluster:
	// `token` (an Entra token for AKS from the azure-native provider's own credentials, so
	// whatever signs in to Azure signs in to the cluster; nothing to install), or a
	// non-interactive kubelogin mode, which needs kubelogin on `PATH`: `azurecli`,
	// `workloadidentity` (CI with OIDC federation), `spn` (CI with a client secret), `msi` (see
	// [Signing in to the cluster](#signing-in-to-the-cluster)).
	KubeLogin string `json:"kubeLogin"`
	// SKUTier is `Free` or `Standard` (uptime SLA).
	SKUTier string `json:"skuTier"`
	// AuthorizedIPRanges are up to 200 CIDRs allowed to reach the API server; empty leaves it
	// open to the internet.
	AuthorizedIPRanges []string `json:"authorizedIpRanges"`
	// AzureRBAC enables AKS-managed Entra ID + Azure RBAC for Kubernetes, local accounts off,
	// so people sign in as themselves; it cannot be turned off again once deployed.
	AzureRBAC bool `json:"azureRbac"`
	// NetworkDataplane is `cilium` (Azure CNI powered by Cilium, which enforces the stack's
	// NetworkPolicies; the Kubernetes minor must be in Microsoft's Cilium table) or `azure` (no
	// network policy engine: the policies are declared but nothing enforces them, a warning says
	// so). A deployed `azure` cluster moves to `cilium` in place only outside the stack, see
	// [Network policies](docs/security.md#moving-a-deployed-cluster-to-cilium); there is no way
	// back.
	NetworkDataplane string `json:"networkDataplane"`
	// AzurePolicy enables the Azure Policy add-on, so Azure Policy can audit (or, with
	// assignments you make, enforce) its Kubernetes policies on the cluster. Its five pods
	// (Gatekeeper and Azure Policy) run on the system pool; Microsoft estimates up to 2 vCPUs and
	// 350 MB per component below 500 pods ([docs/security.md](docs/security.md#azure-policy)).
	AzurePolicy bool `json:"azurePolicy"`
	// Defender turns on the AKS Defender profile (Defender for Containers' sensor), sending
	// security events to the `monitoring` workspace (needs `monitoring.enabled`). It is charged
	// through the subscription's Defender for Containers plan, which you enable and pay for
	// separately ([docs/security.md](docs/security.md#defender)).
	Defender bool `json:"defender"`
	// SystemPool runs cluster add-ons and the Metaflow services: VM size `Standard_…` (fixed
	// once deployed: AKS cannot resize a pool); 1 ≤ min ≤ max ≤ 1000.
	SystemPool NodePool `json:"systemPool"`
	// TaskPool runs Metaflow tasks and Argo workflows and may scale to zero:
	// 0 ≤ min ≤ max ≤ 1000, max ≥ 1.
	TaskPool NodePool `json:"taskPool"`
	// ExtraPools are more task pools (GPU, Spot, other VM sizes) that steps select by name (see
	// [GPU and Spot pools](#gpu-and-spot-pools)): each is a User-mode autoscaling pool labelled
	// and tainted `metaflow.org/pool=<name>`, so only steps that select it land there. At most
	// 100 pools and 5,000 nodes per cluster; the AKS subnet and pod range must hold every
	// pool's maximum.
	ExtraPools []ExtraPool `json:"extraPools"`
}

// ExtraPool is a task pool Metaflow steps target with
// @kubernetes(node_selector="metaflow.org/pool=<name>").
type ExtraPool struct {
	// Name is the AKS node pool name and the value of its `metaflow.org/pool` label: 1–12
	// lowercase letters/digits starting with a letter, unique, not `system` or `tasks`. Required.
	Name string `json:"name"`
	// VMSize is the Azure VM size, e.g. `Standard_NC24ads_A100_v4`. Required.
	VMSize string `json:"vmSize"`
	// MinCount is the autoscaler's lower bound, at most maxCount; at 0 the pool costs nothing
	// idle.
	MinCount int `json:"minCount"`
	// MaxCount is the autoscaler's upper bound, 1–1000. Required.
	MaxCount int `json:"maxCount"`
	// Spot makes it an Azure Spot pool: evictable capacity at a discount; evicted nodes are
	// deleted.
	Spot bool `json:"spot"`
	// SpotMaxPrice is the most a Spot node may cost: -1 (pay up to on-demand, never evicted for
	// price) or a positive USD/hour price with up to 5 decimals; Spot pools only.
	SpotMaxPrice float64 `json:"spotMaxPrice"`
	// GPU marks a pool of NVIDIA GPU VMs, where the stack runs NVIDIA's device plugin so
	// `nvidia.com/gpu` is schedulable; only with an NVIDIA size the stack knows (NCasT4_v3,
	// NC_A100_v4 sizes).
	GPU bool `json:"gpu"`
	// Labels are added to the pool's nodes; not under `kubernetes.azure.com/` or
	// `kubernetes.io/` (AKS reserves them) nor `metaflow.org/pool`/`metaflow.org/gpu`.
	Labels map[string]string `json:"labels"`
	// Taints are added to the pool's nodes as `key=value:Effect`, and the Metaflow profile
	// tolerates them; not under `kubernetes.azure.com/` or `kubernetes.io/` (AKS reserves them)
	// nor `metaflow.org/pool`/`metaflow.org/gpu`.
	Taints []string `json:"taints"`
}

// setDefaults sets an extra pool's non-zero defaults before its keys are decoded over them.
func (p *ExtraPool) setDefaults() { p.SpotMaxPrice = defaultSpotMaxPrice }

// NodePool is an autoscaling node pool.
type NodePool struct {
	// VMSize is the Azure VM size, e.g. `Standard_D4ds_v5`.
	VMSize string `json:"vmSize"`
	// MinCount is the autoscaler's lower bound (nodes).
	MinCount int `json:"minCount"`
	// MaxCount is the autoscaler's upper bound (nodes).
	MaxCount int `json:"maxCount"`
}

// Postgres configures the Flexible Server behind the metadata service.
type Postgres struct {
	// Version is the PostgreSQL major, one in Azure standard support that API 2024-08-01 lists:
	// 15, 16 (14 warns: its support ends 2026-12-11; 17 needs a preview API version); never
	// lower than deployed.
	Version string `json:"version"`
	// SKU is `<tier>_<size>` as the Azure CLI writes it: `B_…` (Burstable), `GP_…` (General
	// Purpose) or `MO_…` (Memory Optimized), with a size in
	// [Microsoft's connection-limit table](#database-connections).
	SKU string `json:"sku"`
	// StorageGB is the disk size in GiB: 32, 64, 128, …, 32768.
	StorageGB int `json:"storageGb"`
	// BackupRetentionDays is how many days backups are kept, 7–35.
	BackupRetentionDays int `json:"backupRetentionDays"`
	// HighAvailability adds a zone-redundant standby; not on `B_` SKUs; only in regions where
	// PostgreSQL offers it (zones).
	HighAvailability bool `json:"highAvailability"`
	// GeoRedundantBackup copies backups to the paired region: only in regions with a two-way
	// pair; fixed at creation (a change is refused).
	GeoRedundantBackup bool `json:"geoRedundantBackup"`
}

// Storage configures the datastore's storage account.
type Storage struct {
	// Replication is `LRS`, `ZRS`, `GRS`, `RAGRS`, `GZRS` or `RAGZRS`; Z… needs a region with
	// zones, G… a paired region (e.g. `westus` has no zones: use `LRS` or `GRS`).
	Replication string `json:"replication"`
	// SoftDeleteDays keeps deleted blobs and containers recoverable, 1–365 days.
	SoftDeleteDays int `json:"softDeleteDays"`
	// NetworkAccess is who may reach the datastore's data: `public` (any network, with an Entra
	// sign-in), `allowlist` (only `storage.allowedCidrs` and the AKS subnet, through a service
	// endpoint) or `private` (only the VNet, through a private endpoint and its private DNS
	// zone: laptops need a VPN, ExpressRoute or peering and DNS into the VNet, see
	// [docs/security.md](docs/security.md#storage-network-access)).
	NetworkAccess string `json:"networkAccess"`
	// AllowedCidrs are the public IPv4 addresses or ranges (laptops, CI) that may reach the
	// datastore with `storage.networkAccess: allowlist`: at most 200, no private ranges, a
	// single address instead of a `/31` or `/32`.
	AllowedCidrs []string `json:"allowedCidrs"`
}

// Identity configures how Metaflow's pods sign in to Azure.
type Identity struct {
	// ClientSecret chooses how pods sign in to Azure. `false`: tasks, workflow pods and the UI
	// backend sign in with [workload identity](#workload-identity-how-pods-reach-azure)
	// (user-assigned managed identities through federated credentials) and no Azure secret
	// exists. `true`: the old mode, an Entra application whose client secret sits in Kubernetes
	// Secrets (needs Entra rights; see
	// [Rotating the client secret](#client-secret-mode-and-rotating-the-secret)).
	ClientSecret bool `json:"clientSecret"`
	// SecretLifetimeDays is how long the service principal's password is valid, 1–730 days,
	// with `identity.clientSecret` only; changing it issues a new secret.
	SecretLifetimeDays int `json:"secretLifetimeDays"`
	// SecretRotation is any text, with `identity.clientSecret` only (e.g. the month of the
	// rotation); changing it issues a new secret and rolls the UI backend.
	SecretRotation string `json:"secretRotation"`
}

// Access lists the people who run flows.
type Access struct {
	// FlowRunners are the Entra users and groups who run flows, e.g.
	// `[{objectId: <GUID>, type: Group}]` or
	// `[{objectId: <GUID>, type: User, userPrincipalName: alice@contoso.com}]`: they get Storage
	// Blob Data Contributor on the datastore container and the Kubernetes rights to run tasks and
	// workflows in the task namespace. Needs `aks.azureRbac: true`.
	FlowRunners []Principal `json:"flowRunners"`
}

// Principal is a Microsoft Entra ID user or group.
type Principal struct {
	// ObjectID is the principal's object id (a GUID). Required.
	ObjectID string `json:"objectId"`
	// Type is `User` or `Group`. Required.
	Type string `json:"type"`
	// UserPrincipalName is a User's sign-in name (`alice@contoso.com`), required for users and
	// refused for groups: AKS names an Entra user to Kubernetes RBAC by UPN (a group by object
	// id), so the in-cluster Role binding must use it.
	UserPrincipalName string `json:"userPrincipalName"`
}

// Metaflow configures the Metaflow services on AKS.
type Metaflow struct {
	// MetadataImage runs the metadata service, its migrations and the UI backend: a pinned tag
	// or digest (≥ v2.4.4 for TLS to PostgreSQL; see [Container images](#container-images)).
	MetadataImage string `json:"metadataImage"`
	// UIImage serves the UI's static files: a pinned tag or digest.
	UIImage string `json:"uiImage"`
	// Replicas is the number of each Metaflow service's replicas, 2–10, and few enough that
	// their [database connections](#database-connections) fit `postgres.sku` (a
	// `B_Standard_B1ms` takes at most 3).
	Replicas int `json:"replicas"`
	// TaskImage is the image Metaflow tasks run in (`METAFLOW_KUBERNETES_CONTAINER_IMAGE`): a
	// pinned tag or digest; a name without a registry host is pulled from `registry.enabled`'s
	// registry. Empty leaves Metaflow's default (`python:3.x` from Docker Hub, which installs
	// the Azure SDK at every task start); see [Task images](#task-images).
	TaskImage string `json:"taskImage"`
	// Namespace is the services' namespace.
	Namespace string `json:"namespace"`
	// TaskNamespace holds tasks, workflows, sensors and the EventBus.
	TaskNamespace string `json:"taskNamespace"`
	// TaskInternetEgress lets tasks and workflow pods reach any address outside the cluster
	// on any port (package indexes, a task image without the Azure SDK installs it at start).
	// `false` leaves them what Metaflow needs: HTTPS outside the cluster (Entra ID and Blob
	// Storage have no fixed addresses a NetworkPolicy could name), the metadata service, the
	// events webhook and DNS ([docs/security.md](docs/security.md#network-policies)).
	TaskInternetEgress bool `json:"taskInternetEgress"`
}

// Registry configures an optional Azure Container Registry for the team's task images.
type Registry struct {
	// Enabled creates an Azure Container Registry (no admin user) the cluster's kubelet
	// identity may pull from (AcrPull); its login server goes into the outputs and the profile
	// (`METAFLOW_KUBERNETES_CONTAINER_REGISTRY`).
	Enabled bool `json:"enabled"`
	// SKU is `Basic`, `Standard` or `Premium`.
	SKU string `json:"sku"`
}

// Argo configures Argo Workflows.
type Argo struct {
	// Enabled installs Argo Workflows.
	Enabled bool `json:"enabled"`
	// ChartVersion is the exact `argo-workflows` Helm chart version; 1.0.x/2.0.x are Argo 4.x.
	ChartVersion string `json:"chartVersion"`
	// ChartRepository is where the chart comes from: an HTTPS Helm repository (its
	// `index.yaml`) or an OCI registry path (`oci://host/path`, the chart under it). A mirror
	// serves air-gapped clusters.
	ChartRepository string `json:"chartRepository"`
	// Namespace holds the Argo Workflows controller and server.
	Namespace string `json:"namespace"`
	// AuthMode is the Argo server's `--auth-mode`: `client` (each user presents a token, a
	// Kubernetes bearer token) or `server` (no login behind the port-forward: anyone who can
	// port-forward is the server).
	AuthMode string `json:"authMode"`
}

// ArgoEvents configures Argo Events.
type ArgoEvents struct {
	// Enabled installs Argo Events; needs `argo.enabled`.
	Enabled bool `json:"enabled"`
	// ChartVersion is the exact `argo-events` Helm chart version.
	ChartVersion string `json:"chartVersion"`
	// ChartRepository is where the chart comes from, as `argo.chartRepository`.
	ChartRepository string `json:"chartRepository"`
	// Namespace holds the Argo Events controller.
	Namespace string `json:"namespace"`
	// JetStreamVersion is the NATS version for the EventBus; one the pinned chart lists (its
	// `configs.jetstream.versions` pin the images).
	JetStreamVersion string `json:"jetstreamVersion"`
}

// Monitoring configures the day-2 telemetry: a Log Analytics workspace fed by Container Insights
// and the diagnostic settings of AKS, PostgreSQL and Blob Storage, and alerts by email.
type Monitoring struct {
	// Enabled declares a Log Analytics workspace fed by Container Insights and the diagnostic
	// settings of AKS (kube-audit-admin, kube-apiserver, guard), PostgreSQL (server logs, all
	// metrics) and Blob Storage (reads, writes, deletes), plus the alerts below; `false`
	// declares none of it.
	Enabled bool `json:"enabled"`
	// RetentionDays is how many days the workspace keeps data, 30–730 (the ingestion price
	// includes 31).
	RetentionDays int `json:"retentionDays"`
	// DailyCapGB is the whole GB a day after which ingestion stops until the next day (UTC),
	// 0–1000; 0 means no cap (the `dev` stack sets 1).
	DailyCapGB int `json:"dailyCapGb"`
	// AlertEmails are the addresses every alert mails (one action group); empty: no action
	// group, no alert rules and no budget, a warning says so.
	AlertEmails []string `json:"alertEmails"`
	// MonthlyBudget is a monthly Cost Management budget on the resource group (not the AKS node
	// resource group, where the node VMs are billed:
	// [docs/operations.md](docs/operations.md#the-monthly-budget)), in whole units of the
	// subscription's billing currency, that mails the action group when the month's actual or
	// forecast cost passes 80 % and 100 % of it; `0` declares none (the `dev` stack sets 500,
	// `prod` 10000). It only notifies: nothing is stopped. Needs `monitoring.alertEmails`.
	MonthlyBudget int `json:"monthlyBudget"`
}

// Maintenance configures when Azure may patch the cluster and the database.
type Maintenance struct {
	// Window is the weekly UTC slot for AKS Kubernetes patches and node OS updates
	// (`aksManagedAutoUpgradeSchedule`, `aksManagedNodeOSUpgradeSchedule`) and PostgreSQL's
	// custom maintenance window: day `Monday`…`Sunday`, hour 0–23, 4–24 hours (AKS wants four
	// or more).
	Window MaintenanceWindow `json:"window"`
	// NodeOSChannel is the AKS node OS channel that keeps nodes patched: `NodeImage` (weekly
	// node images with the OS patches) or `SecurityPatch` (OS security patches only).
	NodeOSChannel string `json:"nodeOsChannel"`
}

// MaintenanceWindow is a weekly window in UTC.
type MaintenanceWindow struct {
	// DayOfWeek is `Monday` … `Sunday`.
	DayOfWeek string `json:"dayOfWeek"`
	// StartHour is the hour (UTC) the window opens, 0–23.
	StartHour int `json:"startHour"`
	// DurationHours is the AKS window's length, 4–24 hours (AKS needs 4 or more with
	// auto-upgrade).
	DurationHours int `json:"durationHours"`
}
