package tests

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"

	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/fakeazure"
	"metaflow-azure/internal/images"
	"metaflow-azure/internal/program"
	"metaflow-azure/internal/settings"
	"metaflow-azure/services"
)

const (
	tRelease  = "kubernetes:helm.sh/v3:Release"
	tProvider = "pulumi:providers:kubernetes"
)

// containers returns the containers of a Deployment's or Job's pod template.
func containers(r *fakeazure.Resource) []resource.PropertyMap {
	var out []resource.PropertyMap
	for _, c := range list(r.Inputs, "spec.template.spec.containers") {
		out = append(out, unsecret(c).ObjectValue())
	}
	return out
}

func envOf(c resource.PropertyMap) map[string]resource.PropertyMap {
	env := map[string]resource.PropertyMap{}
	for _, e := range list(c, "env") {
		obj := unsecret(e).ObjectValue()
		env[str(obj, "name")] = obj
	}
	return env
}

func TestEveryKubernetesObjectUsesTheAKSProvider(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	providers := s.all(tProvider)
	if len(providers) != 1 {
		t.Fatalf("want one Kubernetes provider, got %d", len(providers))
	}
	p := providers[0]
	if !isSecret(p.Inputs, "kubeconfig") {
		t.Error("the provider's kubeconfig must be secret")
	}
	if !s.waitsFor(p, s.one(tCluster, "aks")) {
		t.Error("the provider must be built from the cluster's credentials")
	}
	for _, r := range s.fake.Resources() {
		if strings.HasPrefix(r.Type, "kubernetes:") && r.Provider != p.URN {
			t.Errorf("%s %s does not use the AKS provider (%q)", r.Type, r.Name, r.Provider)
		}
	}
	inv := s.fake.Invokes()
	if !slices.ContainsFunc(inv, func(i fakeazure.Invoke) bool {
		return i.Token == "azure-native:containerservice/v20241001:listManagedClusterUserCredentials"
	}) {
		t.Error("the kubeconfig must come from the user-credentials invoke")
	}
}

func TestDeploymentsArePinnedProbedAndBounded(t *testing.T) {
	t.Parallel()
	s := runStack(t, "prod")
	d := settings.Defaults()
	wantImages := map[string]string{
		services.MetadataServiceName: d.Metaflow.MetadataImage,
		services.UIBackendName:       d.Metaflow.MetadataImage,
		services.UIStaticName:        d.Metaflow.UIImage,
	}
	probes := map[string]string{services.MetadataServiceName: "/ping", services.UIBackendName: "/api/ping", services.UIStaticName: "/"}
	for name, image := range wantImages {
		dep := s.k8s("Deployment", "metaflow", name)
		if num(dep.Inputs, "spec.replicas") != 3 {
			t.Errorf("%s replicas %v, want metaflow.replicas (3)", name, num(dep.Inputs, "spec.replicas"))
		}
		c := containers(dep)[0]
		if str(c, "image") != image || strings.HasSuffix(image, ":latest") {
			t.Errorf("%s image %q, want pinned %q", name, str(c, "image"), image)
		}
		for _, probe := range []string{"readinessProbe", "livenessProbe"} {
			if got := str(c, probe+".httpGet.path"); got != probes[name] {
				t.Errorf("%s %s path %q, want %q", name, probe, got, probes[name])
			}
			if num(c, probe+".periodSeconds") <= 0 || num(c, probe+".timeoutSeconds") <= 0 {
				t.Errorf("%s %s needs a period and timeout", name, probe)
			}
		}
		if num(c, "livenessProbe.initialDelaySeconds") < 10 {
			t.Errorf("%s liveness must give the server time to start", name)
		}
		if str(c, "resources.requests.cpu") == "" || str(c, "resources.requests.memory") == "" || str(c, "resources.limits.memory") == "" {
			t.Errorf("%s needs CPU/memory requests and a memory limit: %v", name, c["resources"])
		}
		// The UI backend, the one service that reads the datastore, has an account of its own
		// (federated to its Azure identity); the others share one that names no identity.
		account := services.ServicesAccountName
		if name == services.UIBackendName {
			account = services.UIBackendAccountName
		}
		if got := str(dep.Inputs, "spec.template.spec.serviceAccountName"); got != account {
			t.Errorf("%s runs as %q, want the ServiceAccount %s", name, got, account)
		}
		if automount, set := boolean(s.k8s("ServiceAccount", "metaflow", account).Inputs, "automountServiceAccountToken"); automount || !set {
			t.Errorf("ServiceAccount %s mounts API tokens; no service calls the Kubernetes API", account)
		}
		if priv, _ := boolean(c, "securityContext.allowPrivilegeEscalation"); priv {
			t.Errorf("%s allows privilege escalation", name)
		}
		// The PDB must select exactly this Deployment's pods: a selector its pod labels do not
		// satisfy protects nothing, and an empty one would select every pod of the namespace.
		pdb := s.k8s("PodDisruptionBudget", "metaflow", name)
		selector := pdbSelector(pdb)
		podLabels, _ := prop(dep.Inputs, "spec.template.metadata.labels")
		pods := labelsOf(podLabels)
		if len(selector) == 0 {
			t.Errorf("%s PDB has an empty selector", name)
		}
		for k, v := range selector {
			if pods[k] != v {
				t.Errorf("%s PDB selects %s=%s, which its pods (labels %v) do not carry", name, k, v, pods)
			}
		}
		for _, other := range s.kinds("Deployment") {
			otherLabels, _ := prop(other.Inputs, "spec.template.metadata.labels")
			if str(other.Inputs, "metadata.name") != name && str(other.Inputs, "metadata.namespace") == "metaflow" && matches(selector, labelsOf(otherLabels)) {
				t.Errorf("%s PDB also selects the pods of %s", name, str(other.Inputs, "metadata.name"))
			}
		}
		if _, min := prop(pdb.Inputs, "spec.minAvailable"); !min {
			if _, max := prop(pdb.Inputs, "spec.maxUnavailable"); !max {
				t.Errorf("%s PDB sets neither minAvailable nor maxUnavailable", name)
			}
		}
	}
}

