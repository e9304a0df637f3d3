package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// strictDecode decodes one manifest into its Kubernetes API type, refusing unknown fields and
// wrong types. Kinds outside the built-in API (Argo's CRDs) report known=false; the real API
// server tier validates those against the CRDs.
func strictDecode(doc []byte) (kind string, known bool, err error) {
	var head struct {
		Kind string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return "", false, err
	}
	codecs := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict)
	_, _, err = codecs.UniversalDeserializer().Decode(doc, nil, nil)
	if runtime.IsNotRegisteredError(err) {
		return head.Kind, false, nil
	}
	return head.Kind, true, err
}

func TestManifestsDecodeStrictlyIntoKubernetesTypes(t *testing.T) {
	t.Parallel()
	for _, stackName := range []string{"dev", "prod"} {
		dir := t.TempDir()
		_, stderr, code := runCLI(t, "plan", "--stack", stackName, "--manifests", dir)
		if code != 0 {
			t.Fatalf("plan --manifests exited %d: %s", code, stderr)
		}
		if !strings.Contains(stderr, "left out: Helm release argo-workflows") || !strings.Contains(stderr, "left out: Helm release argo-events") {
			t.Errorf("the Helm releases left out must be named:\n%s", stderr)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		kinds := map[string]int{}
		for _, f := range files {
			doc, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			kind, known, err := strictDecode(doc)
			if err != nil {
				t.Errorf("%s: %v", filepath.Base(f), err)
			}
			if !known && kind != "EventBus" && kind != "EventSource" {
				t.Errorf("%s: kind %q is neither built in nor an expected Argo CRD", filepath.Base(f), kind)
			}
			kinds[kind]++
		}
		// Secrets: only the database password (workload identity: no Azure credentials).
		// ServiceAccounts: tasks, sensors, the services and the UI backend.
		// The executor's, the sensors', the Argo server's view of events, and the task
		// namespace's for the workflow controller, the Argo server and the events controller.
		roles := 6
		if stackName == "prod" {
			roles = 7 // access.flowRunners adds the flow runners' Role and RoleBinding.
		}
		for kind, n := range map[string]int{"Namespace": 4, "Deployment": 3, "Service": 3, "PodDisruptionBudget": 3, "Job": 1, "Secret": 1, "ServiceAccount": 4, "Role": roles, "RoleBinding": roles, "ConfigMap": 1, "EventBus": 1, "EventSource": 1} {
			if kinds[kind] != n {
				t.Errorf("%s: %d %s manifests, want %d", stackName, kinds[kind], kind, n)
			}
		}
	}
}

// The validator must be able to fail: unknown fields and wrong types are refused.
func TestStrictDecodeRejectsBrokenManifests(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string]string{
		"unknown field": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: c, image: i, portz: []}]\n",
		"wrong type":    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: two\n",
		"unknown top":   "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspecc: {}\n",
	} {
		if _, _, err := strictDecode([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
