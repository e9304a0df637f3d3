package deployerrole

import "strings"

// azureToken is what the deployer needs in Azure RBAC for one azure-native resource type or
// function.
type azureToken struct {
	// resource is the ARM resource type whose read, write and delete actions the type needs:
	// read for Pulumi's existence check before a create and for refresh, write for create and
	// update, delete for destroy and replacements. Empty for functions.
	resource string
	// noDelete says why the ARM type has no delete action, for singleton child resources that
	// always exist with their parent (azure-native "deletes" them by dropping them from state).
	noDelete string
	// extra are actions ARM checks beyond the type's own: linked access checks on the
	// resources a request refers to, and POST actions.
	extra []extraAction
	// none says why a token needs no Azure action at all.
	none string
}

// extraAction is an action beyond read/write/delete, with why ARM asks for it.
type extraAction struct {
	action string
	why    string
}

// Actions that several types need.
const (
	// AKS pools and PostgreSQL Flexible Server place NICs in a subnet of our VNet; ARM checks
	// join on the subnet (a linked access check) on the caller, not only on the service.
	subnetJoin = "Microsoft.Network/virtualNetworks/subnets/join/action"
	// Private DNS is the one RP here whose async operation URLs sit under the resource group
	// (.../resourceGroups/RG/providers/Microsoft.Network/privateDnsOperationStatuses/ID); polling
	// them is an RBAC-checked read, which is why the built-in Private DNS Zone Contributor role
	// grants these two. The other RPs poll subscription-level URLs
	// (/subscriptions/ID/providers/<RP>/locations/...), which resource-group-scoped Contributors
	// poll successfully every day, so no role at the group is consulted and none is listed.
	privateDNSOperationStatus = "Microsoft.Network/privateDnsOperationStatuses/read"
	privateDNSOperationResult = "Microsoft.Network/privateDnsOperationResults/read"
)

