//go:build k8sapi

package k8sapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"

	"metaflow-azure/tests/internal/controlplane"
)

// The chart tier: each Helm release of the plan is rendered with the real Helm engine (the
// pinned CLI that hack/helm.sh builds from the Go module proxy), from the pinned chart package,
// with exactly the values the program passes (the release's inputs in `plan --json`).

// sharedChartsDir holds the pinned charts, packaged unchanged from the official sources, next to
// the repository (../shared/charts); they are never copied into it.
func sharedChartsDir(root string) string { return filepath.Join(root, "..", "shared", "charts") }

// findHelm runs hack/helm.sh, which builds the pinned Helm CLI once into the tools cache.
func findHelm(ctx context.Context, root string, logf func(string, ...any)) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(root, "hack", "helm.sh"))
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = controlplane.NewLogWriter(logf, "helm.sh: ")
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("run hack/helm.sh: %w", err)
	}
	path := strings.TrimSpace(out.String())
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("hack/helm.sh: %w", err)
	}
	return path, nil
}

// chartSource is what `helm template` is given for a release: the pinned package from
// ../shared/charts when it is there, otherwise the chart from the release's repository.
func chartSource(root string, r helmRelease) []string {
	pkg := filepath.Join(sharedChartsDir(root), r.Chart+"-"+r.Version+".tgz")
	if _, err := os.Stat(pkg); err == nil {
		return []string{pkg}
	}
	return []string{r.Chart, "--repo", r.RepositoryOpts.Repo, "--version", r.Version}
}

// renderer renders releases with one Helm binary.
type renderer struct {
	helm string
	root string
	dir  string // scratch directory for values files
}

// render runs `helm template` for a release with the given values (the program's, or a variant
// of them) and returns the rendered YAML.
func (h *renderer) render(ctx context.Context, r helmRelease, values map[string]any) ([]byte, error) {
	data, err := json.Marshal(values)
	if err != nil {
		return nil, fmt.Errorf("encode values: %w", err)
	}
	f, err := os.CreateTemp(h.dir, r.Name+"-values-*.json")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	args := append([]string{"template", r.Name}, chartSource(h.root, r)...)
	args = append(args, "--namespace", r.Namespace, "--values", f.Name())
	cmd := exec.CommandContext(ctx, h.helm, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// showValues prints the chart's own values.yaml, from the same package render uses.
func (h *renderer) showValues(ctx context.Context, r helmRelease) ([]byte, error) {
	args := append([]string{"show", "values"}, chartSource(h.root, r)...)
	out, err := exec.CommandContext(ctx, h.helm, args...).Output()
	if err != nil {
		return nil, fmt.Errorf("helm %s: %w", strings.Join(args, " "), err)
	}
	return out, nil
}

// renderedRelease is one release rendered with the program's values.
type renderedRelease struct {
	release   helmRelease
	yaml      []byte
	manifests []manifest
}

// renderRelease renders a release with the program's values and decodes its objects.
func (h *renderer) renderRelease(ctx context.Context, r helmRelease) (*renderedRelease, error) {
	out, err := h.render(ctx, r, r.Values)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(h.dir, r.Name+"-rendered.yaml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		return nil, err
	}
	objs, err := decodeFile(path)
	if err != nil {
		return nil, err
	}
	rr := &renderedRelease{release: r, yaml: out}
	for _, o := range objs {
		rr.manifests = append(rr.manifests, manifest{path: path, obj: o})
	}
	return rr, nil
}

// setReleaseNamespace does what Helm does on install: a namespaced object without a namespace
// goes into the release's namespace (the argo-events chart leaves it out of its RoleBinding).
func setReleaseNamespace(a *applier, ms []manifest, namespace string) error {
	for _, m := range ms {
		if m.obj.GetNamespace() != "" {
			continue
		}
		gvk := m.obj.GroupVersionKind()
		mapping, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return fmt.Errorf("%s: %w", m, err)
		}
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			m.obj.SetNamespace(namespace)
		}
	}
	return nil
}

// valuePath is the path of one leaf of a values tree: map keys (string) and list indexes (int).
type valuePath []any

func (p valuePath) String() string {
	var b strings.Builder
	for _, s := range p {
		switch s := s.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s)
		case int:
			fmt.Fprintf(&b, "[%d]", s)
		}
	}
	return b.String()
}

// leaves lists the paths of every scalar in a values tree: every setting the program makes.
func leaves(v any, prefix valuePath) []valuePath {
	switch v := v.(type) {
	case map[string]any:
		var out []valuePath
		for _, k := range sortedKeys(v) {
			out = append(out, leaves(v[k], append(prefix[:len(prefix):len(prefix)], k))...)
		}
		return out
	case []any:
		var out []valuePath
		for i, e := range v {
			out = append(out, leaves(e, append(prefix[:len(prefix):len(prefix)], i))...)
		}
		return out
	default:
		return []valuePath{prefix}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// deepCopy copies a JSON-shaped values tree.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, e := range v {
			c[k] = deepCopy(e)
		}
		return c
	case []any:
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = deepCopy(e)
		}
		return c
	default:
		return v
	}
}

// withoutLeaf returns a copy of values with the leaf at p removed (a list element is removed
// from its list).
func withoutLeaf(values map[string]any, p valuePath) map[string]any {
	return removeAt(deepCopy(values), p).(map[string]any)
}

func removeAt(v any, p valuePath) any {
	switch s := p[0].(type) {
	case string:
		m := v.(map[string]any)
		if len(p) == 1 {
			delete(m, s)
		} else {
			m[s] = removeAt(m[s], p[1:])
		}
		return m
	default:
		l := v.([]any)
		i := s.(int)
		if len(p) == 1 {
			return append(l[:i:i], l[i+1:]...)
		}
		l[i] = removeAt(l[i], p[1:])
		return l
	}
}

// misspelt returns a copy of values whose last map key on the path to p is misspelt (its last
// two letters swapped), as a typing mistake would, and the misspelt key.
func misspelt(values map[string]any, p valuePath) (map[string]any, string) {
	last := -1
	for i, step := range p {
		if _, ok := step.(string); ok {
			last = i
		}
	}
	c := deepCopy(values).(map[string]any)
	var parent any = c
	for _, step := range p[:last] {
		switch s := step.(type) {
		case string:
			parent = parent.(map[string]any)[s]
		case int:
			parent = parent.([]any)[s]
		}
	}
	key := p[last].(string)
	wrong := key + "x"
	if n := len(key); n >= 2 && key[n-1] != key[n-2] {
		wrong = key[:n-2] + string(key[n-1]) + string(key[n-2])
	}
	m := parent.(map[string]any)
	m[wrong] = m[key]
	delete(m, key)
	return c, wrong
}
