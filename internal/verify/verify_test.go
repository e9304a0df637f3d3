package verify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

var profile = map[string]string{
	"METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT": "https://stx.blob.core.windows.net/",
	"METAFLOW_DATASTORE_SYSROOT_AZURE":             "metaflow/metaflow",
	"METAFLOW_SERVICE_INTERNAL_URL":                "http://metadata-service.metaflow.svc.cluster.local:8080/",
	"METAFLOW_KUBERNETES_NAMESPACE":                "metaflow-jobs",
	"METAFLOW_KUBERNETES_SERVICE_ACCOUNT":          "metaflow-task",
	"METAFLOW_KUBERNETES_LABELS":                   "azure.workload.identity/use=true",
	"METAFLOW_KUBERNETES_NODE_SELECTOR":            "metaflow.org/pool=tasks",
	"METAFLOW_KUBERNETES_TOLERATIONS":              `[{"key":"metaflow.org/tasks","operator":"Equal","value":"true","effect":"NoSchedule"}]`,
	"METAFLOW_KUBERNETES_CONTAINER_IMAGE":          "myregistry.azurecr.io/metaflow-task:2.19.38",
	"METAFLOW_ARGO_EVENTS_WEBHOOK_URL":             "http://localhost:12000/metaflow-event",
}

// memStore is the caller's datastore in memory.
type memStore struct {
	mu    sync.Mutex
	blobs map[string][]byte
	fail  error
}

func (m *memStore) Put(_ context.Context, c, n string, d []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.blobs[c+"/"+n] = d
	return nil
}

func (m *memStore) Get(_ context.Context, c, n string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.blobs[c+"/"+n], nil
}

func (m *memStore) Delete(_ context.Context, c, n string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.blobs, c+"/"+n)
	return nil
}

// cluster fakes what the checks see of the cluster: the Job's pod finishes with the given log,
// and a Workflow reaches the given phase.
type cluster struct {
	kube     *fake.Clientset
	dyn      *dynamicfake.FakeDynamicClient
	jobs     []*batchv1.Job
	workflow *unstructured.Unstructured
}

func newCluster(t *testing.T, jobSucceeds bool, workflowPhase string) *cluster {
	c := &cluster{kube: fake.NewSimpleClientset()}
	c.kube.PrependReactor("create", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		job := a.(k8stesting.CreateAction).GetObject().(*batchv1.Job)
		c.jobs = append(c.jobs, job.DeepCopy())
		cond := batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}
		if !jobSucceeds {
			cond.Type = batchv1.JobFailed
		} else {
			job.Status.Succeeded = 1
		}
		job.Status.Conditions = append(job.Status.Conditions, cond)
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: job.Name + "-abcde", Namespace: job.Namespace, Labels: map[string]string{"job-name": job.Name}},
			Spec:       corev1.PodSpec{NodeName: "aks-tasks-12345-vmss000000"},
			Status:     corev1.PodStatus{Phase: corev1.PodSucceeded},
		}
		if err := c.kube.Tracker().Add(pod); err != nil {
			t.Error(err)
		}
		return false, nil, nil
	})
	scheme := runtime.NewScheme()
	c.dyn = dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme, map[schema.GroupVersionResource]string{workflows: "WorkflowList"})
	c.dyn.PrependReactor("create", "workflows", func(a k8stesting.Action) (bool, runtime.Object, error) {
		u := a.(k8stesting.CreateAction).GetObject().(*unstructured.Unstructured)
		c.workflow = u.DeepCopy()
		if workflowPhase != "" {
			_ = unstructured.SetNestedField(u.Object, workflowPhase, "status", "phase")
			_ = unstructured.SetNestedField(u.Object, "step main failed", "status", "message")
		}
		return false, nil, nil
	})
	return c
}

type servers struct {
	metadata, webhook *httptest.Server
	mu                sync.Mutex
	events            []map[string]any
}

