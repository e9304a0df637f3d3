//go:build k8sapi

package k8sapi

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"metaflow-azure/services"
)

// The stacks whose releases the chart tier renders and applies, and the server --auth-mode each
// one's Pulumi.<stack>.yaml asks for.
var chartStacks = []struct {
	name     string
	authMode string
}{{"dev", "server"}, {"prod", "client"}}

// Chart names of the two releases.
const (
	workflowsChart = "argo-workflows"
	eventsChart    = "argo-events"
)

// stackCharts is a stack's plan with its Helm releases rendered.
type stackCharts struct {
	plan     *stackPlan
	releases map[string]*renderedRelease // by chart name
}

var (
	stackChartsMu    sync.Mutex
	stackChartsCache = map[string]*stackCharts{}
)

// chartsOf plans a stack once (shared by the tests) and renders its releases with the real
// Helm engine, the pinned charts and the program's values.
func chartsOf(t *testing.T, e *env, stack string) *stackCharts {
	t.Helper()
	stackChartsMu.Lock()
	defer stackChartsMu.Unlock()
	if sc, ok := stackChartsCache[stack]; ok {
		return sc
	}
	dir := filepath.Join(e.dir, "plan-"+stack)
	plan, err := renderPlan(t.Context(), e.root, stack, dir)
	if err != nil {
		t.Fatal(err)
	}
	sc := &stackCharts{plan: plan, releases: map[string]*renderedRelease{}}
	for _, r := range plan.helmReleases {
		rr, err := e.charts.renderRelease(t.Context(), r)
		if err != nil {
			t.Fatalf("%s: the release does not install: %v", r, err)
		}
		if err := setReleaseNamespace(e.applier, rr.manifests, r.Namespace); err != nil {
			t.Fatal(err)
		}
		sc.releases[r.Chart] = rr
	}
	for _, chart := range []string{workflowsChart, eventsChart} {
		if sc.releases[chart] == nil {
			t.Fatalf("plan --stack %s has no %s release", stack, chart)
		}
	}
	stackChartsCache[stack] = sc
	return sc
}

// chartObjects are every rendered object of the stack's releases.
func (sc *stackCharts) chartObjects() []manifest {
	var out []manifest
	for _, chart := range slices.Sorted(maps.Keys(sc.releases)) {
		out = append(out, sc.releases[chart].manifests...)
	}
	return out
}

// tasksNamespace and taskServiceAccount are where Metaflow runs tasks, as the stack's
// metaflowConfig output tells Metaflow.
func (sc *stackCharts) tasksNamespace(t *testing.T) string {
	t.Helper()
	if sc.plan.config == nil || sc.plan.config.values[mfNamespace] == "" {
		t.Fatalf("the plan's metaflowConfig has no %s", mfNamespace)
	}
	return sc.plan.config.values[mfNamespace]
}

func find(ms []manifest, kind, namespace, name string) *unstructured.Unstructured {
	for _, m := range ms {
		if m.obj.GetKind() == kind && m.obj.GetNamespace() == namespace && m.obj.GetName() == name {
			return m.obj
		}
	}
	return nil
}

// containerArgs returns the args of a Deployment's first container.
func containerArgs(t *testing.T, d *unstructured.Unstructured) []string {
	t.Helper()
	cs, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if len(cs) == 0 {
		t.Fatalf("%s has no containers", describe(d))
	}
	var args []string
	for _, a := range cs[0].(map[string]any)["args"].([]any) {
		args = append(args, fmt.Sprint(a))
	}
	return args
}

// configData parses one YAML document held in a ConfigMap key.
func configData(t *testing.T, cm *unstructured.Unstructured, key string) map[string]any {
	t.Helper()
	text, _, _ := unstructured.NestedString(cm.Object, "data", key)
	var out map[string]any
	if err := yaml.Unmarshal([]byte(text), &out); err != nil {
		t.Fatalf("%s data.%s: %v", describe(cm), key, err)
	}
	return out
}

