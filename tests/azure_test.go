package tests

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/fakeazure"
	"metaflow-azure/internal/program"
	"metaflow-azure/internal/settings"
	"metaflow-azure/services"
)

const (
	tStorage     = "azure-native:storage:StorageAccount"
	tBlobService = "azure-native:storage:BlobServiceProperties"
	tContainer   = "azure-native:storage:BlobContainer"
	tServer      = "azure-native:dbforpostgresql/v20240801:Server"
	tConfig      = "azure-native:dbforpostgresql/v20240801:Configuration"
	tDatabase    = "azure-native:dbforpostgresql/v20240801:Database"
	tSubnet      = "azure-native:network:Subnet"
	tDNSLink     = "azure-native:network:VirtualNetworkLink"
	tCluster     = "azure-native:containerservice/v20241001:ManagedCluster"
	tAgentPool   = "azure-native:containerservice/v20241001:AgentPool"
	tAssignment  = "azure-native:authorization:RoleAssignment"
	tRG          = "azure-native:resources/v20241101:ResourceGroup"
	tApp         = "azuread:index/application:Application"
	tSP          = "azuread:index/servicePrincipal:ServicePrincipal"
	tPassword    = "azuread:index/applicationPassword:ApplicationPassword"
	tIdentity    = "azure-native:managedidentity:UserAssignedIdentity"
	tFederated   = "azure-native:managedidentity:FederatedIdentityCredential"
)

func TestStorageIsPrivateAndRecoverable(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	acct := s.one(tStorage, "datastore-account")
	for path, want := range map[string]string{"kind": "StorageV2", "minimumTlsVersion": "TLS1_2", "sku.name": "Standard_LRS"} {
		if got := str(acct.Inputs, path); got != want {
			t.Errorf("storage account %s = %q, want %q", path, got, want)
		}
	}
	for path, want := range map[string]bool{
		"enableHttpsTrafficOnly": true, "allowBlobPublicAccess": false, "allowSharedKeyAccess": false,
		"defaultToOAuthAuthentication": true, "allowCrossTenantReplication": false,
	} {
		if got, set := boolean(acct.Inputs, path); !set || got != want {
			t.Errorf("storage account %s = %v (set %v), want %v", path, got, set, want)
		}
	}
	svc := s.one(tBlobService, "datastore-blob-service")
	for _, policy := range []string{"deleteRetentionPolicy", "containerDeleteRetentionPolicy"} {
		if on, _ := boolean(svc.Inputs, policy+".enabled"); !on || num(svc.Inputs, policy+".days") != 7 {
			t.Errorf("%s must be enabled for storage.softDeleteDays (7) days: %v", policy, svc.Inputs)
		}
	}
	c := s.one(tContainer, "datastore-container")
	if str(c.Inputs, "publicAccess") != "None" || str(c.Inputs, "containerName") != "metaflow" {
		t.Errorf("container must be private and named metaflow: %v", c.Inputs)
	}
	if name := s.outputs[program.OutputStorageAccount].Value.(string); !regexp.MustCompile(`^[a-z0-9]{3,24}$`).MatchString(name) {
		t.Errorf("storage account name %q is not valid for Azure", name)
	}
}

