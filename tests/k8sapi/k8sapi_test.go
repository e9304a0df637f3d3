//go:build k8sapi

package k8sapi

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"metaflow-azure/internal/testday"
	"metaflow-azure/services"
)

// Deadlines for the assertions. The good stack gets generous ones (a busy 2-core machine);
// the broken fixture's only have to outlast its failures becoming visible.
const (
	stackDeadline      = 3 * time.Minute
	brokenDeadline     = 45 * time.Second
	namespaceDeadline  = 2 * time.Minute
	stuckNamespaceWait = 20 * time.Second
)

var testEnv *env

func TestMain(m *testing.M) {
	testday.Pin()
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) (code int) {
	// An interrupt cancels the polls, so tests end quickly and the cleanup below still runs.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	e, err := setUp(ctx)
	defer func() {
		if e != nil {
			e.tearDown(code != 0)
			logf("summary (total %s):\n%s", time.Since(start).Round(time.Second), e.summary())
		}
	}()
	if err != nil {
		logf("k8sapi: set up: %v", err)
		return 1
	}
	testEnv = e
	return m.Run()
}

// TestStackObjectsBecomeReady applies, for the dev and the prod stack in turn, every object
// the stack declares (the offline plan's --manifests output) together with its two Helm
// releases rendered from the pinned charts with the program's values, and checks that each
// becomes ready, that every reference resolves, that Argo's controllers and server reach the
// task namespace and nothing else, and that deleting the namespaces leaves nothing behind.
func TestStackObjectsBecomeReady(t *testing.T) {
	t.Parallel()
	for _, st := range chartStacks {
		t.Run(st.name, func(t *testing.T) { stackObjectsBecomeReady(t, testEnv, st.name) })
	}
}

func stackObjectsBecomeReady(t *testing.T, e *env, stack string) {
	ctx := t.Context()
	start := time.Now()
	sc := chartsOf(t, e, stack)
	e.record("render: plan --stack "+stack+" + helm template", time.Since(start))
	plan := sc.plan
	ms := plan.manifests
	t.Logf("plan declares %d Kubernetes objects", len(ms))
	if len(ms) == 0 {
		t.Fatal("the stack declares no Kubernetes objects")
	}
	var chartObjs, chartCRDs []manifest
	for _, m := range sc.chartObjects() {
		if m.obj.GetKind() == "CustomResourceDefinition" {
			chartCRDs = append(chartCRDs, m)
		} else {
			chartObjs = append(chartObjs, m)
		}
	}
	for _, r := range plan.helmReleases {
		t.Logf("%s: %d objects rendered with Helm from %s", r, len(sc.releases[r.Chart].manifests), strings.Join(chartSource(e.root, r), " "))
	}
	configs := embeddedMetaflowConfigs(ms)
	if plan.config == nil {
		t.Error("the plan has no metaflowConfig output: cannot check where tasks find their Secrets")
	} else {
		configs = append(configs, *plan.config)
	}
	all := append(slices.Clone(ms), chartObjs...)

	// Task pools get their nodes from the AKS pools the plan declares (with their taints);
	// other selectors (an AKS system pool pinned by name) get a plain node each.
	var sets []map[string]string
	for _, sel := range dedupeSelectors(nodeSelectors(all)) {
		if !isPoolSelector(sel) {
			sets = append(sets, sel)
		}
	}
	if len(sets) > 0 {
		if err := e.cluster.CreateNodes(ctx, stack+"-pool", sets); err != nil {
			t.Fatal(err)
		}
	}
	poolNodes := createPoolNodes(t, e, stack, plan)
	defer deletePoolNodes(t, e, poolNodes)

	start = time.Now()
	// The charts' CRDs are validated by the server (dry run) but not stored: the full-schema CRDs
	// installed at set-up stay, so the server keeps checking Argo objects' types.
	for _, m := range chartCRDs {
		if err := e.applier.apply(ctx, m.obj, true); err != nil {
			t.Errorf("apply (dry run) %s: %v", m, err)
		}
	}
	applyOrFail(t, e, all)
	e.record("apply: "+stack+" stack objects + charts", time.Since(start))

	start = time.Now()
	results := runChecks(ctx, &subject{client: e.cluster.Client, manifests: all, configs: configs}, stackDeadline)
	e.record("assert: "+stack+" objects ready", time.Since(start))
	for _, c := range checks {
		r := results[c.name]
		for _, p := range r.problems {
			t.Errorf("%s: %s", c.name, p)
		}
		if len(r.problems) == 0 {
			t.Logf("assert %s: passed after %s", c.name, r.passedIn.Round(time.Millisecond))
		}
	}
	start = time.Now()
	t.Run("task pool scheduling", func(t *testing.T) { checkTaskPoolScheduling(t, e, stack, plan, all) })
	e.record("assert: "+stack+" task pool scheduling", time.Since(start))

	start = time.Now()
	checkPermissions(t, e, sc)
	checkAppliedArtifactRepository(t, e, sc)
	checkWorkloadIdentity(t, e, sc)
	e.record("assert: "+stack+" permissions (SubjectAccessReviews)", time.Since(start))

	start = time.Now()
	checkNetworkPoliciesApplied(t, e, sc)
	checkPodSecurity(t, e, sc)
	e.record("assert: "+stack+" Pod Security enforced", time.Since(start))

	start = time.Now()
	for _, p := range deleteNamespaces(ctx, e.cluster, e.applier.dyn, namespaceNames(ms), namespaceDeadline) {
		t.Errorf("teardown: %s", p)
	}
	e.record("assert: "+stack+" namespaces deleted, nothing left", time.Since(start))
	deleteDevicePlugin(t, e, ms)
	// The charts' cluster-scoped objects outlive the namespaces; remove them so the next stack's
	// permission checks see only its own.
	for _, m := range chartObjs {
		if m.obj.GetNamespace() != "" {
			continue
		}
		ri, err := e.applier.resourceFor(m.obj)
		if err == nil {
			err = ri.Delete(ctx, m.obj.GetName(), metav1.DeleteOptions{})
		}
		if err != nil {
			t.Errorf("delete %s: %v", m, err)
		}
	}
}

