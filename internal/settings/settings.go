// Package settings is the typed, validated model of a stack's configuration. It is loaded once
// from the stack's config (the `metaflow-azure:` keys of Pulumi.<stack>.yaml, structured values as
// `pulumi config set --path` writes them), defaulted, and checked before any resource is declared.
// It imports no Pulumi or Azure SDK, so its tests run in milliseconds.
package settings

import "time"

// Project is the Pulumi project name; config keys live under "<Project>:".
const Project = "metaflow-azure"

// Settings is everything a stack can be configured with. The json tags are the config keys.
type Settings struct {
	// Location is the Azure region for every resource, e.g. "westeurope". Required.
	Location string `json:"location"`
	// NamePrefix is the organisation prefix in every Azure name: 2–8 lowercase letters/digits,
	// starting with a letter. Required.
	NamePrefix string `json:"namePrefix"`
	// Tags are merged into every taggable resource, together with environment and managed-by.
	Tags map[string]string `json:"tags"`
	// ProtectData sets protect and retainOnDelete on the storage account and the database server.
	// Default: true.
	ProtectData bool `json:"protectData"`

	Network     Network     `json:"network"`
	AKS         AKS         `json:"aks"`
	Postgres    Postgres    `json:"postgres"`
	Storage     Storage     `json:"storage"`
	Identity    Identity    `json:"identity"`
	Access      Access      `json:"access"`
	Metaflow    Metaflow    `json:"metaflow"`
	Registry    Registry    `json:"registry"`
	Argo        Argo        `json:"argo"`
	ArgoEvents  ArgoEvents  `json:"argoEvents"`
	Monitoring  Monitoring  `json:"monitoring"`
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
	// VNetCIDR is the virtual network's address space. Default: 10.40.0.0/16.
	VNetCIDR string `json:"vnetCidr"`
	// AKSSubnetCIDR holds the AKS nodes; inside VNetCIDR. Default: 10.40.0.0/22.
	AKSSubnetCIDR string `json:"aksSubnetCidr"`
	// PostgresSubnetCIDR is delegated to PostgreSQL Flexible Server; inside VNetCIDR, /28 or
	// larger. Default: 10.40.8.0/24.
	PostgresSubnetCIDR string `json:"postgresSubnetCidr"`
	// PodCIDR is the overlay range pods get addresses from. Default: 10.244.0.0/16.
	PodCIDR string `json:"podCidr"`
	// ServiceCIDR is the Kubernetes service range. Default: 10.0.0.0/16.
	ServiceCIDR string `json:"serviceCidr"`
}

// AKS configures the cluster.
type AKS struct {
	// KubernetesVersion is pinned ("1.36" or "1.36.4"): a minor in AKS standard support (not
	// LTS-only, not preview) per Microsoft's calendar. Default: 1.36.
	KubernetesVersion string `json:"kubernetesVersion"`
	// UpgradeChannel is AKS's automatic upgrade channel: patch (patches within the pinned
	// minor), node-image (node images only) or none. A patch-pinned kubernetesVersion needs
	// node-image or none, or AKS's patches would make the next update a downgrade.
	// Default: patch.
	UpgradeChannel string `json:"upgradeChannel"`
	// KubeLogin is how the stack's Kubernetes provider signs in to a cluster with azureRbac:
	// token (default: an Entra token for AKS from the azure-native provider's own credentials,
	// so whatever signs in to Azure signs in to the cluster; nothing to install) or a
	// non-interactive kubelogin mode, which needs kubelogin on PATH: azurecli,
	// workloadidentity (CI with OIDC federation), spn (CI with a client secret) or msi.
	KubeLogin string `json:"kubeLogin"`
	// SKUTier is Free or Standard (uptime SLA). Default: Standard.
	SKUTier string `json:"skuTier"`
	// AuthorizedIPRanges limit who reaches the API server; empty leaves it open to the internet.
	AuthorizedIPRanges []string `json:"authorizedIpRanges"`
	// AzureRBAC enables AKS-managed Microsoft Entra ID with Azure RBAC for Kubernetes
	// authorization, so people sign in as themselves. Default: false.
	AzureRBAC bool `json:"azureRbac"`
	// SystemPool runs cluster add-ons and the Metaflow services.
	SystemPool NodePool `json:"systemPool"`
	// TaskPool runs Metaflow tasks and Argo workflows; it may scale to zero.
	TaskPool NodePool `json:"taskPool"`
	// ExtraPools are more task pools (GPU, Spot, other VM sizes) that steps ask for by name:
	// each is a User-mode autoscaling pool labelled and tainted metaflow.org/pool=<name>, so
	// only steps that select it land there. Default: none.
	ExtraPools []ExtraPool `json:"extraPools"`
}

