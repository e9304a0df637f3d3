package main

// The resources whose ARM contract is extracted. Adding a resource is one line here.
//
// Token is the Pulumi type token the program registers. A versioned token
// (azure-native:<module>/vYYYYMMDD[preview]:<Resource>) is sent with the API version in its name; an
// unversioned (default) token is sent with the API version stated in the azure-native SDK's own
// source comment ("Uses Azure REST API version ..." / "Azure REST API version: ...") in
// github.com/pulumi/pulumi-azure-native-sdk/<module>/v2@<version in the main go.mod>/<resource>.go,
// which the generator reads. Either way the generator fails unless the Azure SDK for Go client
// below sends exactly that API version.
//
// Module/Version is the Azure SDK for Go resource-manager module whose client carries that API
// version (found by probing exact versions on the module proxy; see README.md in this folder);
// Client is its client type and Request the unexported request builder of the PUT.
type entry struct {
	Token   string
	Module  string
	Version string
	Client  string
	Request string
}

const (
	sdk          = "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/"
	aks          = sdk + "containerservice/armcontainerservice/v6"
	aksDefault   = sdk + "containerservice/armcontainerservice/v4"
	postgres     = sdk + "postgresql/armpostgresqlflexibleservers/v4"
	storage      = sdk + "storage/armstorage"
	network      = sdk + "network/armnetwork/v4"
	privateDNS   = sdk + "privatedns/armprivatedns"
	authz        = sdk + "authorization/armauthorization/v2"
	msi          = sdk + "msi/armmsi"
	resources    = sdk + "resources/armresources/v2"
	registry     = sdk + "containerregistry/armcontainerregistry"
	monitor      = sdk + "monitor/armmonitor"
	logAnalytics = sdk + "operationalinsights/armoperationalinsights"
	locks        = sdk + "resources/armlocks"
	consumption  = sdk + "consumption/armconsumption/v2"
	createOrUpd  = "createOrUpdateCreateRequest"
	create       = "createCreateRequest"
	azureNative  = "github.com/pulumi/pulumi-azure-native-sdk/"
	mainModDir   = "../.."
	generatorRef = "tools/armcontract (go/parser over the SDK module source)"
)

