//go:build k8sapi

package k8sapi

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/settings"
	"metaflow-azure/services"
)

// placementDeadline bounds how long the scheduler may take to place (or give up on) a pod.
const placementDeadline = time.Minute

// createPoolNodes registers one simulated node per AKS task pool the plan declares, before the
// stack's objects are applied, so every service pod is scheduled while the pools exist.
func createPoolNodes(t *testing.T, e *env, stack string, plan *stackPlan) []string {
	t.Helper()
	var nodes []*corev1.Node
	var names []string
	for _, p := range plan.pools {
		n := poolNode(poolNodeName(stack, p), p)
		nodes = append(nodes, n)
		names = append(names, n.Name)
	}
	if len(plan.pools) == 0 {
		t.Fatal("the plan declares no AKS task pool")
	}
	if err := e.cluster.RegisterNodes(t.Context(), nodes); err != nil {
		t.Fatal(err)
	}
	return names
}

// deletePoolNodes removes the pools' nodes, so the next stack's proof sees only its own pools.
func deletePoolNodes(t *testing.T, e *env, names []string) {
	t.Helper()
	for _, n := range names {
		if err := e.cluster.Client.CoreV1().Nodes().Delete(context.WithoutCancel(t.Context()), n, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete node %s: %v", n, err)
		}
	}
}