// ExtraPool is a task pool Metaflow steps target with
// @kubernetes(node_selector="metaflow.org/pool=<name>").
type ExtraPool struct {
	// Name is the AKS node pool name and the value of its metaflow.org/pool label: 1–12
	// lowercase letters and digits, starting with a letter. Required.
	Name string `json:"name"`
	// VMSize is the Azure VM size, e.g. "Standard_NC24ads_A100_v4". Required.
	VMSize string `json:"vmSize"`
	// MinCount is the autoscaler's lower bound. Default: 0 (the pool costs nothing idle).
	MinCount int `json:"minCount"`
	// MaxCount is the autoscaler's upper bound, 1–1000. Required.
	MaxCount int `json:"maxCount"`
	// Spot makes it an Azure Spot pool: evictable capacity at a discount; evicted nodes are
	// deleted. Default: false.
	Spot bool `json:"spot"`
	// SpotMaxPrice is the most a Spot node may cost in USD per hour (up to five decimals);
	// -1 pays up to the on-demand price and never evicts for price. Default: -1.
	SpotMaxPrice float64 `json:"spotMaxPrice"`
	// GPU marks a pool of NVIDIA GPU VMs: the stack runs NVIDIA's device plugin there so
	// nvidia.com/gpu is schedulable. Needs a GPU VM size the stack knows. Default: false.
	GPU bool `json:"gpu"`
	// Labels are added to the pool's nodes. Default: none.
	Labels map[string]string `json:"labels"`
	// Taints ("key=value:Effect") are added to the pool's nodes; the Metaflow profile
	// tolerates them. Default: none.
	Taints []string `json:"taints"`
}

// setDefaults sets an extra pool's non-zero defaults before its keys are decoded over them.
func (p *ExtraPool) setDefaults() { p.SpotMaxPrice = defaultSpotMaxPrice }

// NodePool is an autoscaling node pool.
type NodePool struct {
	// VMSize is the Azure VM size, e.g. "Standard_D4ds_v5".
	VMSize string `json:"vmSize"`
	// MinCount is the autoscaler's lower bound (nodes).
	MinCount int `json:"minCount"`
	// MaxCount is the autoscaler's upper bound (nodes).
	MaxCount int `json:"maxCount"`
}

// Postgres configures the Flexible Server behind the metadata service.
type Postgres struct {
	// Version is the major version: one in Azure standard support that the API version the
	// stack sends (2024-08-01) lists, 14–16 today. Default: 16.
	Version string `json:"version"`
	// SKU is "<tier>_<size>" as the Azure CLI writes it: B_ (Burstable), GP_ (General Purpose)
	// or MO_ (Memory Optimized), e.g. "GP_Standard_D2ds_v5". Default: GP_Standard_D2ds_v5.
	SKU string `json:"sku"`
	// StorageGB is the disk size in GiB, one of Azure's sizes (32 … 32768). Default: 32.
	StorageGB int `json:"storageGb"`
	// BackupRetentionDays is 7–35. Default: 14.
	BackupRetentionDays int `json:"backupRetentionDays"`
	// HighAvailability adds a zone-redundant standby (not on Burstable). Default: false.
	HighAvailability bool `json:"highAvailability"`
	// GeoRedundantBackup copies backups to the paired region; fixed at creation. Default: false.
	GeoRedundantBackup bool `json:"geoRedundantBackup"`
}

