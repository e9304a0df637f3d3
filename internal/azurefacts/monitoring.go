package azurefacts

import "slices"

// Facts behind the day-2 operations (issue 14): Azure Monitor names, log categories, metric
// names, Container Insights tables and the maintenance rules. Each group cites the Microsoft page
// it was read from on 2026-11-25 (search tool, corpus docs, or read_file of the docs repository).

// Log Analytics retention: Analytics tables keep data 30 days by default and the workspace
// default can be raised to two years; the ingestion price includes the first 31 days.
const (
	LogAnalyticsRetentionMinDays = 30
	LogAnalyticsRetentionMaxDays = 730
	LogAnalyticsRetentionSource  = "https://learn.microsoft.com/azure/azure-monitor/logs/data-retention-configure (\"default retention 30 days … up to two years\"); armoperationalinsights v1.2.0 models.go TableProperties.RetentionInDays \"between 30 and 730\""
)

// LogAnalyticsSKU is the pay-as-you-go pricing tier (Analytics logs billed per GB ingested).
const LogAnalyticsSKU = "PerGB2018"

// Diagnostic setting categories, from Azure Monitor's "Supported logs" reference pages.
var (
	// AKSControlPlaneLogs: kube-audit-admin (audit without get/list, the cost-aware audit
	// log), kube-apiserver and guard (Entra ID and Azure RBAC decisions).
	// https://learn.microsoft.com/azure/azure-monitor/reference/supported-logs/microsoft-containerservice-managedclusters-logs
	AKSControlPlaneLogs = []string{"kube-audit-admin", "kube-apiserver", "guard"}
	// PostgresLogs: the server log category.
	// https://learn.microsoft.com/azure/azure-monitor/reference/supported-logs/microsoft-dbforpostgresql-flexibleservers-logs
	PostgresLogs = []string{"PostgreSQLLogs"}
	// BlobLogs: the blob service's categories (table StorageBlobLogs); the setting's scope is
	// the blob service, <account id>/blobServices/default.
	// https://learn.microsoft.com/azure/azure-monitor/reference/supported-logs/microsoft-storage-storageaccounts-blobservices-logs
	BlobLogs = []string{"StorageRead", "StorageWrite", "StorageDelete"}
)

// AllMetricsCategory sends every platform metric of a resource (diagnostic settings REST API,
// https://learn.microsoft.com/azure/azure-monitor/essentials/diagnostic-settings).
const AllMetricsCategory = "AllMetrics"

// PostgreSQL flexible server platform metrics ("Name in REST API"), from
// https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-dbforpostgresql-flexibleservers-metrics
// and https://learn.microsoft.com/azure/postgresql/monitor/concepts-monitoring.
const (
	PostgresMetricStorage     = "storage_percent"
	PostgresMetricCPU         = "cpu_percent"
	PostgresMetricConnections = "active_connections"
	PostgresMetricNamespace   = "Microsoft.DBforPostgreSQL/flexibleServers"
)

// Container Insights tables and columns, from
// https://learn.microsoft.com/azure/azure-monitor/reference/tables/kubepodinventory and
// https://learn.microsoft.com/azure/azure-monitor/reference/tables/kubeevents.
const (
	TablePods           = "KubePodInventory"
	ColumnNamespace     = "Namespace"
	ColumnController    = "ControllerName"
	ColumnPodStatus     = "PodStatus"       // pod.status.phase
	ColumnContainerStat = "ContainerStatus" // container.state
	TableEvents         = "KubeEvents"
	ColumnReason        = "Reason"
	ColumnObjectKind    = "ObjectKind"
	// ReasonFailedScheduling is the Kubernetes scheduler's event reason for a pod no node fits.
	ReasonFailedScheduling = "FailedScheduling"
)

// Container Insights add-on of AKS: the addonProfiles key and its config keys; managed identity
// authentication (useAADAuth) is the only one left, legacy (workspace key) authentication is
// retired: https://learn.microsoft.com/azure/azure-monitor/containers/container-insights-authentication
const (
	ContainerInsightsAddon        = "omsagent"
	ContainerInsightsWorkspaceKey = "logAnalyticsWorkspaceResourceID"
	ContainerInsightsAADAuthKey   = "useAADAuth"
)

