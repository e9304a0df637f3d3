//go:build k8sapi

package k8sapi

import (
	"fmt"
	"path"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/services"
)

// injection is what the webhook gave one container.
type injection struct {
	clientID, tenantID, authority string
	// tokenAudience is the audience of the projected token the container reads at
	// AZURE_FEDERATED_TOKEN_FILE ("" when that file is not a mounted projected token).
	tokenAudience string
	any           bool
}

// injected reads, from a pod the API server returned, what azure-identity needs in a container:
// the four environment variables and the token file they point at, which must be a mounted
// projected ServiceAccount token.
func injected(pod *corev1.Pod, c corev1.Container) injection {
	in := injection{
		clientID:  envValue(c, "AZURE_CLIENT_ID"),
		tenantID:  envValue(c, "AZURE_TENANT_ID"),
		authority: envValue(c, "AZURE_AUTHORITY_HOST"),
	}
	file := envValue(c, "AZURE_FEDERATED_TOKEN_FILE")
	in.any = in.clientID != "" || in.tenantID != "" || in.authority != "" || file != ""
	if file == "" {
		return in
	}
	for _, m := range c.VolumeMounts {
		if m.MountPath != path.Dir(file) {
			continue
		}
		for _, v := range pod.Spec.Volumes {
			if v.Name != m.Name || v.Projected == nil {
				continue
			}
			for _, src := range v.Projected.Sources {
				if t := src.ServiceAccountToken; t != nil && t.Path == path.Base(file) {
					in.tokenAudience = t.Audience
				}
			}
		}
	}
	return in
}

// injectionProblems: every container of the pod (init containers too: Argo's init loads
// artifacts) must sign in as clientID, with the webhook's tenant, Entra's public authority and
// a mounted projected token for the token exchange audience. The authority is the webhook's
// AzurePublicCloud ActiveDirectoryEndpoint (azure-workload-identity v1.5.1
// pkg/webhook/webhook.go:465-474 → github.com/Azure/go-autorest/autorest v0.11.30
// azure/environments.go:102, "https://login.microsoftonline.com/").
func injectionProblems(what string, pod *corev1.Pod, clientID string) []string {
	var problems []string
	containers := append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, c := range containers {
		got := injected(pod, c)
		if got.clientID != clientID || got.tenantID != webhookTenantID ||
			!strings.HasPrefix(got.authority, "https://login.microsoftonline.com") ||
			got.tokenAudience != azurefacts.FederatedTokenAudience {
			problems = append(problems, fmt.Sprintf("%s, container %s: injected client %q tenant %q authority %q token audience %q; want client %q, tenant %q, Entra's public authority, audience %q",
				what, c.Name, got.clientID, got.tenantID, got.authority, got.tokenAudience, clientID, webhookTenantID, azurefacts.FederatedTokenAudience))
		}
	}
	return problems
}

func wantInjected(t *testing.T, what string, pod *corev1.Pod, clientID string) {
	t.Helper()
	for _, p := range injectionProblems(what, pod, clientID) {
		t.Error(p)
	}
}

// hasExchangeToken tells whether any volume of the pod projects a token for the token exchange
// audience.
func hasExchangeToken(pod *corev1.Pod) bool {
	for _, v := range pod.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			if src.ServiceAccountToken != nil && src.ServiceAccountToken.Audience == azurefacts.FederatedTokenAudience {
				return true
			}
		}
	}
	return false
}

// annotatedClientID is the client ID a declared ServiceAccount names.
func annotatedClientID(t *testing.T, ms []manifest, namespace, name string) string {
	t.Helper()
	sa := find(ms, "ServiceAccount", namespace, name)
	if sa == nil {
		t.Fatalf("the plan declares no ServiceAccount %s/%s", namespace, name)
	}
	id := sa.GetAnnotations()[azurefacts.WorkloadIdentityClientIDAnnotation]
	if id == "" {
		t.Fatalf("ServiceAccount %s/%s names no workload identity", namespace, name)
	}
	return id
}

// outputWorkloadIdentities is program.OutputWorkloadIdentities, the stack output's published
// name; importing package program would link the Azure SDKs into this tier for one string.
const outputWorkloadIdentities = "workloadIdentities"