func newServers(t *testing.T, webhookStatus int) *servers {
	s := &servers{}
	s.metadata = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ping":
			io.WriteString(w, "pong")
		case "/version":
			io.WriteString(w, "2.5.1")
		default:
			http.NotFound(w, r)
		}
	}))
	s.webhook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev map[string]any
		_ = json.NewDecoder(r.Body).Decode(&ev)
		s.mu.Lock()
		s.events = append(s.events, ev)
		s.mu.Unlock()
		w.WriteHeader(webhookStatus)
	}))
	t.Cleanup(s.metadata.Close)
	t.Cleanup(s.webhook.Close)
	return s
}

func stack(c *cluster, s *servers, store Datastore, log string) *Stack {
	return &Stack{
		Profile: profile, Kube: c.kube, Dynamic: c.dyn, Datastore: store,
		MetadataURL: s.metadata.URL + "/", WebhookURL: s.webhook.URL + "/metaflow-event",
		Argo: true, ID: "t1", Timeout: 5 * time.Second, Poll: 10 * time.Millisecond,
		Logs: func(context.Context, string, string) (string, error) { return log, nil },
	}
}

const goodLog = "starting\n" + `{"id": "t1", "token": true, "blob": "metaflow/metaflow/.metaflow-azure-verify/t1", "run": "MetaflowAzureVerify/7"}`

func TestEveryCheckPassesAndCleansUp(t *testing.T) {
	c := newCluster(t, true, "Succeeded")
	s := newServers(t, http.StatusOK)
	store := &memStore{blobs: map[string][]byte{}}
	results := Run(context.Background(), stack(c, s, store, goodLog), nil)
	if !Passed(results) || len(results) != 5 {
		t.Fatalf("results: %+v", results)
	}
	for _, r := range results {
		t.Logf("%s: %s", r.Check, r.Detail)
	}
	if !strings.Contains(results[0].Detail, "version 2.5.1") {
		t.Errorf("metadata: %s", results[0].Detail)
	}
	if !strings.Contains(results[2].Detail, "registered run MetaflowAzureVerify/7") || !strings.Contains(results[2].Detail, "aks-tasks-12345-vmss000000") {
		t.Errorf("task pod: %s", results[2].Detail)
	}
	// The caller's blob is gone again.
	if len(store.blobs) != 0 {
		t.Errorf("the datastore check left %v", store.blobs)
	}
	// The Job runs where and as a Metaflow task runs.
	if len(c.jobs) != 1 {
		t.Fatalf("jobs created: %d", len(c.jobs))
	}
	job := c.jobs[0]
	pod := job.Spec.Template.Spec
	if job.Namespace != "metaflow-jobs" || pod.ServiceAccountName != "metaflow-task" ||
		pod.NodeSelector["metaflow.org/pool"] != "tasks" || len(pod.Tolerations) != 1 || pod.Tolerations[0].Key != "metaflow.org/tasks" ||
		job.Spec.Template.Labels["azure.workload.identity/use"] != "true" || pod.Containers[0].Image != profile["METAFLOW_KUBERNETES_CONTAINER_IMAGE"] {
		t.Errorf("the Job does not run as a task does: namespace %s, %+v, labels %v", job.Namespace, pod, job.Spec.Template.Labels)
	}
	env := map[string]string{}
	for _, e := range pod.Containers[0].Env {
		env[e.Name] = e.Value
	}
	if env["METAFLOW_SERVICE_URL"] != profile["METAFLOW_SERVICE_INTERNAL_URL"] || env["METAFLOW_DATASTORE_SYSROOT_AZURE"] != "metaflow/metaflow" {
		t.Errorf("task pod env: %v", env)
	}
	if _, err := c.kube.BatchV1().Jobs("metaflow-jobs").Get(context.Background(), job.Name, metav1.GetOptions{}); err == nil {
		t.Error("the Job is still there after the check")
	}
	if _, err := c.dyn.Resource(workflows).Namespace("metaflow-jobs").Get(context.Background(), c.workflow.GetName(), metav1.GetOptions{}); err == nil {
		t.Error("the Workflow is still there after the check")
	}
	if sa, _, _ := unstructured.NestedString(c.workflow.Object, "spec", "serviceAccountName"); sa != "metaflow-task" {
		t.Errorf("the workflow runs as %q", sa)
	}
	if len(s.events) != 1 || s.events[0]["name"] != "metaflow-azure-verify" {
		t.Errorf("webhook events: %v", s.events)
	}
}