func TestPostgresIsPrivateWithTLSAndGeneratedPassword(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	server := s.one(tServer, "database-server")
	pgSubnet := s.one(tSubnet, "network-psql")
	link := s.one(tDNSLink, "network-psql-zone-link")

	if got := str(server.Inputs, "version"); got != "16" {
		t.Errorf("postgres version %q, want 16", got)
	}
	if got := str(server.Inputs, "network.delegatedSubnetResourceId"); got != pgSubnet.ID {
		t.Errorf("server subnet %q, want the delegated subnet %q", got, pgSubnet.ID)
	}
	if got := str(server.Inputs, "network.privateDnsZoneArmResourceId"); !strings.HasSuffix(got, ".private.postgres.database.azure.com") {
		t.Errorf("server private DNS zone %q", got)
	}
	if len(list(pgSubnet.Inputs, "delegations")) != 1 {
		t.Fatalf("postgres subnet must have one delegation")
	}
	if got := str(list(pgSubnet.Inputs, "delegations")[0].ObjectValue(), "serviceName"); got != "Microsoft.DBforPostgreSQL/flexibleServers" {
		t.Errorf("postgres subnet delegated to %q", got)
	}
	if !slices.Contains(server.Dependencies, link.URN) {
		t.Errorf("server must wait for the private DNS zone link; deps: %v", server.Dependencies)
	}
	if !isSecret(server.Inputs, "administratorLoginPassword") {
		t.Error("admin password must be a secret input")
	}
	if pw := str(server.Inputs, "administratorLoginPassword"); !strings.HasPrefix(pw, fakeazure.SecretMarker) || pw == "metaflow" {
		t.Errorf("admin password must come from random.RandomPassword, got %q", pw)
	}
	if !slices.Contains(server.AdditionalSecrets, "administratorLoginPassword") {
		t.Error("the password must stay secret in the server's outputs")
	}
	if str(server.Inputs, "administratorLogin") == "" || strings.Contains(pwOf(server), str(server.Inputs, "administratorLogin")) {
		t.Error("the password must not contain the login")
	}
	if num(server.Inputs, "backup.backupRetentionDays") != 7 || str(server.Inputs, "backup.geoRedundantBackup") != "Disabled" {
		t.Errorf("backup: %v", server.Inputs["backup"])
	}
	if str(server.Inputs, "highAvailability.mode") != "Disabled" || str(server.Inputs, "sku.tier") != "Burstable" || str(server.Inputs, "sku.name") != "Standard_B1ms" {
		t.Errorf("dev: burstable, no HA; got sku %v ha %v", server.Inputs["sku"], server.Inputs["highAvailability"])
	}
	tls := map[string]string{}
	for _, c := range s.all(tConfig) {
		tls[str(c.Inputs, "configurationName")] = str(c.Inputs, "value")
	}
	if tls["require_secure_transport"] != "on" || tls["ssl_min_protocol_version"] != "TLSv1.2" {
		t.Errorf("TLS must be required at 1.2 or newer: %v", tls)
	}
	db := s.one(tDatabase, "database-metaflow")
	if str(db.Inputs, "databaseName") != "metaflow" {
		t.Errorf("database name %q", str(db.Inputs, "databaseName"))
	}
	for _, c := range s.all(tConfig) {
		if !s.waitsFor(db, c) {
			t.Errorf("the database must be created after %s", c.Name)
		}
	}
}

func pwOf(r *fakeazure.Resource) string { return str(r.Inputs, "administratorLoginPassword") }

func TestPostgresProductionOptions(t *testing.T) {
	t.Parallel()
	s := runStack(t, "prod")
	server := s.one(tServer, "database-server")
	if str(server.Inputs, "highAvailability.mode") != "ZoneRedundant" || str(server.Inputs, "backup.geoRedundantBackup") != "Enabled" ||
		num(server.Inputs, "backup.backupRetentionDays") != 35 || num(server.Inputs, "storage.storageSizeGB") != 256 {
		t.Errorf("prod database options not applied: %v", server.Inputs)
	}
	if !slices.Contains(server.IgnoreChanges, "highAvailability.standbyAvailabilityZone") {
		t.Error("a failover swapping zones must not read as drift")
	}
}

