package controlplane

import (
	"context"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// kwokNodeAnnotation marks the nodes kwok simulates (kwok's own convention).
const kwokNodeAnnotation = "kwok.x-k8s.io/node"

// ExitCodeLabel, on a Job's pod template, makes the simulated container exit with that code.
// It exists for fixtures of failing Jobs (k8sapi's broken fixture): a simulator runs no
// program, so a failing Job has to be told to fail. kwok's own chaos stages use labels the
// same way.
const ExitCodeLabel = "metaflow-azure.test/kwok-exit-code"

// kwokStages is what kwok does with pods on its nodes. kwok v0.7.0 ships pod-ready,
// pod-complete and pod-delete as defaults; they are spelled out here because two behaviours
// differ on purpose:
//   - pod-ready leaves a pod with readiness gates NotReady, as a kubelet does while no controller
//     has set the gate (kwok's default marks every gate True, so no pod could ever stay unready);
//   - a Job pod whose template carries ExitCodeLabel fails instead of completing.
//
// Node stages are kwok's defaults (node-initialize, node-heartbeat-with-lease).
var kwokStages = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.podIP'
      operator: 'DoesNotExist'
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $ready := "True" }}
      {{ if .spec.readinessGates }}{{ $ready = "False" }}{{ end }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: {{ $ready | Quote }}
        type: Ready
        {{ if eq $ready "False" }}reason: ReadinessGatesNotReady{{ end }}
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: ContainersReady
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: true
        restartCount: 0
        started: true
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
      initContainerStatuses:
      {{ range .spec.initContainers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: true
        restartCount: 0
        {{ if eq .restartPolicy "Always" }}
        started: true
        state:
          running:
            startedAt: {{ $now | Quote }}
        {{ else }}
        state:
          terminated:
            exitCode: 0
            finishedAt: {{ $now | Quote }}
            reason: Completed
            startedAt: {{ $now | Quote }}
        {{ end }}
      {{ end }}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
      phase: Running
      startTime: {{ $now | Quote }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-complete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Running']
    - key: '.metadata.ownerReferences.[].kind'
      operator: 'In'
      values: ['Job']
    - key: '.metadata.labels["` + ExitCodeLabel + `"]'
      operator: 'DoesNotExist'
  next:
    statusTemplate: |
      {{ $now := Now }}
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: 0
            finishedAt: {{ $now | Quote }}
            reason: Completed
            startedAt: {{ $now | Quote }}
      {{ end }}
      phase: Succeeded
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-fail
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Running']
    - key: '.metadata.ownerReferences.[].kind'
      operator: 'In'
      values: ['Job']
    - key: '.metadata.labels["` + ExitCodeLabel + `"]'
      operator: 'Exists'
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $code := index .metadata.labels "` + ExitCodeLabel + `" }}
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: {{ $code }}
            finishedAt: {{ $now | Quote }}
            reason: Error
            startedAt: {{ $now | Quote }}
      {{ end }}
      phase: Failed
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-delete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'Exists'
  next:
    finalizers:
      empty: true
    delete: true
`

// CreateNodes registers one simulated node per label set, named <prefix>-<i>, and waits until
// kwok has made them Ready. A label set per nodeSelector of the pods to run (k8sapi takes the
// pod templates') gives pods pinned to an AKS node pool (for example `agentpool: services`)
// somewhere to run.
func (c *Cluster) CreateNodes(ctx context.Context, prefix string, labelSets []map[string]string) error {
	var nodes []*corev1.Node
	for i, extra := range labelSets {
		nodes = append(nodes, FakeNode(fmt.Sprintf("%s-%d", prefix, i), extra))
	}
	return c.RegisterNodes(ctx, nodes)
}

// RegisterNodes creates simulated nodes and waits until kwok has made them Ready. kwok only
// simulates nodes that carry its annotation: build them with FakeNode.
func (c *Cluster) RegisterNodes(ctx context.Context, nodes []*corev1.Node) error {
	var names []string
	for _, node := range nodes {
		if _, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create node %s: %w", node.Name, err)
		}
		c.logf("created simulated node %s with labels %v, taints %v", node.Name, node.Labels, node.Spec.Taints)
		names = append(names, node.Name)
	}
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err := Poll(waitCtx, 200*time.Millisecond, func() (bool, error) {
		for _, name := range names {
			n, err := c.Client.CoreV1().Nodes().Get(waitCtx, name, metav1.GetOptions{})
			if err != nil || !NodeReady(n) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("simulated nodes %v not ready: %w", names, err)
	}
	return nil
}

// FakeNode is a node for kwok to simulate: linux/amd64, with 32 CPUs, 256 GiB of memory and
// room for 110 pods, its hostname label and extra labels.
func FakeNode(name string, extra map[string]string) *corev1.Node {
	labels := map[string]string{
		"kubernetes.io/hostname": name,
		"kubernetes.io/os":       "linux",
		"kubernetes.io/arch":     "amd64",
		"type":                   "kwok",
	}
	maps.Copy(labels, extra)
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Labels:      labels,
			Annotations: map[string]string{kwokNodeAnnotation: "fake"},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
}

// NodeReady reports whether the node's Ready condition is True.
func NodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
