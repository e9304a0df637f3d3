package fakeazure

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// fill sets the outputs a provider computes for a created resource and returns its ID. Required
// inputs the real API would insist on are insisted on here too.
func fill(typ, name string, in, out resource.PropertyMap) (string, error) {
	set := func(k string, v any) { out[resource.PropertyKey(k)] = resource.NewPropertyValue(v) }
	secret := func(k, v string) {
		out[resource.PropertyKey(k)] = resource.MakeSecret(resource.NewStringProperty(v))
	}
	need := func(keys ...string) error {
		for _, k := range keys {
			if _, ok := in[resource.PropertyKey(k)]; !ok {
				return fmt.Errorf("fakeazure: %s %q: %s is required", typ, name, k)
			}
		}
		return nil
	}
	rgID := func() string {
		return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s", SubscriptionID, str(in, "resourceGroupName"))
	}

	switch typ {
	case "azure-native:resources/v20241101:ResourceGroup":
		if err := need("resourceGroupName", "location"); err != nil {
			return "", err
		}
		set("name", str(in, "resourceGroupName"))
		set("provisioningState", "Succeeded")
		return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s", SubscriptionID, str(in, "resourceGroupName")), nil

	case "azure-native:network:VirtualNetwork":
		if err := need("resourceGroupName", "virtualNetworkName", "addressSpace"); err != nil {
			return "", err
		}
		set("name", str(in, "virtualNetworkName"))
		return rgID() + "/providers/Microsoft.Network/virtualNetworks/" + str(in, "virtualNetworkName"), nil

	case "azure-native:network:Subnet":
		if err := need("resourceGroupName", "virtualNetworkName", "subnetName", "addressPrefix"); err != nil {
			return "", err
		}
		set("name", str(in, "subnetName"))
		return fmt.Sprintf("%s/providers/Microsoft.Network/virtualNetworks/%s/subnets/%s", rgID(), str(in, "virtualNetworkName"), str(in, "subnetName")), nil

	case "azure-native:network:PrivateEndpoint":
		if err := need("resourceGroupName", "privateEndpointName", "subnet", "privateLinkServiceConnections"); err != nil {
			return "", err
		}
		set("name", str(in, "privateEndpointName"))
		set("provisioningState", "Succeeded")
		return rgID() + "/providers/Microsoft.Network/privateEndpoints/" + str(in, "privateEndpointName"), nil

	case "azure-native:network:PrivateDnsZoneGroup":
		if err := need("resourceGroupName", "privateEndpointName", "privateDnsZoneGroupName", "privateDnsZoneConfigs"); err != nil {
			return "", err
		}
		set("name", str(in, "privateDnsZoneGroupName"))
		return fmt.Sprintf("%s/providers/Microsoft.Network/privateEndpoints/%s/privateDnsZoneGroups/%s", rgID(), str(in, "privateEndpointName"), str(in, "privateDnsZoneGroupName")), nil

	case "azure-native:network:PrivateZone":
		if err := need("resourceGroupName", "privateZoneName"); err != nil {
			return "", err
		}
		set("name", str(in, "privateZoneName"))
		return rgID() + "/providers/Microsoft.Network/privateDnsZones/" + str(in, "privateZoneName"), nil

	case "azure-native:network:VirtualNetworkLink":
		if err := need("resourceGroupName", "privateZoneName", "virtualNetworkLinkName", "virtualNetwork"); err != nil {
			return "", err
		}
		set("name", str(in, "virtualNetworkLinkName"))
		set("virtualNetworkLinkState", "Completed")
		return fmt.Sprintf("%s/providers/Microsoft.Network/privateDnsZones/%s/virtualNetworkLinks/%s", rgID(), str(in, "privateZoneName"), str(in, "virtualNetworkLinkName")), nil

	case "azure-native:storage:StorageAccount":
		if err := need("resourceGroupName", "accountName", "kind", "sku"); err != nil {
			return "", err
		}
		account := str(in, "accountName")
		set("name", account)
		set("primaryEndpoints", map[string]any{
			"blob": fmt.Sprintf("https://%s.blob.core.windows.net/", account),
			"dfs":  fmt.Sprintf("https://%s.dfs.core.windows.net/", account),
			"web":  fmt.Sprintf("https://%s.z6.web.core.windows.net/", account),
		})
		return rgID() + "/providers/Microsoft.Storage/storageAccounts/" + account, nil

	case "azure-native:storage:BlobServiceProperties":
		if err := need("resourceGroupName", "accountName"); err != nil {
			return "", err
		}
		set("name", "default")
		return fmt.Sprintf("%s/providers/Microsoft.Storage/storageAccounts/%s/blobServices/default", rgID(), str(in, "accountName")), nil

	case "azure-native:storage:BlobContainer":
		if err := need("resourceGroupName", "accountName", "containerName"); err != nil {
			return "", err
		}
		set("name", str(in, "containerName"))
		return fmt.Sprintf("%s/providers/Microsoft.Storage/storageAccounts/%s/blobServices/default/containers/%s", rgID(), str(in, "accountName"), str(in, "containerName")), nil

	case "azure-native:dbforpostgresql/v20240801:Server":
		if err := need("resourceGroupName", "serverName", "administratorLogin", "administratorLoginPassword", "version", "sku"); err != nil {
			return "", err
		}
		server := str(in, "serverName")
		set("name", server)
		set("fullyQualifiedDomainName", server+".postgres.database.azure.com")
		set("state", "Ready")
		return rgID() + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/" + server, nil

	case "azure-native:dbforpostgresql/v20240801:Configuration":
		if err := need("resourceGroupName", "serverName", "configurationName", "value"); err != nil {
			return "", err
		}
		set("name", str(in, "configurationName"))
		return fmt.Sprintf("%s/providers/Microsoft.DBforPostgreSQL/flexibleServers/%s/configurations/%s", rgID(), str(in, "serverName"), str(in, "configurationName")), nil

	case "azure-native:dbforpostgresql/v20240801:Database":
		if err := need("resourceGroupName", "serverName", "databaseName"); err != nil {
			return "", err
		}
		set("name", str(in, "databaseName"))
		return fmt.Sprintf("%s/providers/Microsoft.DBforPostgreSQL/flexibleServers/%s/databases/%s", rgID(), str(in, "serverName"), str(in, "databaseName")), nil

	case "azure-native:managedidentity:UserAssignedIdentity":
		if err := need("resourceGroupName", "resourceName"); err != nil {
			return "", err
		}
		id := rgID() + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + str(in, "resourceName")
		set("name", str(in, "resourceName"))
		set("principalId", guid("principal:"+id))
		set("clientId", guid("client:"+id))
		set("tenantId", TenantID)
		return id, nil

	case "azure-native:managedidentity:FederatedIdentityCredential":
		if err := need("resourceGroupName", "resourceName", "federatedIdentityCredentialResourceName", "issuer", "subject", "audiences"); err != nil {
			return "", err
		}
		// Entra accepts exactly one audience and an https issuer (entra-docs
		// workload-identity-federation-considerations.md, "Errors").
		if aud := in["audiences"]; !aud.IsArray() || len(aud.ArrayValue()) != 1 {
			return "", fmt.Errorf("fakeazure: %s %q: BadRequest: exactly one audience is allowed, got %v", typ, name, aud)
		}
		if issuer := str(in, "issuer"); !strings.HasPrefix(issuer, "https://") {
			return "", fmt.Errorf("fakeazure: %s %q: BadRequest: issuer %q must be an https URL", typ, name, issuer)
		}
		set("name", str(in, "federatedIdentityCredentialResourceName"))
		set("type", "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials")
		return fmt.Sprintf("%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/%s/federatedIdentityCredentials/%s",
			rgID(), str(in, "resourceName"), str(in, "federatedIdentityCredentialResourceName")), nil

	case "azure-native:authorization:RoleAssignment":
		if err := need("principalId", "roleDefinitionId", "scope"); err != nil {
			return "", err
		}
		assignment := str(in, "roleAssignmentName")
		if assignment == "" {
			assignment = guid("assignment:" + name)
		}
		set("name", assignment)
		// A fixed clock: the fake's answers must not change between runs.
		set("createdOn", "2026-01-01T00:00:00.0000000Z")
		return str(in, "scope") + "/providers/Microsoft.Authorization/roleAssignments/" + assignment, nil

	case "azure-native:containerservice/v20241001:ManagedCluster":
		if err := need("resourceGroupName", "resourceName", "dnsPrefix", "agentPoolProfiles", "identity"); err != nil {
			return "", err
		}
		cluster := str(in, "resourceName")
		set("name", cluster)
		set("fqdn", fmt.Sprintf("%s-%s.hcp.westeurope.azmk8s.io", str(in, "dnsPrefix"), hash(cluster)[:8]))
		set("oidcIssuerProfile", map[string]any{
			"enabled":   true,
			"issuerURL": fmt.Sprintf("https://%s.oic.prod-aks.azure.com/%s/%s/", str(in, "location"), TenantID, guid("oidc:"+cluster)),
		})
		set("provisioningState", "Succeeded")
		// AKS creates the kubelet's user-assigned identity in the node resource group.
		kubelet := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/%s-agentpool",
			SubscriptionID, str(in, "nodeResourceGroup"), cluster)
		set("identityProfile", map[string]any{"kubeletidentity": map[string]any{
			"resourceId": kubelet, "clientId": guid("client:" + kubelet), "objectId": guid("principal:" + kubelet),
		}})
		return rgID() + "/providers/Microsoft.ContainerService/managedClusters/" + cluster, nil

	case "azure-native:containerregistry/v20230701:Registry":
		if err := need("resourceGroupName", "registryName", "sku"); err != nil {
			return "", err
		}
		registry := str(in, "registryName")
		set("name", registry)
		set("loginServer", registry+".azurecr.io")
		set("provisioningState", "Succeeded")
		set("creationDate", "2026-01-01T00:00:00Z")
		return rgID() + "/providers/Microsoft.ContainerRegistry/registries/" + registry, nil

	case "azure-native:containerservice/v20241001:AgentPool":
		if err := need("resourceGroupName", "resourceName", "agentPoolName"); err != nil {
			return "", err
		}
		set("name", str(in, "agentPoolName"))
		return fmt.Sprintf("%s/providers/Microsoft.ContainerService/managedClusters/%s/agentPools/%s", rgID(), str(in, "resourceName"), str(in, "agentPoolName")), nil

	case "azure-native:operationalinsights/v20210601:Workspace":
		if err := need("resourceGroupName", "workspaceName", "sku"); err != nil {
			return "", err
		}
		workspace := str(in, "workspaceName")
		id := rgID() + "/providers/Microsoft.OperationalInsights/workspaces/" + workspace
		set("name", workspace)
		set("customerId", guid("workspace:"+id))
		set("provisioningState", "Succeeded")
		return id, nil

	case "azure-native:insights:ActionGroup":
		if err := need("resourceGroupName", "actionGroupName", "groupShortName", "enabled"); err != nil {
			return "", err
		}
		set("name", str(in, "actionGroupName"))
		return rgID() + "/providers/Microsoft.Insights/actionGroups/" + str(in, "actionGroupName"), nil

	case "azure-native:insights:MetricAlert":
		if err := need("resourceGroupName", "ruleName", "criteria", "scopes", "severity", "evaluationFrequency", "windowSize", "enabled"); err != nil {
			return "", err
		}
		set("name", str(in, "ruleName"))
		return rgID() + "/providers/Microsoft.Insights/metricAlerts/" + str(in, "ruleName"), nil

	case "azure-native:insights/v20220801preview:ScheduledQueryRule":
		if err := need("resourceGroupName", "ruleName", "criteria", "scopes", "location"); err != nil {
			return "", err
		}
		set("name", str(in, "ruleName"))
		return rgID() + "/providers/Microsoft.Insights/scheduledQueryRules/" + str(in, "ruleName"), nil

	case "azure-native:insights:DataCollectionRule":
		if err := need("resourceGroupName", "dataCollectionRuleName", "location"); err != nil {
			return "", err
		}
		set("name", str(in, "dataCollectionRuleName"))
		set("immutableId", "dcr-"+hash(str(in, "dataCollectionRuleName"))[:32])
		return rgID() + "/providers/Microsoft.Insights/dataCollectionRules/" + str(in, "dataCollectionRuleName"), nil

	case "azure-native:insights:DataCollectionRuleAssociation":
		if err := need("resourceUri", "associationName", "dataCollectionRuleId"); err != nil {
			return "", err
		}
		set("name", str(in, "associationName"))
		return str(in, "resourceUri") + "/providers/Microsoft.Insights/dataCollectionRuleAssociations/" + str(in, "associationName"), nil

	case "azure-native:insights:DiagnosticSetting":
		// An extension resource: its ID hangs under the resource it watches.
		if err := need("resourceUri", "name"); err != nil {
			return "", err
		}
		set("name", str(in, "name"))
		return str(in, "resourceUri") + "/providers/Microsoft.Insights/diagnosticSettings/" + str(in, "name"), nil

	case "azure-native:consumption/v20240801:Budget":
		// An extension resource of its scope (here the resource group); Azure computes the
		// spend so far and the forecast.
		if err := need("scope", "budgetName", "amount", "category", "timeGrain", "timePeriod"); err != nil {
			return "", err
		}
		// "Must have at least one contact email or contact group specified at the Subscription
		// or Resource Group scopes" (Notification.contactEmails, Consumption 2024-08-01).
		if n := in["notifications"]; n.IsObject() {
			for key, v := range n.ObjectValue() {
				if !v.IsObject() || (len(arr(v.ObjectValue(), "contactEmails")) == 0 && len(arr(v.ObjectValue(), "contactGroups")) == 0) {
					return "", fmt.Errorf("fakeazure: %s %q: notification %s has neither contactEmails nor contactGroups", typ, name, key)
				}
			}
		}
		set("name", str(in, "budgetName"))
		set("type", "Microsoft.Consumption/budgets")
		set("currentSpend", map[string]any{"amount": 0.0, "unit": "EUR"})
		set("forecastSpend", map[string]any{"amount": 0.0, "unit": "EUR"})
		return str(in, "scope") + "/providers/Microsoft.Consumption/budgets/" + str(in, "budgetName"), nil

	case "azure-native:authorization:ManagementLockByScope":
		if err := need("scope", "level", "lockName"); err != nil {
			return "", err
		}
		set("name", str(in, "lockName"))
		return str(in, "scope") + "/providers/Microsoft.Authorization/locks/" + str(in, "lockName"), nil

	case "azure-native:containerservice/v20241001:MaintenanceConfiguration":
		if err := need("resourceGroupName", "resourceName", "configName"); err != nil {
			return "", err
		}
		set("name", str(in, "configName"))
		return fmt.Sprintf("%s/providers/Microsoft.ContainerService/managedClusters/%s/maintenanceConfigurations/%s", rgID(), str(in, "resourceName"), str(in, "configName")), nil

	case "azuread:index/application:Application":
		if err := need("displayName"); err != nil {
			return "", err
		}
		objectID := guid("application:" + str(in, "displayName"))
		set("objectId", objectID)
		set("clientId", guid("client:"+str(in, "displayName")))
		set("applicationId", guid("client:"+str(in, "displayName")))
		return "/applications/" + objectID, nil

	case "azuread:index/servicePrincipal:ServicePrincipal":
		if err := need("clientId"); err != nil {
			return "", err
		}
		objectID := guid("service-principal:" + str(in, "clientId"))
		set("objectId", objectID)
		set("applicationTenantId", TenantID)
		return objectID, nil

	case "azuread:index/applicationPassword:ApplicationPassword":
		if err := need("applicationId"); err != nil {
			return "", err
		}
		keyID := guid("password:" + str(in, "applicationId"))
		set("keyId", keyID)
		// A fixed clock: the fake's answers must not change between runs.
		set("startDate", "2026-01-01T00:00:00Z")
		set("endDate", "2026-06-30T00:00:00Z")
		secret("value", SecretMarker+"client-secret-"+keyID[:8])
		return str(in, "applicationId") + "/password/" + keyID, nil

	case "random:index/randomPassword:RandomPassword":
		if err := need("length"); err != nil {
			return "", err
		}
		result, err := randomPassword(name, in)
		if err != nil {
			return "", err
		}
		secret("result", result)
		return "none", nil

	case "pulumi:providers:kubernetes":
		return guid("provider:" + name), nil

	case "kubernetes:helm.sh/v3:Release":
		if err := need("chart", "version", "repositoryOpts"); err != nil {
			return "", err
		}
		ns, release := str(in, "namespace"), str(in, "name")
		set("status", map[string]any{"name": release, "namespace": ns, "status": "deployed", "version": str(in, "version")})
		return ns + "/" + release, nil
	}
	if strings.HasPrefix(typ, "kubernetes:") {
		meta, ok := in["metadata"]
		if !ok || !meta.IsObject() {
			return "", fmt.Errorf("fakeazure: %s %q has no metadata", typ, name)
		}
		objName := str(meta.ObjectValue(), "name")
		if objName == "" {
			return "", fmt.Errorf("fakeazure: %s %q has no metadata.name", typ, name)
		}
		if ns := str(meta.ObjectValue(), "namespace"); ns != "" {
			return ns + "/" + objName, nil
		}
		return objName, nil
	}
	return "", fmt.Errorf("fakeazure: no fake for resource type %s", typ)
}

