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

// TestStackObjectsBecomeReady applies every object the dev stack declares (the offline plan's
// --manifests output) and checks that each becomes ready, that every reference resolves, and
// that deleting the namespaces leaves nothing behind.
func TestStackObjectsBecomeReady(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := testEnv

	start := time.Now()
	plan, err := renderPlan(ctx, e.root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e.record("render: plan --stack dev --manifests", time.Since(start))
	ms := plan.manifests
	t.Logf("plan declares %d Kubernetes objects", len(ms))
	if len(ms) == 0 {
		t.Fatal("the stack declares no Kubernetes objects")
	}
	for _, r := range plan.helmReleases {
		t.Logf("left out: %s — the chart cannot be fetched offline; its CRDs come from the Go module proxy "+
			"and chart objects the stack's objects reference get logged stand-ins", r)
	}
	configs := embeddedMetaflowConfigs(ms)
	if plan.config == nil {
		t.Error("the plan has no metaflowConfig output: cannot check where tasks find their Secrets")
	} else {
		configs = append(configs, *plan.config)
	}

	if sets := dedupeSelectors(nodeSelectors(ms)); len(sets) > 0 {
		if err := createNodes(ctx, e.cluster, "stack-pool", sets); err != nil {
			t.Fatal(err)
		}
	}

	start = time.Now()
	applyOrFail(t, e, ms, standIns(ms, plan.helmReleases))
	e.record("apply: stack objects", time.Since(start))

	start = time.Now()
	results := runChecks(ctx, &subject{client: e.cluster.client, manifests: ms, configs: configs}, stackDeadline)
	e.record("assert: stack objects ready", time.Since(start))
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
	for _, p := range deleteNamespaces(ctx, e.cluster, e.applier.dyn, namespaceNames(ms), namespaceDeadline) {
		t.Errorf("teardown: %s", p)
	}
	e.record("assert: namespaces deleted, nothing left", time.Since(start))
}

// applyOrFail applies CRDs among the objects first, then namespaces, then the stand-ins for
// chart-created objects, then everything else.
func applyOrFail(t *testing.T, e *env, ms []manifest, standIns []standIn) {
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
	for _, s := range standIns {
		t.Logf("stand-in: creating %s (%s)", describe(s.obj), s.reason)
		if err := e.applier.apply(ctx, s.obj, false); err != nil {
			t.Fatalf("stand-in %s: %v", describe(s.obj), err)
		}
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
	applyOrFail(t, e, ms, nil)
	results := runChecks(ctx, &subject{client: e.cluster.client, manifests: ms, configs: embeddedMetaflowConfigs(ms)}, brokenDeadline)

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
	_, err := e.cluster.client.CoreV1().ConfigMaps("broken-tasks").Patch(ctx, "stuck", types.MergePatchType, patch, metav1.PatchOptions{})
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

// TestStandInsOnlyForChartObjects: a stand-in must never paper over a real dangling reference.
func TestStandInsOnlyForChartObjects(t *testing.T) {
	releases := []helmRelease{{Name: "argo-workflows", Namespace: "argo", Chart: "argo-workflows"}}
	binding := func(subjectNS, subject, clusterRole string) manifest {
		o := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
			"metadata": map[string]any{"name": "b", "namespace": "metaflow-jobs"},
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": clusterRole},
			"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": subject, "namespace": subjectNS}},
		}}
		return manifest{path: "b.yaml", obj: o}
	}
	namespace := func(name string) manifest {
		return manifest{path: name + ".yaml", obj: &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name},
		}}}
	}
	cases := []struct {
		name string
		ms   []manifest
		want []string
	}{
		{"chart serviceaccount and clusterrole",
			[]manifest{namespace("argo"), namespace("metaflow-jobs"), binding("argo", "argo-workflows-server", "argo-workflows-view")},
			[]string{"ClusterRole argo-workflows-view", "ServiceAccount argo/argo-workflows-server"}},
		{"chart name in the wrong namespace",
			[]manifest{namespace("argo"), namespace("metaflow-jobs"), binding("metaflow-jobs", "argo-workflows-server", "view")},
			nil},
		{"the reference's dangling binding",
			[]manifest{namespace("argo"), namespace("metaflow-jobs"), binding("argo-workflows", "argo-workflows", "view")},
			nil},
		{"namespace the stack does not declare",
			[]manifest{namespace("metaflow-jobs"), binding("argo", "argo-workflows-server", "view")},
			nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, s := range standIns(tc.ms, releases) {
				got = append(got, describe(s.obj))
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("stand-ins = %v, want %v", got, tc.want)
			}
		})
	}
}
