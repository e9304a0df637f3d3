// Package verify proves, after `up`, that a deployed stack works the way a data scientist uses
// it: the metadata service answers, the caller can write the datastore, a pod in the task
// namespace (task ServiceAccount, task image, task pool) gets a workload identity token, writes
// and reads a blob and registers a run, an Argo workflow runs to success, and the event webhook
// takes an event. Every check cleans up what it made. It talks to Kubernetes with client-go and
// to the datastore through the Datastore interface; it imports no Azure SDK.
package verify

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// TaskScript is what the task pod runs (task.py): the Metaflow tier runs the same file as the
// task identity against the real metadata service and the storage emulator.
//
//go:embed task.py
var TaskScript string

// Result is one check's outcome.
type Result struct {
	Check   string  `json:"check"`
	OK      bool    `json:"ok"`
	Detail  string  `json:"detail"`
	Seconds float64 `json:"seconds"`
}

// Datastore is the caller's access to the Metaflow container.
type Datastore interface {
	Put(ctx context.Context, container, name string, data []byte) error
	Get(ctx context.Context, container, name string) ([]byte, error)
	Delete(ctx context.Context, container, name string) error
}

// Stack is what the checks need of a deployed stack.
type Stack struct {
	// Profile is the stack's Metaflow config (the metaflowConfig output).
	Profile map[string]string
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	// MetadataURL and WebhookURL are where the metadata service and the Argo Events webhook are
	// forwarded to on this machine; WebhookURL is empty when Argo Events is off.
	MetadataURL string
	WebhookURL  string
	// MetadataForwardError and WebhookForwardError say why a URL above is empty (its
	// port-forward did not come up).
	MetadataForwardError, WebhookForwardError error
	Datastore                                 Datastore
	// TaskImage runs the task pod and the workflow; default: the profile's
	// METAFLOW_KUBERNETES_CONTAINER_IMAGE.
	TaskImage string
	// Argo is false when the stack has no Argo Workflows.
	Argo bool
	// ID names what the checks create, so parallel runs do not collide.
	ID   string
	HTTP *http.Client
	// Timeout bounds each check that waits for the cluster (default 10 min).
	Timeout time.Duration
	// Poll is how often the checks look at the cluster (default 2 s).
	Poll time.Duration
	// Logs reads a pod's log (default: the Kubernetes API's log endpoint).
	Logs func(ctx context.Context, namespace, pod string) (string, error)
}

// Run runs every check in order and reports each as it ends.
func Run(ctx context.Context, s *Stack, report func(Result)) []Result {
	if s.HTTP == nil {
		s.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	if s.Timeout <= 0 {
		s.Timeout = 10 * time.Minute
	}
	if s.Poll <= 0 {
		s.Poll = 2 * time.Second
	}
	if s.TaskImage == "" {
		s.TaskImage = s.Profile["METAFLOW_KUBERNETES_CONTAINER_IMAGE"]
	}
	if s.Logs == nil {
		s.Logs = func(ctx context.Context, namespace, pod string) (string, error) {
			raw, err := s.Kube.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{}).DoRaw(ctx)
			return string(raw), err
		}
	}
	checks := []struct {
		name string
		run  func(context.Context, *Stack) (string, error)
	}{
		{"metadata service", checkMetadata},
		{"datastore (you)", checkDatastore},
		{"task pod", checkTaskPod},
		{"argo workflow", checkWorkflow},
		{"event webhook", checkWebhook},
	}
	var results []Result
	for _, c := range checks {
		start := time.Now()
		detail, err := c.run(ctx, s)
		r := Result{Check: c.name, OK: err == nil, Detail: detail, Seconds: time.Since(start).Seconds()}
		if err != nil {
			r.Detail = err.Error()
		}
		results = append(results, r)
		if report != nil {
			report(r)
		}
	}
	return results
}

// Passed reports whether every check passed or did not apply.
func Passed(results []Result) bool {
	for _, r := range results {
		if !r.OK {
			return false
		}
	}
	return true
}