// TestChartsRenderAsTheStackRelies renders both releases of every stack and checks, in the
// rendered objects (not in the values), what the rest of the stack relies on.
func TestChartsRenderAsTheStackRelies(t *testing.T) {
	t.Parallel()
	for _, st := range chartStacks {
		t.Run(st.name, func(t *testing.T) {
			sc := chartsOf(t, testEnv, st.name)
			checkWorkflowsChart(t, sc, st.authMode)
			checkEventsChart(t, sc)
			checkCRDsKept(t, sc)
			checkArtifactRepository(t, sc)
			checkChartPodsSelected(t, sc)
		})
	}
}

func checkWorkflowsChart(t *testing.T, sc *stackCharts, authMode string) {
	rr := sc.releases[workflowsChart]
	ns, tasks := rr.release.Namespace, sc.tasksNamespace(t)
	ms := rr.manifests
	for _, sa := range []string{services.ArgoServerServiceAccount, services.ArgoControllerServiceAccount} {
		if find(ms, "ServiceAccount", ns, sa) == nil {
			t.Errorf("argo-workflows renders no ServiceAccount %s/%s, which the stack binds in %s", ns, sa, tasks)
		}
	}
	if find(ms, "Service", ns, services.ArgoServerService) == nil {
		t.Errorf("argo-workflows renders no Service %s/%s, which port-forward uses", ns, services.ArgoServerService)
	}
	managed := "--managed-namespace=" + tasks
	controller := find(ms, "Deployment", ns, services.ArgoReleaseName+"-workflow-controller")
	if controller == nil {
		t.Fatalf("argo-workflows renders no workflow-controller Deployment")
	}
	if args := containerArgs(t, controller); !slices.Contains(args, "--namespaced") || !slices.Contains(args, managed) {
		t.Errorf("the workflow controller must watch only %s (--namespaced %s); args %v", tasks, managed, args)
	}
	server := find(ms, "Deployment", ns, services.ArgoServerService)
	if server == nil {
		t.Fatalf("argo-workflows renders no server Deployment")
	}
	args := containerArgs(t, server)
	var modes []string
	for _, a := range args {
		if m, ok := strings.CutPrefix(a, "--auth-mode="); ok {
			modes = append(modes, m)
		}
	}
	if !slices.Equal(modes, []string{authMode}) || !slices.Contains(args, "--secure=true") ||
		!slices.Contains(args, "--namespaced") || !slices.Contains(args, managed) {
		t.Errorf("the server must serve %s only, over TLS, with --auth-mode=%s; args %v", tasks, authMode, args)
	}
	if svc := find(ms, "Service", ns, services.ArgoServerService); svc != nil {
		if typ, _, _ := unstructured.NestedString(svc.Object, "spec", "type"); typ != "ClusterIP" {
			t.Errorf("the Argo server must be reachable only inside the cluster; Service type %q", typ)
		}
	}

	cm := find(ms, "ConfigMap", ns, services.ArgoReleaseName+"-workflow-controller-configmap")
	if cm == nil {
		t.Fatalf("argo-workflows renders no controller ConfigMap")
	}
	config := configData(t, cm, "config")
	sa, _, _ := unstructured.NestedString(config, "workflowDefaults", "spec", "serviceAccountName")
	if want := sc.plan.config.values[mfServiceAccount]; sa != want || want == "" {
		t.Errorf("workflows must default to the task ServiceAccount %q; workflowDefaults.spec.serviceAccountName is %q", want, sa)
	}
	// The artifact repository is the task namespace's artifact-repositories ConfigMap; one in
	// the controller's config would be a second, conflicting default.
	if repo, ok := config["artifactRepository"]; ok {
		t.Errorf("the controller config must not hold an artifact repository: %v", repo)
	}
	// With workload identity every workflow pod carries the profile's task pod labels (the
	// webhook injects the task identity into pods with the label), and the executor gets no
	// credentials: it signs in with what the webhook injects.
	labels, _, _ := unstructured.NestedStringMap(config, "workflowDefaults", "spec", "podMetadata", "labels")
	want := map[string]string{}
	for _, kv := range strings.Split(sc.plan.config.values["METAFLOW_KUBERNETES_LABELS"], ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			want[k] = v
		}
	}
	if len(want) == 0 || !maps.Equal(labels, want) {
		t.Errorf("workflow pods must carry the task pod labels %v; workflowDefaults.spec.podMetadata.labels is %v", want, labels)
	}
	if env, ok, _ := unstructured.NestedSlice(config, "executor", "env"); ok {
		t.Errorf("the executor must get no Azure credentials with workload identity; its env is %v", env)
	}
}