// checkAppliedArtifactRepository reads the artifact repository back from the API server: what
// Argo will read holds its placeholders as written.
func checkAppliedArtifactRepository(t *testing.T, e *env, sc *stackCharts) {
	tasks := sc.tasksNamespace(t)
	cm, err := e.cluster.Client.CoreV1().ConfigMaps(tasks).Get(t.Context(), services.ArtifactRepositoriesConfigMap, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("read the artifact repository: %v", err)
	}
	data := cm.Data[cm.Annotations[services.DefaultArtifactRepositoryAnno]]
	for _, p := range []string{"{{workflow.namespace}}", "{{workflow.name}}", "{{pod.name}}"} {
		if !strings.Contains(data, p) {
			t.Errorf("ConfigMap %s/%s on the server lost Argo's placeholder %s:\n%s", tasks, cm.Name, p, data)
		}
	}
}

// applyOrFail applies CRDs among the objects first, then namespaces, then everything else.
func applyOrFail(t *testing.T, e *env, ms []manifest) {
	t.Helper()
	ctx := t.Context()
	if crds := ofKind(ms, "CustomResourceDefinition"); len(crds) > 0 {
		if err := e.applier.applyCRDs(ctx, crds); err != nil {
			t.Fatal(err)
		}
	}
	if errs := e.applier.applyAll(ctx, ofKind(ms, "Namespace")); len(errs) > 0 {
		t.Fatalf("apply namespaces: %v", errors.Join(errs...))
	}
	var rest []manifest
	for _, m := range ms {
		if k := m.obj.GetKind(); k != "Namespace" && k != "CustomResourceDefinition" {
			rest = append(rest, m)
		}
	}
	for _, err := range e.applier.applyAll(ctx, rest) {
		t.Errorf("apply: %v", err)
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("applied %d objects", len(ms))
}

func namespaceNames(ms []manifest) []string {
	var names []string
	for _, m := range ofKind(ms, "Namespace") {
		names = append(names, m.obj.GetName())
	}
	return names
}

// TestBrokenFixtureFailsEachAssertion proves that each assertion reports the failure it exists
// for: the fixture's objects are all accepted by the API server, and every one is wrong.
func TestBrokenFixtureFailsEachAssertion(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := testEnv
	ms, err := loadManifests(filepath.Join("testdata", "broken"))
	if err != nil {
		t.Fatal(err)
	}
	applyOrFail(t, e, ms)
	results := runChecks(ctx, &subject{client: e.cluster.Client, manifests: ms, configs: embeddedMetaflowConfigs(ms)}, brokenDeadline)

	cases := []struct {
		name  string
		check string
		want  string
	}{
		{"pods never ready", "deployments",
			"deployment broken-metaflow/never-ready not available: 0/1 replicas ready (1 pods not ready: ReadinessGatesNotReady)"},
		{"pods refused by admission", "deployments",
			`deployment broken-metaflow/missing-serviceaccount not available: 0/1 replicas ready (replica failure: pods "missing-serviceaccount-`},
		{"service selects no pods", "services",
			"service broken-metaflow/metaflow-ui-static has no ready endpoints: selector app=metadata-ui-static-service matches no pods"},
		{"job fails", "jobs",
			"job broken-metaflow/failing-migrations failed: BackoffLimitExceeded"},
		{"rolebinding to missing serviceaccount", "references",
			"rolebinding broken-tasks/view-events-role-binding: subject ServiceAccount argo-workflows/argo-workflows not found"},
		{"rolebinding to missing role", "references",
			"rolebinding broken-tasks/operate-workflow-role-binding: roleRef Role broken-tasks/operate-workflow-role not found"},
		{"pod runs as missing serviceaccount", "references",
			"deployment broken-metaflow/missing-serviceaccount: serviceAccountName metadata-service not found in namespace broken-metaflow"},
		{"metaflow task serviceaccount missing", "references",
			"configmap broken-metaflow/metaflow-config: METAFLOW_KUBERNETES_SERVICE_ACCOUNT names ServiceAccount broken-tasks/metaflow-task, which is not found"},
		{"secretKeyRef to missing secret", "secrets",
			"deployment broken-metaflow/missing-secret: container app env MF_METADATA_DB_PSWD: secret broken-metaflow/metadata-db not found"},
		{"secretKeyRef to missing key", "secrets",
			"deployment broken-metaflow/missing-secret: container app env WRONG_KEY: secret broken-metaflow/present-secret has no key no-such-key"},
		{"envFrom missing secret", "secrets",
			"deployment broken-metaflow/missing-secret: container app envFrom: secret broken-metaflow/storage-credentials not found"},
		{"METAFLOW_KUBERNETES_SECRETS in the wrong namespace", "secrets",
			"configmap broken-metaflow/metaflow-config: METAFLOW_KUBERNETES_SECRETS names secret broken-tasks/storage-credentials-in-wrong-namespace, which is not found"},
	}
	matched := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, p := range results[tc.check].problems {
				if strings.Contains(p, tc.want) {
					matched[tc.check+"\x00"+p] = true
					return
				}
			}
			t.Errorf("check %s did not report %q; it reported:\n  %s", tc.check, tc.want, strings.Join(results[tc.check].problems, "\n  "))
		})
	}
	// Every problem must be one of the expected: the fixture's sound objects (the ready
	// Deployment, the bindings that resolve) must not be reported.
	for _, c := range checks {
		for _, p := range results[c.name].problems {
			if !matched[c.name+"\x00"+p] {
				t.Errorf("check %s reported an unexpected problem: %s", c.name, p)
			}
		}
	}

	t.Run("namespace that cannot be deleted", func(t *testing.T) {
		problems := deleteNamespaces(ctx, e.cluster, e.applier.dyn, namespaceNames(ms), stuckNamespaceWait)
		want := []string{
			"namespace broken-tasks not deleted after 20s: phase Terminating",
			"left behind: ConfigMap broken-tasks/stuck (finalizers [metaflow-azure.test/never-removed])",
		}
		for _, w := range want {
			if !containsPrefix(problems, w) {
				t.Errorf("teardown did not report %q; it reported:\n  %s", w, strings.Join(problems, "\n  "))
			}
		}
		releaseStuck(t, e)
	})
}