// azureTokens is the one table from azure-native type and function tokens to the Azure RBAC
// actions the deployer needs for them. A token the stack declares that is neither here nor in
// otherPackages fails Requirements, and so the tests, naming the token.
//
// Not listed on purpose:
//   - Microsoft.Resources/deployments/*: azure-native calls each resource's ARM API directly;
//     it never creates ARM template deployments.
//   - <RP>/register/action: registering resource providers is a one-time, subscription-level
//     step for an administrator (docs/deployer-role.md), not a deploy-time right.
//   - Anything on the AKS node resource group: the AKS resource provider creates, manages and
//     deletes it under its own first-party identity.
var azureTokens = map[string]azureToken{
	"azure-native:resources/v20241101:ResourceGroup": {resource: "Microsoft.Resources/subscriptions/resourceGroups"},

	"azure-native:network:VirtualNetwork": {resource: "Microsoft.Network/virtualNetworks"},
	"azure-native:network:Subnet":         {resource: "Microsoft.Network/virtualNetworks/subnets"},
	"azure-native:network:PrivateZone": {resource: "Microsoft.Network/privateDnsZones", extra: []extraAction{
		{privateDNSOperationStatus, "poll the zone's create and delete, which Private DNS runs asynchronously"},
		{privateDNSOperationResult, "read the result of the zone's asynchronous create and delete"},
	}},
	"azure-native:network:VirtualNetworkLink": {resource: "Microsoft.Network/privateDnsZones/virtualNetworkLinks", extra: []extraAction{
		{"Microsoft.Network/virtualNetworks/join/action", "linking a private DNS zone to a VNet is a linked access check on the VNet"},
		{privateDNSOperationStatus, "poll the link's create and delete, which Private DNS runs asynchronously"},
		{privateDNSOperationResult, "read the result of the link's asynchronous create and delete"},
	}},

	// storage.networkAccess: private. Actions from Microsoft's "Azure RBAC permissions for Azure
	// Private Link" (MicrosoftDocs/azure-docs @ 0799a303 articles/private-link/rbac-permissions.md).
	"azure-native:network:PrivateEndpoint": {resource: "Microsoft.Network/privateEndpoints", extra: []extraAction{
		{subnetJoin, "the endpoint's network interface joins the private endpoint subnet"},
		{"Microsoft.Network/locations/availablePrivateEndpointTypes/read", "reading the resource types a private endpoint can connect to"},
		{"Microsoft.Storage/storageAccounts/privateEndpointConnectionsApproval/action", "the connection to our own storage account is approved automatically only with this on the account"},
	}},
	"azure-native:network:PrivateDnsZoneGroup": {resource: "Microsoft.Network/privateEndpoints/privateDnsZoneGroups", extra: []extraAction{
		{"Microsoft.Network/privateDnsZones/join/action", "the zone group writes the account's record into our private DNS zone (a linked access check, as for PostgreSQL's private access)"},
	}},

	"azure-native:storage:StorageAccount": {resource: "Microsoft.Storage/storageAccounts"},
	"azure-native:storage:BlobServiceProperties": {
		resource: "Microsoft.Storage/storageAccounts/blobServices",
		noDelete: "the blob service is a singleton of the account; ARM has no delete for it",
	},
	"azure-native:storage:BlobContainer": {resource: "Microsoft.Storage/storageAccounts/blobServices/containers"},

	"azure-native:dbforpostgresql/v20240801:Server": {resource: "Microsoft.DBforPostgreSQL/flexibleServers", extra: []extraAction{
		{subnetJoin, "private access: the server is injected into the delegated subnet"},
		{"Microsoft.Network/privateDnsZones/join/action", "private access: the server registers its address in our private DNS zone"},
	}},
	"azure-native:dbforpostgresql/v20240801:Configuration": {
		resource: "Microsoft.DBforPostgreSQL/flexibleServers/configurations",
		noDelete: "server parameters always exist; ARM can only set them",
	},
	"azure-native:dbforpostgresql/v20240801:Database": {resource: "Microsoft.DBforPostgreSQL/flexibleServers/databases"},

	"azure-native:managedidentity:UserAssignedIdentity":        {resource: "Microsoft.ManagedIdentity/userAssignedIdentities"},
	"azure-native:managedidentity:FederatedIdentityCredential": {resource: "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"},
	"azure-native:authorization:RoleAssignment":                {resource: "Microsoft.Authorization/roleAssignments"},

	"azure-native:containerservice/v20241001:ManagedCluster": {resource: "Microsoft.ContainerService/managedClusters", extra: []extraAction{
		{subnetJoin, "the system pool's nodes join the AKS subnet"},
		{"Microsoft.ManagedIdentity/userAssignedIdentities/assign/action", "the cluster runs as our user-assigned identity; attaching an identity is checked on the caller"},
	}},
	"azure-native:containerservice/v20241001:AgentPool": {resource: "Microsoft.ContainerService/managedClusters/agentPools", extra: []extraAction{
		{subnetJoin, "the task pool's nodes join the AKS subnet"},
	}},

	"azure-native:containerregistry/v20230701:Registry": {resource: "Microsoft.ContainerRegistry/registries"},

	// Day-2 operations (issue 14): resource types and actions as Microsoft's resource provider
	// operations list names them (https://learn.microsoft.com/azure/role-based-access-control/permissions/monitor,
	// .../permissions/management-and-governance, .../permissions/containers).
	"azure-native:containerservice/v20241001:MaintenanceConfiguration": {resource: "Microsoft.ContainerService/managedClusters/maintenanceConfigurations"},
	"azure-native:operationalinsights/v20210601:Workspace":             {resource: "Microsoft.OperationalInsights/workspaces"},
	"azure-native:insights:ActionGroup":                                {resource: "Microsoft.Insights/actionGroups"},
	"azure-native:insights:MetricAlert":                                {resource: "Microsoft.Insights/metricAlerts"},
	"azure-native:insights:DiagnosticSetting":                          {resource: "Microsoft.Insights/diagnosticSettings"},
	"azure-native:insights:DataCollectionRule":                         {resource: "Microsoft.Insights/dataCollectionRules"},
	"azure-native:insights:DataCollectionRuleAssociation":              {resource: "Microsoft.Insights/dataCollectionRuleAssociations"},
	"azure-native:insights/v20220801preview:ScheduledQueryRule":        {resource: "Microsoft.Insights/scheduledQueryRules"},
	// Contributor lacks these (its NotActions exclude Microsoft.Authorization/*/Write and
	// */Delete), which is why protectData's locks need the custom role or Owner.
	"azure-native:authorization:ManagementLockByScope": {resource: "Microsoft.Authorization/locks"},
	// Budgets: Microsoft.Consumption/budgets/read|write|delete (Azure's resource provider
	// operations, Microsoft.Consumption section of
	// https://learn.microsoft.com/azure/role-based-access-control/permissions/management-and-governance).
	"azure-native:consumption/v20240801:Budget": {resource: "Microsoft.Consumption/budgets"},

	// Functions (invokes) the program calls.
	"azure-native:containerservice/v20241001:listManagedClusterUserCredentials": {extra: []extraAction{
		{"Microsoft.ContainerService/managedClusters/listClusterUserCredential/action", "the Kubernetes provider's kubeconfig comes from the cluster-user credentials (a POST)"},
	}},
	// Only when a deployed stack moves to Cilium: the program reads the cluster's dataplane.
	"azure-native:containerservice/v20241001:getManagedCluster": {extra: []extraAction{
		{"Microsoft.ContainerService/managedClusters/read", "read a deployed cluster's network dataplane before letting the stack move to Cilium"},
	}},
	"azure-native:authorization:getClientConfig": {none: "reads the signed-in identity from its token; no ARM request"},
	"azure-native:authorization:getClientToken":  {none: "asks Microsoft Entra ID for a token for AKS (aks.kubeLogin token); no ARM request"},
}

