//go:build k8sapi

package k8sapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"metaflow-azure/tests/internal/controlplane"
)

// fieldManager owns every field the test applies.
const fieldManager = "metaflow-azure-test"

// manifest is one object read from a file.
type manifest struct {
	path string
	obj  *unstructured.Unstructured
}

func (m manifest) String() string { return describe(m.obj) + " (" + filepath.Base(m.path) + ")" }

// describe names an object the way the messages do: Kind namespace/name.
func describe(o *unstructured.Unstructured) string {
	if o.GetNamespace() == "" {
		return o.GetKind() + " " + o.GetName()
	}
	return o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
}

// loadManifests reads every YAML or JSON file under dir. The plan writes one object per file;
// multi-document files are accepted too, so fixtures and CRD bundles load the same way.
func loadManifests(dir string) ([]manifest, error) {
	var out []manifest
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
		default:
			return nil
		}
		if d.IsDir() {
			return nil
		}
		objs, err := decodeFile(path)
		if err != nil {
			return err
		}
		for _, o := range objs {
			out = append(out, manifest{path: path, obj: o})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load manifests from %s: %w", dir, err)
	}
	return out, nil
}

func decodeFile(path string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("decode %s: %w", path, err)
		}
		if len(m) == 0 {
			continue // an empty document between separators
		}
		o := &unstructured.Unstructured{Object: m}
		if o.GetKind() == "" || o.GetAPIVersion() == "" {
			return nil, fmt.Errorf("decode %s: object without apiVersion or kind", path)
		}
		out = append(out, o)
	}
}

// ofKind returns the manifests of one kind.
func ofKind(ms []manifest, kind string) []manifest {
	var out []manifest
	for _, m := range ms {
		if m.obj.GetKind() == kind {
			out = append(out, m)
		}
	}
	return out
}

// applier server-side-applies unstructured objects, finding each kind's resource through
// discovery. The mapper caches discovery, so it is reset after CRDs are established.
type applier struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

func newApplier(c *controlplane.Cluster) (*applier, error) {
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		return nil, fmt.Errorf("build dynamic client: %w", err)
	}
	cached := memory.NewMemCacheClient(c.Client.Discovery())
	return &applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(cached)}, nil
}

// resourceFor finds the API resource for an object and the namespace to use for it.
func (a *applier) resourceFor(o *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := o.GroupVersionKind()
	mapping, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("find resource for %s: %w", gvk, err)
	}
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		return a.dyn.Resource(mapping.Resource), nil
	}
	if o.GetNamespace() == "" {
		return nil, fmt.Errorf("namespaced %s has no metadata.namespace", gvk.Kind)
	}
	return a.dyn.Resource(mapping.Resource).Namespace(o.GetNamespace()), nil
}

// apply server-side-applies one object; dryRun asks the server to validate without storing.
func (a *applier) apply(ctx context.Context, o *unstructured.Unstructured, dryRun bool) error {
	ri, err := a.resourceFor(o)
	if err != nil {
		return err
	}
	data, err := o.MarshalJSON()
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	force := true
	opts := metav1.PatchOptions{FieldManager: fieldManager, Force: &force}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if _, err := ri.Patch(ctx, o.GetName(), types.ApplyPatchType, data, opts); err != nil {
		return fmt.Errorf("server-side apply: %w", err)
	}
	return nil
}

// applyAll applies manifests in order and returns every failure, not just the first, so one
// run shows all the objects the server rejects.
func (a *applier) applyAll(ctx context.Context, ms []manifest) []error {
	var errs []error
	for _, m := range ms {
		if err := a.apply(ctx, m.obj, false); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m, err))
		}
	}
	return errs
}

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// applyCRDs applies CRDs, waits until every one is Established, and resets the discovery cache
// so the custom kinds can be applied next.
func (a *applier) applyCRDs(ctx context.Context, crds []manifest) error {
	if errs := a.applyAll(ctx, crds); len(errs) > 0 {
		return fmt.Errorf("apply crds: %w", errors.Join(errs...))
	}
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	pending := make([]string, 0, len(crds))
	for _, m := range crds {
		pending = append(pending, m.obj.GetName())
	}
	err := controlplane.Poll(waitCtx, 200*time.Millisecond, func() (bool, error) {
		pending = slices.DeleteFunc(pending, func(name string) bool {
			crd, err := a.dyn.Resource(crdResource).Get(waitCtx, name, metav1.GetOptions{})
			return err == nil && conditionTrue(crd, "Established")
		})
		return len(pending) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("crds not established: %v: %w", pending, err)
	}
	a.mapper.Reset()
	return nil
}

// conditionTrue reports whether an unstructured object's status has condition type=True.
func conditionTrue(o *unstructured.Unstructured, condType string) bool {
	conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == condType {
			return m["status"] == "True"
		}
	}
	return false
}

// loadCRDs reads the CustomResourceDefinitions of a directory, skipping its kustomization.
func loadCRDs(dir string) ([]manifest, error) {
	ms, err := loadManifests(dir)
	if err != nil {
		return nil, err
	}
	crds := ofKind(ms, "CustomResourceDefinition")
	if len(crds) == 0 {
		return nil, fmt.Errorf("no CustomResourceDefinition in %s", dir)
	}
	return crds, nil
}