// matches tells whether labels satisfy every term of a matchLabels selector.
func matches(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return len(selector) > 0
}

func pdbSelector(r *fakeazure.Resource) map[string]string {
	v, _ := prop(r.Inputs, "spec.selector.matchLabels")
	return labelsOf(v)
}

func labelsOf(v resource.PropertyValue) map[string]string {
	out := map[string]string{}
	if !unsecret(v).IsObject() {
		return out
	}
	for k, val := range unsecret(v).ObjectValue() {
		out[string(k)] = unsecret(val).StringValue()
	}
	return out
}

func TestDatabaseSettingsComeFromAzureAndTheSecret(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	server := s.one(tServer, "database-server")
	host := str(server.Outputs, "fullyQualifiedDomainName")
	job := s.k8s("Job", "metaflow", services.MigrationJobName(settings.Defaults().Metaflow.MetadataImage))
	for _, r := range []*fakeazure.Resource{job, s.k8s("Deployment", "metaflow", services.MetadataServiceName), s.k8s("Deployment", "metaflow", services.UIBackendName)} {
		env := envOf(containers(r)[0])
		if str(env["MF_METADATA_DB_HOST"], "value") != host || str(env["MF_METADATA_DB_PORT"], "value") != "5432" ||
			str(env["MF_METADATA_DB_NAME"], "value") != "metaflow" || str(env["MF_METADATA_DB_USER"], "value") != str(server.Inputs, "administratorLogin") {
			t.Errorf("%s database env does not match the server: %v", r.Name, env)
		}
		if got := str(env["MF_METADATA_DB_SSL_MODE"], "value"); got != "require" {
			t.Errorf("%s must require TLS to PostgreSQL, got %q", r.Name, got)
		}
		pw := env["MF_METADATA_DB_PSWD"]
		if _, literal := pw["value"]; literal || str(pw, "valueFrom.secretKeyRef.name") != services.DatabaseSecretName {
			t.Errorf("%s must read the password from the %s Secret: %v", r.Name, services.DatabaseSecretName, pw)
		}
	}
	secret := s.k8s("Secret", "metaflow", services.DatabaseSecretName)
	if !isSecret(secret.Inputs, "stringData") {
		t.Error("the database Secret's data must be a Pulumi secret")
	}
	if got := str(secret.Inputs, "stringData.password"); got != str(server.Inputs, "administratorLoginPassword") {
		t.Error("the Secret must hold the server's generated password")
	}
}