func TestClusterShape(t *testing.T) {
	t.Parallel()
	s := runStack(t, "prod")
	c := s.one(tCluster, "aks")
	aksSubnet := s.one(tSubnet, "network-aks")
	checks := map[string]string{
		"kubernetesVersion":                 "1.36",
		"autoUpgradeProfile.upgradeChannel": "patch",
		"sku.tier":                          "Standard",
		"identity.type":                     "UserAssigned",
		"networkProfile.networkPlugin":      "azure",
		"networkProfile.networkPluginMode":  "overlay",
		"networkProfile.podCidr":            "10.244.0.0/14",
		"networkProfile.dnsServiceIP":       "10.0.0.10",
	}
	for path, want := range checks {
		if got := str(c.Inputs, path); got != want {
			t.Errorf("cluster %s = %q, want %q", path, got, want)
		}
	}
	for _, path := range []string{"enableRBAC", "oidcIssuerProfile.enabled", "securityProfile.workloadIdentity.enabled", "aadProfile.enableAzureRBAC", "aadProfile.managed", "disableLocalAccounts"} {
		if on, _ := boolean(c.Inputs, path); !on {
			t.Errorf("cluster %s must be true", path)
		}
	}
	if got := strings_(list(c.Inputs, "apiServerAccessProfile.authorizedIPRanges")); !slices.Equal(got, []string{"203.0.113.0/24"}) {
		t.Errorf("authorized IP ranges %v", got)
	}
	pools := list(c.Inputs, "agentPoolProfiles")
	if len(pools) != 1 {
		t.Fatalf("want one pool inline (system), got %d", len(pools))
	}
	sys := pools[0].ObjectValue()
	if str(sys, "mode") != "System" || num(sys, "minCount") != 3 || num(sys, "maxCount") != 6 || str(sys, "vnetSubnetID") != aksSubnet.ID {
		t.Errorf("system pool: %v", sys)
	}
	if on, _ := boolean(sys, "enableAutoScaling"); !on {
		t.Error("system pool must autoscale")
	}
	if !slices.Contains(c.IgnoreChanges, "agentPoolProfiles[0].count") {
		t.Error("the autoscaler owns the system pool's count")
	}
	task := s.one(tAgentPool, "aks-tasks")
	if str(task.Inputs, "mode") != "User" || num(task.Inputs, "minCount") != 0 || num(task.Inputs, "maxCount") != 100 ||
		str(task.Inputs, "vmSize") != "Standard_D16ds_v5" || str(task.Inputs, "vnetSubnetID") != aksSubnet.ID {
		t.Errorf("task pool: %v", task.Inputs)
	}
	if on, _ := boolean(task.Inputs, "enableAutoScaling"); !on || !slices.Contains(task.IgnoreChanges, "count") {
		t.Error("task pool must autoscale and ignore its count")
	}
	if taints := strings_(list(task.Inputs, "nodeTaints")); !slices.Equal(taints, []string{"metaflow.org/tasks=true:NoSchedule"}) {
		t.Errorf("task pool taints %v", taints)
	}

	// The control plane's identity may join the subnet before the cluster is created.
	var subnetAccess *fakeazure.Resource
	for _, a := range s.all(tAssignment) {
		if str(a.Inputs, "scope") == aksSubnet.ID {
			subnetAccess = a
		}
	}
	if subnetAccess == nil || !strings.HasSuffix(str(subnetAccess.Inputs, "roleDefinitionId"), azurefacts.RoleNetworkContributor) {
		t.Fatal("the AKS identity needs Network Contributor on its subnet")
	}
	if !slices.Contains(c.Dependencies, subnetAccess.URN) {
		t.Error("the cluster must wait for its subnet access")
	}
	// The identity reaches the cluster only through the propagation gate on that assignment.
	if deps := c.PropertyDependencies["identity"]; !slices.Contains(deps, subnetAccess.URN) {
		t.Errorf("the cluster's identity input must come through the subnet access's propagation wait; its dependencies are %v", deps)
	}
	if str(subnetAccess.Outputs, "createdOn") == "" {
		t.Error("the fake must answer createdOn for role assignments, as ARM does")
	}
}

func TestAKSAndPostgresDoNotWaitOnEachOther(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	aks, pg := s.one(tCluster, "aks"), s.one(tServer, "database-server")
	if s.waitsFor(aks, pg) || s.waitsFor(pg, aks) {
		t.Error("AKS and PostgreSQL take the longest to create; neither may wait for the other")
	}
	pgSubnet, aksSubnet := s.one(tSubnet, "network-psql"), s.one(tSubnet, "network-aks")
	if !slices.Contains(pgSubnet.Dependencies, aksSubnet.URN) {
		t.Error("subnet writes to one VNet must be serialised")
	}
}