// checkTaskPoolScheduling is the scheduling proof, with the real kube-scheduler:
//   - no pod of the stack (services, Argo, Argo Events) runs on a task pool's node, and the
//     NVIDIA device plugin runs on the GPU pools' nodes and nowhere else;
//   - pods shaped as Metaflow creates them from the exported profile land where the pools
//     say: a plain step on the general task pool, a step naming a pool on that pool (a GPU
//     step on a node with nvidia.com/gpu, a Spot step on a Spot node);
//   - a GPU step the cluster cannot serve stays Pending with the scheduler's reason.
func checkTaskPoolScheduling(t *testing.T, e *env, stack string, plan *stackPlan, ms []manifest) {
	ctx := t.Context()
	c := e.cluster
	if plan.config == nil {
		t.Fatal("no metaflowConfig output to build task pods from")
	}
	cfg := plan.config.values
	nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*corev1.Node{}
	for i := range nodes.Items {
		byName[nodes.Items[i].Name] = &nodes.Items[i]
	}

	t.Run("no stack pod on a task pool", func(t *testing.T) {
		namespaces := append(namespaceNames(ms), services.DevicePluginNamespace)
		var pluginNodes []string
		for _, ns := range namespaces {
			pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range pods.Items {
				n := byName[p.Spec.NodeName]
				if n == nil {
					continue
				}
				isPlugin := ns == services.DevicePluginNamespace && strings.HasPrefix(p.Name, services.DevicePluginName)
				switch {
				case isPlugin:
					pluginNodes = append(pluginNodes, n.Name)
					if n.Labels[settings.PoolGPULabelKey] != "true" {
						t.Errorf("device plugin pod %s runs on %s, which is not a GPU pool node", p.Name, n.Name)
					}
				case poolOf(n) != "":
					t.Errorf("pod %s/%s runs on %s, a node of task pool %s", ns, p.Name, n.Name, poolOf(n))
				}
			}
		}
		gpuNodes := 0
		for _, p := range plan.pools {
			if p.NodeLabels[settings.PoolGPULabelKey] == "true" {
				gpuNodes++
			}
		}
		if len(pluginNodes) != gpuNodes {
			t.Errorf("device plugin pods on %v, want one on each of the %d GPU pool nodes", pluginNodes, gpuNodes)
		}
	})

	type expect struct {
		step taskStep
		// pool is the task pool the step must land on; "" means it must stay Pending with a
		// scheduler message containing pending.
		pool    string
		pending string
	}
	cases := []expect{{step: taskStep{name: "plain"}, pool: settings.TaskPoolName}}
	hasGPU := false
	for _, raw := range plan.outputs["taskPools"].([]any) {
		p := raw.(map[string]any)
		if p["default"].(bool) {
			continue
		}
		name := p["name"].(string)
		s := taskStep{name: "select-" + name, nodeSelector: p["nodeSelector"].(string)}
		if p["gpu"].(bool) {
			s.gpu, hasGPU = 1, true
		}
		cases = append(cases, expect{step: s, pool: name})
	}
	// Asking for a GPU without naming a GPU pool keeps the default selector, which only the
	// general pool matches: the step waits, and says why.
	cases = append(cases, expect{step: taskStep{name: "gpu-default-selector", gpu: 1}, pending: "Insufficient " + azurefacts.GPUResource})
	if !hasGPU {
		cases = append(cases, expect{
			step:    taskStep{name: "gpu-no-gpu-pool", gpu: 1, nodeSelector: settings.PoolLabelKey + "=gpu"},
			pending: "didn't match Pod's node affinity/selector",
		})
	}
	for _, tc := range cases {
		t.Run(tc.step.name, func(t *testing.T) {
			pod, err := metaflowTaskPod(cfg, tc.step)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				t.Fatalf("create %s: %v", pod.Name, err)
			}
			got, err := waitPlacement(ctx, c, pod.Namespace, pod.Name, placementDeadline)
			if err != nil {
				t.Fatalf("pod %s was neither scheduled nor declared unschedulable: %v", pod.Name, err)
			}
			if tc.pool == "" {
				if got.node != "" || !strings.Contains(got.unschedulable, tc.pending) {
					t.Errorf("pod %s: node %q, scheduler message %q; want Pending with %q", pod.Name, got.node, got.unschedulable, tc.pending)
				} else {
					t.Logf("pod %s stays Pending: %s", pod.Name, got.unschedulable)
				}
				return
			}
			n := byName[got.node]
			if n == nil {
				t.Fatalf("pod %s: not scheduled (%s); want pool %s", pod.Name, got.unschedulable, tc.pool)
			}
			if poolOf(n) != tc.pool {
				t.Errorf("pod %s landed on %s (pool %q), want pool %s", pod.Name, n.Name, poolOf(n), tc.pool)
			}
			if tc.step.gpu > 0 {
				if q := n.Status.Allocatable[corev1.ResourceName(azurefacts.GPUResource)]; q.Value() < int64(tc.step.gpu) {
					t.Errorf("GPU pod %s landed on %s with %s %s", pod.Name, n.Name, azurefacts.GPUResource, q.String())
				}
			}
			if spot := poolIsSpot(plan, tc.pool); spot != (n.Labels[azurefacts.SpotLabelKey] == azurefacts.SpotLabelValue) {
				t.Errorf("pod %s landed on %s: Spot label %q, want a Spot node: %v", pod.Name, n.Name, n.Labels[azurefacts.SpotLabelKey], spot)
			}
			t.Logf("pod %s → node %s (pool %s)", pod.Name, n.Name, poolOf(n))
		})
	}
}

func poolIsSpot(plan *stackPlan, name string) bool {
	for _, p := range plan.pools {
		if p.Name == name {
			return p.ScaleSetPriority == azurefacts.SpotPriority
		}
	}
	return false
}

// deleteDevicePlugin removes the stack's object outside its namespaces (kube-system), which
// deleting the namespaces leaves behind.
func deleteDevicePlugin(t *testing.T, e *env, ms []manifest) {
	t.Helper()
	for _, m := range ms {
		if m.obj.GetNamespace() != services.DevicePluginNamespace {
			continue
		}
		ri, err := e.applier.resourceFor(m.obj)
		if err == nil {
			err = ri.Delete(context.WithoutCancel(t.Context()), m.obj.GetName(), metav1.DeleteOptions{})
		}
		if err != nil {
			t.Errorf("delete %s: %v", m, err)
		}
	}
}