func TestMigrationsRunBeforeTheServiceAndRerunOnNewImages(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	img := settings.Defaults().Metaflow.MetadataImage
	job := s.k8s("Job", "metaflow", services.MigrationJobName(img))
	if cmd := strings_(list(containers(job)[0], "command")); !slices.Contains(cmd, "/root/run_goose.py") {
		t.Errorf("migration command %v", cmd)
	}
	for _, name := range []string{services.MetadataServiceName, services.UIBackendName} {
		if dep := s.k8s("Deployment", "metaflow", name); !slices.Contains(dep.Dependencies, job.URN) {
			t.Errorf("%s must roll out after the migrations", name)
		}
	}
	other := runStack(t, "dev", "metaflow.metadataImage=public.ecr.aws/outerbounds/metaflow_metadata_service@sha256:abababababababababababababababababababababababababababababababab")
	if services.MigrationJobName(img) == services.MigrationJobName("public.ecr.aws/outerbounds/metaflow_metadata_service@sha256:abababababababababababababababababababababababababababababababab") {
		t.Fatal("a new image must give a new migration Job")
	}
	other.k8s("Job", "metaflow", services.MigrationJobName("public.ecr.aws/outerbounds/metaflow_metadata_service@sha256:abababababababababababababababababababababababababababababababab"))
}

func TestEveryServiceSelectsPods(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	svcs := s.kinds("Service")
	if len(svcs) != 3 {
		t.Errorf("want 3 Services, got %d", len(svcs))
	}
	for _, svc := range svcs {
		ns := str(svc.Inputs, "metadata.namespace")
		sel, _ := prop(svc.Inputs, "spec.selector")
		selector := labelsOf(sel)
		if len(selector) == 0 {
			t.Errorf("Service %s has no selector", str(svc.Inputs, "metadata.name"))
			continue
		}
		if str(svc.Inputs, "spec.type") != "ClusterIP" {
			t.Errorf("Service %s must be ClusterIP", str(svc.Inputs, "metadata.name"))
		}
		matched := false
		for _, dep := range s.kinds("Deployment") {
			podLabels, _ := prop(dep.Inputs, "spec.template.metadata.labels")
			if str(dep.Inputs, "metadata.namespace") != ns || !subset(selector, labelsOf(podLabels)) {
				continue
			}
			matched = true
			port := list(svc.Inputs, "spec.ports")[0].ObjectValue()
			cport := list(containers(dep)[0], "ports")[0].ObjectValue()
			if str(port, "targetPort") != str(cport, "name") || num(port, "port") != num(cport, "containerPort") {
				t.Errorf("Service %s port %v does not reach container port %v", str(svc.Inputs, "metadata.name"), port, cport)
			}
		}
		if !matched {
			t.Errorf("Service %s/%s selects no Deployment's pods (%v)", ns, str(svc.Inputs, "metadata.name"), selector)
		}
	}
}

func subset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// TestCredentialsSecretsAreWhereTheyAreUsed: in client-secret mode the service principal's
// credentials are in the two namespaces whose pods use them.
func TestCredentialsSecretsAreWhereTheyAreUsed(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev", "identity.clientSecret=true")
	for _, ns := range []string{"metaflow", "metaflow-jobs"} {
		sec := s.k8s("Secret", ns, services.CredentialsSecretName)
		if !isSecret(sec.Inputs, "stringData") {
			t.Errorf("%s/%s data must be secret", ns, services.CredentialsSecretName)
		}
		for _, key := range services.AzureCredentialKeys {
			if str(sec.Inputs, "stringData."+key) == "" {
				t.Errorf("%s/%s lacks %s", ns, services.CredentialsSecretName, key)
			}
		}
	}
	if got := str(s.k8s("Secret", "metaflow-jobs", services.CredentialsSecretName).Inputs, "stringData.AZURE_CLIENT_SECRET"); !strings.HasPrefix(got, fakeazure.SecretMarker) {
		t.Errorf("tasks must get the service principal's secret, got %q", got)
	}
	// The profile hands tasks and workflows that Secret, and no workload identity label.
	var cfg map[string]string
	if err := json.Unmarshal([]byte(s.outputs[program.OutputMetaflowConfig].Value.(string)), &cfg); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"METAFLOW_KUBERNETES_SECRETS", "METAFLOW_ARGO_WORKFLOWS_KUBERNETES_SECRETS"} {
		s.k8s("Secret", cfg["METAFLOW_KUBERNETES_NAMESPACE"], cfg[k])
	}
	if v, ok := cfg["METAFLOW_KUBERNETES_LABELS"]; ok {
		t.Errorf("client-secret mode: METAFLOW_KUBERNETES_LABELS = %q", v)
	}
	backend := s.k8s("Deployment", "metaflow", services.UIBackendName)
	container := list(backend.Inputs, "spec.template.spec.containers")[0].ObjectValue()
	envFrom := list(container, "envFrom")
	if len(envFrom) != 1 || str(envFrom[0].ObjectValue(), "secretRef.name") != services.CredentialsSecretName {
		t.Errorf("client-secret mode: UI backend envFrom %v, want the Secret %s", envFrom, services.CredentialsSecretName)
	}
}