// Container Insights with managed identity authentication collects what a data collection rule
// associated with the cluster says. Names and shape from Microsoft's onboarding template,
// microsoft/Docker-Provider scripts/onboarding/aks/onboarding-msi-bicep/existingClusterOnboarding.bicep
// (commit 22adfe2dabbee25094984ee7673bd392c8717d97) and existingClusterParam.json (commit
// 1669d2526afe3044ebedf1e6cd98485c18c06904): DCR "MSCI-<workspace region>-<cluster>" (at most 64
// characters), kind Linux, extension data source "ContainerInsightsExtension" of extension
// "ContainerInsights", association "ContainerInsightsExtension" on the cluster.
const (
	ContainerInsightsDCRPrefix     = "MSCI-"
	ContainerInsightsDCRMaxLen     = 64
	ContainerInsightsDCRKind       = "Linux"
	ContainerInsightsExtensionName = "ContainerInsights"
	ContainerInsightsDataSource    = "ContainerInsightsExtension"
	ContainerInsightsAssociation   = "ContainerInsightsExtension"
)

// ContainerInsightsStreams are the streams the stack collects, a subset of the template's list:
// container logs (ContainerLogV2 schema), the events and pod inventory the alerts query, and node
// inventory. Metrics-heavy streams (Perf, InsightsMetrics) are left out to keep ingestion small.
var ContainerInsightsStreams = []string{
	"Microsoft-ContainerLogV2", "Microsoft-KubeEvents", "Microsoft-KubePodInventory", "Microsoft-KubeNodeInventory",
}

// AKS planned maintenance, from MicrosoftDocs/azure-aks-docs articles/aks/planned-maintenance.md
// (commit 04921f5f14a6783d2038303b37d25f760e786488): the configuration names AKS reserves for
// the auto-upgrade channel's and the node OS channel's schedules, and "use a maintenance window
// with a duration of four hours or more" with auto-upgrade.
const (
	AKSAutoUpgradeSchedule   = "aksManagedAutoUpgradeSchedule"
	AKSNodeOSUpgradeSchedule = "aksManagedNodeOSUpgradeSchedule"
	AKSMaintenanceMinHours   = 4
	AKSMaintenanceSource     = "https://learn.microsoft.com/azure/aks/planned-maintenance"
)

// KeepPatchedNodeOSChannels are the node OS upgrade channels (enum NodeOSUpgradeChannel of
// ContainerService 2024-10-01: NodeImage, None, SecurityPatch, Unmanaged) that patch nodes
// without a person: NodeImage (weekly node images) and SecurityPatch (OS security patches).
// https://learn.microsoft.com/azure/aks/auto-upgrade-node-os-image
var KeepPatchedNodeOSChannels = []string{"NodeImage", "SecurityPatch"}

// weekdays in the order PostgreSQL's maintenanceWindow.dayOfWeek numbers them. Open doubt: the
// REST spec (DBforPostgreSQL 2024-08-01 MaintenanceWindow) only says "day of week"; its example
// ServerUpdateWithCustomerMaintenanceWindow sends 0 without naming the day. Sunday = 0 is the
// reading the stack takes; AKS's WeekDay enum names the day, so the AKS side is exact.
var weekdays = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

// Weekdays are the day names AKS's WeekDay enum takes.
func Weekdays() []string { return slices.Clone(weekdays) }

// WeekdayNumber is PostgreSQL's dayOfWeek for a day name.
func WeekdayNumber(day string) (int, bool) {
	i := slices.Index(weekdays, day)
	return i, i >= 0
}

// Management locks: the level that still allows reads and changes but refuses deletes
// (Microsoft.Authorization/locks 2020-05-01 enum LockLevel: CanNotDelete, NotSpecified, ReadOnly).
// https://learn.microsoft.com/azure/azure-resource-manager/management/lock-resources
const LockCanNotDelete = "CanNotDelete"
