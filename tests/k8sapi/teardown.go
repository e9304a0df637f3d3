//go:build k8sapi

package k8sapi

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"

	"metaflow-azure/tests/internal/controlplane"
)

// deleteNamespaces deletes the namespaces, waits until the namespace controller has removed
// them, and then lists every namespaced resource type in them. It returns a message for each
// namespace still there at the deadline and for each object left behind.
func deleteNamespaces(ctx context.Context, c *controlplane.Cluster, dyn dynamic.Interface, names []string, deadline time.Duration) []string {
	for _, ns := range names {
		err := c.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return []string{fmt.Sprintf("delete namespace %s: %v", ns, err)}
		}
	}
	waitCtx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	remaining := slices.Clone(names)
	_ = controlplane.Poll(waitCtx, 250*time.Millisecond, func() (bool, error) {
		remaining = slices.DeleteFunc(remaining, func(ns string) bool {
			_, err := c.Client.CoreV1().Namespaces().Get(waitCtx, ns, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		})
		return len(remaining) == 0, nil
	})
	var problems []string
	for _, ns := range remaining {
		problems = append(problems, fmt.Sprintf("namespace %s not deleted after %s: %s", ns, deadline, namespaceStatus(ctx, c, ns)))
	}
	left, err := leftovers(ctx, c.Client.Discovery(), dyn, names)
	if err != nil {
		return append(problems, err.Error())
	}
	for _, l := range left {
		problems = append(problems, "left behind: "+l)
	}
	return problems
}

// namespaceStatus explains a namespace stuck in Terminating by its conditions.
func namespaceStatus(ctx context.Context, c *controlplane.Cluster, ns string) string {
	n, err := c.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	parts := []string{"phase " + string(n.Status.Phase)}
	for _, cond := range n.Status.Conditions {
		if cond.Status == "True" {
			parts = append(parts, fmt.Sprintf("%s: %s", cond.Type, cond.Message))
		}
	}
	return strings.Join(parts, "; ")
}

// leftovers lists every object of every namespaced, listable resource type in the namespaces.
func leftovers(ctx context.Context, disc discovery.DiscoveryInterface, dyn dynamic.Interface, namespaces []string) ([]string, error) {
	lists, err := disc.ServerPreferredNamespacedResources()
	if err != nil && len(lists) == 0 {
		return nil, fmt.Errorf("discover namespaced resources: %w", err)
	}
	var out []string
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			return nil, fmt.Errorf("parse group version %s: %w", list.GroupVersion, err)
		}
		for _, r := range list.APIResources {
			if !slices.Contains(r.Verbs, "list") || strings.Contains(r.Name, "/") {
				continue
			}
			for _, ns := range namespaces {
				objs, err := dyn.Resource(gv.WithResource(r.Name)).Namespace(ns).List(ctx, metav1.ListOptions{})
				if err != nil {
					return nil, fmt.Errorf("list %s in %s: %w", r.Name, ns, err)
				}
				for _, o := range objs.Items {
					out = append(out, fmt.Sprintf("%s %s/%s (finalizers %v)", r.Kind, ns, o.GetName(), o.GetFinalizers()))
				}
			}
		}
	}
	return out, nil
}
