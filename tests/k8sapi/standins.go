//go:build k8sapi

package k8sapi

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// standIn is an object the test creates in place of a Helm chart's, and why.
type standIn struct {
	obj    *unstructured.Unstructured
	reason string
}

// standIns returns what the bindings among ms reference, is missing from ms, and one of the
// Helm releases would create: both Argo charts name their objects <release>-<component>
// (argo-workflows-server, ...), ServiceAccounts in the release's namespace. The charts cannot
// be fetched offline, so such objects get explicit, logged stand-ins; any other missing name
// (a typo, the wrong namespace) stays a failure for the references check.
func standIns(ms []manifest, releases []helmRelease) []standIn {
	declaredNames := map[string]bool{}
	namespaces := map[string]bool{}
	for _, m := range ms {
		declaredNames[m.obj.GetKind()+"/"+m.obj.GetNamespace()+"/"+m.obj.GetName()] = true
		if m.obj.GetKind() == "Namespace" {
			namespaces[m.obj.GetName()] = true
		}
	}
	var out []standIn
	add := func(kind, ns, name, by string) {
		key := kind + "/" + ns + "/" + name
		if declaredNames[key] || !namespaces[ns] && ns != "" || !fromRelease(releases, ns, name) {
			return
		}
		declaredNames[key] = true
		o := &unstructured.Unstructured{}
		o.SetKind(kind)
		o.SetName(name)
		o.SetNamespace(ns)
		o.SetAPIVersion("v1")
		if kind == "ClusterRole" {
			o.SetAPIVersion("rbac.authorization.k8s.io/v1")
		}
		o.SetLabels(map[string]string{"metaflow-azure.test/stand-in": "true"})
		out = append(out, standIn{obj: o, reason: fmt.Sprintf("the Helm chart creates it; referenced by %s", by)})
	}
	rbs, _ := declared[rbacv1.RoleBinding](ms, "RoleBinding")
	for _, rb := range rbs {
		by := fmt.Sprintf("RoleBinding %s/%s", rb.Namespace, rb.Name)
		addBindingStandIns(add, by, rb.Namespace, rb.RoleRef, rb.Subjects)
	}
	crbs, _ := declared[rbacv1.ClusterRoleBinding](ms, "ClusterRoleBinding")
	for _, crb := range crbs {
		addBindingStandIns(add, "ClusterRoleBinding "+crb.Name, "", crb.RoleRef, crb.Subjects)
	}
	return out
}

func addBindingStandIns(add func(kind, ns, name, by string), by, ns string, ref rbacv1.RoleRef, subjects []rbacv1.Subject) {
	if ref.Kind == "ClusterRole" {
		add("ClusterRole", "", ref.Name, by)
	}
	for _, s := range subjects {
		if s.Kind != rbacv1.ServiceAccountKind {
			continue
		}
		sns := s.Namespace
		if sns == "" {
			sns = ns
		}
		add("ServiceAccount", sns, s.Name, by)
	}
}

// fromRelease reports whether a release's chart creates the object: its name starts with
// "<release>-" and, for a namespaced object, it lives in the release's namespace.
func fromRelease(releases []helmRelease, ns, name string) bool {
	return slices.ContainsFunc(releases, func(r helmRelease) bool {
		return strings.HasPrefix(name, r.Name+"-") && (ns == "" || ns == r.Namespace)
	})
}
