package tests

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"metaflow-azure/services"
)

// Every namespace the stack owns carries a Pod Security level: restricted for the Argo
// namespaces, whose chart pods meet it with the values the stack passes; baseline for the
// services (root images, the UI's capabilities) and the tasks (task images run as root).
func TestNamespacesEnforcePodSecurity(t *testing.T) {
	t.Parallel()
	s := runStack(t, "prod")
	want := map[string]string{
		"metaflow": services.PodSecurityBaseline, "metaflow-jobs": services.PodSecurityBaseline,
		"argo": services.PodSecurityRestricted, "argo-events": services.PodSecurityRestricted,
	}
	for _, ns := range s.kinds("Namespace") {
		name := str(ns.Inputs, "metadata.name")
		v, _ := prop(ns.Inputs, "metadata.labels")
		got := ""
		if l, ok := v.ObjectValue()[resource.PropertyKey(services.PodSecurityEnforceLabel)]; ok {
			got = l.StringValue()
		}
		if got != want[name] {
			t.Errorf("namespace %s enforces %q, want %q", name, got, want[name])
		}
		delete(want, name)
	}
	if len(want) > 0 {
		t.Errorf("namespaces not declared: %v", want)
	}
}
