package fakeprovider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/fakeazure"
)

// provider is one package's provider over a Cloud.
type provider struct {
	plugin.UnimplementedProvider
	pkg   string
	cloud *Cloud
}

var _ plugin.Provider = (*provider)(nil)

func (p *provider) Handshake(context.Context, plugin.ProviderHandshakeRequest) (*plugin.ProviderHandshakeResponse, error) {
	return &plugin.ProviderHandshakeResponse{AcceptSecrets: true, AcceptResources: true}, nil
}

func (p *provider) GetPluginInfo(context.Context) (plugin.PluginInfo, error) {
	v := semver.MustParse(Packages[p.pkg])
	return plugin.PluginInfo{Version: &v}, nil
}

// Attach is how the engine hands a provider it dials (PULUMI_DEBUG_PROVIDERS) its address, for
// logging back to it; these providers log nothing.
func (p *provider) Attach(string) error { return nil }

func (p *provider) Close() error                             { return nil }
func (p *provider) SignalCancellation(context.Context) error { return nil }
func (p *provider) Configure(context.Context, plugin.ConfigureRequest) (plugin.ConfigureResponse, error) {
	return plugin.ConfigureResponse{}, nil
}

func (p *provider) CheckConfig(_ context.Context, req plugin.CheckConfigRequest) (plugin.CheckConfigResponse, error) {
	return plugin.CheckConfigResponse{Properties: req.News}, nil
}

// DiffConfig: the program configures these providers only through the environment (the
// default providers of the stack), so a provider never changes.
func (p *provider) DiffConfig(context.Context, plugin.DiffConfigRequest) (plugin.DiffConfigResponse, error) {
	return plugin.DiffConfigResponse{Changes: plugin.DiffNone}, nil
}

// Check refuses what Azure Resource Manager would refuse (internal/fakeazure's conformance layer:
// the API contract of the version sent, role and region rules). Unknown values are left alone.
func (p *provider) Check(_ context.Context, req plugin.CheckRequest) (plugin.CheckResponse, error) {
	if err := p.owns(string(req.Type)); err != nil {
		return plugin.CheckResponse{}, err
	}
	var failures []plugin.CheckFailure
	for _, r := range p.cloud.azure.Conform(string(req.Type), req.Name, req.News) {
		failures = append(failures, plugin.CheckFailure{Property: topKey(r.Target), Reason: r.Error()})
	}
	return plugin.CheckResponse{Properties: req.News, Failures: failures}, nil
}

// topKey is the input a refusal's target is under ("properties.x" and "{name}" as given).
func topKey(target string) resource.PropertyKey {
	target = strings.Trim(target, "{}")
	if i := strings.IndexAny(target, ".["); i > 0 {
		target = target[:i]
	}
	return resource.PropertyKey(target)
}

func (p *provider) owns(typ string) error {
	if !strings.HasPrefix(typ, p.pkg+":") {
		return fmt.Errorf("fakeprovider: the %s provider got a %s", p.pkg, typ)
	}
	return nil
}