func TestHelmChartsArePinnedWithoutDemoComponents(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	releases := s.all(tRelease)
	if len(releases) != 2 {
		t.Fatalf("want the argo-workflows and argo-events releases, got %d", len(releases))
	}
	for _, r := range releases {
		if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(str(r.Inputs, "version")) || str(r.Inputs, "repositoryOpts.repo") != settings.ArgoHelmRepository {
			t.Errorf("%s must pin an exact chart version from the official repository: %v", r.Name, r.Inputs)
		}
	}
	argo := s.one(tRelease, "argo")
	if str(argo.Inputs, "version") != settings.Defaults().Argo.ChartVersion {
		t.Errorf("argo chart %q", str(argo.Inputs, "version"))
	}
	// What the values make of the charts is checked on the charts rendered with real Helm, in
	// the chart tier (tests/k8sapi); here: the releases get exactly the program's values.
	if got, want := valuesOf(t, argo), plain(services.ArgoValues(services.TaskPods{
		Namespace: "metaflow-jobs", ServiceAccount: services.TaskServiceAccountName,
		Labels: map[string]string{azurefacts.WorkloadIdentityUseLabel: "true"},
	}, "server", services.MetaflowDatastoreEnv(pulumi.String(str(s.one(tStorage, "datastore-account").Outputs, "primaryEndpoints.blob")), pulumi.String("metaflow/metaflow")))); !reflect.DeepEqual(got, want) {
		t.Errorf("argo-workflows values:\n%v\nwant (dev: argo.authMode server)\n%v", got, want)
	}
	events := s.one(tRelease, "argo-events")
	if got, want := valuesOf(t, events), plain(services.ArgoEventsValues("metaflow-jobs")); !reflect.DeepEqual(got, want) {
		t.Errorf("argo-events values:\n%v\nwant\n%v", got, want)
	}
}

// TestArtifactRepositoryIsTheMetaflowContainer: the task namespace's default artifact
// repository is the Metaflow container with Entra credentials, its placeholders as Argo wants.
func TestArtifactRepositoryIsTheMetaflowContainer(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	cm := s.k8s("ConfigMap", "metaflow-jobs", services.ArtifactRepositoriesConfigMap)
	annotations, _ := prop(cm.Inputs, "metadata.annotations")
	var key string
	if v, ok := annotations.ObjectValue()[resource.PropertyKey(services.DefaultArtifactRepositoryAnno)]; ok && v.IsString() {
		key = v.StringValue()
	}
	if key == "" {
		t.Fatalf("%s has no %s annotation", services.ArtifactRepositoriesConfigMap, services.DefaultArtifactRepositoryAnno)
	}
	var repo struct {
		Azure map[string]any `yaml:"azure"`
	}
	data, _ := prop(cm.Inputs, "data")
	if err := yaml.Unmarshal([]byte(data.ObjectValue()[resource.PropertyKey(key)].StringValue()), &repo); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"endpoint":       strings.TrimSuffix(str(s.one(tStorage, "datastore-account").Outputs, "primaryEndpoints.blob"), "/"),
		"container":      "metaflow",
		"blobNameFormat": "argo-artifacts/{{workflow.namespace}}/{{workflow.name}}/{{pod.name}}",
		"useSDKCreds":    true,
	}
	if !reflect.DeepEqual(repo.Azure, want) {
		t.Errorf("artifact repository %v, want %v", repo.Azure, want)
	}
}

