package armcontract

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

const (
	aks        = "azure-native:containerservice/v20241001:ManagedCluster"
	agentPool  = "azure-native:containerservice/v20241001:AgentPool"
	pgServer   = "azure-native:dbforpostgresql/v20240801:Server"
	roleAssign = "azure-native:authorization:RoleAssignment"
	storageAcc = "azure-native:storage:StorageAccount"
	blobSvc    = "azure-native:storage:BlobServiceProperties"
	subnet     = "azure-native:network:Subnet"
)

func contracts(t *testing.T) *Contracts {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// valid returns an input the contract accepts, as azure-native's Go SDK registers it: Pulumi
// input names, "properties" flattened, path parameters as inputs.
func valid(tok string) map[string]any {
	switch tok {
	case aks:
		return map[string]any{
			"resourceGroupName": "rg-metaflow-dev",
			"resourceName":      "aks-metaflow-dev",
			"location":          "westeurope",
			"dnsPrefix":         "metaflow-dev",
			"kubernetesVersion": "1.30",
			"enableRBAC":        true,
			"identity": map[string]any{
				"type":                   "UserAssigned",
				"userAssignedIdentities": []any{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id"},
			},
			"agentPoolProfiles": []any{map[string]any{
				"name": "system", "mode": "System", "count": 2, "vmSize": "Standard_D4s_v5",
				"osType": "Linux", "osSKU": "AzureLinux", "osDiskSizeGB": 128,
				"upgradeSettings": map[string]any{"maxSurge": "33%"},
			}},
			"networkProfile": map[string]any{
				"networkPlugin": "azure", "networkPluginMode": "overlay",
				"serviceCidr": "10.100.0.0/16", "dnsServiceIP": "10.100.0.10",
			},
			"tags": map[string]any{"app": "metaflow"},
		}
	case agentPool:
		return map[string]any{
			"resourceGroupName": "rg", "resourceName": "aks", "agentPoolName": "compute",
			"count": 1, "vmSize": "Standard_D8s_v5", "mode": "User", "enableAutoScaling": true, "minCount": 0, "maxCount": 5,
		}
	case pgServer:
		return map[string]any{
			"resourceGroupName":          "rg-metaflow-dev",
			"serverName":                 "pg-metaflow-dev",
			"location":                   "westeurope",
			"version":                    "16",
			"administratorLogin":         "metaflow",
			"administratorLoginPassword": resource.MakeSecret(resource.NewStringProperty("s3cret!")),
			"sku":                        map[string]any{"name": "Standard_B1ms", "tier": "Burstable"},
			"storage":                    map[string]any{"storageSizeGB": 32},
			"network":                    map[string]any{"publicNetworkAccess": "Disabled"},
			"authConfig":                 map[string]any{"passwordAuth": "Enabled", "activeDirectoryAuth": "Disabled"},
		}
	case roleAssign:
		return map[string]any{
			"scope":            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa",
			"principalId":      "00000000-0000-0000-0000-000000000001",
			"principalType":    "ServicePrincipal",
			"roleDefinitionId": "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe",
		}
	case storageAcc:
		return map[string]any{
			"resourceGroupName":      "rg",
			"accountName":            "stmetaflowdev",
			"location":               "westeurope",
			"kind":                   "StorageV2",
			"sku":                    map[string]any{"name": "standard_lrs"}, // enum values compare case-insensitively
			"enableHttpsTrafficOnly": true,                                   // JSON supportsHttpsTrafficOnly
			"networkRuleSet":         map[string]any{"defaultAction": "Deny"},
			"minimumTlsVersion":      "TLS1_2",
		}
	case blobSvc:
		return map[string]any{
			"resourceGroupName": "rg", "accountName": "stmetaflowdev", "blobServicesName": "default",
			"deleteRetentionPolicy": map[string]any{"enabled": true, "days": 7},
		}
	case subnet:
		return map[string]any{
			"resourceGroupName": "rg", "virtualNetworkName": "vnet", "subnetName": "postgres",
			"addressPrefix": "10.0.2.0/24",
			"delegations":   []any{map[string]any{"name": "pg", "serviceName": "Microsoft.DBforPostgreSQL/flexibleServers"}},
		}
	}
	panic(tok)
}

// set changes one fact: the value at a dotted Pulumi input path ("agentPoolProfiles.0.count").
func set(m map[string]any, path string, v any) map[string]any {
	parts := strings.Split(path, ".")
	var cur any = m
	for i, p := range parts {
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[p] = v
			} else {
				cur = c[p]
			}
		case []any:
			n := 0
			for _, ch := range p {
				n = n*10 + int(ch-'0')
			}
			if last {
				c[n] = v
			} else {
				cur = c[n]
			}
		}
	}
	return m
}