// kubernetesDataAction is the Azure RBAC data action the deployer needs on a cluster that
// authorizes Kubernetes requests with Azure RBAC (aks.azureRbac: local accounts are off, so the
// deployer's own Entra identity is the only way in). A narrower list cannot be derived from
// the stack: its Helm charts (Argo Workflows, Argo Events) install CRDs, cluster roles and
// webhooks whose kinds are only known at deploy time, and Kubernetes lets a caller create a
// Role or RoleBinding only with the rights it grants (or escalate/bind). It is what the
// built-in "Azure Kubernetes Service RBAC Cluster Admin" role holds, limited to the clusters
// under the role's assignment scope.
const kubernetesDataAction = "Microsoft.ContainerService/managedClusters/*"

// otherPackage classifies tokens that are not Azure management-plane resources.
type otherPackage struct {
	prefix string
	// Category names what the tokens are.
	category string
	why      string
}

// otherPackages are matched by prefix, in order. Whole packages are classified, not single
// types, because nothing in them is authorized by Azure RBAC on the management plane: a new
// Kubernetes kind changes nothing in the role.
var otherPackages = []otherPackage{
	{"azuread:", "Microsoft Entra ID", "Entra objects are authorized by Entra roles, not Azure RBAC (docs/deployer-role.md)"},
	{"random:", "local", "generated by the Pulumi engine, nothing in Azure"},
	{"kubernetes:", "Kubernetes API", "authorized by the cluster; with Azure RBAC for Kubernetes the deployer needs " + kubernetesDataAction + " (a data action)"},
	{"pulumi:providers:", "Pulumi provider", "provider configuration held in the Pulumi state"},
	{"pulumi:pulumi:", "Pulumi engine", "the stack itself, held in the Pulumi state"},
	{"metaflow-azure:", "component", "a grouping in the Pulumi state; its children are classified on their own"},
}

// classifyOther returns the package entry a non-Azure token falls under.
func classifyOther(token string) (otherPackage, bool) {
	for _, p := range otherPackages {
		if strings.HasPrefix(token, p.prefix) {
			return p, true
		}
	}
	return otherPackage{}, false
}