// Storage configures the datastore's storage account.
type Storage struct {
	// Replication is LRS, ZRS, GRS, RAGRS, GZRS or RAGZRS. Default: ZRS.
	Replication string `json:"replication"`
	// SoftDeleteDays keeps deleted blobs and containers recoverable, 1–365. Default: 14.
	SoftDeleteDays int `json:"softDeleteDays"`
}

// Identity configures how Metaflow's pods sign in to Azure.
type Identity struct {
	// ClientSecret false (the default): tasks, workflow pods and the UI backend sign in as
	// user-assigned managed identities through federated credentials (workload identity), and
	// no Azure secret exists. True: the old mode, an Entra application whose client secret is
	// stored in Kubernetes Secrets.
	ClientSecret bool `json:"clientSecret"`
	// SecretLifetimeDays is how long the service principal's password is valid, 1–730 (client
	// secret mode only).
	SecretLifetimeDays int `json:"secretLifetimeDays"`
	// SecretRotation is any text; changing it issues a new client secret (client secret mode
	// only), e.g. the month of the rotation.
	SecretRotation string `json:"secretRotation"`
}

// Access lists the people who run flows.
type Access struct {
	// FlowRunners get Storage Blob Data Contributor on the datastore container and the
	// Kubernetes rights to run tasks and workflows in the task namespace. Needs aks.azureRbac.
	FlowRunners []Principal `json:"flowRunners"`
}

// Principal is a Microsoft Entra ID user or group.
type Principal struct {
	// ObjectID is the principal's object id (a GUID).
	ObjectID string `json:"objectId"`
	// Type is User or Group.
	Type string `json:"type"`
	// UserPrincipalName is a User's sign-in name (user@contoso.com). Required for users:
	// AKS names an Entra user to Kubernetes RBAC by UPN (a group by object id), so the
	// in-cluster Role binding must use it.
	UserPrincipalName string `json:"userPrincipalName"`
}

// Metaflow configures the Metaflow services on AKS.
type Metaflow struct {
	// MetadataImage runs the metadata service, its migrations and the UI backend; pinned by tag
	// or digest. Default: public.ecr.aws/outerbounds/metaflow_metadata_service:v2.5.1.
	MetadataImage string `json:"metadataImage"`
	// UIImage serves the UI's static files. Default: public.ecr.aws/outerbounds/metaflow_ui:v1.3.14.
	UIImage string `json:"uiImage"`
	// Replicas of each Metaflow service, 2–10, and few enough that their database connections
	// fit postgres.sku's limit. Default: 2.
	Replicas int `json:"replicas"`
	// TaskImage is the image Metaflow tasks run in (METAFLOW_KUBERNETES_CONTAINER_IMAGE),
	// pinned by tag or digest; a name without a registry host is pulled from registry.enabled's
	// registry. Empty leaves Metaflow's default (python:<version> from Docker Hub, which
	// installs the Azure SDK at every task start). Default: empty.
	TaskImage string `json:"taskImage"`
	// Namespace holds the Metaflow services. Default: metaflow.
	Namespace string `json:"namespace"`
	// TaskNamespace holds Metaflow tasks, Argo workflows and Argo Events objects.
	// Default: metaflow-jobs.
	TaskNamespace string `json:"taskNamespace"`
}

// Registry configures an optional Azure Container Registry for the team's task images.
type Registry struct {
	// Enabled creates the registry, lets the cluster's nodes pull from it and puts its login
	// server into the Metaflow profile (METAFLOW_KUBERNETES_CONTAINER_REGISTRY). Default: false.
	Enabled bool `json:"enabled"`
	// SKU is Basic, Standard or Premium. Default: Standard.
	SKU string `json:"sku"`
}

