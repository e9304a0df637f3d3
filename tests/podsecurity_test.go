package tests

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"metaflow-azure/internal/images"
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

// TestContainersAreReadOnlyAndBounded: every container of the stack's services and migrations
// runs with a read-only root filesystem, writing only to emptyDirs at the paths its image writes
// to (package images; the runtime tier proves each is needed), and with CPU and memory limits.
func TestContainersAreReadOnlyAndBounded(t *testing.T) {
	t.Parallel()
	s := runStack(t, "prod")
	writable := map[string][]string{
		services.MetadataServiceName: nil,
		services.UIBackendName:       images.UIBackendWritablePaths,
		services.UIStaticName:        images.UIWritablePaths,
	}
	workloads := s.kinds("Deployment")
	workloads = append(workloads, s.kinds("Job")...)
	checked := 0
	for _, w := range workloads {
		name := str(w.Inputs, "metadata.name")
		want, known := writable[name]
		if !known && !strings.HasPrefix(name, "metaflow-db-migrations-") {
			continue
		}
		volumes := map[string]bool{}
		for _, v := range list(w.Inputs, "spec.template.spec.volumes") {
			if _, ok := v.ObjectValue()["emptyDir"]; ok {
				volumes[str(v.ObjectValue(), "name")] = true
			}
		}
		for _, c := range containers(w) {
			checked++
			if ro, _ := boolean(c, "securityContext.readOnlyRootFilesystem"); !ro {
				t.Errorf("%s: the root filesystem is writable", name)
			}
			var mounted []string
			for _, m := range list(c, "volumeMounts") {
				if !volumes[str(m.ObjectValue(), "name")] {
					t.Errorf("%s mounts %s, which is not an emptyDir of the pod", name, str(m.ObjectValue(), "name"))
				}
				mounted = append(mounted, str(m.ObjectValue(), "mountPath"))
			}
			if !slices.Equal(mounted, want) {
				t.Errorf("%s writes to %v, want exactly %v", name, mounted, want)
			}
			for _, r := range []string{"cpu", "memory"} {
				if str(c, "resources.limits."+r) == "" {
					t.Errorf("%s has no %s limit", name, r)
				}
			}
		}
	}
	if checked != 4 {
		t.Errorf("checked %d containers, want the metadata service, UI backend, UI and migrations", checked)
	}
}