func TestRoleAssignmentsAreExactlyTheNeededOnes(t *testing.T) {
	t.Parallel()
	for _, stack := range []string{"dev", "prod"} {
		s := runStack(t, stack)
		container := s.one(tContainer, "datastore-container").ID
		cluster := s.one(tCluster, "aks")
		subnet := s.one(tSubnet, "network-aks").ID
		// Every principal the stack may grant anything to, by who it is.
		principals := map[string]string{
			str(s.one(tIdentity, "task-identity-identity").Outputs, "principalId"): "tasks",
			str(s.one(tIdentity, "ui-identity-identity").Outputs, "principalId"):   "ui-backend",
			str(s.one(tIdentity, "aks-identity").Outputs, "principalId"):           "cluster",
			str(cluster.Outputs, "identityProfile.kubeletidentity.objectId"):       "kubelet",
			fakeazure.DeployerObjectID: "deployer",
		}
		scopes := map[string]string{container: "container", cluster.ID: "cluster", subnet: "aks-subnet", cluster.ID + "/namespaces/" + settings.Defaults().Metaflow.TaskNamespace: "task-namespace"}
		for _, r := range s.all(tRegistry) {
			scopes[r.ID] = "registry"
		}
		roles := map[string]string{}
		for _, r := range azurefacts.BuiltInRoles() {
			roles[r.GUID] = r.Name
		}
		var got []string
		for _, a := range s.all(tAssignment) {
			if pt := str(a.Inputs, "principalType"); pt == "" {
				t.Errorf("%s: %s has no principalType (Azure's replication race)", stack, a.Name)
			}
			if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(str(a.Inputs, "roleAssignmentName")) {
				t.Errorf("%s: %s needs a deterministic GUID name, got %q", stack, a.Name, str(a.Inputs, "roleAssignmentName"))
			}
			who, ok := principals[str(a.Inputs, "principalId")]
			if !ok {
				who = "runner " + str(a.Inputs, "principalId")
			}
			if who == "tasks" || who == "ui-backend" || who == "cluster" || who == "kubelet" {
				if pt := str(a.Inputs, "principalType"); pt != "ServicePrincipal" {
					t.Errorf("%s: the %s identity is assigned with principalType %q", stack, who, pt)
				}
			}
			role := str(a.Inputs, "roleDefinitionId")
			scope, ok := scopes[str(a.Inputs, "scope")]
			if !ok {
				scope = str(a.Inputs, "scope")
			}
			got = append(got, fmt.Sprintf("%s: %s on %s", who, roles[role[strings.LastIndex(role, "/")+1:]], scope))
		}
		slices.Sort(got)
		// Each workload identity holds one role on the datastore container and nothing on the
		// cluster (no workload calls the AKS API); the cluster's identity joins its subnet; the
		// kubelet pulls from the registry; the deployer administers an Entra cluster; flow
		// runners (prod) run flows as themselves. Anything else, an Owner anywhere included, fails.
		want := []string{
			"cluster: Network Contributor on aks-subnet",
			"tasks: Storage Blob Data Contributor on container",
			"ui-backend: Storage Blob Data Reader on container",
		}
		if stack == "prod" {
			want = append(want,
				"deployer: Azure Kubernetes Service RBAC Cluster Admin on cluster",
				"kubelet: AcrPull on registry",
			)
			for _, runner := range []string{"11111111-2222-4333-8444-555555555555", "66666666-7777-4888-9999-000000000000"} {
				want = append(want,
					"runner "+runner+": Storage Blob Data Contributor on container",
					"runner "+runner+": Azure Kubernetes Service Cluster User Role on cluster",
					"runner "+runner+": Azure Kubernetes Service RBAC Writer on task-namespace",
				)
			}
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: role assignments\n got %q\nwant %q", stack, got, want)
		}
	}
}

func TestClientSecretModeIsTheOldServicePrincipalWithoutClusterRights(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev", "identity.clientSecret=true")
	pw := s.one(tPassword, "workloads-password")
	if got := str(pw.Inputs, "endDateRelative"); got != "4320h" {
		t.Errorf("password lifetime %q, want the default 180 days (4320h)", got)
	}
	if !slices.Contains(pw.AdditionalSecrets, "value") || !isSecret(pw.Outputs, "value") {
		t.Error("the password value must be secret")
	}
	for _, typ := range []string{tApp, tSP} {
		r := s.all(typ)[0]
		if owners := strings_(list(r.Inputs, "owners")); !slices.Equal(owners, []string{fakeazure.DeployerObjectID}) {
			t.Errorf("%s owners %v, want the deployer", typ, owners)
		}
	}
	sp := str(s.one(tSP, "workloads-sp").Outputs, "objectId")
	var roles []string
	for _, a := range s.all(tAssignment) {
		if str(a.Inputs, "principalId") == sp {
			role := str(a.Inputs, "roleDefinitionId")
			roles = append(roles, role[strings.LastIndex(role, "/")+1:]+"@"+str(a.Inputs, "scope"))
		}
	}
	if want := []string{azurefacts.RoleStorageBlobDataContributor + "@" + s.one(tContainer, "datastore-container").ID}; !slices.Equal(roles, want) {
		t.Errorf("service principal grants %v, want only %v", roles, want)
	}
	if n := len(s.all(tIdentity)) + len(s.all(tFederated)); n != 1 {
		t.Errorf("client-secret mode declares %d identities and federated credentials, want only the cluster's identity", n)
	}
	for _, name := range []string{program.OutputClientID, program.OutputClientSecret, program.OutputClientSecretExpiry} {
		if out, ok := s.outputs[name]; !ok || out.Value == nil || out.Value == "" {
			t.Errorf("client-secret mode: output %s missing", name)
		}
	}
	if !s.outputs[program.OutputClientSecret].Secret {
		t.Errorf("output %s must be secret", program.OutputClientSecret)
	}
	if _, ok := s.outputs[program.OutputWorkloadIdentities]; ok {
		t.Errorf("client-secret mode exports %s", program.OutputWorkloadIdentities)
	}
	if _, ok := prop(pw.Inputs, "rotateWhenChanged"); ok {
		t.Error("without identity.secretRotation the password must declare no rotation trigger (adding one replaces it)")
	}
}