func checkEventsChart(t *testing.T, sc *stackCharts) {
	rr := sc.releases[eventsChart]
	ns, tasks := rr.release.Namespace, sc.tasksNamespace(t)
	ms := rr.manifests
	if find(ms, "ServiceAccount", ns, services.ArgoEventsControllerServiceAccount) == nil {
		t.Errorf("argo-events renders no ServiceAccount %s/%s, which the stack binds in %s", ns, services.ArgoEventsControllerServiceAccount, tasks)
	}
	controller := find(ms, "Deployment", ns, services.ArgoEventsReleaseName+"-controller-manager")
	if controller == nil {
		t.Fatalf("argo-events renders no controller Deployment")
	}
	args := containerArgs(t, controller)
	if i := slices.Index(args, "--managed-namespace"); !slices.Contains(args, "--namespaced") || i < 0 || i+1 >= len(args) || args[i+1] != tasks {
		t.Errorf("the events controller must manage only %s (--namespaced --managed-namespace %s); args %v", tasks, tasks, args)
	}
	// The EventBus's JetStream version must be one the controller knows, with the images the
	// chart lists for it.
	bus := find(sc.plan.manifests, "EventBus", tasks, services.EventBusName)
	if bus == nil {
		t.Fatalf("the stack declares no EventBus %s/%s", tasks, services.EventBusName)
	}
	version, _, _ := unstructured.NestedString(bus.Object, "spec", "jetstream", "version")
	cm := find(ms, "ConfigMap", ns, services.ArgoEventsReleaseName+"-controller-manager")
	if cm == nil {
		t.Fatalf("argo-events renders no controller ConfigMap")
	}
	listed, _, _ := unstructured.NestedSlice(configData(t, cm, "controller-config.yaml"), "eventBus", "jetstream", "versions")
	defaults := chartDefaultValues(t, rr.release)
	chartListed, _, _ := unstructured.NestedSlice(defaults, "configs", "jetstream", "versions")
	entry, chartEntry := jetstreamEntry(listed, version), jetstreamEntry(chartListed, version)
	switch {
	case chartEntry == nil:
		t.Errorf("EventBus JetStream version %q is not one the argo-events chart lists", version)
	case entry == nil:
		t.Errorf("EventBus JetStream version %q is not in the rendered controller config", version)
	case !maps.Equal(entry, chartEntry):
		t.Errorf("JetStream %s: the controller gets %v, the chart lists %v", version, entry, chartEntry)
	}
	for _, img := range []string{"natsImage", "configReloaderImage", "metricsExporterImage"} {
		if s := fmt.Sprint(entry[img]); !strings.Contains(s, ":") || strings.HasSuffix(s, ":latest") {
			t.Errorf("JetStream %s %s %q is not a pinned tag", version, img, s)
		}
	}
}

func jetstreamEntry(list []any, version string) map[string]any {
	for _, v := range list {
		if m, ok := v.(map[string]any); ok && fmt.Sprint(m["version"]) == version {
			return m
		}
	}
	return nil
}

// chartDefaultValues is the chart's own values.yaml, from the same package Helm renders.
func chartDefaultValues(t *testing.T, r helmRelease) map[string]any {
	t.Helper()
	out, err := testEnv.charts.showValues(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(out, &v); err != nil {
		t.Fatalf("parse %s values.yaml: %v", r.Chart, err)
	}
	return v
}

// checkCRDsKept: the charts install their CRDs and keep them when the release is uninstalled,
// so deleting a release never deletes every workflow and sensor with it.
func checkCRDsKept(t *testing.T, sc *stackCharts) {
	want := map[string][]string{
		workflowsChart: {"workflows.argoproj.io", "workflowtemplates.argoproj.io", "cronworkflows.argoproj.io", "workflowtaskresults.argoproj.io"},
		eventsChart:    {"eventbus.argoproj.io", "eventsources.argoproj.io", "sensors.argoproj.io"},
	}
	for chart, names := range want {
		crds := ofKind(sc.releases[chart].manifests, "CustomResourceDefinition")
		var got []string
		for _, m := range crds {
			got = append(got, m.obj.GetName())
			if m.obj.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
				t.Errorf("%s: CRD %s is not kept on uninstall (helm.sh/resource-policy: keep)", chart, m.obj.GetName())
			}
		}
		for _, n := range names {
			if !slices.Contains(got, n) {
				t.Errorf("%s does not install CRD %s; it installs %v", chart, n, got)
			}
		}
	}
}

