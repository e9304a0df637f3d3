// Package tests holds the whole-stack tests: the real program runs against the fake Azure and
// the tests assert what was registered — properties, options and the dependency graph.
package tests

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/fakeazure"
	"metaflow-azure/internal/program"
	"metaflow-azure/internal/stackconfig"
)

// stack is one run of the program.
type stack struct {
	t       *testing.T
	fake    *fakeazure.Azure
	outputs map[string]fakeazure.Output
	byURN   map[string]*fakeazure.Resource
}

// runStack runs the program with the repository's Pulumi.<name>.yaml plus overrides
// (PATH=VALUE as for `plan --config`).
func runStack(t *testing.T, name string, overrides ...string) *stack {
	t.Helper()
	s, err := tryStack(name, overrides...)
	if err != nil {
		t.Fatalf("running stack %s: %v", name, err)
	}
	s.t = t
	return s
}

func tryStack(name string, overrides ...string) (*stack, error) {
	return runWithPrevious(name, nil, overrides...)
}

// runWithPrevious runs the stack as if it had been deployed before with these stack outputs.
func runWithPrevious(name string, previous map[string]any, overrides ...string) (*stack, error) {
	return runDeployed(name, previous, nil, overrides...)
}

// runDeployed is runWithPrevious with the fake Azure set up first (what exists in Azure).
func runDeployed(name string, previous map[string]any, setup func(*fakeazure.Azure), overrides ...string) (*stack, error) {
	cfg, err := stackconfig.Load("..", name)
	if err != nil {
		return nil, err
	}
	for _, o := range overrides {
		path, value, _ := strings.Cut(o, "=")
		if err := cfg.Override(path, value); err != nil {
			return nil, err
		}
	}
	fake := fakeazure.New(cfg.Project, cfg.Stack)
	if previous != nil {
		fake.SetPreviousOutputs(previous)
	}
	if setup != nil {
		setup(fake)
	}
	outputs, err := fake.RunDeclare(cfg.Values, func(ctx *pulumi.Context) (pulumi.Map, error) {
		return program.Declare(ctx, cfg.Values)
	})
	s := &stack{fake: fake, outputs: outputs, byURN: map[string]*fakeazure.Resource{}}
	for _, r := range fake.Resources() {
		s.byURN[r.URN] = r
	}
	return s, err
}

// all returns the resources of a type.
func (s *stack) all(typ string) []*fakeazure.Resource {
	var out []*fakeazure.Resource
	for _, r := range s.fake.Resources() {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// one returns the single resource of a type and logical name.
func (s *stack) one(typ, name string) *fakeazure.Resource {
	s.t.Helper()
	for _, r := range s.all(typ) {
		if r.Name == name {
			return r
		}
	}
	s.t.Fatalf("no %s named %q was declared", typ, name)
	return nil
}

// k8s returns the Kubernetes object of a kind ("Deployment") by namespace and name.
func (s *stack) k8s(kind, namespace, name string) *fakeazure.Resource {
	s.t.Helper()
	for _, r := range s.fake.Resources() {
		if !strings.HasPrefix(r.Type, "kubernetes:") || str(r.Inputs, "kind") != kind {
			continue
		}
		if str(r.Inputs, "metadata.name") == name && str(r.Inputs, "metadata.namespace") == namespace {
			return r
		}
	}
	s.t.Fatalf("no %s %s/%s was declared", kind, namespace, name)
	return nil
}

// kinds returns every Kubernetes object of a kind.
func (s *stack) kinds(kind string) []*fakeazure.Resource {
	var out []*fakeazure.Resource
	for _, r := range s.fake.Resources() {
		if strings.HasPrefix(r.Type, "kubernetes:") && str(r.Inputs, "kind") == kind {
			out = append(out, r)
		}
	}
	return out
}

// waitsFor reports whether the engine must finish dep before r: through r's dependencies, its
// provider (whose own inputs depend on other resources) and, transitively, theirs.
func (s *stack) waitsFor(r, dep *fakeazure.Resource) bool {
	seen := map[string]bool{}
	var walk func(u string) bool
	walk = func(u string) bool {
		if seen[u] {
			return false
		}
		seen[u] = true
		cur, ok := s.byURN[u]
		if !ok {
			return false
		}
		next := append(slices.Clone(cur.Dependencies), cur.Provider)
		for _, n := range next {
			if n == dep.URN || walk(n) {
				return true
			}
		}
		return false
	}
	return walk(r.URN)
}

// prop walks a dotted path ("spec.template.spec.containers") in a property map.
func prop(m resource.PropertyMap, path string) (resource.PropertyValue, bool) {
	cur := resource.NewObjectProperty(m)
	for _, part := range strings.Split(path, ".") {
		for cur.IsSecret() {
			cur = cur.SecretValue().Element
		}
		if !cur.IsObject() {
			return resource.PropertyValue{}, false
		}
		v, ok := cur.ObjectValue()[resource.PropertyKey(part)]
		if !ok {
			return resource.PropertyValue{}, false
		}
		cur = v
	}
	return cur, true
}

func unsecret(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

func str(m resource.PropertyMap, path string) string {
	v, ok := prop(m, path)
	if !ok {
		return ""
	}
	v = unsecret(v)
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}

func num(m resource.PropertyMap, path string) float64 {
	v, ok := prop(m, path)
	if !ok || !unsecret(v).IsNumber() {
		return -1
	}
	return unsecret(v).NumberValue()
}

func boolean(m resource.PropertyMap, path string) (value, set bool) {
	v, ok := prop(m, path)
	if !ok || !unsecret(v).IsBool() {
		return false, false
	}
	return unsecret(v).BoolValue(), true
}

func isSecret(m resource.PropertyMap, path string) bool {
	v, ok := prop(m, path)
	return ok && v.IsSecret()
}

// list returns the elements of an array property as plain Go values.
func list(m resource.PropertyMap, path string) []resource.PropertyValue {
	v, ok := prop(m, path)
	if !ok || !unsecret(v).IsArray() {
		return nil
	}
	return unsecret(v).ArrayValue()
}

func strings_(vs []resource.PropertyValue) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		if unsecret(v).IsString() {
			out = append(out, unsecret(v).StringValue())
		}
	}
	return out
}
