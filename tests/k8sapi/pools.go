//go:build k8sapi

package k8sapi

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/settings"
	"metaflow-azure/tests/internal/controlplane"
)

// Metaflow settings the scheduling proof builds task pods from.
const (
	mfNodeSelector = "METAFLOW_KUBERNETES_NODE_SELECTOR"
	mfTolerations  = "METAFLOW_KUBERNETES_TOLERATIONS"
)

// poolNode is a simulated node of an AKS pool: the labels and taints the pool declares, plus
// what AKS puts on a Spot pool's nodes itself (azurefacts.SpotSource), and for an NVIDIA GPU
// size the nvidia.com/gpu capacity the device plugin advertises (the size's GPU count).
func poolNode(name string, p agentPool) *corev1.Node {
	labels := maps.Clone(p.NodeLabels)
	if labels == nil {
		labels = map[string]string{}
	}
	taints := slices.Clone(p.NodeTaints)
	if p.ScaleSetPriority == azurefacts.SpotPriority {
		labels[azurefacts.SpotLabelKey] = azurefacts.SpotLabelValue
		if !slices.Contains(taints, azurefacts.SpotTaint) {
			taints = append(taints, azurefacts.SpotTaint)
		}
	}
	n := controlplane.FakeNode(name, labels)
	for _, t := range taints {
		kv, effect, _ := strings.Cut(t, ":")
		k, v, _ := strings.Cut(kv, "=")
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: k, Value: v, Effect: corev1.TaintEffect(effect)})
	}
	capacity := n.Status.Capacity.DeepCopy()
	// Metaflow requests ephemeral storage for every task (disk=10240 MB by default).
	capacity[corev1.ResourceEphemeralStorage] = resource.MustParse("1Ti")
	if series, ok := azurefacts.LookupNVIDIAGPUSize(p.VMSize); ok {
		capacity[corev1.ResourceName(azurefacts.GPUResource)] = *resource.NewQuantity(int64(series.Sizes[p.VMSize]), resource.DecimalSI)
	}
	n.Status.Capacity, n.Status.Allocatable = capacity, capacity.DeepCopy()
	return n
}

// taskStep is a Metaflow step's @kubernetes arguments that decide where it runs.
type taskStep struct {
	name string
	// nodeSelector is the step's node_selector; empty takes the profile's default.
	nodeSelector string
	gpu          int
}

// metaflowTaskPod is the pod Metaflow 2.19.38 creates for a step from the profile, as far as
// scheduling goes (Netflix/metaflow@2.19.38, f8295b1d):
//   - a step's node_selector replaces METAFLOW_KUBERNETES_NODE_SELECTOR, which applies only
//     when the step names none; the string is split on "," then "=" (kubernetes_decorator.py
//     init, lines 192-193 and 210-213);
//   - METAFLOW_KUBERNETES_TOLERATIONS applies when the step names no tolerations (194-195);
//   - requests cpu 1, memory 4096M, ephemeral-storage 10240M by default (decorator defaults,
//     kube_utils.py qos_requests_and_limits), and gpu=N adds the limit "<gpu_vendor>.com/gpu": N
//     with gpu_vendor nvidia (kubernetes_job.py:176-187, metaflow_config.py:415);
//   - restartPolicy Never, the profile's service account and namespace (kubernetes_job.py:222-241).
func metaflowTaskPod(cfg map[string]string, s taskStep) (*corev1.Pod, error) {
	selector := s.nodeSelector
	if selector == "" {
		selector = cfg[mfNodeSelector]
	}
	nodeSelector := map[string]string{}
	for kv := range strings.SplitSeq(selector, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
			nodeSelector[k] = v
		}
	}
	var tolerations []corev1.Toleration
	if raw := cfg[mfTolerations]; raw != "" {
		if err := json.Unmarshal([]byte(raw), &tolerations); err != nil {
			return nil, fmt.Errorf("%s is not a list of tolerations: %w", mfTolerations, err)
		}
	}
	res := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("4096M"),
			corev1.ResourceEphemeralStorage: resource.MustParse("10240M"),
		},
		Limits: corev1.ResourceList{},
	}
	if s.gpu > 0 {
		res.Limits[corev1.ResourceName(azurefacts.GPUResource)] = *resource.NewQuantity(int64(s.gpu), resource.DecimalSI)
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "step-" + s.name, Namespace: cfg[mfNamespace],
			Labels: map[string]string{"metaflow-azure.test/scheduling": "proof"},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:      corev1.RestartPolicyNever,
			ServiceAccountName: cfg[mfServiceAccount],
			NodeSelector:       nodeSelector,
			Tolerations:        tolerations,
			Containers: []corev1.Container{{
				Name: strings.ReplaceAll(s.name, "_", "-"), Image: "python:3.12", Resources: res,
			}},
		},
	}, nil
}

// placement is where the scheduler put a pod, or why it did not.
type placement struct {
	node string
	// unschedulable is the scheduler's PodScheduled message while the pod is Pending.
	unschedulable string
}

// waitPlacement polls until the scheduler has bound the pod or declared it unschedulable.
func waitPlacement(ctx context.Context, c *controlplane.Cluster, ns, name string, deadline time.Duration) (placement, error) {
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	var got placement
	err := controlplane.Poll(ctx, 200*time.Millisecond, func() (bool, error) {
		p, err := c.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		if p.Spec.NodeName != "" {
			got = placement{node: p.Spec.NodeName}
			return true, nil
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable {
				got = placement{unschedulable: cond.Message}
				return true, nil
			}
		}
		return false, nil
	})
	return got, err
}

// isPoolSelector tells the task pools' own selectors (nodes for them come from the AKS pools)
// from pod templates that pin an AKS system pool.
func isPoolSelector(sel map[string]string) bool {
	for k := range sel {
		if strings.HasPrefix(k, "metaflow.org/") {
			return true
		}
	}
	return false
}

// poolNodeName names the simulated node of a pool.
func poolNodeName(stack string, p agentPool) string { return stack + "-aks-" + p.Name }

// poolOf returns the pool a node belongs to, by its metaflow.org/pool label.
func poolOf(n *corev1.Node) string { return n.Labels[settings.PoolLabelKey] }
