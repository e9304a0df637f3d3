// Package plan runs the stack program, unchanged, against the fake Azure and describes what it
// declares: every resource with its inputs, outputs, parent, provider and dependencies, and the
// stack outputs. It needs no credentials, no network and no Pulumi CLI.
package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/fakeazure"
	"metaflow-azure/internal/stackconfig"
)

// Redacted stands for a secret value when secrets are not shown.
const Redacted = "[secret]"

// Plan is what a stack declares.
type Plan struct {
	Project       string         `json:"project"`
	Stack         string         `json:"stack"`
	Resources     []Resource     `json:"resources"`
	Outputs       map[string]any `json:"outputs"`
	SecretOutputs []string       `json:"secretOutputs"`
}

// Resource is one declared resource.
type Resource struct {
	URN          string         `json:"urn"`
	Type         string         `json:"type"`
	Name         string         `json:"name"`
	Custom       bool           `json:"custom"`
	Parent       string         `json:"parent"`
	Provider     string         `json:"provider"`
	Protect      bool           `json:"protect"`
	Dependencies []string       `json:"dependencies"`
	Inputs       map[string]any `json:"inputs"`
	Outputs      map[string]any `json:"outputs"`
}

// Options select what to plan and how to show it.
type Options struct {
	// Config is the stack's configuration (Pulumi.yaml + Pulumi.<stack>.yaml + overrides).
	Config *stackconfig.Config
	// Program returns the stack outputs instead of exporting them (program.Declare).
	Program func(ctx *pulumi.Context, config map[string]string) (pulumi.Map, error)
	// ShowSecrets prints secret values instead of Redacted.
	ShowSecrets bool
}

// Build runs the program against the fake Azure.
func Build(o Options) (*Plan, error) {
	if o.Config == nil || o.Program == nil {
		return nil, fmt.Errorf("internal-error: plan needs a config and a program")
	}
	fake := fakeazure.New(o.Config.Project, o.Config.Stack)
	outputs, err := fake.RunDeclare(o.Config.Values, func(ctx *pulumi.Context) (pulumi.Map, error) {
		return o.Program(ctx, o.Config.Values)
	})
	if err != nil {
		return nil, err
	}
	p := &Plan{Project: o.Config.Project, Stack: o.Config.Stack, Outputs: map[string]any{}, SecretOutputs: []string{}}
	for _, r := range fake.Resources() {
		p.Resources = append(p.Resources, Resource{
			URN: r.URN, Type: r.Type, Name: r.Name, Custom: r.Custom,
			Parent: rootless(r.Parent), Provider: r.Provider, Protect: r.Protect,
			Dependencies: nonNil(r.Dependencies),
			Inputs:       plainMap(r.Inputs, o.ShowSecrets),
			Outputs:      plainMap(r.Outputs, o.ShowSecrets),
		})
	}
	for name, out := range outputs {
		if out.Secret {
			p.SecretOutputs = append(p.SecretOutputs, name)
			if !o.ShowSecrets {
				p.Outputs[name] = Redacted
				continue
			}
		}
		p.Outputs[name] = out.Value
	}
	slices.Sort(p.SecretOutputs)
	return p, nil
}

// rootless drops the parent when it is the stack itself, which every top-level resource has.
func rootless(parent string) string {
	if resource.URN(parent).IsValid() && resource.URN(parent).QualifiedType() == resource.RootStackType {
		return ""
	}
	return parent
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// plainMap turns a property map into JSON-ready values.
func plainMap(m resource.PropertyMap, showSecrets bool) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if strings.HasPrefix(string(k), "__") {
			continue
		}
		out[string(k)] = plain(v, showSecrets)
	}
	return out
}

func plain(v resource.PropertyValue, showSecrets bool) any {
	switch {
	case v.IsSecret():
		if !showSecrets {
			return redact(v.SecretValue().Element)
		}
		return plain(v.SecretValue().Element, showSecrets)
	case v.IsNull():
		return nil
	case v.IsString():
		return v.StringValue()
	case v.IsBool():
		return v.BoolValue()
	case v.IsNumber():
		n := v.NumberValue()
		if n == float64(int64(n)) {
			return int64(n)
		}
		return n
	case v.IsArray():
		arr := v.ArrayValue()
		out := make([]any, len(arr))
		for i, item := range arr {
			out[i] = plain(item, showSecrets)
		}
		return out
	case v.IsObject():
		return plainMap(v.ObjectValue(), showSecrets)
	case v.IsComputed(), v.IsOutput():
		return "[unknown]"
	case v.IsResourceReference():
		return string(v.ResourceReferenceValue().URN)
	case v.IsAsset():
		return v.AssetValue().Hash
	case v.IsArchive():
		return v.ArchiveValue().Hash
	}
	return fmt.Sprint(v.V)
}

// redact hides a secret's values but keeps its shape, so a redacted Kubernetes Secret is still a
// valid object (stringData stays a map of strings).
func redact(v resource.PropertyValue) any {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	switch {
	case v.IsObject():
		out := map[string]any{}
		for k, item := range v.ObjectValue() {
			out[string(k)] = redact(item)
		}
		return out
	case v.IsArray():
		out := make([]any, len(v.ArrayValue()))
		for i, item := range v.ArrayValue() {
			out[i] = redact(item)
		}
		return out
	}
	return Redacted
}
