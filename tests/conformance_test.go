package tests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/armcontract"
	"metaflow-azure/internal/fakeazure"
	"metaflow-azure/internal/kubeconfig"
	"metaflow-azure/internal/program"
	"metaflow-azure/internal/stackconfig"
)

// allOptions turns every optional Azure setting on, in a region with zones and a two-way pair.
var allOptions = []string{
	"location=northeurope",
	"aks.azureRbac=true",
	"postgres.highAvailability=true",
	"postgres.geoRedundantBackup=true",
	"storage.replication=RAGZRS",
	`access.flowRunners=[{"objectId":"11111111-2222-4333-8444-555555555555","type":"Group"},{"objectId":"66666666-7777-4888-9999-000000000000","type":"User","userPrincipalName":"alice@example.com"}]`,
}

// The fake Azure refuses what ARM refuses (internal/fakeazure/conformance.go), so every stack
// that runs at all has passed the conformance layer.
func TestStacksPassTheConformanceLayer(t *testing.T) {
	t.Parallel()
	for name, overrides := range map[string][]string{"dev": nil, "prod": nil, "all options": allOptions} {
		stack := "prod"
		if name == "dev" {
			stack = "dev"
		}
		if _, err := tryStack(stack, overrides...); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A region without zones or a pair makes ARM refuse zone- and pair-dependent options at create
// time; settings validation refuses them first, and the layer would too.
func TestRegionCapabilitiesAreRefusedBeforeAzureWould(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ overrides []string }{
		{[]string{"location=westus"}},
		{[]string{"location=polandcentral", "storage.replication=GRS"}},
		{[]string{"location=northcentralus", "storage.replication=LRS", "postgres.highAvailability=true"}},
		{[]string{"location=italynorth", "postgres.geoRedundantBackup=true"}},
	} {
		s, err := tryStack("prod", tc.overrides...)
		if err == nil || !strings.Contains(err.Error(), "invalid stack configuration") {
			t.Errorf("%v: %v; want a settings error", tc.overrides, err)
		}
		if s != nil && len(s.fake.Resources()) != 0 {
			t.Errorf("%v declared resources before refusing", tc.overrides)
		}
	}
}

// corrupt runs one check of the layer on a copy of a declared resource's inputs with one fact
// changed, and returns the refusal codes.
func corrupt(t *testing.T, s *stack, r *fakeazure.Resource, change func(resource.PropertyMap)) []string {
	t.Helper()
	in := r.Inputs.Copy()
	change(in)
	var codes []string
	for _, e := range s.fake.Conform(r.Type, r.Name, in) {
		codes = append(codes, e.Code+" "+e.Target)
	}
	return codes
}

func set(path string, v any) func(resource.PropertyMap) {
	return func(m resource.PropertyMap) {
		parts := strings.Split(path, ".")
		cur := m
		for _, p := range parts[:len(parts)-1] {
			next := cur[resource.PropertyKey(p)]
			for next.IsSecret() {
				next = next.SecretValue().Element
			}
			obj := next.ObjectValue().Copy()
			cur[resource.PropertyKey(p)] = resource.NewObjectProperty(obj)
			cur = obj
		}
		cur[resource.PropertyKey(parts[len(parts)-1])] = resource.NewPropertyValue(v)
	}
}

func TestTheConformanceLayerRefusesEachKindOfWrongFact(t *testing.T) {
	t.Parallel()
	s := runStack(t, "prod")
	var subnetAccess *fakeazure.Resource
	for _, a := range s.all(tAssignment) {
		if a.Name == "aks-subnet-access" {
			subnetAccess = a
		}
	}
	server := s.one(tServer, "database-server")
	account := s.one(tStorage, "datastore-account")
	cluster := s.one(tCluster, "aks")
	taskPool := s.one(tAgentPool, "aks-tasks")
	blobService := s.one(tBlobService, "datastore-blob-service")
	for _, tc := range []struct {
		name   string
		r      *fakeazure.Resource
		change func(resource.PropertyMap)
		want   string
	}{
		{"built-in role GUID one segment wrong", subnetAccess, set("roleDefinitionId", "/subscriptions/"+fakeazure.SubscriptionID+"/providers/Microsoft.Authorization/roleDefinitions/4abbcc35-e782-43d8-92c5-2d3473bec4f1"), "RoleDefinitionDoesNotExist roleDefinitionId"},
		{"role definition ID inside a resource group", subnetAccess, set("roleDefinitionId", "/subscriptions/"+fakeazure.SubscriptionID+"/resourceGroups/rg/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7"), "InvalidRoleDefinitionId roleDefinitionId"},
		{"role assignment name not a GUID", subnetAccess, set("roleAssignmentName", "aks-subnet-access"), "InvalidRoleAssignmentId roleAssignmentName"},
		{"zone-redundant storage without zones", account, set("location", "westus"), "RedundancyConfigurationNotAvailableInRegion sku.name"},
		{"zone-redundant HA without zones", server, set("location", "northcentralus"), "ZoneRedundantHighAvailabilityNotSupported highAvailability.mode"},
		{"geo-redundant backup without a pair", server, set("location", "polandcentral"), "GeoBackupsNotSupported backup.geoRedundantBackup"},
		{"password containing part of the login", server, set("administratorLoginPassword", "Xy-metaflow.99"), "PasswordNotComplex administratorLoginPassword"},
		{"password of two character classes", server, set("administratorLoginPassword", "abcdefgh.ijkl"), "PasswordNotComplex administratorLoginPassword"},
		{"not an Azure region", server, set("location", "westeurop"), "LocationNotAvailableForResourceType location"},
		// From Microsoft's published contract of the API version each resource is sent with.
		{"enum value the API version does not list", server, set("version", "17"), "ENUM_MISMATCH properties.version"},
		{"property the API version does not have", cluster, set("kubernetesVersionPin", "1.36"), "OBJECT_ADDITIONAL_PROPERTIES"},
		{"read-only property sent", cluster, set("provisioningState", "Succeeded"), "READONLY_PROPERTY_NOT_ALLOWED_IN_REQUEST"},
		{"wrong JSON type", taskPool, set("maxCount", "100"), "INVALID_TYPE properties.maxCount"},
		{"pattern", taskPool, set("agentPoolName", "Task-Pool"), "PATTERN {agentPoolName}"},
		{"length", account, set("accountName", "st0123456789012345678901234"), "MAX_LENGTH {accountName}"},
		{"range", blobService, set("deleteRetentionPolicy.days", 366), "MAXIMUM properties.deleteRetentionPolicy.days"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.r == nil {
				t.Fatal("resource not declared")
			}
			if clean := corrupt(t, s, tc.r, func(resource.PropertyMap) {}); len(clean) != 0 {
				t.Fatalf("the declared %s is refused already: %v", tc.r.Name, clean)
			}
			got := corrupt(t, s, tc.r, tc.change)
			if !strings.Contains(strings.Join(got, "; "), tc.want) {
				t.Errorf("refusals %v; want %q", got, tc.want)
			}
		})
	}
}