// plain turns values built from plain Pulumi inputs into the Go values Helm receives.
func plain(v any) any {
	switch v := v.(type) {
	case pulumi.Map:
		m := map[string]any{}
		for k, e := range v {
			m[k] = plain(e)
		}
		return m
	case pulumi.Array:
		l := []any{}
		for _, e := range v {
			l = append(l, plain(e))
		}
		return l
	case pulumi.StringArray:
		l := []any{}
		for _, e := range v {
			l = append(l, plain(e))
		}
		return l
	case pulumi.StringMap:
		m := map[string]any{}
		for k, e := range v {
			m[k] = plain(e)
		}
		return m
	case pulumi.String:
		return string(v)
	case pulumi.Bool:
		return bool(v)
	case pulumi.Int:
		return float64(v) // Helm's values are JSON: every number is a float64
	default:
		panic(fmt.Sprintf("plain: %T", v))
	}
}

// valuesOf is a release's values as plain Go values, shaped as Helm receives them.
func valuesOf(t *testing.T, r *fakeazure.Resource) map[string]any {
	t.Helper()
	v, ok := prop(r.Inputs, "values")
	if !ok {
		t.Fatalf("%s has no values", r.Name)
	}
	return v.ObjectValue().Mappable()
}

func TestRBACPointsAtServiceAccountsThatExist(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	accounts := map[string]bool{}
	for _, sa := range s.kinds("ServiceAccount") {
		accounts[str(sa.Inputs, "metadata.namespace")+"/"+str(sa.Inputs, "metadata.name")] = true
	}
	// Created by the charts (their names are checked in the rendered charts, tests/k8sapi).
	accounts["argo/"+services.ArgoServerServiceAccount] = true
	accounts["argo/"+services.ArgoControllerServiceAccount] = true
	accounts["argo-events/"+services.ArgoEventsControllerServiceAccount] = true
	roles := map[string]bool{}
	for _, r := range s.kinds("Role") {
		roles[str(r.Inputs, "metadata.namespace")+"/"+str(r.Inputs, "metadata.name")] = true
	}
	bindings := s.kinds("RoleBinding")
	if len(bindings) != 6 {
		t.Errorf("want 6 RoleBindings (executor, operate-workflow, view-events, and the task namespace's for the "+
			"workflow controller, the Argo server and the events controller), got %d", len(bindings))
	}
	for _, b := range bindings {
		ns := str(b.Inputs, "metadata.namespace")
		if !roles[ns+"/"+str(b.Inputs, "roleRef.name")] {
			t.Errorf("RoleBinding %s/%s refers to a missing Role %q", ns, str(b.Inputs, "metadata.name"), str(b.Inputs, "roleRef.name"))
		}
		for _, subj := range list(b.Inputs, "subjects") {
			o := subj.ObjectValue()
			if !accounts[str(o, "namespace")+"/"+str(o, "name")] {
				t.Errorf("RoleBinding %s/%s binds a missing ServiceAccount %s/%s", ns, str(b.Inputs, "metadata.name"), str(o, "namespace"), str(o, "name"))
			}
		}
	}
	exec := s.k8s("Role", "metaflow-jobs", "argo-executor")
	rule := list(exec.Inputs, "rules")[0].ObjectValue()
	if !slices.Equal(strings_(list(rule, "resources")), []string{"workflowtaskresults"}) || !slices.Equal(strings_(list(rule, "verbs")), []string{"create", "patch"}) {
		t.Errorf("executor role: %v", rule)
	}
}