var entries = []entry{
	{"azure-native:containerservice/v20241001:ManagedCluster", aks, "v6.4.0", "ManagedClustersClient", createOrUpd},
	{"azure-native:containerservice/v20241001:AgentPool", aks, "v6.4.0", "AgentPoolsClient", createOrUpd},
	{"azure-native:containerservice/v20241001:listManagedClusterUserCredentials", aks, "v6.4.0", "ManagedClustersClient", "listClusterUserCredentialsCreateRequest"},
	// Today's default (unversioned) containerservice tokens, 2023-04-01, until the stack moves.
	{"azure-native:containerservice:ManagedCluster", aksDefault, "v4.0.0", "ManagedClustersClient", createOrUpd},
	{"azure-native:containerservice:AgentPool", aksDefault, "v4.0.0", "AgentPoolsClient", createOrUpd},
	{"azure-native:containerservice:listManagedClusterUserCredentials", aksDefault, "v4.0.0", "ManagedClustersClient", "listClusterUserCredentialsCreateRequest"},
	{"azure-native:dbforpostgresql/v20240801:Server", postgres, "v4.0.0", "ServersClient", create},
	{"azure-native:dbforpostgresql/v20240801:Configuration", postgres, "v4.0.0", "ConfigurationsClient", "putCreateRequest"},
	{"azure-native:dbforpostgresql/v20240801:Database", postgres, "v4.0.0", "DatabasesClient", create},
	{"azure-native:storage:StorageAccount", storage, "v1.3.0", "AccountsClient", create},
	{"azure-native:storage:BlobServiceProperties", storage, "v1.3.0", "BlobServicesClient", "setServicePropertiesCreateRequest"},
	{"azure-native:storage:BlobContainer", storage, "v1.3.0", "BlobContainersClient", create},
	{"azure-native:network:VirtualNetwork", network, "v4.0.0", "VirtualNetworksClient", createOrUpd},
	{"azure-native:network:Subnet", network, "v4.0.0", "SubnetsClient", createOrUpd},
	// storage.networkAccess: private (issue 21): the blob private endpoint and its DNS zone group.
	{"azure-native:network:PrivateEndpoint", network, "v4.0.0", "PrivateEndpointsClient", createOrUpd},
	{"azure-native:network:PrivateDnsZoneGroup", network, "v4.0.0", "PrivateDNSZoneGroupsClient", createOrUpd},
	{"azure-native:network:PrivateZone", privateDNS, "v1.2.0", "PrivateZonesClient", createOrUpd},
	{"azure-native:network:VirtualNetworkLink", privateDNS, "v1.2.0", "VirtualNetworkLinksClient", createOrUpd},
	{"azure-native:authorization:RoleAssignment", authz, "v2.2.0", "RoleAssignmentsClient", create},
	{"azure-native:managedidentity:UserAssignedIdentity", msi, "v1.2.0", "UserAssignedIdentitiesClient", createOrUpd},
	{"azure-native:managedidentity:FederatedIdentityCredential", msi, "v1.2.0", "FederatedIdentityCredentialsClient", createOrUpd},
	// The default azure-native:resources:ResourceGroup is sent with 2022-09-01, which no served
	// armresources version carries (v1.2.0 sends 2021-04-01, v2.0.0 sends 2024-11-01); the nearest
	// API version that is both an SDK module and an azure-native versioned package is 2024-11-01.
	{"azure-native:resources/v20241101:ResourceGroup", resources, "v2.0.0", "ResourceGroupsClient", createOrUpd},
	// Newest GA versioned package of containerregistry/v2@v2.90.0 (the newest served) is v20230701.
	{"azure-native:containerregistry/v20230701:Registry", registry, "v1.2.0", "RegistriesClient", create},
	// Day-2 operations (issue 14). AKS planned maintenance at the cluster's own API version.
	{"azure-native:containerservice/v20241001:MaintenanceConfiguration", aks, "v6.4.0", "MaintenanceConfigurationsClient", createOrUpd},
	// insights/v2@v2.90.0's defaults for these three are what armmonitor v0.11.0 sends.
	{"azure-native:insights:ActionGroup", monitor, "v0.11.0", "ActionGroupsClient", createOrUpd},
	{"azure-native:insights:MetricAlert", monitor, "v0.11.0", "MetricAlertsClient", createOrUpd},
	{"azure-native:insights:DiagnosticSetting", monitor, "v0.11.0", "DiagnosticSettingsClient", createOrUpd},
	{"azure-native:insights:DataCollectionRule", monitor, "v0.11.0", "DataCollectionRulesClient", create},
	{"azure-native:insights:DataCollectionRuleAssociation", monitor, "v0.11.0", "DataCollectionRuleAssociationsClient", create},
	// The default ScheduledQueryRule (2023-03-15-preview) has no served SDK module; armmonitor
	// v0.11.0 sends 2022-08-01-preview, which azure-native has as a versioned package.
	{"azure-native:insights/v20220801preview:ScheduledQueryRule", monitor, "v0.11.0", "ScheduledQueryRulesClient", createOrUpd},
	// The default Workspace (2022-10-01) has no served SDK module (armoperationalinsights v1.2.0
	// sends 2021-06-01, v2.0.0 2025-07-01); azure-native has v20210601.
	{"azure-native:operationalinsights/v20210601:Workspace", logAnalytics, "v1.2.0", "WorkspacesClient", createOrUpd},
	{"azure-native:authorization:ManagementLockByScope", locks, "v1.2.0", "ManagementLocksClient", "createOrUpdateByScopeCreateRequest"},
	// The default Budget (2023-05-01) has no served SDK module; armconsumption v2.0.0 sends
	// 2024-08-01 and is served without its .info (hack/seed-modules.sh); azure-native
	// consumption/v2@v2.90.0 has v20240801.
	{"azure-native:consumption/v20240801:Budget", consumption, "v2.0.0", "BudgetsClient", createOrUpd},
}

// Tokens the stack sends whose API version no served Azure SDK for Go module carries, so they
// have no contract; their API version (from the azure-native SDK source) is still recorded in
// data/api-versions.json, with the reason.
var versionOnly = []struct{ Token, Why string }{
	{"azure-native:resources:ResourceGroup", "no served armresources version sends 2022-09-01 (v1.2.0: 2021-04-01, v2.0.0: 2024-11-01); contract for resources/v20241101 instead"},
	{"azure-native:dbforpostgresql:Server", "not generated: the stack moves to dbforpostgresql/v20240801; no served armpostgresqlflexibleservers version found sending 2022-12-01 (v1.1.0: 2021-06-01, v4.0.0: 2024-08-01; v1.0.0, v2.0.0, v2.1.0, v2.2.0, v3.0.0, v3.1.0 not served)"},
	{"azure-native:dbforpostgresql:Configuration", "as dbforpostgresql Server"},
	{"azure-native:dbforpostgresql:Database", "as dbforpostgresql Server"},
}