func check(t *testing.T, c *Contracts, tok string, in map[string]any) []Violation {
	t.Helper()
	vs, err := c.Check(tok, resource.NewPropertyMapFromMap(in))
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// refused asserts exactly one violation, at path with code, whose message contains each of want.
func refused(t *testing.T, vs []Violation, path, code string, want ...string) {
	t.Helper()
	if len(vs) != 1 {
		t.Fatalf("want one violation at %s, got %d: %v", path, len(vs), vs)
	}
	v := vs[0]
	if v.Path != path || v.Code != code {
		t.Fatalf("want %s at %s, got %v", code, path, v)
	}
	for _, w := range want {
		if !strings.Contains(v.Message, w) {
			t.Errorf("message %q lacks %q", v.Message, w)
		}
	}
}

func TestValidInputsPass(t *testing.T) {
	c := contracts(t)
	for _, tok := range []string{aks, agentPool, pgServer, roleAssign, storageAcc, blobSvc, subnet} {
		if vs := check(t, c, tok, valid(tok)); len(vs) != 0 {
			t.Errorf("%s: valid input refused: %v", tok, vs)
		}
	}
}

func TestUnknownPropertyNamesNearest(t *testing.T) {
	c := contracts(t)
	in := valid(aks)
	in["agentPoolProfiles"].([]any)[0].(map[string]any)["vmSizes"] = "Standard_D4s_v5"
	refused(t, check(t, c, aks, in), "properties.agentPoolProfiles[0].vmSizes", CodeUnknownProperty, "vmSize")

	top := set(valid(pgServer), "administratorLogon", "x")
	refused(t, check(t, c, pgServer, top), "administratorLogon", CodeUnknownProperty, "administratorLogin")
}

func TestWrongJSONType(t *testing.T) {
	c := contracts(t)
	refused(t, check(t, c, aks, set(valid(aks), "agentPoolProfiles.0.count", "2")), "properties.agentPoolProfiles[0].count", CodeType, "integer", "string")
	refused(t, check(t, c, aks, set(valid(aks), "agentPoolProfiles.0.count", 2.5)), "properties.agentPoolProfiles[0].count", CodeType)
	refused(t, check(t, c, storageAcc, set(valid(storageAcc), "enableHttpsTrafficOnly", "yes")), "properties.supportsHttpsTrafficOnly", CodeType, "boolean")
}

func TestEnumNotInAPIVersion(t *testing.T) {
	c := contracts(t)
	// 2024-08-01's ServerVersion lists 11-16; 17 came with a later API version.
	refused(t, check(t, c, pgServer, set(valid(pgServer), "version", "17")), "properties.version", CodeEnum, `"17"`, `"16"`)
	refused(t, check(t, c, roleAssign, set(valid(roleAssign), "principalType", "ManagedIdentity")), "properties.principalType", CodeEnum, "ServicePrincipal")
	// Case-insensitive, as ARM compares.
	if vs := check(t, c, aks, set(valid(aks), "agentPoolProfiles.0.mode", "system")); len(vs) != 0 {
		t.Errorf("case-insensitive enum refused: %v", vs)
	}
}

func TestReadOnlyRefused(t *testing.T) {
	c := contracts(t)
	refused(t, check(t, c, pgServer, set(valid(pgServer), "fullyQualifiedDomainName", "pg.postgres.database.azure.com")), "properties.fullyQualifiedDomainName", CodeReadOnly)
	refused(t, check(t, c, aks, set(valid(aks), "fqdn", "x.hcp.westeurope.azmk8s.io")), "properties.fqdn", CodeReadOnly)
}

func TestFlattenAtEveryLevel(t *testing.T) {
	c := contracts(t)
	// A delegation's serviceName lives at delegations[].properties.serviceName in ARM.
	refused(t, check(t, c, subnet, set(valid(subnet), "delegations.0.serviceName", 7)), "properties.delegations[0].properties.serviceName", CodeType)
}

func TestUserAssignedIdentitiesShape(t *testing.T) {
	c := contracts(t)
	refused(t, check(t, c, aks, set(valid(aks), "identity.userAssignedIdentities", []any{42})), "identity.userAssignedIdentities[0]", CodeType)
}

func TestPathConstant(t *testing.T) {
	c := contracts(t)
	refused(t, check(t, c, blobSvc, set(valid(blobSvc), "blobServicesName", "blobs")), "{BlobServicesName}", CodePathConstant, "default")
}

func TestSecretsUnwrappedUnknownsSkipped(t *testing.T) {
	c := contracts(t)
	in := resource.NewPropertyMapFromMap(valid(pgServer))
	in["version"] = resource.MakeSecret(resource.NewStringProperty("17"))
	vs, err := c.Check(pgServer, in)
	if err != nil {
		t.Fatal(err)
	}
	refused(t, vs, "properties.version", CodeEnum)
	in["version"] = resource.MakeComputed(resource.NewStringProperty(""))
	in["storage"] = resource.NewOutputProperty(resource.Output{Known: false})
	if vs, _ := c.Check(pgServer, in); len(vs) != 0 {
		t.Errorf("unknown values must be skipped: %v", vs)
	}
}

func TestNoContract(t *testing.T) {
	c := contracts(t)
	if _, err := c.Check("azure-native:web:WebApp", resource.PropertyMap{}); err == nil {
		t.Fatal("want an error for a type with no contract")
	}
}

func TestAPIVersion(t *testing.T) {
	c := contracts(t)
	for tok, want := range map[string]string{
		aks:                                    "2024-10-01",
		storageAcc:                             "2022-09-01",
		"azure-native:resources:ResourceGroup": "2022-09-01",
		"azure-native:containerservice:ManagedCluster":         "2023-04-01",
		"azure-native:containerregistry/v20230701:Registry":    "2023-07-01",
		"azure-native:network/v20240101preview:VirtualNetwork": "2024-01-01-preview",
	} {
		if got, ok := c.APIVersion(tok); !ok || got != want {
			t.Errorf("APIVersion(%s) = %q, %v; want %s", tok, got, ok, want)
		}
	}
}

func TestFlattenedNameBeatsReadOnlyTopLevel(t *testing.T) {
	c := contracts(t)
	// AgentPool: top-level "type" is the read-only resource type; the input "type" is the pool
	// type, properties.type.
	if vs := check(t, c, agentPool, set(valid(agentPool), "type", "VirtualMachineScaleSets")); len(vs) != 0 {
		t.Errorf("pool type refused: %v", vs)
	}
	refused(t, check(t, c, agentPool, set(valid(agentPool), "type", "AvailabilitySets2")), "properties.type", CodeEnum)
}

func TestInvokeQueryParameters(t *testing.T) {
	c := contracts(t)
	tok := "azure-native:containerservice/v20241001:listManagedClusterUserCredentials"
	in := map[string]any{"resourceGroupName": "rg", "resourceName": "aks", "format": "exec"}
	if vs := check(t, c, tok, in); len(vs) != 0 {
		t.Errorf("valid invoke refused: %v", vs)
	}
	refused(t, check(t, c, tok, set(in, "format", "kubeconfig")), "?format", CodeEnum, `"azure"`, `"exec"`)
	delete(in, "format")
	refused(t, check(t, c, tok, set(in, "serverFQDNs", "x")), "?serverFQDNs", CodeUnknownProperty, "server-fqdn")
}
