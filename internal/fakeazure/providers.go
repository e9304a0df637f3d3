package fakeazure

import (
	"fmt"
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
	case "azure-native:resources:ResourceGroup":
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

	case "azure-native:dbforpostgresql:Server":
		if err := need("resourceGroupName", "serverName", "administratorLogin", "administratorLoginPassword", "version", "sku"); err != nil {
			return "", err
		}
		server := str(in, "serverName")
		set("name", server)
		set("fullyQualifiedDomainName", server+".postgres.database.azure.com")
		set("state", "Ready")
		return rgID() + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/" + server, nil

	case "azure-native:dbforpostgresql:Configuration":
		if err := need("resourceGroupName", "serverName", "configurationName", "value"); err != nil {
			return "", err
		}
		set("name", str(in, "configurationName"))
		return fmt.Sprintf("%s/providers/Microsoft.DBforPostgreSQL/flexibleServers/%s/configurations/%s", rgID(), str(in, "serverName"), str(in, "configurationName")), nil

	case "azure-native:dbforpostgresql:Database":
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

	case "azure-native:authorization:RoleAssignment":
		if err := need("principalId", "roleDefinitionId", "scope"); err != nil {
			return "", err
		}
		assignment := str(in, "roleAssignmentName")
		if assignment == "" {
			assignment = guid("assignment:" + name)
		}
		set("name", assignment)
		return str(in, "scope") + "/providers/Microsoft.Authorization/roleAssignments/" + assignment, nil

	case "azure-native:containerservice:ManagedCluster":
		if err := need("resourceGroupName", "resourceName", "dnsPrefix", "agentPoolProfiles", "identity"); err != nil {
			return "", err
		}
		cluster := str(in, "resourceName")
		set("name", cluster)
		set("fqdn", fmt.Sprintf("%s-%s.hcp.westeurope.azmk8s.io", str(in, "dnsPrefix"), hash(cluster)[:8]))
		set("oidcIssuerProfile", map[string]any{
			"enabled":   true,
			"issuerURL": fmt.Sprintf("https://westeurope.oic.prod-aks.azure.com/%s/%s/", TenantID, guid("oidc:"+cluster)),
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

	case "azure-native:containerservice:AgentPool":
		if err := need("resourceGroupName", "resourceName", "agentPoolName"); err != nil {
			return "", err
		}
		set("name", str(in, "agentPoolName"))
		return fmt.Sprintf("%s/providers/Microsoft.ContainerService/managedClusters/%s/agentPools/%s", rgID(), str(in, "resourceName"), str(in, "agentPoolName")), nil

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
		// Shaped like what Azure accepts: upper, lower, digits and a special character.
		secret("result", SecretMarker+"Pw-"+hash(name)[:12]+"-X9")
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
