// Package metaflowconfig renders the Metaflow client configuration (~/.metaflowconfig/config.json)
// from the values that declare the deployment, so every name, namespace and port in it is the
// same Go value the Kubernetes objects were declared with. It imports no SDK.
package metaflowconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Endpoint is a Kubernetes Service the user reaches through a port-forward.
type Endpoint struct {
	// Name identifies the endpoint ("metadata", "ui", ...).
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Service   string `json:"service"`
	// Port is the Service port.
	Port int `json:"port"`
	// LocalPort is where the user's machine listens.
	LocalPort int `json:"localPort"`
	// Scheme is http or https.
	Scheme string `json:"scheme"`
	// Path is appended to the local URL ("/" unless the service lives under a path).
	Path string `json:"path"`
}

// LocalURL is the URL on the user's machine while the port-forward runs.
func (e Endpoint) LocalURL() string {
	return fmt.Sprintf("%s://localhost:%d%s", e.Scheme, e.LocalPort, e.Path)
}

// InternalURL is the in-cluster URL of the Service.
func (e Endpoint) InternalURL() string {
	return fmt.Sprintf("%s://%s.%s.svc.cluster.local:%d%s", e.Scheme, e.Service, e.Namespace, e.Port, e.Path)
}

// KubectlCommand is the equivalent kubectl port-forward, for people who prefer it.
func (e Endpoint) KubectlCommand() string {
	return fmt.Sprintf("kubectl port-forward -n %s service/%s %d:%d", e.Namespace, e.Service, e.LocalPort, e.Port)
}

// Toleration is a Kubernetes toleration as Metaflow's METAFLOW_KUBERNETES_TOLERATIONS takes it.
type Toleration struct {
	Key      string `json:"key"`
	Operator string `json:"operator"`
	Value    string `json:"value,omitempty"`
	Effect   string `json:"effect"`
}

// Events describes the Argo Events objects Metaflow's @trigger uses.
type Events struct {
	EventBus       string
	EventSource    string
	Event          string
	ServiceAccount string
	// Webhook is the EventSource's Service (reached by port-forward from laptops).
	Webhook Endpoint
}

// Input is everything the config is derived from.
type Input struct {
	// BlobEndpoint is the storage account's blob endpoint, e.g. https://stx.blob.core.windows.net/.
	BlobEndpoint string
	// Container and Prefix make the datastore root "<container>/<prefix>".
	Container string
	Prefix    string

	Metadata Endpoint
	// UIBackend is where the browser sends the UI's API calls.
	UIBackend Endpoint
	UI        Endpoint
	// Argo is the Argo Workflows server, nil when Argo is off.
	Argo *Endpoint
	// Events is nil when Argo Events is off.
	Events *Events

	TaskNamespace      string
	TaskServiceAccount string
	// CredentialsSecret holds AZURE_CLIENT_ID/TENANT_ID/CLIENT_SECRET in the task namespace;
	// empty with workload identity.
	CredentialsSecret string
	// PodLabels go on every task pod: with workload identity, the label that has the
	// webhook inject the task identity.
	PodLabels map[string]string
	// TaskImage is the image tasks run in; empty leaves Metaflow's default.
	TaskImage string
	// Registry is the login server task images without a registry host are pulled from;
	// empty when the stack has no registry.
	Registry string
	// NodeSelector and Tolerations steer tasks onto the task pool.
	NodeSelector map[string]string
	Tolerations  []Toleration
}