// TestSecretRotationReplacesThePasswordAndRollsTheUIBackend: identity.secretRotation is the
// password's rotation trigger, and the UI backend's pods name the password they started with, so
// a new one rolls them (env from a Secret is read only at container start).
func TestSecretRotationReplacesThePasswordAndRollsTheUIBackend(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev", "identity.clientSecret=true", "identity.secretRotation=2026-11")
	pw := s.one(tPassword, "workloads-password")
	trigger, _ := prop(pw.Inputs, "rotateWhenChanged")
	if !trigger.IsObject() || len(trigger.ObjectValue()) != 1 || fmt.Sprint(trigger.ObjectValue()["identity.secretRotation"].V) != "2026-11" {
		t.Errorf("password rotateWhenChanged %v, want identity.secretRotation=2026-11", trigger)
	}
	backend := s.k8s("Deployment", "metaflow", services.UIBackendName)
	annotations, _ := prop(backend.Inputs, "spec.template.metadata.annotations")
	if got := annotations.ObjectValue()["metaflow-azure/client-secret-key-id"]; !got.IsString() || got.StringValue() != str(pw.Outputs, "keyId") {
		t.Errorf("UI backend pod annotation %v, want the password's key id %q", got, str(pw.Outputs, "keyId"))
	}
}

func TestProtectData(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{true, false} {
		s := runStack(t, "dev", fmt.Sprintf("protectData=%v", on))
		for _, r := range []*fakeazure.Resource{s.one(tRG, "metaflow"), s.one(tStorage, "datastore-account"), s.one(tServer, "database-server")} {
			if r.Protect != on || r.RetainOnDelete != on {
				t.Errorf("protectData=%v: %s protect=%v retainOnDelete=%v", on, r.Type, r.Protect, r.RetainOnDelete)
			}
		}
	}
}

func TestTagsOnEveryTaggableResource(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	n := 0
	for _, r := range s.fake.Resources() {
		if !strings.HasPrefix(r.Type, "azure-native:") {
			continue
		}
		if _, taggable := r.Inputs["tags"]; !taggable {
			continue
		}
		n++
		if str(r.Inputs, "tags.environment") != "dev" || str(r.Inputs, "tags.managed-by") == "" || str(r.Inputs, "tags.team") != "data-science" {
			t.Errorf("%s %s tags: %v", r.Type, r.Name, r.Inputs["tags"])
		}
	}
	if n < 8 {
		t.Errorf("only %d tagged resources; the Azure resources must carry tags", n)
	}
}

func TestOutputsContractAndSecrets(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	required := []string{
		program.OutputResourceGroup, program.OutputLocation, program.OutputStorageAccount, program.OutputBlobEndpoint,
		program.OutputContainer, program.OutputDatastoreRoot, program.OutputPostgresHost, program.OutputPostgresDatabase,
		program.OutputPostgresAdminUser, program.OutputPostgresAdminPassword, program.OutputClusterName, program.OutputKubeconfig,
		program.OutputOIDCIssuerURL, program.OutputTenantID, program.OutputWorkloadIdentities,
		program.OutputMetaflowConfig, program.OutputPortForwards, program.OutputNamespaces,
	}
	for _, name := range required {
		out, ok := s.outputs[name]
		if !ok || out.Value == nil || out.Value == "" {
			t.Errorf("output %s missing or empty", name)
		}
	}
	for name, out := range s.outputs {
		if want := slices.Contains(program.SecretOutputs, name); out.Secret != want {
			t.Errorf("output %s secret=%v, want %v", name, out.Secret, want)
		}
		if !out.Secret && strings.Contains(fmt.Sprint(out.Value), fakeazure.SecretMarker) {
			t.Errorf("output %s leaks a secret: %v", name, out.Value)
		}
	}
	if kc := s.outputs[program.OutputKubeconfig].Value.(string); !strings.Contains(kc, "kind: Config") {
		t.Errorf("kubeconfig must be the decoded AKS user kubeconfig: %q", kc)
	}
	if got := s.outputs[program.OutputPostgresHost].Value; got != str(s.one(tServer, "database-server").Outputs, "fullyQualifiedDomainName") {
		t.Errorf("postgresHost %v", got)
	}
}