// outputClientID is workloadIdentities.<name>.clientId of the plan's outputs.
func outputClientID(plan *stackPlan, name string) string {
	ids, _ := plan.outputs[outputWorkloadIdentities].(map[string]any)
	w, _ := ids[name].(map[string]any)
	id, _ := w["clientId"].(string)
	return id
}

// parseLabels reads METAFLOW_KUBERNETES_LABELS the way Metaflow does: "k=v,k2=v2".
func parseLabels(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
			out[k] = v
		}
	}
	return out
}

// checkWorkloadIdentity proves on the real API server, with the real webhook, that every
// workload that reaches Azure is injected with its own identity and nothing else is:
//   - the UI backend's pods, created by its Deployment, get the UI identity; the metadata
//     service's get nothing;
//   - a pod shaped as Metaflow's @kubernetes creates it from the exported profile (namespace,
//     ServiceAccount, METAFLOW_KUBERNETES_LABELS plus Metaflow's own labels) gets the task
//     identity;
//   - a pod shaped as Argo's workflow controller creates a step from the rendered chart's
//     workflowDefaults (labels, ServiceAccount; init, wait and main containers) gets the task
//     identity in every container;
//   - a pod without the label, or with the label but another ServiceAccount, gets no client ID.
func checkWorkloadIdentity(t *testing.T, e *env, sc *stackCharts) {
	ctx := t.Context()
	c := e.cluster.Client
	plan := sc.plan
	cfg := plan.config.values
	tasksNS, taskSA := cfg[mfNamespace], cfg[mfServiceAccount]
	taskClient := annotatedClientID(t, plan.manifests, tasksNS, taskSA)
	uiNS := ""
	for _, m := range plan.manifests {
		if m.obj.GetKind() == "Deployment" && m.obj.GetName() == services.UIBackendName {
			uiNS = m.obj.GetNamespace()
		}
	}
	uiClient := annotatedClientID(t, plan.manifests, uiNS, services.UIBackendAccountName)
	for name, want := range map[string]string{"tasks": taskClient, "uiBackend": uiClient} {
		if got := outputClientID(plan, name); got != want {
			t.Errorf("output workloadIdentities.%s.clientId %q, but its ServiceAccount names %q", name, got, want)
		}
	}
	if taskClient == uiClient {
		t.Errorf("tasks and the UI backend share identity %s; each must have its own", taskClient)
	}

	// The services' own pods, as their ReplicaSets created them.
	podsOf := func(ns, app string) []corev1.Pod {
		sel := labels.SelectorFromSet(map[string]string{"app.kubernetes.io/name": app}).String()
		list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			t.Fatalf("list %s pods: %v", app, err)
		}
		if len(list.Items) == 0 {
			t.Errorf("no %s pods in %s", app, ns)
		}
		return list.Items
	}
	for _, pod := range podsOf(uiNS, services.UIBackendName) {
		wantInjected(t, "UI backend pod "+pod.Name, &pod, uiClient)
	}
	for _, app := range []string{services.MetadataServiceName, services.UIStaticName} {
		for _, pod := range podsOf(uiNS, app) {
			for _, ct := range pod.Spec.Containers {
				if got := injected(&pod, ct); got.any {
					t.Errorf("%s pod %s was injected (%+v) but never reaches Azure", app, pod.Name, got)
				}
			}
		}
	}

	dryRun := func(what string, pod *corev1.Pod) *corev1.Pod {
		t.Helper()
		got, err := c.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			t.Fatalf("create %s (dry run): %v", what, err)
		}
		return got
	}
	container := func(name string) corev1.Container {
		return corev1.Container{Name: name, Image: "python:3.12-slim", Command: []string{"python", "-c", "pass"}}
	}

	// Metaflow's @kubernetes: the profile's labels plus the two Metaflow always sets.
	mfLabels := parseLabels(cfg["METAFLOW_KUBERNETES_LABELS"])
	mfLabels["app.kubernetes.io/name"], mfLabels["app.kubernetes.io/part-of"] = "metaflow-task", "metaflow"
	task := dryRun("Metaflow task pod", &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "t-", Namespace: tasksNS, Labels: mfLabels},
		Spec:       corev1.PodSpec{ServiceAccountName: taskSA, Containers: []corev1.Container{container("main")}},
	})
	wantInjected(t, "Metaflow task pod (labels from the profile)", task, taskClient)

	// Argo: workflowDefaults of the rendered controller config, and the step pod's containers.
	rr := sc.releases[workflowsChart]
	cm := find(rr.manifests, "ConfigMap", rr.release.Namespace, services.ArgoReleaseName+"-workflow-controller-configmap")
	if cm == nil {
		t.Fatal("argo-workflows renders no controller ConfigMap")
	}
	config := configData(t, cm, "config")
	argoLabels, _, _ := unstructured.NestedStringMap(config, "workflowDefaults", "spec", "podMetadata", "labels")
	argoSA, _, _ := unstructured.NestedString(config, "workflowDefaults", "spec", "serviceAccountName")
	argoLabels["workflows.argoproj.io/workflow"] = "metaflow-flow-abc12"
	step := dryRun("Argo step pod", &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "s-", Namespace: tasksNS, Labels: argoLabels},
		Spec: corev1.PodSpec{ServiceAccountName: argoSA,
			InitContainers: []corev1.Container{container("init")},
			Containers:     []corev1.Container{container("wait"), container("main")}},
	})
	wantInjected(t, "Argo step pod (workflowDefaults)", step, taskClient)

	// Neither the label alone nor the ServiceAccount alone is enough.
	unlabelled := dryRun("pod without the label", &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "u-", Namespace: tasksNS, Labels: map[string]string{"app.kubernetes.io/name": "metaflow-task"}},
		Spec:       corev1.PodSpec{ServiceAccountName: taskSA, Containers: []corev1.Container{container("main")}},
	})
	if got := injected(unlabelled, unlabelled.Spec.Containers[0]); got.any || hasExchangeToken(unlabelled) {
		t.Errorf("a pod without %s was injected: %+v, volumes %v", azurefacts.WorkloadIdentityUseLabel, got, unlabelled.Spec.Volumes)
	}
	other := dryRun("labelled pod with another ServiceAccount", &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "o-", Namespace: tasksNS, Labels: parseLabels(cfg["METAFLOW_KUBERNETES_LABELS"])},
		Spec:       corev1.PodSpec{ServiceAccountName: "default", Containers: []corev1.Container{container("main")}},
	})
	if got := injected(other, other.Spec.Containers[0]); got.clientID != "" {
		t.Errorf("a pod running as %s/default got client ID %q", tasksNS, got.clientID)
	}
	t.Logf("workload identity: task pods (Metaflow and Argo shapes) sign in as %s, UI backend pods as %s; unlabelled pods and other ServiceAccounts get no client ID", taskClient, uiClient)
}