// With Azure RBAC, AKS returns an exec kubeconfig signing in with a device code; the provider
// must get one that needs nobody.
func TestKubernetesProviderSignsInWithoutAPerson(t *testing.T) {
	t.Parallel()
	s := runStack(t, "prod")
	cfg := str(s.all("pulumi:providers:kubernetes")[0].Inputs, "kubeconfig")
	if strings.Contains(cfg, "devicecode") || strings.Contains(cfg, "exec:") || !strings.Contains(cfg, "token: "+fakeazure.SecretMarker) {
		t.Errorf("prod provider kubeconfig is not a token kubeconfig:\n%s", cfg)
	}
	if !isSecret(s.all("pulumi:providers:kubernetes")[0].Inputs, "kubeconfig") {
		t.Error("the provider kubeconfig is not secret")
	}
	asked := false
	for _, i := range s.fake.Invokes() {
		if i.Token == "azure-native:authorization:getClientToken" {
			asked = str(i.Args, "endpoint") == kubeconfig.AKSServerAppID
		}
	}
	if !asked {
		t.Error("no Entra token was asked for the AKS server application")
	}

	// The kubeconfig output is for people: kubelogin with their az login, which outlasts a token.
	out := fmt.Sprint(s.outputs["kubeconfig"].Value)
	if !strings.Contains(out, "- azurecli") || strings.Contains(out, "devicecode") || !s.outputs["kubeconfig"].Secret {
		t.Errorf("kubeconfig output:\n%s", out)
	}

	cli := runStack(t, "prod", "aks.kubeLogin=workloadidentity")
	cfg = str(cli.all("pulumi:providers:kubernetes")[0].Inputs, "kubeconfig")
	if !strings.Contains(cfg, "- workloadidentity") || strings.Contains(cfg, "devicecode") || !strings.Contains(cfg, "interactiveMode: Never") {
		t.Errorf("kubeLogin workloadidentity kubeconfig:\n%s", cfg)
	}

	dev := runStack(t, "dev") // local accounts: AKS's own kubeconfig, unchanged
	if cfg := str(dev.all("pulumi:providers:kubernetes")[0].Inputs, "kubeconfig"); !strings.Contains(cfg, "kube-token-") {
		t.Errorf("dev provider kubeconfig:\n%s", cfg)
	}
}