// checkArtifactRepository: the task namespace's default artifact repository is exactly the
// Metaflow container with Entra credentials, and Argo's placeholders reach Argo as written.
func checkArtifactRepository(t *testing.T, sc *stackCharts) {
	tasks := sc.tasksNamespace(t)
	cm := find(sc.plan.manifests, "ConfigMap", tasks, services.ArtifactRepositoriesConfigMap)
	if cm == nil {
		t.Fatalf("the stack declares no ConfigMap %s/%s", tasks, services.ArtifactRepositoriesConfigMap)
	}
	key := cm.GetAnnotations()[services.DefaultArtifactRepositoryAnno]
	if key == "" {
		t.Fatalf("%s has no %s annotation: Argo would not use it by default", describe(cm), services.DefaultArtifactRepositoryAnno)
	}
	endpoint := strings.TrimSuffix(planOutputString(t, sc.plan, "blobEndpoint"), "/")
	want := map[string]any{"azure": map[string]any{
		"endpoint":       endpoint,
		"container":      planOutputString(t, sc.plan, "containerName"),
		"blobNameFormat": "argo-artifacts/{{workflow.namespace}}/{{workflow.name}}/{{pod.name}}",
		"useSDKCreds":    true,
	}}
	got := configData(t, cm, key)
	gotYAML, _ := yaml.Marshal(got)
	wantYAML, _ := yaml.Marshal(want)
	if !bytes.Equal(gotYAML, wantYAML) {
		t.Errorf("%s data.%s:\n%s\nwant exactly:\n%s", describe(cm), key, gotYAML, wantYAML)
	}
}

func planOutputString(t *testing.T, p *stackPlan, name string) string {
	t.Helper()
	s, ok := p.outputs[name].(string)
	if !ok || s == "" {
		t.Fatalf("the plan has no string output %s", name)
	}
	return s
}

// TestChartTemplatesArgoPlaceholders shows why the artifact repository is not a chart value:
// the argo-workflows chart passes artifactRepository.azure through tpl, which reads Argo's
// placeholders as Helm template code and fails the install.
func TestChartTemplatesArgoPlaceholders(t *testing.T) {
	t.Parallel()
	sc := chartsOf(t, testEnv, "dev")
	r := sc.releases[workflowsChart].release
	values := deepCopy(r.Values).(map[string]any)
	values["artifactRepository"] = map[string]any{"azure": map[string]any{
		"container": "metaflow", "blobNameFormat": services.ArtifactBlobNameFormat, "useSDKCreds": true,
	}}
	_, err := testEnv.charts.render(t.Context(), r, values)
	if err == nil || !strings.Contains(err.Error(), `function "workflow" not defined`) {
		t.Errorf("the chart was expected to template artifactRepository.azure (and fail on Argo's placeholders); got %v", err)
	}
}