// TestWebhookInjectionCanFail: the injection check fails for a pod the webhook did not touch
// and for one injected with another identity, so a wrong label name, annotation or client ID
// in the stack cannot pass unnoticed.
func TestWebhookInjectionCanFail(t *testing.T) {
	t.Parallel()
	plain := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main"}}}}
	if p := injectionProblems("plain pod", plain, "some-client"); len(p) == 0 {
		t.Error("a pod with nothing injected passed")
	}
	if injected(plain, plain.Spec.Containers[0]).any {
		t.Error("a plain pod counts as injected")
	}
	other := &corev1.Pod{Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "main",
			Env: []corev1.EnvVar{{Name: "AZURE_CLIENT_ID", Value: "other"}, {Name: "AZURE_TENANT_ID", Value: webhookTenantID},
				{Name: "AZURE_AUTHORITY_HOST", Value: "https://login.microsoftonline.com/"},
				{Name: "AZURE_FEDERATED_TOKEN_FILE", Value: "/var/run/secrets/azure/tokens/azure-identity-token"}},
			VolumeMounts: []corev1.VolumeMount{{Name: "azure-identity-token", MountPath: "/var/run/secrets/azure/tokens"}}}},
		Volumes: []corev1.Volume{{Name: "azure-identity-token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
				Audience: azurefacts.FederatedTokenAudience, Path: "azure-identity-token"}}}}}}},
	}}
	if p := injectionProblems("other identity", other, "other"); len(p) != 0 {
		t.Errorf("a fully injected pod failed: %v", p)
	}
	if p := injectionProblems("other identity", other, "some-client"); len(p) == 0 {
		t.Error("a pod injected with another client ID passed")
	}
}