// releaseStuck removes the fixture's never-removed finalizer so its namespace can go.
func releaseStuck(t *testing.T, e *env) {
	t.Helper()
	ctx := t.Context()
	patch := []byte(`{"metadata":{"finalizers":null}}`)
	_, err := e.cluster.Client.CoreV1().ConfigMaps("broken-tasks").Patch(ctx, "stuck", types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("release stuck configmap: %v", err)
	}
	if problems := deleteNamespaces(ctx, e.cluster, e.applier.dyn, []string{"broken-tasks"}, namespaceDeadline); len(problems) > 0 {
		t.Errorf("after releasing the finalizer: %s", strings.Join(problems, "; "))
	}
}

func containsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// TestServerRejectsInvalidObjects proves the tier catches what only a real API server does:
// each fixture is a server-side-apply dry run that must fail with its own error.
func TestServerRejectsInvalidObjects(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := testEnv
	ns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "rejected"},
	}}
	if err := e.applier.apply(ctx, ns, false); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		file string
		want string
	}{
		{"deployment-selector-mismatch.yaml", "`selector` does not match template `labels`"},
		{"service-unknown-field.yaml", `.spec.ports[port=80,protocol="TCP"].portz: field not declared in schema`},
		{"job-restart-always.yaml", `spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`},
		// The full Argo Workflows CRDs carry schemas, so the server checks types in Argo objects.
		// (The Argo Events CRDs preserve unknown fields: EventBus/EventSource are not validated.)
		{"workflowtemplate-wrong-type.yaml", `.spec.templates[0].container.command: expected list, got`},
		{"secret-not-base64.yaml", "illegal base64 data"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			ms, err := loadManifests(filepath.Join("testdata", "rejected", tc.file))
			if err != nil || len(ms) != 1 {
				t.Fatalf("load %s: %d objects, %v", tc.file, len(ms), err)
			}
			err = e.applier.apply(ctx, ms[0].obj, true)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("apply %s: got error %v, want one containing %q", tc.file, err, tc.want)
			}
		})
	}
	if problems := deleteNamespaces(ctx, e.cluster, e.applier.dyn, []string{"rejected"}, namespaceDeadline); len(problems) > 0 {
		t.Errorf("delete namespace rejected: %s", strings.Join(problems, "; "))
	}
}