func TestKubernetesOrdering(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	cluster := s.one(tCluster, "aks")
	server := s.one(tServer, "database-server")
	db := s.one(tDatabase, "database-metaflow")
	// Only the Metaflow services and their migration wait for the database.
	needsDB := map[string]bool{"metaflow-migrations": true, services.MetadataServiceName: true, services.UIBackendName: true}
	for _, r := range s.fake.Resources() {
		if !strings.HasPrefix(r.Type, "kubernetes:") || !r.Custom {
			continue
		}
		if !s.waitsFor(r, cluster) {
			t.Errorf("%s %s must wait for the cluster", r.Type, r.Name)
		}
		waits := s.waitsFor(r, server)
		if needsDB[r.Name] && r.Type != "kubernetes:core/v1:Service" && r.Type != "kubernetes:policy/v1:PodDisruptionBudget" {
			if !waits || !s.waitsFor(r, db) {
				t.Errorf("%s %s must wait for the database", r.Type, r.Name)
			}
			continue
		}
		if waits && !strings.HasPrefix(r.Name, "metaflow-db") {
			t.Errorf("%s %s waits for PostgreSQL; only the Metaflow services may", r.Type, r.Name)
		}
	}
	for _, r := range s.fake.Resources() {
		if !strings.HasPrefix(r.Type, "kubernetes:") || r.Type == "kubernetes:core/v1:Namespace" || !r.Custom {
			continue
		}
		ns := str(r.Inputs, "metadata.namespace")
		if r.Type == tRelease {
			ns = str(r.Inputs, "namespace")
		}
		if ns == "" {
			continue
		}
		found := false
		for _, n := range s.kinds("Namespace") {
			if str(n.Inputs, "metadata.name") == ns && s.waitsFor(r, n) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s %s in namespace %q does not wait for that Namespace object", r.Type, r.Name, ns)
		}
	}
	for _, cr := range []string{"EventBus", "EventSource"} {
		if !s.waitsFor(s.kinds(cr)[0], s.one(tRelease, "argo-events")) {
			t.Errorf("%s must wait for the release that installs its CRD", cr)
		}
	}
}

func TestMetaflowConfigMatchesTheDeclaredObjects(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	var cfg map[string]string
	raw := s.outputs[program.OutputMetaflowConfig]
	if !raw.Secret {
		t.Error("metaflowConfig must be secret")
	}
	if err := json.Unmarshal([]byte(raw.Value.(string)), &cfg); err != nil {
		t.Fatalf("metaflowConfig is not JSON: %v", err)
	}
	blob := s.outputs[program.OutputBlobEndpoint].Value.(string)
	container := str(s.one(tContainer, "datastore-container").Inputs, "containerName")
	expect := map[string]string{
		"METAFLOW_DEFAULT_DATASTORE":                   "azure",
		"METAFLOW_DEFAULT_METADATA":                    "service",
		"METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT": blob,
		"METAFLOW_DATASTORE_SYSROOT_AZURE":             container + "/metaflow",
		"METAFLOW_DATATOOLS_AZUREROOT":                 container + "/metaflow/data",
		"METAFLOW_CARD_AZUREROOT":                      container + "/metaflow/mf.cards",
		"METAFLOW_SERVICE_URL":                         "http://localhost:8080/",
		"METAFLOW_UI_URL":                              "http://localhost:3000/",
	}
	for k, want := range expect {
		if cfg[k] != want {
			t.Errorf("%s = %q, want %q", k, cfg[k], want)
		}
	}
	// Names, namespaces and ports must be those of objects that exist.
	taskNS := cfg["METAFLOW_KUBERNETES_NAMESPACE"]
	s.k8s("Namespace", "", taskNS)
	s.k8s("ServiceAccount", taskNS, cfg["METAFLOW_KUBERNETES_SERVICE_ACCOUNT"])
	checkServiceURL(t, s, cfg["METAFLOW_SERVICE_INTERNAL_URL"])
	checkServiceURL(t, s, cfg["METAFLOW_ARGO_EVENTS_INTERNAL_WEBHOOK_URL"])
	sensorNS := cfg["METAFLOW_ARGO_EVENTS_SENSOR_NAMESPACE"]
	s.k8s("EventBus", sensorNS, cfg["METAFLOW_ARGO_EVENTS_EVENT_BUS"])
	source := s.k8s("EventSource", sensorNS, cfg["METAFLOW_ARGO_EVENTS_EVENT_SOURCE"])
	if _, ok := prop(source.Inputs, "spec.webhook."+cfg["METAFLOW_ARGO_EVENTS_EVENT"]); !ok {
		t.Errorf("EventSource has no webhook named %q", cfg["METAFLOW_ARGO_EVENTS_EVENT"])
	}
	s.k8s("ServiceAccount", sensorNS, cfg["METAFLOW_ARGO_EVENTS_SERVICE_ACCOUNT"])
	if !strings.HasSuffix(cfg["METAFLOW_ARGO_EVENTS_WEBHOOK_URL"], "/"+cfg["METAFLOW_ARGO_EVENTS_EVENT"]) {
		t.Errorf("webhook URL %q must end in the event name", cfg["METAFLOW_ARGO_EVENTS_WEBHOOK_URL"])
	}
	// The node selector and toleration must match the task pool.
	pool := s.one(tAgentPool, "aks-tasks")
	nodeLabels, _ := prop(pool.Inputs, "nodeLabels")
	for _, kv := range strings.Split(cfg["METAFLOW_KUBERNETES_NODE_SELECTOR"], ",") {
		k, v, _ := strings.Cut(kv, "=")
		if labelsOf(nodeLabels)[k] != v {
			t.Errorf("node selector %s does not match the task pool's labels %v", kv, labelsOf(nodeLabels))
		}
	}
	var tol []map[string]string
	_ = json.Unmarshal([]byte(cfg["METAFLOW_KUBERNETES_TOLERATIONS"]), &tol)
	taint := strings_(list(pool.Inputs, "nodeTaints"))[0]
	if len(tol) != 1 || fmt.Sprintf("%s=%s:%s", tol[0]["key"], tol[0]["value"], tol[0]["effect"]) != taint {
		t.Errorf("tolerations %v do not tolerate the task pool taint %q", tol, taint)
	}
	// Every local URL in the config has a port-forward.
	forwards := map[string]bool{}
	for _, f := range s.outputs[program.OutputPortForwards].Value.([]any) {
		forwards[f.(map[string]any)["url"].(string)] = true
	}
	for _, k := range []string{"METAFLOW_SERVICE_URL", "METAFLOW_UI_URL", "METAFLOW_ARGO_WORKFLOWS_UI_URL", "METAFLOW_ARGO_EVENTS_WEBHOOK_URL"} {
		if !forwards[cfg[k]] {
			t.Errorf("%s %q has no port-forward (forwards: %v)", k, cfg[k], slices.Sorted(maps.Keys(forwards)))
		}
	}
}