// Each check fails with what went wrong, and the rest still run.
func TestFailuresAreReportedPerCheck(t *testing.T) {
	c := newCluster(t, true, "Failed")
	s := newServers(t, http.StatusNotFound)
	s.metadata.Close()
	store := &memStore{blobs: map[string][]byte{}, fail: errors.New("AuthorizationPermissionMismatch")}
	results := Run(context.Background(), stack(c, s, store, `{"error": "ClientAuthenticationError: AADSTS70021: No matching federated identity record"}`), nil)
	want := []struct{ check, detail string }{
		{"metadata service", "/ping"},
		{"datastore (you)", "AuthorizationPermissionMismatch"},
		{"task pod", "AADSTS70021"},
		{"argo workflow", "step main failed"},
		{"event webhook", "404"},
	}
	if len(results) != len(want) || Passed(results) {
		t.Fatalf("results: %+v", results)
	}
	for i, w := range want {
		if results[i].Check != w.check || results[i].OK || !strings.Contains(results[i].Detail, w.detail) {
			t.Errorf("check %d = %+v, want %s failing with %q", i, results[i], w.check, w.detail)
		}
	}
}

// A task pod that ends without the check's result line (another image's entrypoint, a crash
// before the JSON) fails the check even when the Job succeeded.
func TestTaskPodNeedsItsResult(t *testing.T) {
	c := newCluster(t, true, "Succeeded")
	s := newServers(t, http.StatusOK)
	results := Run(context.Background(), stack(c, s, &memStore{blobs: map[string][]byte{}}, "hello"), nil)
	if results[2].OK || !strings.Contains(results[2].Detail, "not the check's result") {
		t.Fatalf("task pod: %+v", results[2])
	}
}

// No task image anywhere: the check says how to give one.
func TestTaskPodWithoutImage(t *testing.T) {
	c := newCluster(t, true, "Succeeded")
	s := newServers(t, http.StatusOK)
	st := stack(c, s, &memStore{blobs: map[string][]byte{}}, goodLog)
	st.Profile = map[string]string{}
	for k, v := range profile {
		if k != "METAFLOW_KUBERNETES_CONTAINER_IMAGE" {
			st.Profile[k] = v
		}
	}
	results := Run(context.Background(), st, nil)
	if results[2].OK || !strings.Contains(results[2].Detail, "--task-image") {
		t.Fatalf("task pod: %+v", results[2])
	}
}

// A port-forward that did not come up fails its checks with the reason; the others still run.
func TestUnforwardedServicesFailWithTheReason(t *testing.T) {
	c := newCluster(t, true, "Succeeded")
	s := newServers(t, http.StatusOK)
	st := stack(c, s, &memStore{blobs: map[string][]byte{}}, goodLog)
	st.MetadataURL, st.WebhookURL = "", ""
	st.MetadataForwardError = errors.New("no ready pod behind service metaflow/metadata-service")
	st.WebhookForwardError = errors.New("no ready pod behind service metaflow-jobs/webhook")
	results := Run(context.Background(), st, nil)
	for _, i := range []int{0, 4} {
		if results[i].OK || !strings.Contains(results[i].Detail, "no ready pod") {
			t.Errorf("%+v", results[i])
		}
	}
	for _, i := range []int{1, 2, 3} {
		if !results[i].OK {
			t.Errorf("%+v", results[i])
		}
	}
}
