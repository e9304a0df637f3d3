//go:build metaflow

package metaflow

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"metaflow-azure/tests/internal/controlplane"
)

// The Argo versions the pinned charts run (docs: ../shared/reference/versions.md; the archives
// in ../shared/upstream are those tags).
const (
	argoWorkflowsArchive = "argo-workflows-v3.7.11-crds-schema.tar.gz"
	argoEventsArchive    = "argo-events-v1.9.10-schema.tar.gz"
)

// argo deploys a plain flow and a @trigger flow with `argo-workflows create`, as a data scientist
// does, to a real kube-apiserver that has Argo's full CRDs at the pinned version. Every write
// reaches the API server with strict field validation, so a field the CRD does not know fails
// the create. What Metaflow sent is then checked against Argo's published JSON schemas, and the
// error-capture hook is checked with the stack's workflow defaults applied as Argo applies them.
func (r *tierRun) argo(t *testing.T) {
	api := r.kubernetes(t)
	for _, flow := range []string{"hello_flow.py", "trigger_flow.py"} {
		out, err := r.metaflowEnv(t, []string{"KUBECONFIG=" + api.kubeconfig}, flow, "--no-pylint", "argo-workflows", "create")
		if err != nil {
			t.Fatalf("%s argo-workflows create: %v\n%s\nthe API server answered:\n%s", flow, err, out, api.answers())
		}
	}
	templates := api.sent("workflowtemplates")
	sensors := api.sent("sensors")
	if len(templates) != 2 || len(sensors) != 1 {
		t.Fatalf("Metaflow created %d WorkflowTemplates and %d Sensors; want 2 and 1 (the @trigger flow's)\n%s", len(templates), len(sensors), api.answers())
	}
	workflows, events := r.unpackArgo(t)
	for _, wt := range templates {
		r.validateSchema(t, workflows, "io.argoproj.workflow.v1alpha1.WorkflowTemplate", wt)
	}
	r.validateSchema(t, events, "io.argoproj.events.v1alpha1.Sensor", sensors[0])
	t.Logf("argo: 2 WorkflowTemplates and 1 Sensor accepted by kube-apiserver (Argo CRDs, strict field validation) and by Argo's JSON schemas")
	r.errorCaptureHook(t, templates[0])
}