// randomPassword draws a password the way the random provider does for these inputs (length,
// character classes, minimum counts, override_special), from a generator seeded by the
// resource name so runs are reproducible. It starts with SecretMarker.
func randomPassword(name string, in resource.PropertyMap) (string, error) {
	num := func(k string) int {
		if v, ok := in[resource.PropertyKey(k)]; ok && v.IsNumber() {
			return int(v.NumberValue())
		}
		return 0
	}
	flag := func(k string) bool {
		v, ok := in[resource.PropertyKey(k)]
		return !ok || !v.IsBool() || v.BoolValue() // the provider's defaults are true
	}
	specials := "!@#$%&*()-_=+[]{}<>:?"
	if v := str(in, "overrideSpecial"); v != "" {
		specials = v
	}
	type class struct {
		chars string
		min   int
		on    bool
	}
	classes := []class{
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ", num("minUpper"), flag("upper")},
		{"abcdefghijklmnopqrstuvwxyz", num("minLower"), flag("lower")},
		{"0123456789", num("minNumeric"), flag("numeric")},
		{specials, num("minSpecial"), flag("special")},
	}
	length := num("length") - len(SecretMarker)
	seed := []byte(hash("password:" + name))
	r := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:16])))
	var all string
	var b []byte
	for _, c := range classes {
		if !c.on {
			continue
		}
		all += c.chars
		for range c.min {
			b = append(b, c.chars[r.IntN(len(c.chars))])
		}
	}
	if length < len(b) || all == "" {
		return "", fmt.Errorf("fakeazure: random password %q: length %d cannot hold the marker and the minimum counts", name, num("length"))
	}
	for len(b) < length {
		b = append(b, all[r.IntN(len(all))])
	}
	r.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
	return SecretMarker + string(b), nil
}
