package metaflowconfig

import (
	"encoding/json"
	"strings"
	"testing"
)

func input() Input {
	return Input{
		BlobEndpoint: "https://stacme.blob.core.windows.net/",
		Container:    "metaflow",
		Prefix:       "metaflow",
		Metadata:     Endpoint{Name: "metadata", Namespace: "metaflow", Service: "metadata-service", Port: 8080, LocalPort: 8080, Scheme: "http", Path: "/"},
		UIBackend:    Endpoint{Name: "ui-backend", Namespace: "metaflow", Service: "metaflow-ui-backend", Port: 8083, LocalPort: 8083, Scheme: "http", Path: "/api/"},
		UI:           Endpoint{Name: "ui", Namespace: "metaflow", Service: "metaflow-ui", Port: 3000, LocalPort: 3000, Scheme: "http", Path: "/"},
		Argo:         &Endpoint{Name: "argo", Namespace: "argo", Service: "argo-workflows-server", Port: 2746, LocalPort: 2746, Scheme: "https", Path: "/"},
		Events: &Events{EventBus: "default", EventSource: "argo-events-webhook", Event: "metaflow-event", ServiceAccount: "operate-workflow-sa",
			Webhook: Endpoint{Name: "events", Namespace: "jobs", Service: "argo-events-webhook-eventsource-svc", Port: 12000, LocalPort: 12000, Scheme: "http", Path: "/metaflow-event"}},
		TaskNamespace:      "jobs",
		TaskServiceAccount: "metaflow-task",
		PodLabels:          map[string]string{"azure.workload.identity/use": "true"},
		NodeSelector:       map[string]string{"b": "2", "a": "1"},
		Tolerations:        []Toleration{{Key: "metaflow.org/tasks", Operator: "Equal", Value: "true", Effect: "NoSchedule"}},
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	cfg, err := Render(input())
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"METAFLOW_DATASTORE_SYSROOT_AZURE":          "metaflow/metaflow",
		"METAFLOW_DATATOOLS_AZUREROOT":              "metaflow/metaflow/data",
		"METAFLOW_SERVICE_URL":                      "http://localhost:8080/",
		"METAFLOW_SERVICE_INTERNAL_URL":             "http://metadata-service.metaflow.svc.cluster.local:8080/",
		"METAFLOW_KUBERNETES_NODE_SELECTOR":         "a=1,b=2",
		"METAFLOW_ARGO_EVENTS_WEBHOOK_URL":          "http://localhost:12000/metaflow-event",
		"METAFLOW_ARGO_EVENTS_INTERNAL_WEBHOOK_URL": "http://argo-events-webhook-eventsource-svc.jobs.svc.cluster.local:12000/metaflow-event",
		"METAFLOW_ARGO_EVENTS_SENSOR_NAMESPACE":     "jobs",
		"METAFLOW_ARGO_WORKFLOWS_UI_URL":            "https://localhost:2746/",
	} {
		if cfg[k] != want {
			t.Errorf("%s = %q, want %q", k, cfg[k], want)
		}
	}
	var tol []Toleration
	if err := json.Unmarshal([]byte(cfg["METAFLOW_KUBERNETES_TOLERATIONS"]), &tol); err != nil || len(tol) != 1 {
		t.Errorf("tolerations must be a JSON list: %q (%v)", cfg["METAFLOW_KUBERNETES_TOLERATIONS"], err)
	}
}

func TestRenderWorkloadIdentityHasNoSecrets(t *testing.T) {
	t.Parallel()
	cfg, err := Render(input())
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg["METAFLOW_KUBERNETES_LABELS"]; got != "azure.workload.identity/use=true" {
		t.Errorf("METAFLOW_KUBERNETES_LABELS = %q, want the workload identity label", got)
	}
	for _, k := range []string{"METAFLOW_KUBERNETES_SECRETS", "METAFLOW_ARGO_WORKFLOWS_KUBERNETES_SECRETS"} {
		if v, ok := cfg[k]; ok {
			t.Errorf("%s = %q with workload identity; no Secret holds an Azure credential", k, v)
		}
	}
}

func TestRenderClientSecretMode(t *testing.T) {
	t.Parallel()
	in := input()
	in.PodLabels, in.CredentialsSecret = nil, "metaflow-azure-credentials"
	cfg, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"METAFLOW_KUBERNETES_SECRETS", "METAFLOW_ARGO_WORKFLOWS_KUBERNETES_SECRETS"} {
		if cfg[k] != "metaflow-azure-credentials" {
			t.Errorf("%s = %q, want the credentials Secret", k, cfg[k])
		}
	}
	if v, ok := cfg["METAFLOW_KUBERNETES_LABELS"]; ok {
		t.Errorf("METAFLOW_KUBERNETES_LABELS = %q without workload identity", v)
	}
}

func TestRenderWithoutArgo(t *testing.T) {
	t.Parallel()
	in := input()
	in.Argo, in.Events = nil, nil
	cfg, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	for k := range cfg {
		if strings.HasPrefix(k, "METAFLOW_ARGO_") {
			t.Errorf("%s set although Argo is off", k)
		}
	}
	if got := len(in.Endpoints()); got != 3 {
		t.Errorf("endpoints without Argo: %d, want 3", got)
	}
}

func TestRenderRejects(t *testing.T) {
	t.Parallel()
	for name, mutate := range map[string]func(*Input){
		"http endpoint":      func(in *Input) { in.BlobEndpoint = "http://x.blob.core.windows.net/" },
		"no prefix":          func(in *Input) { in.Prefix = "" },
		"slash in container": func(in *Input) { in.Container = "a/b" },
		"no port":            func(in *Input) { in.Metadata.Port = 0 },
		"no way to Azure":    func(in *Input) { in.PodLabels = nil },
		"two ways to Azure":  func(in *Input) { in.CredentialsSecret = "metaflow-azure-credentials" },
	} {
		in := input()
		mutate(&in)
		if _, err := Render(in); err == nil {
			t.Errorf("%s: Render accepted it", name)
		}
	}
}

func TestJSONIsStable(t *testing.T) {
	t.Parallel()
	cfg, _ := Render(input())
	a, _ := JSON(cfg)
	b, _ := JSON(cfg)
	if a != b || !strings.HasSuffix(a, "}\n") {
		t.Errorf("JSON must be stable and end with a newline")
	}
}

func TestRenderTaskImageAndRegistry(t *testing.T) {
	t.Parallel()
	cfg, err := Render(input())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"METAFLOW_KUBERNETES_CONTAINER_IMAGE", "METAFLOW_KUBERNETES_CONTAINER_REGISTRY"} {
		if _, ok := cfg[k]; ok {
			t.Errorf("%s set without a task image or registry: Metaflow's own default must apply", k)
		}
	}
	in := input()
	in.TaskImage, in.Registry = "metaflow-task:2.19.38-azure", "cracmeprod1a2b3c.azurecr.io"
	if cfg, err = Render(in); err != nil {
		t.Fatal(err)
	}
	if cfg["METAFLOW_KUBERNETES_CONTAINER_IMAGE"] != in.TaskImage || cfg["METAFLOW_KUBERNETES_CONTAINER_REGISTRY"] != in.Registry {
		t.Errorf("task image and registry not in the profile: %v", cfg)
	}
}