func TestSecretsStaySecretInEveryInput(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	for _, r := range s.fake.Resources() {
		for k, v := range r.Inputs {
			if !v.IsSecret() && strings.Contains(v.String(), fakeazure.SecretMarker) {
				t.Errorf("%s %s input %s carries a secret in clear", r.Type, r.Name, k)
			}
		}
	}
}

func TestInvalidSettingsDeclareNothing(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		override, key string
	}{
		{"aks.taskPool.maxCuont=3", "aks.taskPool.maxCuont"},
		{"postgres.version=12", "postgres.version"},
		{"network.postgresSubnetCidr=10.40.0.0/24", "network.postgresSubnetCidr"},
		{"aks.systemPool.minCount=0", "aks.systemPool.minCount"},
		{"namePrefix=Bad_Prefix", "namePrefix"},
		{"argo.enabled=false", "argoEvents.enabled"},
	} {
		s, err := tryStack("dev", tt.override)
		if err == nil {
			t.Errorf("%s: accepted", tt.override)
			continue
		}
		var fe *settings.FieldError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), "metaflow-azure:"+tt.key+":") {
			t.Errorf("%s: error must name metaflow-azure:%s, got: %v", tt.override, tt.key, err)
		}
		// The only registration allowed is the read of the stack's own last deployment, which
		// the checks that depend on it (versions out of support, changes Azure cannot apply)
		// need; it creates nothing.
		for _, r := range s.fake.Resources() {
			if r.Type != "pulumi:pulumi:StackReference" {
				t.Errorf("%s: %s %s declared before validation failed", tt.override, r.Type, r.Name)
			}
		}
	}
}

func TestFlowRunnersGetNarrowAccessAsThemselves(t *testing.T) {
	t.Parallel()
	s := runStack(t, "prod")
	const group = "11111111-2222-4333-8444-555555555555"
	container, cluster := s.one(tContainer, "datastore-container"), s.one(tCluster, "aks")
	got := map[string]string{}
	for _, a := range s.all(tAssignment) {
		if str(a.Inputs, "principalId") != group {
			continue
		}
		if str(a.Inputs, "principalType") != "Group" {
			t.Errorf("%s principalType %q, want Group", a.Name, str(a.Inputs, "principalType"))
		}
		role := str(a.Inputs, "roleDefinitionId")
		got[role[strings.LastIndex(role, "/")+1:]] = str(a.Inputs, "scope")
	}
	want := map[string]string{
		azurefacts.RoleStorageBlobDataContributor: container.ID,
		azurefacts.RoleAKSClusterUser:             cluster.ID,
		azurefacts.RoleAKSRBACWriter:              cluster.ID + "/namespaces/metaflow-jobs",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("flow runner grants:\n got %v\nwant %v", got, want)
	}
	// AKS names Entra groups to Kubernetes RBAC by object id and users by UPN.
	b := s.k8s("RoleBinding", "metaflow-jobs", "metaflow-flow-runner-binding")
	subjects := map[string]string{}
	for _, v := range list(b.Inputs, "subjects") {
		subjects[str(v.ObjectValue(), "kind")] = str(v.ObjectValue(), "name")
	}
	if subjects["Group"] != group || subjects["User"] != "alice@example.com" || len(subjects) != 2 {
		t.Errorf("Argo access binding subjects %v; want the group by object id and the user by UPN", subjects)
	}
	// Without flow runners: the executor's, the sensors', the Argo server's view of events, and
	// the task namespace's for the workflow controller, the Argo server and the events controller.
	if dev := runStack(t, "dev"); len(dev.kinds("RoleBinding")) != 6 {
		t.Error("without flow runners no extra binding is declared")
	}
}