func checkMetadata(ctx context.Context, s *Stack) (string, error) {
	if s.MetadataURL == "" {
		return "", fmt.Errorf("the metadata service is not forwarded: %v", s.MetadataForwardError)
	}
	base := strings.TrimRight(s.MetadataURL, "/")
	ping, err := s.get(ctx, base+"/ping")
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(ping) != "pong" {
		return "", fmt.Errorf("%s/ping answered %q, want pong", base, ping)
	}
	version, err := s.get(ctx, base+"/version")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s answers /ping; version %s", base, strings.TrimSpace(version)), nil
}

func (s *Stack) get(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(body), nil
}

// datastoreRoot splits the profile's METAFLOW_DATASTORE_SYSROOT_AZURE.
func (s *Stack) datastoreRoot() (container, prefix string, err error) {
	root := s.Profile["METAFLOW_DATASTORE_SYSROOT_AZURE"]
	container, prefix, ok := strings.Cut(root, "/")
	if !ok || container == "" || prefix == "" {
		return "", "", fmt.Errorf("the profile's METAFLOW_DATASTORE_SYSROOT_AZURE %q is not <container>/<prefix>", root)
	}
	return container, prefix, nil
}

func checkDatastore(ctx context.Context, s *Stack) (string, error) {
	container, prefix, err := s.datastoreRoot()
	if err != nil {
		return "", err
	}
	name := prefix + "/.metaflow-azure-verify/" + s.ID + "-caller"
	payload := []byte("metaflow-azure verify " + s.ID)
	if err := s.Datastore.Put(ctx, container, name, payload); err != nil {
		return "", fmt.Errorf("writing %s/%s with your Azure sign-in: %w", container, name, err)
	}
	got, err := s.Datastore.Get(ctx, container, name)
	if err != nil {
		return "", fmt.Errorf("reading %s/%s back: %w", container, name, err)
	}
	if string(got) != string(payload) {
		return "", fmt.Errorf("%s/%s read back %d bytes that differ from the %d written", container, name, len(got), len(payload))
	}
	if err := s.Datastore.Delete(ctx, container, name); err != nil {
		return "", fmt.Errorf("deleting %s/%s: %w", container, name, err)
	}
	return fmt.Sprintf("wrote, read and deleted %s/%s", container, name), nil
}

// podPlacement is what every Metaflow task pod gets from the profile: labels (the workload
// identity label), node selector and tolerations for the task pool.
func (s *Stack) podPlacement() (labels, selector map[string]string, tolerations []corev1.Toleration, err error) {
	labels = map[string]string{"app.kubernetes.io/name": "metaflow-azure-verify", "app.kubernetes.io/part-of": "metaflow"}
	for k, v := range pairs(s.Profile["METAFLOW_KUBERNETES_LABELS"]) {
		labels[k] = v
	}
	selector = pairs(s.Profile["METAFLOW_KUBERNETES_NODE_SELECTOR"])
	if t := s.Profile["METAFLOW_KUBERNETES_TOLERATIONS"]; t != "" {
		if err := json.Unmarshal([]byte(t), &tolerations); err != nil {
			return nil, nil, nil, fmt.Errorf("the profile's METAFLOW_KUBERNETES_TOLERATIONS: %w", err)
		}
	}
	return labels, selector, tolerations, nil
}

func pairs(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
			m[k] = v
		}
	}
	return m
}