// checkServiceURL asserts an in-cluster URL names a declared Service (or the EventSource's) and
// one of its ports.
func checkServiceURL(t *testing.T, s *stack, raw string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	parts := strings.Split(u.Hostname(), ".")
	if len(parts) < 2 {
		t.Fatalf("%q is not service.namespace.svc", raw)
	}
	svc, ns := parts[0], parts[1]
	port, _ := strconv.Atoi(u.Port())
	if svc == services.WebhookService {
		src := s.k8s("EventSource", ns, services.EventSourceName)
		if num(list(src.Inputs, "spec.service.ports")[0].ObjectValue(), "port") != float64(port) {
			t.Errorf("%q: the EventSource's Service does not listen on %d", raw, port)
		}
		return
	}
	r := s.k8s("Service", ns, svc)
	if num(list(r.Inputs, "spec.ports")[0].ObjectValue(), "port") != float64(port) {
		t.Errorf("%q: Service %s/%s does not listen on %d", raw, ns, svc, port)
	}
}

func TestArgoToggles(t *testing.T) {
	t.Parallel()
	off := runStack(t, "dev", "argo.enabled=false", "argoEvents.enabled=false")
	if n := len(off.all(tRelease)) + len(off.kinds("EventBus")); n != 0 {
		t.Errorf("argo off: %d Argo objects declared", n)
	}
	var cfg map[string]string
	_ = json.Unmarshal([]byte(off.outputs[program.OutputMetaflowConfig].Value.(string)), &cfg)
	for k := range cfg {
		if strings.HasPrefix(k, "METAFLOW_ARGO_") {
			t.Errorf("argo off but the config sets %s", k)
		}
	}
	noEvents := runStack(t, "dev", "argoEvents.enabled=false")
	if len(noEvents.all(tRelease)) != 1 || len(noEvents.kinds("EventSource")) != 0 {
		t.Error("argoEvents off must leave only Argo Workflows")
	}
}