// Diff decides no change, update or replace. For azure-native the decision is Microsoft's
// contract's (armcontract.Diff); for azuread and random it is the Terraform schema's the Pulumi
// bridge wraps (replaceRules).
func (p *provider) Diff(_ context.Context, req plugin.DiffRequest) (plugin.DiffResponse, error) {
	olds, news := req.OldInputs, ignoring(req.OldInputs, req.NewInputs, req.IgnoreChanges)
	var changes []change
	if p.pkg == "azure-native" {
		cs, err := p.cloud.contracts.Diff(string(req.Type), olds, news)
		if err != nil {
			return plugin.DiffResponse{}, err
		}
		for _, c := range cs {
			changes = append(changes, change{input: c.Input, replace: c.Replace})
		}
	} else {
		var err error
		if changes, err = bridgedDiff(string(req.Type), olds, news); err != nil {
			return plugin.DiffResponse{}, err
		}
	}
	if len(changes) == 0 {
		return plugin.DiffResponse{Changes: plugin.DiffNone}, nil
	}
	res := plugin.DiffResponse{Changes: plugin.DiffSome, DetailedDiff: map[string]plugin.PropertyDiff{}}
	// azure-native replaces an explicitly named resource delete-first, since the new one has the
	// same ARM ID (provider.go: deleteBeforeReplace := len(replaces) > 0, unless Check set
	// __createBeforeDelete for a randomly auto-named resource; the program names every one).
	res.DeleteBeforeReplace = p.pkg == "azure-native"
	for _, c := range changes {
		k := resource.PropertyKey(c.input)
		kind := plugin.DiffUpdate
		if c.replace {
			kind = plugin.DiffUpdateReplace
			if !slices.Contains(res.ReplaceKeys, k) {
				res.ReplaceKeys = append(res.ReplaceKeys, k)
			}
		}
		if !slices.Contains(res.ChangedKeys, k) {
			res.ChangedKeys = append(res.ChangedKeys, k)
		}
		if prev, ok := res.DetailedDiff[c.input]; !ok || prev.Kind != plugin.DiffUpdateReplace {
			res.DetailedDiff[c.input] = plugin.PropertyDiff{Kind: kind, InputDiff: true}
		}
	}
	return res, nil
}

type change struct {
	input   string
	replace bool
}

// ignoring returns news with every ignoreChanges path set back to its old value (or removed),
// as the engine does before it asks a provider.
func ignoring(olds, news resource.PropertyMap, paths []string) resource.PropertyMap {
	if len(paths) == 0 {
		return news
	}
	out := news.Copy()
	for _, p := range paths {
		path, err := resource.ParsePropertyPath(p)
		if err != nil {
			continue
		}
		if old, ok := path.Get(resource.NewObjectProperty(olds)); ok {
			path.Set(resource.NewObjectProperty(out), old)
		} else {
			path.Delete(resource.NewObjectProperty(out))
		}
	}
	return out
}

// Create makes the resource in the fake Azure. A preview returns the inputs (azure-native's
// PreviewOutputs): what Azure computes, the ID included, is unknown until it is created.
func (p *provider) Create(_ context.Context, req plugin.CreateRequest) (plugin.CreateResponse, error) {
	if err := p.owns(string(req.Type)); err != nil {
		return plugin.CreateResponse{}, err
	}
	if req.Preview {
		return plugin.CreateResponse{Properties: req.Properties}, nil
	}
	if err := p.refuse(string(req.Type), req.Name, req.Properties); err != nil {
		return plugin.CreateResponse{}, err
	}
	id, outs, err := fakeazure.Fill(string(req.Type), req.Name, req.Properties)
	if err != nil {
		return plugin.CreateResponse{}, err
	}
	if err := p.cloud.create(req.URN, string(req.Type), req.Name, id, req.Properties, outs); err != nil {
		return plugin.CreateResponse{}, err
	}
	return plugin.CreateResponse{ID: resource.ID(id), Properties: outs, Status: resource.StatusOK}, nil
}

func (p *provider) refuse(typ, name string, in resource.PropertyMap) error {
	refusals := p.cloud.azure.Conform(typ, name, in)
	if len(refusals) == 0 {
		return nil
	}
	errs := make([]error, len(refusals))
	for i := range refusals {
		errs[i] = &refusals[i]
	}
	return errors.Join(errs...)
}

// Read returns the resource as it exists, or no ID when it is gone (refresh then drops it).
func (p *provider) Read(_ context.Context, req plugin.ReadRequest) (plugin.ReadResponse, error) {
	r, ok := p.cloud.Get(req.URN, string(req.Type), string(req.ID))
	p.cloud.record(Op{Kind: "read", URN: string(req.URN), Type: string(req.Type), ID: string(req.ID)}, nil)
	if !ok {
		return plugin.ReadResponse{Status: resource.StatusOK}, nil
	}
	return plugin.ReadResponse{
		ReadResult: plugin.ReadResult{ID: resource.ID(r.ID), Inputs: r.Inputs.Copy(), Outputs: r.Outputs.Copy()},
		Status:     resource.StatusOK,
	}, nil
}