// errorCaptureHook checks what the pod of Metaflow's error-capture exit hook gets once Argo
// applies the stack's workflow defaults (the argo-workflows chart's controller.workflowDefaults):
// the hook downloads the code package with `download-azure-blob` from
// $METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT and saves its logs under the datastore root,
// with the task identity. Metaflow 2.19.38 gives it neither variable nor the task pods' labels.
func (r *tierRun) errorCaptureHook(t *testing.T, raw []byte) {
	var wt struct {
		Spec struct {
			PodMetadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"podMetadata"`
			Templates []struct {
				Name               string            `json:"name"`
				ServiceAccountName string            `json:"serviceAccountName"`
				Container          *corev1.Container `json:"container"`
			} `json:"templates"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(raw, &wt); err != nil {
		t.Fatal(err)
	}
	var hook *corev1.Container
	for _, tmpl := range wt.Spec.Templates {
		if tmpl.Name == "error-msg-capture-hook" {
			hook = tmpl.Container
		}
	}
	if hook == nil {
		t.Fatal("Metaflow's WorkflowTemplate has no error-msg-capture-hook template; re-read argo_workflows.py")
	}
	defaults := workflowDefaults(t, r.facts.argoValues)
	container := hook
	if defaults.TemplateDefaults.Container != nil {
		container = mergeTemplateDefaults(t, defaults.TemplateDefaults.Container, hook)
	}
	got := map[string]string{}
	for _, e := range container.Env {
		got[e.Name] = e.Value
	}
	for _, key := range []string{"METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT", "METAFLOW_DATASTORE_SYSROOT_AZURE"} {
		if got[key] != r.facts.profile[key] {
			t.Errorf("the error-capture hook's container gets %s=%q once the stack's workflow defaults apply; the profile has %q, and without it the hook cannot fetch the code package or save its logs, so failed runs lose their error capture",
				key, got[key], r.facts.profile[key])
		}
	}
	// Pod labels: Argo merges the controller's workflowDefaults into the workflow (maps merge).
	labels := map[string]string{}
	for k, v := range defaults.PodMetadata.Labels {
		labels[k] = v
	}
	for k, v := range wt.Spec.PodMetadata.Labels {
		labels[k] = v
	}
	for _, kv := range strings.Split(r.facts.profile["METAFLOW_KUBERNETES_LABELS"], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && labels[k] != v {
			t.Errorf("the error-capture hook's pod lacks the task pods' label %s=%s (it has %v): without it the workload identity webhook does not inject the task identity", k, v, labels)
		}
	}
}

// argoWorkflowDefaults is the part of the chart's controller.workflowDefaults the check reads.
type argoWorkflowDefaults struct {
	PodMetadata struct {
		Labels map[string]string `json:"labels"`
	} `json:"podMetadata"`
	TemplateDefaults struct {
		Container *corev1.Container `json:"container"`
	} `json:"templateDefaults"`
}

func workflowDefaults(t *testing.T, values map[string]any) argoWorkflowDefaults {
	var d argoWorkflowDefaults
	controller, _ := values["controller"].(map[string]any)
	wd, _ := controller["workflowDefaults"].(map[string]any)
	raw, err := json.Marshal(wd["spec"])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("the chart's controller.workflowDefaults.spec: %v", err)
	}
	return d
}

// mergeTemplateDefaults applies template defaults to a container template as Argo v3.7.11 does
// (workflow/controller/operator.go, mergedTemplateDefaultsInto): a strategic merge patch of the
// template onto the defaults, so the template's own values win and lists with a merge key (env,
// by name) are merged. Argo patches the whole Template; its container field is a
// corev1.Container, whose patch strategy this applies.
func mergeTemplateDefaults(t *testing.T, defaults, tmpl *corev1.Container) *corev1.Container {
	d, err := json.Marshal(defaults)
	if err != nil {
		t.Fatal(err)
	}
	p, err := json.Marshal(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	merged, err := strategicpatch.StrategicMergePatch(d, p, corev1.Container{})
	if err != nil {
		t.Fatal(err)
	}
	var c corev1.Container
	if err := json.Unmarshal(merged, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// unpackArgo extracts the pinned Argo archives and returns their directories.
func (r *tierRun) unpackArgo(t *testing.T) (workflows, events string) {
	var err error
	if workflows, err = unpack(filepath.Join(shared.upstream, argoWorkflowsArchive), filepath.Join(r.sb.dir, "argo-workflows")); err != nil {
		t.Fatal(err)
	}
	if events, err = unpack(filepath.Join(shared.upstream, argoEventsArchive), filepath.Join(r.sb.dir, "argo-events")); err != nil {
		t.Fatal(err)
	}
	return workflows, events
}

// validateSchema checks a document against one definition of an Argo api/jsonschema/schema.json
// (JSON Schema 2020-12), with Debian's python3-jsonschema.
func (r *tierRun) validateSchema(t *testing.T, repo, definition string, doc []byte) {
	docFile := filepath.Join(r.sb.dir, fmt.Sprintf("doc-%d.json", time.Now().UnixNano()))
	if err := os.WriteFile(docFile, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	// Two readings of the schema follow Kubernetes' decoding of the object rather than the
	// generator's rendering, and are the only liberties taken: a JSON null is an absent field
	// (Metaflow sends `"args": null`; the API server decodes it as unset), and IntOrString, which
	// Argo's generator renders as {"type": "string"}, takes an integer too (its Go type,
	// k8s.io/apimachinery intstr.IntOrString, decodes both).
	script := `import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
def drop_nulls(v):
    if isinstance(v, dict):
        return {k: drop_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [drop_nulls(x) for x in v]
    return v
doc = drop_nulls(doc)
defs = dict(schema["definitions"])
ios = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
if defs.get(ios) == {"type": "string"}:
    defs[ios] = {"type": ["integer", "string"]}
ref = {"$ref": "#/definitions/" + sys.argv[3], "definitions": defs}
if sys.argv[3] not in defs:
    sys.exit("no definition %s in the schema" % sys.argv[3])
errors = sorted(jsonschema.Draft202012Validator(ref).iter_errors(doc), key=lambda e: list(e.absolute_path))
for e in errors[:10]:
    print("%s: %s" % ("/".join(str(p) for p in e.absolute_path), e.message[:300]))
sys.exit(1 if errors else 0)
`
	out, err := r.sb.run(r.ctx, spec{name: "jsonschema", argv: []string{shared.python, "-c", script, filepath.Join(repo, "api", "jsonschema", "schema.json"), docFile, definition}})
	if err != nil {
		t.Errorf("Argo's published schema refuses what Metaflow sent as %s: %v\n%s", definition, err, out)
	}
}

// apiServer is a kube-apiserver with Argo's CRDs, reached from the sandbox through a proxy
// that records what Metaflow writes and makes every write strictly validated.
type apiServer struct {
	kubeconfig string
	mu         sync.Mutex
	writes     []recorded
}

type recorded struct {
	resource string
	body     []byte
	status   int
	answer   string
}

func (a *apiServer) sent(resource string) [][]byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out [][]byte
	for _, w := range a.writes {
		if w.resource == resource && w.status < 300 {
			out = append(out, w.body)
		}
	}
	return out
}

func (a *apiServer) answers() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var b strings.Builder
	for _, w := range a.writes {
		fmt.Fprintf(&b, "%s: %d %s\n", w.resource, w.status, w.answer)
	}
	return b.String()
}

func (r *tierRun) kubernetes(t *testing.T) *apiServer {
	root := shared.root
	tools, err := controlplane.FindTools(r.ctx, root, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(r.sb.dir, "controlplane")
	cluster, err := controlplane.Start(r.ctx, dir, tools, t.Logf, controlplane.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Stop)
	workflows, _ := r.unpackArgo(t)
	dyn, err := dynamic.NewForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	crdDirs := []string{filepath.Join(workflows, "manifests", "base", "crds", "full"), tools.ArgoEventsCRDs}
	installCRDs(t, r.ctx, dyn, crdDirs)
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": r.facts.profile["METAFLOW_KUBERNETES_NAMESPACE"]}}}
	if _, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Create(r.ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The proxy: TLS with the sandbox CA on 127.0.0.1:6443 in the sandbox, the admin's token
	// towards the real API server, fieldValidation=Strict on every write.
	target, err := url.Parse(cluster.URL)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(cluster.CACertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	a := &apiServer{}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Header.Set("Authorization", "Bearer "+cluster.Config.BearerToken)
			if pr.In.Method == http.MethodPost || pr.In.Method == http.MethodPut || pr.In.Method == http.MethodPatch {
				q := pr.Out.URL.Query()
				q.Set("fieldValidation", "Strict")
				pr.Out.URL.RawQuery = q.Encode()
			}
		},
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		ModifyResponse: func(resp *http.Response) error {
			req := resp.Request
			if req.Method != http.MethodPost && req.Method != http.MethodPut {
				return nil
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body = io.NopCloser(bytes.NewReader(body))
			parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
			resource := ""
			for i, p := range parts {
				if p == "namespaces" && i+2 < len(parts) {
					resource = parts[i+2]
				}
			}
			var sent []byte
			if req.GetBody != nil {
				if rc, err := req.GetBody(); err == nil {
					sent, _ = io.ReadAll(rc)
				}
			}
			a.mu.Lock()
			a.writes = append(a.writes, recorded{resource: resource, body: sent, status: resp.StatusCode, answer: firstLines(string(body), 3)})
			a.mu.Unlock()
			return nil
		},
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// Keep the body so the response hook can record it.
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		proxy.ServeHTTP(w, req)
	})
	r.serveTLS("127.0.0.1:6443", "127.0.0.1", handler)
	a.kubeconfig = filepath.Join(r.sb.dir, "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: aks
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: %s
users:
- name: data-scientist
  user:
    token: replaced-by-the-proxy
contexts:
- name: aks
  context: {cluster: aks, user: data-scientist, namespace: %s}
current-context: aks
`, r.sb.caBundle, r.facts.profile["METAFLOW_KUBERNETES_NAMESPACE"])
	if err := os.WriteFile(a.kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return a
}

// installCRDs creates every CRD in the directories and waits until each is established.
func installCRDs(t *testing.T, ctx context.Context, dyn dynamic.Interface, dirs []string) {
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	var names []string
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no CRDs in %s (%v)", dir, err)
		}
		for _, file := range files {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, doc := range strings.Split(string(raw), "\n---") {
				var obj map[string]any
				if err := yaml.Unmarshal([]byte(doc), &obj); err != nil || obj["kind"] != "CustomResourceDefinition" {
					continue
				}
				u := &unstructured.Unstructured{Object: obj}
				if _, err := dyn.Resource(crds).Create(ctx, u, metav1.CreateOptions{}); err != nil {
					t.Fatalf("create CRD %s: %v", u.GetName(), err)
				}
				names = append(names, u.GetName())
			}
		}
	}
	for _, name := range names {
		err := waitFor(60*time.Second, func() bool {
			u, err := dyn.Resource(crds).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false
			}
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			return slices.ContainsFunc(conds, func(c any) bool {
				m, _ := c.(map[string]any)
				return m["type"] == "Established" && m["status"] == "True"
			})
		})
		if err != nil {
			t.Fatalf("CRD %s is not established", name)
		}
	}
}