// securityContext satisfies the task namespace's Pod Security level (baseline) and more: the
// check needs no privilege.
func securityContext() *corev1.SecurityContext {
	no := false
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: &no,
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

func checkTaskPod(ctx context.Context, s *Stack) (string, error) {
	if s.TaskImage == "" {
		return "", errors.New("no task image: the profile has no METAFLOW_KUBERNETES_CONTAINER_IMAGE; pass --task-image (the image your steps run in, with Metaflow's Azure packages)")
	}
	ns, sa := s.Profile["METAFLOW_KUBERNETES_NAMESPACE"], s.Profile["METAFLOW_KUBERNETES_SERVICE_ACCOUNT"]
	labels, selector, tolerations, err := s.podPlacement()
	if err != nil {
		return "", err
	}
	name := "metaflow-azure-verify-" + s.ID
	backoff, ttl := int32(0), int32(600)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: batchv1.JobSpec{
			BackoffLimit:            &backoff,
			TTLSecondsAfterFinished: &ttl,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName: sa,
					RestartPolicy:      corev1.RestartPolicyNever,
					NodeSelector:       selector,
					Tolerations:        tolerations,
					Containers: []corev1.Container{{
						Name: "verify", Image: s.TaskImage,
						Command:         []string{"python", "-c", TaskScript},
						SecurityContext: securityContext(),
						Env: []corev1.EnvVar{
							{Name: "METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT", Value: s.Profile["METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT"]},
							{Name: "METAFLOW_DATASTORE_SYSROOT_AZURE", Value: s.Profile["METAFLOW_DATASTORE_SYSROOT_AZURE"]},
							{Name: "METAFLOW_SERVICE_URL", Value: s.Profile["METAFLOW_SERVICE_INTERNAL_URL"]},
							{Name: "VERIFY_ID", Value: s.ID},
						},
					}},
				},
			},
		},
	}
	jobs := s.Kube.BatchV1().Jobs(ns)
	if _, err := jobs.Create(ctx, job, metav1.CreateOptions{}); err != nil {
		return "", fmt.Errorf("creating Job %s/%s: %w", ns, name, err)
	}
	defer func() {
		background := metav1.DeletePropagationBackground
		cleanup, cancel := cleanupContext(ctx)
		defer cancel()
		_ = jobs.Delete(cleanup, name, metav1.DeleteOptions{PropagationPolicy: &background})
	}()
	var final *batchv1.Job
	err = s.wait(ctx, func() (bool, error) {
		j, err := jobs.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range j.Status.Conditions {
			if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
				final = j
				return true, nil
			}
		}
		return false, nil
	})
	pod, logs := s.jobPodLogs(ctx, ns, name)
	if err != nil {
		return "", fmt.Errorf("Job %s/%s did not finish: %w%s", ns, name, err, pod.describe())
	}
	var out struct {
		Blob  string `json:"blob"`
		Run   string `json:"run"`
		Token bool   `json:"token"`
		Error string `json:"error"`
	}
	_ = json.Unmarshal([]byte(lastLine(logs)), &out)
	if final.Status.Succeeded == 0 || out.Error != "" || !out.Token || out.Blob == "" || out.Run == "" {
		detail := out.Error
		if detail == "" {
			detail = "its last log line is not the check's result: " + lastLine(logs)
		}
		return "", fmt.Errorf("the task pod failed: %s%s", detail, pod.describe())
	}
	return fmt.Sprintf("pod on node %s as %s/%s: workload identity token, wrote and read %s, registered run %s", pod.node, ns, sa, out.Blob, out.Run), nil
}

type podInfo struct {
	name, node, phase, reason string
}

func (p podInfo) describe() string {
	if p.name == "" {
		return " (no pod was created: check the Job's events)"
	}
	s := fmt.Sprintf(" (pod %s, phase %s", p.name, p.phase)
	if p.node != "" {
		s += ", node " + p.node
	}
	if p.reason != "" {
		s += ", " + p.reason
	}
	return s + ")"
}

// jobPodLogs finds the Job's pod and its log.
func (s *Stack) jobPodLogs(ctx context.Context, ns, job string) (podInfo, string) {
	pods, err := s.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + job})
	if err != nil || len(pods.Items) == 0 {
		return podInfo{}, ""
	}
	p := pods.Items[0]
	info := podInfo{name: p.Name, node: p.Spec.NodeName, phase: string(p.Status.Phase)}
	for _, c := range p.Status.ContainerStatuses {
		if w := c.State.Waiting; w != nil {
			info.reason = w.Reason + ": " + w.Message
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue {
			info.reason = "unscheduled: " + c.Message
		}
	}
	logs, err := s.Logs(ctx, ns, p.Name)
	if err != nil {
		return info, ""
	}
	return info, logs
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// wait polls cond until it is true, fails, or the check's timeout passes.
func (s *Stack) wait(ctx context.Context, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	for {
		done, err := cond()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not within %s", s.Timeout)
		case <-time.After(s.Poll):
		}
	}
}