// Update applies new inputs to the existing resource: the same PUT as a create, so the same ID.
// A preview returns what azure-native's does: the new inputs, with only name and location
// carried over from the old state ("universally immutable", provider.go Update); every other
// output Azure computes is unknown until the update has run.
func (p *provider) Update(_ context.Context, req plugin.UpdateRequest) (plugin.UpdateResponse, error) {
	if err := p.owns(string(req.Type)); err != nil {
		return plugin.UpdateResponse{}, err
	}
	if req.Preview {
		if p.pkg != "azure-native" {
			outs := req.OldOutputs.Copy()
			maps.Copy(outs, req.NewInputs)
			return plugin.UpdateResponse{Properties: outs}, nil
		}
		outs := previewOutputs(req.NewInputs, req.OldOutputs)
		for _, k := range []resource.PropertyKey{"name", "location"} {
			if v, ok := req.OldOutputs[k]; ok {
				outs[k] = v
			}
		}
		return plugin.UpdateResponse{Properties: outs}, nil
	}
	if err := p.refuse(string(req.Type), req.Name, req.NewInputs); err != nil {
		return plugin.UpdateResponse{}, err
	}
	id, outs, err := fakeazure.Fill(string(req.Type), req.Name, req.NewInputs)
	if err != nil {
		return plugin.UpdateResponse{}, err
	}
	if id != string(req.ID) {
		return plugin.UpdateResponse{}, fmt.Errorf("fakeprovider: an update of %s would move it from %s to %s: a change of its identity must be a replacement", req.URN, req.ID, id)
	}
	if err := p.cloud.update(req.URN, string(req.Type), req.Name, id, req.NewInputs, outs); err != nil {
		return plugin.UpdateResponse{}, err
	}
	return plugin.UpdateResponse{Properties: outs, Status: resource.StatusOK}, nil
}

// previewOutputs is what azure-native's PreviewOutputs makes of an update's new inputs: the
// outputs' shape, with each value the input gives and every value only Azure computes (read-only
// properties, at any depth of objects and arrays) unknown.
func previewOutputs(inputs, old resource.PropertyMap) resource.PropertyMap {
	out := inputs.Copy()
	for k, o := range old {
		in, ok := inputs[k]
		if !ok {
			out[k] = resource.MakeComputed(resource.NewStringProperty(""))
			continue
		}
		out[k] = previewValue(in, o)
	}
	return out
}

func previewValue(in, old resource.PropertyValue) resource.PropertyValue {
	switch {
	case in.IsObject() && old.IsObject():
		return resource.NewObjectProperty(previewOutputs(in.ObjectValue(), old.ObjectValue()))
	case in.IsArray() && old.IsArray() && len(in.ArrayValue()) == len(old.ArrayValue()):
		items := make([]resource.PropertyValue, len(in.ArrayValue()))
		for i := range items {
			items[i] = previewValue(in.ArrayValue()[i], old.ArrayValue()[i])
		}
		return resource.NewArrayProperty(items)
	}
	return in
}

func (p *provider) Delete(_ context.Context, req plugin.DeleteRequest) (plugin.DeleteResponse, error) {
	if err := p.owns(string(req.Type)); err != nil {
		return plugin.DeleteResponse{}, err
	}
	return plugin.DeleteResponse{Status: resource.StatusOK}, p.cloud.delete(req.URN, string(req.Type), string(req.ID))
}

// Invoke answers functions as the fake does for the mock monitor.
func (p *provider) Invoke(_ context.Context, req plugin.InvokeRequest) (plugin.InvokeResponse, error) {
	if err := p.owns(string(req.Tok)); err != nil {
		return plugin.InvokeResponse{}, err
	}
	out, err := p.cloud.azure.Call(pulumi.MockCallArgs{Token: string(req.Tok), Args: req.Args})
	if err != nil {
		return plugin.InvokeResponse{}, err
	}
	return plugin.InvokeResponse{Properties: out}, nil
}