// TestContainersGetExactlyTheCapabilitiesTheirImagesNeed: every container drops ALL and keeps
// privilege escalation off; only the UI (nginx's root master) gets CHOWN, SETGID and SETUID back.
// tests/runtime proves each set against the image's real process.
func TestContainersGetExactlyTheCapabilitiesTheirImagesNeed(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	want := map[string][]string{
		services.MetadataServiceName: nil, services.UIBackendName: nil,
		services.UIStaticName: images.UICapabilities,
	}
	workloads := map[string]*fakeazure.Resource{}
	for name := range want {
		workloads[name] = s.k8s("Deployment", "metaflow", name)
	}
	job := s.k8s("Job", "metaflow", services.MigrationJobName(settings.Defaults().Metaflow.MetadataImage))
	workloads["migrations"] = job
	for name, r := range workloads {
		c := containers(r)[0]
		if drop := strings_(list(c, "securityContext.capabilities.drop")); !slices.Equal(drop, []string{"ALL"}) {
			t.Errorf("%s drops %v, want [ALL]", name, drop)
		}
		if add := strings_(list(c, "securityContext.capabilities.add")); !slices.Equal(add, want[name]) {
			t.Errorf("%s adds %v, want %v", name, add, want[name])
		}
		if priv, ok := boolean(c, "securityContext.allowPrivilegeEscalation"); !ok || priv {
			t.Errorf("%s must set allowPrivilegeEscalation: false", name)
		}
	}
}

// TestPythonServicesStopOnSIGTERM: the metadata service, the UI backend and the migrations run
// under a /bin/sh PID 1 that turns SIGTERM into a signal their process obeys.
func TestPythonServicesStopOnSIGTERM(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	img := settings.Defaults().Metaflow.MetadataImage
	for name, want := range map[string]struct {
		r      *fakeazure.Resource
		signal string
		argv   []string
	}{
		"metadata":   {s.k8s("Deployment", "metaflow", services.MetadataServiceName), "TERM", []string{images.MetadataPython, "-m", images.MetadataServerModule}},
		"ui backend": {s.k8s("Deployment", "metaflow", services.UIBackendName), "KILL", []string{images.MetadataPython, "-m", images.UIBackendModule}},
		"migrations": {s.k8s("Job", "metaflow", services.MigrationJobName(img)), "TERM", []string{images.MetadataPython, images.MigrationScript}},
	} {
		cmd := strings_(list(containers(want.r)[0], "command"))
		if len(cmd) < 5 || cmd[0] != "/bin/sh" || cmd[1] != "-c" || !strings.Contains(cmd[2], "trap 'kill -s "+want.signal+` "$child"`) {
			t.Errorf("%s: command %q does not forward SIGTERM as SIG%s", name, cmd, want.signal)
			continue
		}
		if !slices.Equal(cmd[4:], want.argv) {
			t.Errorf("%s runs %q, want %q", name, cmd[4:], want.argv)
		}
	}
	if cmd := strings_(list(containers(s.k8s("Deployment", "metaflow", services.UIStaticName))[0], "command")); len(cmd) != 0 {
		t.Errorf("the UI keeps its image's entrypoint (nginx stops on SIGTERM and SIGQUIT), got %q", cmd)
	}
}

// TestDatabasePoolsFitTheServer: each service process caps its pools so that every pod during a
// rollout plus the migrations fit the SKU's connection limit.
func TestDatabasePoolsFitTheServer(t *testing.T) {
	t.Parallel()
	for stack, want := range map[string]string{"dev": "1", "prod": "10"} {
		s := runStack(t, stack)
		for _, name := range []string{services.MetadataServiceName, services.UIBackendName} {
			env := envOf(containers(s.k8s("Deployment", "metaflow", name))[0])
			if got := str(env[images.DBPoolMaxEnv], "value"); got != want {
				t.Errorf("%s %s: %s = %q, want %q", stack, name, images.DBPoolMaxEnv, got, want)
			}
			if got := str(env[images.DBPoolMinEnv], "value"); got != "1" {
				t.Errorf("%s %s: %s = %q, want 1", stack, name, images.DBPoolMinEnv, got)
			}
		}
	}
	if _, err := tryStack("dev", "metaflow.replicas=4"); err == nil ||
		!strings.Contains(err.Error(), "metaflow.replicas") || !strings.Contains(err.Error(), "postgres.sku") {
		t.Errorf("4 replicas on a B1ms must be refused naming both keys, got %v", err)
	}
}

// TestNoEnvironmentVariableNoReleaseReads: MF_DATASTORE_ROOT is read by no metaflow-service
// release (package images).
func TestNoEnvironmentVariableNoReleaseReads(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	for _, name := range []string{services.MetadataServiceName, services.UIBackendName, services.UIStaticName} {
		if _, ok := envOf(containers(s.k8s("Deployment", "metaflow", name))[0])["MF_DATASTORE_ROOT"]; ok {
			t.Errorf("%s sets MF_DATASTORE_ROOT", name)
		}
	}
}