var workflows = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflows"}

func checkWorkflow(ctx context.Context, s *Stack) (string, error) {
	if !s.Argo {
		return "Argo Workflows is off in this stack", nil
	}
	if s.TaskImage == "" {
		return "", errors.New("no task image: pass --task-image")
	}
	ns, sa := s.Profile["METAFLOW_KUBERNETES_NAMESPACE"], s.Profile["METAFLOW_KUBERNETES_SERVICE_ACCOUNT"]
	labels, selector, tolerations, err := s.podPlacement()
	if err != nil {
		return "", err
	}
	name := "metaflow-azure-verify-" + s.ID
	spec := map[string]any{
		"entrypoint":            "main",
		"serviceAccountName":    sa,
		"podMetadata":           map[string]any{"labels": toAny(labels)},
		"nodeSelector":          toAny(selector),
		"tolerations":           tolerations,
		"activeDeadlineSeconds": int64(s.Timeout.Seconds()),
		"templates": []any{map[string]any{
			"name": "main",
			"container": map[string]any{
				"image":           s.TaskImage,
				"command":         []any{"python", "-c", "print('metaflow-azure verify: the workflow step ran')"},
				"securityContext": securityContext(),
			},
		}},
	}
	obj, err := toUnstructured(map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
		"metadata": map[string]any{"name": name, "namespace": ns, "labels": toAny(labels)},
		"spec":     spec,
	})
	if err != nil {
		return "", err
	}
	wf := s.Dynamic.Resource(workflows).Namespace(ns)
	if _, err := wf.Create(ctx, obj, metav1.CreateOptions{}); err != nil {
		return "", fmt.Errorf("submitting Workflow %s/%s: %w", ns, name, err)
	}
	defer func() {
		cleanup, cancel := cleanupContext(ctx)
		defer cancel()
		_ = wf.Delete(cleanup, name, metav1.DeleteOptions{})
	}()
	var phase, message string
	err = s.wait(ctx, func() (bool, error) {
		u, err := wf.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		phase, _, _ = unstructured.NestedString(u.Object, "status", "phase")
		message, _, _ = unstructured.NestedString(u.Object, "status", "message")
		return phase == "Succeeded" || phase == "Failed" || phase == "Error", nil
	})
	if err != nil {
		if phase == "" {
			return "", fmt.Errorf("Workflow %s/%s has no phase: is the Argo controller running and managing %s? %w", ns, name, ns, err)
		}
		return "", fmt.Errorf("Workflow %s/%s is %s: %w", ns, name, phase, err)
	}
	if phase != "Succeeded" {
		return "", fmt.Errorf("Workflow %s/%s %s: %s", ns, name, phase, message)
	}
	return fmt.Sprintf("Workflow %s/%s succeeded", ns, name), nil
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// toUnstructured turns typed values inside (tolerations, the security context) into plain JSON.
func toUnstructured(obj map[string]any) (*unstructured.Unstructured, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw); err != nil {
		return nil, err
	}
	return u, nil
}

func checkWebhook(ctx context.Context, s *Stack) (string, error) {
	if s.Profile["METAFLOW_ARGO_EVENTS_WEBHOOK_URL"] == "" {
		return "Argo Events is off in this stack", nil
	}
	if s.WebhookURL == "" {
		return "", fmt.Errorf("the webhook is not forwarded: %v", s.WebhookForwardError)
	}
	event := map[string]any{
		"name":    "metaflow-azure-verify",
		"payload": map[string]any{"name": "metaflow-azure-verify", "id": s.ID, "generated-by-metaflow": false},
	}
	body, err := json.Marshal(event)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.WebhookURL, strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return "", fmt.Errorf("POST %s: %w", s.WebhookURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return "", fmt.Errorf("POST %s: %s %s", s.WebhookURL, resp.Status, strings.TrimSpace(string(msg)))
	}
	return fmt.Sprintf("the webhook %s took event metaflow-azure-verify", s.WebhookURL), nil
}

// cleanupContext is for deleting what a check made: a fresh deadline, since the check's own
// context may be what ended.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}