// ARM refuses a role assignment whose principalType does not match the principal; the deployer
// may be a person (az login) or a service principal (CI).
func TestDeployerAdminRoleNamesTheDeployersPrincipalType(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"User", "ServicePrincipal"} {
		cfg, err := stackconfig.Load("..", "prod")
		if err != nil {
			t.Fatal(err)
		}
		fake := fakeazure.New(cfg.Project, cfg.Stack)
		fake.SetDeployerPrincipalType(kind)
		if _, err := fake.RunDeclare(cfg.Values, func(ctx *pulumi.Context) (pulumi.Map, error) {
			return program.Declare(ctx, cfg.Values)
		}); err != nil {
			t.Fatalf("deployer as %s: %v", kind, err)
		}
		for _, r := range fake.Resources() {
			if r.Name == "aks-deployer-admin" && str(r.Inputs, "principalType") != kind {
				t.Errorf("deployer as %s: admin assignment principalType %q", kind, str(r.Inputs, "principalType"))
			}
		}
	}
}

// The stack records what Azure cannot change in place and refuses such changes on the next
// run, before declaring anything.
func TestChangesAzureCannotApplyAreRefused(t *testing.T) {
	t.Parallel()
	first := runStack(t, "prod")
	applied, ok := first.outputs["appliedSettings"]
	if !ok {
		t.Fatal("no appliedSettings output")
	}
	previous := map[string]any{"appliedSettings": applied.Value}
	for _, tc := range []struct{ override, key string }{
		{"aks.systemPool.vmSize=Standard_D8ds_v5", "metaflow-azure:aks.systemPool.vmSize"},
		{"aks.azureRbac=false access.flowRunners=[]", "metaflow-azure:aks.azureRbac"},
		{"postgres.geoRedundantBackup=false", "metaflow-azure:postgres.geoRedundantBackup"},
		{"postgres.version=15", "metaflow-azure:postgres.version"},
		// prod's delete locks cover the datastore container's role assignments.
		{"identity.clientSecret=true", "metaflow-azure:identity.clientSecret"},
		{"access.flowRunners=[]", "metaflow-azure:access.flowRunners"},
	} {
		_, err := runWithPrevious("prod", previous, strings.Fields(tc.override)...)
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s after a deployment: %v; want an error naming %s", tc.override, err, tc.key)
		}
	}
	again, err := runWithPrevious("prod", previous)
	if err != nil || len(again.fake.Resources()) < 10 {
		t.Errorf("re-running the same settings: %v", err)
	}
	if _, err := runWithPrevious("prod", previous, "aks.systemPool.maxCount=8"); err != nil {
		t.Errorf("an in-place change was refused: %v", err)
	}
	// A protected stack deployed before this version (client secret, no record of its grants)
	// cannot move to workload identity in the same up that sets the delete locks.
	older := map[string]any{}
	for k, v := range applied.Value.(map[string]any) {
		if k != "datastoreGrants" && k != "deleteLocks" {
			older[k] = v
		}
	}
	// Its cluster also predates Cilium: it keeps Azure's dataplane (aks.networkDataplane:
	// azure) until it is moved outside the stack (TestMovingADeployedClusterToCilium).
	delete(older, "networkDataplane")
	azureCluster := func(f *fakeazure.Azure) { f.SetDeployedCluster("", "") }
	if _, err := runDeployed("prod", map[string]any{"appliedSettings": older}, azureCluster, "aks.networkDataplane=azure"); err == nil || !strings.Contains(err.Error(), "keep identity.clientSecret: true") {
		t.Errorf("upgrading a protected stack from the client secret: %v; want the two-step way", err)
	}
	if _, err := runDeployed("prod", map[string]any{"appliedSettings": older}, azureCluster, "protectData=false", "aks.networkDataplane=azure"); err != nil {
		t.Errorf("the first step of that upgrade (protectData: false) was refused: %v", err)
	}
}

func TestFakeRunDeclareIsRaceFree(t *testing.T) {
	t.Parallel()
	// The whole-stack tests also run under -race (make test-race); this one runs the plan
	// path several times concurrently so the race detector has something to find.
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			_, err := tryStack("dev")
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// After an interrupted up, metaflow-azure reads the resources it was creating back by the IDs
// their inputs give (internal/cli recoverInterrupted); for every Azure resource of dev and prod
// that ID, from the API contract's path, must be the one the resource gets.
func TestResourceIDsFollowFromTheContractsPaths(t *testing.T) {
	t.Parallel()
	contracts, err := armcontract.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"dev", "prod"} {
		s := runStack(t, name)
		n := 0
		for _, r := range s.fake.Resources() {
			if !strings.HasPrefix(r.Type, "azure-native:") || !r.Custom {
				continue
			}
			n++
			got, err := contracts.ResourceID(r.Type, r.Inputs, fakeazure.SubscriptionID)
			if err != nil || !strings.EqualFold(got, r.ID) {
				t.Errorf("%s: %s %s: the contract's path gives %q (%v), the resource's ID is %q", name, r.Type, r.Name, got, err, r.ID)
			}
		}
		if n < 30 {
			t.Errorf("%s: only %d Azure resources checked", name, n)
		}
	}
}
