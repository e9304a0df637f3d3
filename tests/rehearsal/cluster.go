//go:build rehearsal

package rehearsal

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"

	"metaflow-azure/tests/internal/controlplane"
)

// namespaces are the stack's namespaces, from its `namespaces` output.
func namespacesOf(outputs map[string]any) []string {
	var out []string
	if m, ok := outputs["namespaces"].(map[string]any); ok {
		for _, v := range m {
			if s, ok := v.(string); ok && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return out
}

// readiness lists what is not ready in the namespaces: Deployments not Available, Jobs not
// complete, Helm releases not deployed.
func readiness(ctx context.Context, c *controlplane.Cluster, namespaces []string) []string {
	var problems []string
	for _, ns := range namespaces {
		deps, err := c.Client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: listing Deployments: %v", ns, err))
			continue
		}
		for _, d := range deps.Items {
			if !available(&d) {
				problems = append(problems, fmt.Sprintf("Deployment %s/%s is not Available (%d/%d ready)", ns, d.Name, d.Status.ReadyReplicas, ptrOr(d.Spec.Replicas, 1)))
			}
		}
		jobs, err := c.Client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: listing Jobs: %v", ns, err))
			continue
		}
		for _, j := range jobs.Items {
			if !complete(&j) {
				problems = append(problems, fmt.Sprintf("Job %s/%s is not complete", ns, j.Name))
			}
		}
		// Helm keeps each release revision as a Secret labelled with its status.
		secrets, err := c.Client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: "owner=helm"})
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: listing Helm releases: %v", ns, err))
			continue
		}
		latest := map[string]corev1.Secret{}
		for _, s := range secrets.Items {
			if prev, ok := latest[s.Labels["name"]]; !ok || version(s) > version(prev) {
				latest[s.Labels["name"]] = s
			}
		}
		for name, s := range latest {
			if s.Labels["status"] != "deployed" {
				problems = append(problems, fmt.Sprintf("Helm release %s/%s is %s", ns, name, s.Labels["status"]))
			}
		}
	}
	return problems
}

func version(s corev1.Secret) string { return fmt.Sprintf("%08s", s.Labels["version"]) }

func ptrOr(p *int32, d int32) int32 {
	if p == nil {
		return d
	}
	return *p
}

func available(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
			return d.Status.ObservedGeneration >= d.Generation
		}
	}
	return false
}

func complete(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// helmReleases are the Helm releases installed in the namespaces, by name.
func helmReleases(ctx context.Context, c *controlplane.Cluster, namespaces []string) map[string]string {
	out := map[string]string{}
	for _, ns := range namespaces {
		secrets, err := c.Client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: "owner=helm,status=deployed"})
		if err != nil {
			continue
		}
		for _, s := range secrets.Items {
			out[ns+"/"+s.Labels["name"]] = s.Labels["version"]
		}
	}
	return out
}

// objects lists every object in the namespaces (and the cluster-scoped objects that carry the
// stack's labels or the charts' release labels) with its resourceVersion: two snapshots are
// equal when nothing was written.
func objects(ctx context.Context, c *controlplane.Cluster, namespaces []string) (map[string]string, error) {
	disc, err := discovery.NewDiscoveryClientForConfig(c.Config)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		return nil, err
	}
	lists, err := disc.ServerPreferredResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, err
	}
	out := map[string]string{}
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if !slices.Contains(r.Verbs, "list") || strings.Contains(r.Name, "/") || skipKind(r.Kind) {
				continue
			}
			res := dyn.Resource(gv.WithResource(r.Name))
			var items []unstructured.Unstructured
			if r.Namespaced {
				for _, ns := range namespaces {
					ul, err := res.Namespace(ns).List(ctx, metav1.ListOptions{})
					if err != nil {
						return nil, fmt.Errorf("listing %s in %s: %w", r.Name, ns, err)
					}
					items = append(items, ul.Items...)
				}
			} else {
				ul, err := res.List(ctx, metav1.ListOptions{})
				if err != nil {
					return nil, fmt.Errorf("listing %s: %w", r.Name, err)
				}
				for _, o := range ul.Items {
					if ours(o.GetLabels(), o.GetAnnotations(), namespaces) {
						items = append(items, o)
					}
				}
			}
			for _, o := range items {
				out[fmt.Sprintf("%s %s/%s", r.Kind, o.GetNamespace(), o.GetName())] = o.GetResourceVersion()
			}
		}
	}
	return out, nil
}

// skipKind leaves out what the cluster itself writes all the time, whatever the stack does:
// events, endpoints and leases, and pods (kwok rewrites their status).
func skipKind(kind string) bool {
	return slices.Contains([]string{"Event", "Endpoints", "EndpointSlice", "Lease", "Pod", "ReplicaSet", "ControllerRevision"}, kind)
}

// ours tells a cluster-scoped object of the stack: labelled by it, or by Helm for a release in
// its namespaces.
func ours(labels, annotations map[string]string, namespaces []string) bool {
	if labels["app.kubernetes.io/part-of"] == "metaflow" {
		return true
	}
	return slices.Contains(namespaces, annotations["meta.helm.sh/release-namespace"])
}

// changed lists what differs between two snapshots.
func changed(before, after map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(after)) {
		if v, ok := before[k]; !ok {
			out = append(out, "created "+k)
		} else if v != after[k] {
			out = append(out, "written "+k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(before)) {
		if _, ok := after[k]; !ok {
			out = append(out, "deleted "+k)
		}
	}
	return out
}

// gone waits until none of the namespaces exists, and reports those stuck (with their finalizers
// and conditions) otherwise.
func gone(ctx context.Context, c *controlplane.Cluster, namespaces []string, wait time.Duration) []string {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var stuck []string
	_ = controlplane.Poll(ctx, 500*time.Millisecond, func() (bool, error) {
		// Each poll's reads get their own deadline: the last poll may start just before the
		// wait's, and must still report what is stuck rather than the expired context.
		readCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		stuck = nil
		for _, ns := range namespaces {
			n, err := c.Client.CoreV1().Namespaces().Get(readCtx, ns, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				stuck = append(stuck, fmt.Sprintf("%s: %v", ns, err))
				continue
			}
			var conds []string
			for _, c := range n.Status.Conditions {
				if c.Status == corev1.ConditionTrue {
					conds = append(conds, string(c.Type)+": "+c.Message)
				}
			}
			stuck = append(stuck, fmt.Sprintf("namespace %s is %s (finalizers %v; %s)", ns, n.Status.Phase, n.Spec.Finalizers, strings.Join(conds, "; ")))
		}
		return len(stuck) == 0, nil
	})
	return stuck
}