// Argo configures Argo Workflows.
type Argo struct {
	// Enabled installs Argo Workflows. Default: true.
	Enabled bool `json:"enabled"`
	// ChartVersion pins the argo-workflows Helm chart. Default: 0.47.5 (Argo v3.7.11).
	ChartVersion string `json:"chartVersion"`
	// ChartRepository is where the chart comes from: an HTTPS Helm repository (its index.yaml)
	// or an OCI registry path (oci://host/path, the chart under it). Default: Argo's official
	// repository. A mirror serves air-gapped clusters.
	ChartRepository string `json:"chartRepository"`
	// Namespace holds the controller and server. Default: argo.
	Namespace string `json:"namespace"`
	// AuthMode is the Argo server's --auth-mode: client (a Kubernetes bearer token per user)
	// or server (no login; anyone who can port-forward is the server). Default: client.
	AuthMode string `json:"authMode"`
}

// ArgoEvents configures Argo Events.
type ArgoEvents struct {
	// Enabled installs Argo Events; requires argo.enabled. Default: true.
	Enabled bool `json:"enabled"`
	// ChartVersion pins the argo-events Helm chart. Default: 2.4.22 (Argo Events v1.9.10).
	ChartVersion string `json:"chartVersion"`
	// ChartRepository is where the chart comes from, as argo.chartRepository. Default: Argo's
	// official repository.
	ChartRepository string `json:"chartRepository"`
	// Namespace holds the Argo Events controller. Default: argo-events.
	Namespace string `json:"namespace"`
	// JetStreamVersion pins the EventBus's NATS JetStream, one the chart lists. Default: 2.10.10.
	JetStreamVersion string `json:"jetstreamVersion"`
}

// Monitoring configures the day-2 telemetry: a Log Analytics workspace fed by Container Insights
// and the diagnostic settings of AKS, PostgreSQL and Blob Storage, and alerts by email.
type Monitoring struct {
	// Enabled declares the workspace, diagnostic settings, action group and alerts; false
	// declares none of them. Default: true.
	Enabled bool `json:"enabled"`
	// RetentionDays keeps the workspace's data, 30–730 days. Default: 30 (the retention the
	// ingestion price includes).
	RetentionDays int `json:"retentionDays"`
	// DailyCapGB stops ingestion for the rest of the day once this many GB arrived; 0 means no
	// cap. Default: 0 (dev stacks set a small cap).
	DailyCapGB int `json:"dailyCapGb"`
	// AlertEmails receive every alert; with none, no action group, no alerts and no budget are
	// declared (a warning says so).
	AlertEmails []string `json:"alertEmails"`
	// MonthlyBudget is a Cost Management budget on the resource group, in whole units of the
	// subscription's billing currency, that mails AlertEmails (through the action group) when the
	// month's actual or forecast cost passes 80 % and 100 % of it; 0 declares no budget.
	// Default: 0 (an amount only makes sense per subscription and stack).
	MonthlyBudget int `json:"monthlyBudget"`
}

// Maintenance configures when Azure may patch the cluster and the database.
type Maintenance struct {
	// Window is the weekly slot (UTC) for AKS Kubernetes patches, node image updates and
	// PostgreSQL's custom maintenance window.
	Window MaintenanceWindow `json:"window"`
	// NodeOSChannel is AKS's node OS upgrade channel: NodeImage (weekly node images with the
	// OS patches) or SecurityPatch (OS security patches only). Default: NodeImage.
	NodeOSChannel string `json:"nodeOsChannel"`
}

// MaintenanceWindow is a weekly window in UTC.
type MaintenanceWindow struct {
	// DayOfWeek is Monday … Sunday. Default: Sunday.
	DayOfWeek string `json:"dayOfWeek"`
	// StartHour is the hour (UTC) the window opens, 0–23. Default: 2.
	StartHour int `json:"startHour"`
	// DurationHours is the AKS window length, 4–24 (AKS needs 4 or more with auto-upgrade).
	// Default: 4.
	DurationHours int `json:"durationHours"`
}