func TestAzureRBACGivesTheDeployerClusterAdminBeforeKubernetesObjects(t *testing.T) {
	t.Parallel()
	s := runStack(t, "prod")
	var admin *fakeazure.Resource
	for _, a := range s.all(tAssignment) {
		if str(a.Inputs, "principalId") == fakeazure.DeployerObjectID {
			admin = a
		}
	}
	if admin == nil || !strings.HasSuffix(str(admin.Inputs, "roleDefinitionId"), azurefacts.RoleAKSRBACClusterAdmin) || str(admin.Inputs, "scope") != s.one(tCluster, "aks").ID {
		t.Fatalf("with aks.azureRbac the deployer needs RBAC Cluster Admin on the cluster: %v", admin)
	}
	if !s.waitsFor(s.all("pulumi:providers:kubernetes")[0], admin) {
		t.Error("the Kubernetes provider must wait for the deployer's admin role")
	}
	dev := runStack(t, "dev")
	for _, a := range dev.all(tAssignment) {
		if str(a.Inputs, "principalId") == fakeazure.DeployerObjectID {
			t.Error("without Azure RBAC the deployer gets no extra role")
		}
	}
}

const tRegistry = "azure-native:containerregistry/v20230701:Registry"

// TestRegistryLetsTheClusterPullAndReachesTheProfile: with registry.enabled, a registry without
// an admin user, AcrPull for exactly the kubelet identity on exactly the registry, and its login
// server in the outputs and the Metaflow profile; without it, none of that.
func TestRegistryLetsTheClusterPullAndReachesTheProfile(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev", "registry.enabled=true", "metaflow.taskImage=metaflow-task:2.19.38-azure")
	reg := s.one(tRegistry, "registry")
	if admin, ok := boolean(reg.Inputs, "adminUserEnabled"); !ok || admin {
		t.Error("the registry must set adminUserEnabled: false")
	}
	if str(reg.Inputs, "sku.name") != "Standard" || str(reg.Inputs, "tags.environment") != "dev" {
		t.Errorf("registry sku/tags: %v %v", reg.Inputs["sku"], reg.Inputs["tags"])
	}
	kubelet := str(s.one(tCluster, "aks").Outputs, "identityProfile.kubeletidentity.objectId")
	var pulls []*fakeazure.Resource
	for _, a := range s.all(tAssignment) {
		if strings.HasSuffix(str(a.Inputs, "roleDefinitionId"), "/"+azurefacts.RoleAcrPull) {
			pulls = append(pulls, a)
		}
	}
	if len(pulls) != 1 || kubelet == "" || str(pulls[0].Inputs, "principalId") != kubelet ||
		str(pulls[0].Inputs, "scope") != reg.ID || str(pulls[0].Inputs, "principalType") != "ServicePrincipal" {
		t.Fatalf("want one AcrPull for the kubelet identity %q on %s, got %d", kubelet, reg.ID, len(pulls))
	}
	login := str(reg.Outputs, "loginServer")
	if got := s.outputs[program.OutputRegistryLoginServer].Value; login == "" || got != login {
		t.Errorf("output %s = %v, want %q", program.OutputRegistryLoginServer, got, login)
	}
	cfg := s.outputs[program.OutputMetaflowConfig].Value.(string)
	for _, want := range []string{`"METAFLOW_KUBERNETES_CONTAINER_REGISTRY": "` + login + `"`, `"METAFLOW_KUBERNETES_CONTAINER_IMAGE": "metaflow-task:2.19.38-azure"`} {
		if !strings.Contains(cfg, want) {
			t.Errorf("profile lacks %s:\n%s", want, cfg)
		}
	}

	dev := runStack(t, "dev")
	if len(dev.all(tRegistry)) != 0 {
		t.Error("dev has registry.enabled off by default but declared a registry")
	}
	if _, ok := dev.outputs[program.OutputRegistryLoginServer]; ok {
		t.Error("registryLoginServer exported without a registry")
	}
	if cfg := dev.outputs[program.OutputMetaflowConfig].Value.(string); strings.Contains(cfg, "CONTAINER_REGISTRY") || strings.Contains(cfg, "CONTAINER_IMAGE") {
		t.Errorf("the profile names a registry or task image although none is set:\n%s", cfg)
	}
}