// TestEveryValuesKeyChangesTheChart: each values key the program sets must be read by the chart
// — rendering with the key removed, or misspelt, must change the output. Neither chart has a
// values schema, so Helm ignores a key it does not read (a misspelling, or a key a later chart
// version dropped) without a word; a key that changes nothing fails here, named.
//
// A misspelt key in the program is caught by the removal render (a key the chart does not read
// renders the same without it). Under maps the chart copies verbatim (executor.env,
// controller.workflowDefaults) Helm cannot tell; there the rendered-object checks of
// TestChartsRenderAsTheStackRelies assert the meaning.
func TestEveryValuesKeyChangesTheChart(t *testing.T) {
	t.Parallel()
	for _, st := range chartStacks {
		t.Run(st.name, func(t *testing.T) {
			sc := chartsOf(t, testEnv, st.name)
			for _, chart := range slices.Sorted(maps.Keys(sc.releases)) {
				rr := sc.releases[chart]
				paths := leaves(rr.release.Values, nil)
				if len(paths) == 0 {
					t.Errorf("%s: the program sets no values", chart)
				}
				for _, p := range unreadKeys(t, rr.release, rr.yaml, rr.release.Values) {
					t.Errorf("%s: values key %s: %s", chart, p.path, p.why)
				}
				t.Logf("%s: %d values keys, each changes the render when removed or misspelt", chart, len(paths))
			}
		})
	}
	// The check itself must fail on a key the chart does not read: the keys this chart version
	// dropped or never had, and a misspelling of a real one.
	t.Run("fails on keys the chart ignores", func(t *testing.T) {
		sc := chartsOf(t, testEnv, "dev")
		rr := sc.releases[workflowsChart]
		values := deepCopy(rr.release.Values).(map[string]any)
		values["useDefaultArtifactRepo"] = true                                      // gone since chart 0.26.0
		values["controller"].(map[string]any)["workflowNamespaces"] = []any{"other"} // not read with workflow.rbac off
		values["server"].(map[string]any)["secrue"] = true                           // misspelt
		full, err := testEnv.charts.render(t.Context(), rr.release, values)
		if err != nil {
			t.Fatal(err)
		}
		var flagged []string
		for _, p := range unreadKeys(t, rr.release, full, values) {
			flagged = append(flagged, p.path)
		}
		for _, want := range []string{"useDefaultArtifactRepo", "controller.workflowNamespaces[0]", "server.secrue"} {
			if !slices.Contains(flagged, want) {
				t.Errorf("the check did not flag %s; it flagged %v", want, flagged)
			}
		}
		if len(flagged) != 3 {
			t.Errorf("the check flagged %v, want exactly the three planted keys", flagged)
		}
	})
}

type unread struct {
	path string
	why  string
}

// unreadKeys renders values with each leaf removed and with its key misspelt, and reports every
// leaf whose removal or misspelling renders byte-identically to full.
func unreadKeys(t *testing.T, r helmRelease, full []byte, values map[string]any) []unread {
	t.Helper()
	var out []unread
	for _, p := range leaves(values, nil) {
		without, err := testEnv.charts.render(t.Context(), r, withoutLeaf(values, p))
		if err != nil {
			t.Errorf("render without %s: %v", p, err)
			continue
		}
		if bytes.Equal(without, full) {
			out = append(out, unread{p.String(), "removing it renders byte-identically: the chart does not read it, or it repeats the chart's default"})
			continue
		}
		wrong, key := misspelt(values, p)
		typo, err := testEnv.charts.render(t.Context(), r, wrong)
		if err != nil {
			t.Errorf("render with %s misspelt as %s: %v", p, key, err)
			continue
		}
		if bytes.Equal(typo, full) {
			out = append(out, unread{p.String(), "misspelling it (" + key + ") renders byte-identically"})
		}
	}
	return out
}