// Render returns config.json's keys and values.
func Render(in Input) (map[string]string, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	sysroot := in.Container + "/" + strings.Trim(in.Prefix, "/")
	tolerations, err := json.Marshal(in.Tolerations)
	if err != nil {
		return nil, fmt.Errorf("encoding tolerations: %w", err)
	}
	cfg := map[string]string{
		"METAFLOW_DEFAULT_DATASTORE":                   "azure",
		"METAFLOW_DATASTORE_SYSROOT_AZURE":             sysroot,
		"METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT": in.BlobEndpoint,
		// Metaflow would derive these two from the sysroot; stating them keeps the profile
		// self-describing and stable if Metaflow's derivation changes.
		"METAFLOW_DATATOOLS_AZUREROOT":        sysroot + "/data",
		"METAFLOW_CARD_AZUREROOT":             sysroot + "/mf.cards",
		"METAFLOW_DEFAULT_METADATA":           "service",
		"METAFLOW_SERVICE_URL":                in.Metadata.LocalURL(),
		"METAFLOW_SERVICE_INTERNAL_URL":       in.Metadata.InternalURL(),
		"METAFLOW_UI_URL":                     in.UI.LocalURL(),
		"METAFLOW_KUBERNETES_NAMESPACE":       in.TaskNamespace,
		"METAFLOW_KUBERNETES_SERVICE_ACCOUNT": in.TaskServiceAccount,
		"METAFLOW_KUBERNETES_NODE_SELECTOR":   selector(in.NodeSelector),
		"METAFLOW_KUBERNETES_TOLERATIONS":     string(tolerations),
	}
	if in.CredentialsSecret != "" {
		cfg["METAFLOW_KUBERNETES_SECRETS"] = in.CredentialsSecret
	}
	if len(in.PodLabels) > 0 {
		cfg["METAFLOW_KUBERNETES_LABELS"] = selector(in.PodLabels)
	}
	if in.TaskImage != "" {
		cfg["METAFLOW_KUBERNETES_CONTAINER_IMAGE"] = in.TaskImage
	}
	if in.Registry != "" {
		cfg["METAFLOW_KUBERNETES_CONTAINER_REGISTRY"] = in.Registry
	}
	if in.Argo != nil {
		if in.CredentialsSecret != "" {
			cfg["METAFLOW_ARGO_WORKFLOWS_KUBERNETES_SECRETS"] = in.CredentialsSecret
		}
		cfg["METAFLOW_ARGO_WORKFLOWS_UI_URL"] = in.Argo.LocalURL()
	}
	if e := in.Events; e != nil {
		cfg["METAFLOW_ARGO_EVENTS_EVENT_BUS"] = e.EventBus
		cfg["METAFLOW_ARGO_EVENTS_EVENT_SOURCE"] = e.EventSource
		cfg["METAFLOW_ARGO_EVENTS_EVENT"] = e.Event
		cfg["METAFLOW_ARGO_EVENTS_SERVICE_ACCOUNT"] = e.ServiceAccount
		cfg["METAFLOW_ARGO_EVENTS_SENSOR_NAMESPACE"] = in.TaskNamespace
		cfg["METAFLOW_ARGO_EVENTS_WEBHOOK_URL"] = e.Webhook.LocalURL()
		cfg["METAFLOW_ARGO_EVENTS_INTERNAL_WEBHOOK_URL"] = e.Webhook.InternalURL()
		cfg["METAFLOW_ARGO_EVENTS_WEBHOOK_AUTH"] = "none"
	}
	return cfg, nil
}

// JSON renders the config as config.json text: sorted keys, two-space indent, trailing newline.
func JSON(cfg map[string]string) (string, error) {
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encoding the Metaflow config: %w", err)
	}
	return string(b) + "\n", nil
}

// Endpoints lists what a port-forward must serve, in a stable order.
func (in Input) Endpoints() []Endpoint {
	eps := []Endpoint{in.Metadata, in.UIBackend, in.UI}
	if in.Argo != nil {
		eps = append(eps, *in.Argo)
	}
	if in.Events != nil {
		eps = append(eps, in.Events.Webhook)
	}
	return eps
}

func selector(labels map[string]string) string {
	parts := make([]string, 0, len(labels))
	for k, v := range labels {
		parts = append(parts, k+"="+v)
	}
	// Sorted so the config is byte-for-byte stable.
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func (in Input) validate() error {
	var errs []error
	if u, err := url.Parse(in.BlobEndpoint); err != nil || u.Scheme != "https" || u.Host == "" {
		errs = append(errs, fmt.Errorf("blob endpoint %q must be an https URL", in.BlobEndpoint))
	}
	if in.Container == "" || in.Prefix == "" || strings.Contains(in.Container, "/") {
		// Metaflow's parse_azure_full_path wants "<container>/<prefix>" with no scheme or slashes around.
		errs = append(errs, fmt.Errorf("datastore root needs a container and a prefix, got %q and %q", in.Container, in.Prefix))
	}
	for _, e := range in.Endpoints() {
		if e.Service == "" || e.Namespace == "" || e.Port <= 0 || e.LocalPort <= 0 || (e.Scheme != "http" && e.Scheme != "https") {
			errs = append(errs, fmt.Errorf("endpoint %q is incomplete: %+v", e.Name, e))
		}
	}
	if in.TaskNamespace == "" || in.TaskServiceAccount == "" {
		errs = append(errs, errors.New("task namespace and service account are required"))
	}
	if (in.CredentialsSecret == "") == (len(in.PodLabels) == 0) {
		// Tasks need exactly one way to reach the datastore: the workload identity label or
		// the credentials Secret.
		errs = append(errs, fmt.Errorf("exactly one of a credentials secret (%q) and pod labels (%v) is required", in.CredentialsSecret, in.PodLabels))
	}
	return errors.Join(errs...)
}
