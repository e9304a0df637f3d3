//go:build k8sapi

package k8sapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
)

// Metaflow settings whose values name Kubernetes objects that tasks need at run time.
const (
	mfSecrets            = "METAFLOW_KUBERNETES_SECRETS"
	mfArgoSecrets        = "METAFLOW_ARGO_WORKFLOWS_KUBERNETES_SECRETS"
	mfNamespace          = "METAFLOW_KUBERNETES_NAMESPACE"
	mfServiceAccount     = "METAFLOW_KUBERNETES_SERVICE_ACCOUNT"
	mfEventsSA           = "METAFLOW_ARGO_EVENTS_SERVICE_ACCOUNT"
	mfEventsSensorNS     = "METAFLOW_ARGO_EVENTS_SENSOR_NAMESPACE"
	metaflowDefaultNS    = "default" // where Metaflow launches tasks when no namespace is set
	metaflowConfigPrefix = "METAFLOW_"
)

// metaflowConfig is one place that tells Metaflow tasks where to run and which Secrets to mount:
// the user's config.json (the stack's metaflowConfig output), a ConfigMap, or a container's env.
type metaflowConfig struct {
	source string
	values map[string]string
	// namespace is where tasks run when the config does not say (the namespace of the object
	// holding the config, for env and ConfigMaps).
	namespace string
}

func (m metaflowConfig) taskNamespace() string {
	if ns := m.values[mfNamespace]; ns != "" {
		return ns
	}
	return m.namespace
}

// secretProblems: every Secret METAFLOW_KUBERNETES_SECRETS (and its Argo Workflows twin) names
// must exist where tasks run, or every task pod fails to start.
func (m metaflowConfig) secretProblems(ctx context.Context, c kubernetes.Interface) []string {
	var problems []string
	ns := m.taskNamespace()
	for _, key := range []string{mfSecrets, mfArgoSecrets} {
		for name := range strings.SplitSeq(m.values[key], ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			if !exists(ctx, c.CoreV1().Secrets(ns).Get, name) {
				problems = append(problems, fmt.Sprintf("%s: %s names secret %s/%s, which is not found", m.source, key, ns, name))
			}
		}
	}
	return problems
}

// serviceAccountProblems: the ServiceAccounts tasks and sensors run as must exist.
func (m metaflowConfig) serviceAccountProblems(ctx context.Context, c kubernetes.Interface) []string {
	var problems []string
	check := func(key, ns string) {
		sa := m.values[key]
		if sa != "" && !exists(ctx, c.CoreV1().ServiceAccounts(ns).Get, sa) {
			problems = append(problems, fmt.Sprintf("%s: %s names ServiceAccount %s/%s, which is not found", m.source, key, ns, sa))
		}
	}
	check(mfServiceAccount, m.taskNamespace())
	sensorNS := m.values[mfEventsSensorNS]
	if sensorNS == "" {
		sensorNS = m.taskNamespace()
	}
	check(mfEventsSA, sensorNS)
	return problems
}

func parseMetaflowJSON(data []byte) (map[string]string, error) {
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	values := map[string]string{}
	for k, v := range raw {
		if s, ok := v.(string); ok {
			values[k] = s
		} else {
			values[k] = fmt.Sprint(v)
		}
	}
	return values, nil
}

// embeddedMetaflowConfigs finds Metaflow settings inside the declared objects: ConfigMaps that
// carry METAFLOW_* keys or a config.json, and containers whose env sets METAFLOW_KUBERNETES_SECRETS.
func embeddedMetaflowConfigs(ms []manifest) []metaflowConfig {
	var out []metaflowConfig
	cms, _ := declared[corev1.ConfigMap](ms, "ConfigMap")
	for _, cm := range cms {
		out = append(out, configMapConfigs(cm)...)
	}
	for _, pt := range podTemplates(ms) {
		for _, c := range append(append([]corev1.Container{}, pt.spec.InitContainers...), pt.spec.Containers...) {
			values := map[string]string{}
			for _, e := range c.Env {
				if e.ValueFrom == nil && strings.HasPrefix(e.Name, metaflowConfigPrefix) {
					values[e.Name] = e.Value
				}
			}
			if values[mfSecrets] != "" || values[mfServiceAccount] != "" {
				out = append(out, metaflowConfig{
					source: fmt.Sprintf("%s container %s env", pt.owner, c.Name), values: values, namespace: pt.namespace,
				})
			}
		}
	}
	return out
}

func configMapConfigs(cm *corev1.ConfigMap) []metaflowConfig {
	var out []metaflowConfig
	src := fmt.Sprintf("configmap %s/%s", cm.Namespace, cm.Name)
	flat := map[string]string{}
	for k, v := range cm.Data {
		if strings.HasPrefix(k, metaflowConfigPrefix) {
			flat[k] = v
			continue
		}
		// A whole config.json stored under one key.
		if values, err := parseMetaflowJSON([]byte(v)); err == nil && (values[mfSecrets] != "" || values[mfServiceAccount] != "") {
			out = append(out, metaflowConfig{source: src + " key " + k, values: values, namespace: metaflowDefaultNS})
		}
	}
	if len(flat) > 0 {
		out = append(out, metaflowConfig{source: src, values: flat, namespace: cm.Namespace})
	}
	return out
}