// checkPermissions asks the API server (SubjectAccessReviews, after the rendered RBAC and the
// stack's is applied) what Argo's controllers and server may do: in the task namespace, all the
// chart grants them in their own (less what the stack leaves out, below); anywhere else, and
// cluster-wide, none of it.
func checkPermissions(t *testing.T, e *env, sc *stackCharts) {
	t.Helper()
	ctx := t.Context()
	tasks := sc.tasksNamespace(t)
	others := []string{"default", ""} // "" asks cluster-wide
	for _, m := range ofKind(sc.plan.manifests, "Namespace") {
		if n := m.obj.GetName(); n != tasks {
			others = append(others, n)
		}
	}
	type account struct {
		release *renderedRelease
		name    string
		// notInTasks are the chart's resources the stack does not grant in the task namespace.
		notInTasks []string
	}
	accounts := []account{
		{sc.releases[workflowsChart], services.ArgoControllerServiceAccount, []string{"leases"}},
		{sc.releases[workflowsChart], services.ArgoServerServiceAccount, []string{"secrets"}},
		{sc.releases[eventsChart], services.ArgoEventsControllerServiceAccount, []string{"leases"}},
	}
	for _, a := range accounts {
		ns := a.release.release.Namespace
		rules := boundRules(t, a.release.manifests, ns, a.name)
		if len(rules) == 0 {
			t.Errorf("the %s chart grants %s/%s nothing", a.release.release.Chart, ns, a.name)
			continue
		}
		user := "system:serviceaccount:" + ns + ":" + a.name
		var allowedElsewhere, deniedInTasks []string
		checked := 0
		for _, r := range rules {
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					for _, verb := range r.Verbs {
						attr := authorizationv1.ResourceAttributes{Group: g, Verb: verb}
						attr.Resource, attr.Subresource, _ = strings.Cut(res, "/")
						desc := fmt.Sprintf("%s %s", verb, res)
						if len(r.ResourceNames) == 0 && !slices.Contains(a.notInTasks, res) {
							attr.Namespace = tasks
							if !allowed(ctx, t, e, user, ns, attr) {
								deniedInTasks = append(deniedInTasks, desc)
							}
						}
						for _, o := range others {
							attr.Namespace = o
							if o == ns {
								continue // its own namespace: the chart's Role
							}
							if allowed(ctx, t, e, user, ns, attr) {
								where := o
								if o == "" {
									where = "cluster-wide"
								}
								allowedElsewhere = append(allowedElsewhere, desc+" in "+where)
							}
						}
						checked++
					}
				}
			}
		}
		if len(deniedInTasks) > 0 {
			t.Errorf("%s may not, in the task namespace %s: %s", user, tasks, strings.Join(deniedInTasks, ", "))
		}
		if len(allowedElsewhere) > 0 {
			t.Errorf("%s reaches beyond its namespace and %s: %s", user, tasks, strings.Join(allowedElsewhere, ", "))
		}
		t.Logf("permissions of %s: %d verb/resource pairs asked in %s and %v", user, checked, tasks, others)
	}
}

// boundRules are the rules of every Role and ClusterRole the rendered chart binds to a
// ServiceAccount.
func boundRules(t *testing.T, ms []manifest, ns, sa string) []rbacv1.PolicyRule {
	t.Helper()
	roles, problems := declared[rbacv1.Role](ms, "Role")
	croles, p2 := declared[rbacv1.ClusterRole](ms, "ClusterRole")
	rbs, p3 := declared[rbacv1.RoleBinding](ms, "RoleBinding")
	crbs, p4 := declared[rbacv1.ClusterRoleBinding](ms, "ClusterRoleBinding")
	for _, p := range slices.Concat(problems, p2, p3, p4) {
		t.Error(p)
	}
	var refs []rbacv1.RoleRef
	var refNS []string
	binds := func(subjects []rbacv1.Subject) bool {
		return slices.ContainsFunc(subjects, func(s rbacv1.Subject) bool {
			return s.Kind == rbacv1.ServiceAccountKind && s.Name == sa && s.Namespace == ns
		})
	}
	for _, b := range rbs {
		if binds(b.Subjects) {
			refs, refNS = append(refs, b.RoleRef), append(refNS, b.Namespace)
		}
	}
	for _, b := range crbs {
		if binds(b.Subjects) {
			refs, refNS = append(refs, b.RoleRef), append(refNS, "")
		}
	}
	var out []rbacv1.PolicyRule
	for i, ref := range refs {
		for _, r := range roles {
			if ref.Kind == "Role" && r.Name == ref.Name && r.Namespace == refNS[i] {
				out = append(out, r.Rules...)
			}
		}
		for _, r := range croles {
			if ref.Kind == "ClusterRole" && r.Name == ref.Name {
				out = append(out, r.Rules...)
			}
		}
	}
	return out
}

func allowed(ctx context.Context, t *testing.T, e *env, user, ns string, attr authorizationv1.ResourceAttributes) bool {
	t.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:               user,
		Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
		ResourceAttributes: &attr,
	}}
	res, err := e.cluster.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SubjectAccessReview %s %v: %v", user, attr, err)
	}
	return res.Status.Allowed
}
