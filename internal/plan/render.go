package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"metaflow-azure/internal/azurefacts"
)

// WriteJSON writes the plan as exactly one JSON object.
func (p *Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return fmt.Errorf("encoding the plan: %w", err)
	}
	return nil
}

// keyProperties are the inputs worth a glance in the tree, per type prefix.
var keyProperties = []string{
	"resourceGroupName", "location", "accountName", "containerName", "serverName", "resourceName",
	"virtualNetworkName", "subnetName", "addressPrefix", "privateZoneName", "kind", "version",
	"kubernetesVersion", "vmSize", "minCount", "maxCount", "roleDefinitionId", "principalType",
	"scope", "displayName", "chart", "minimumTlsVersion", "allowBlobPublicAccess",
	"allowSharedKeyAccess", "configurationName", "value", "agentPoolName", "mode",
}

// WriteText writes the plan as a tree of components and resources with key properties, then the
// outputs.
func (p *Plan) WriteText(w io.Writer) error {
	children := map[string][]Resource{}
	for _, r := range p.Resources {
		children[r.Parent] = append(children[r.Parent], r)
	}
	custom := 0
	for _, r := range p.Resources {
		if r.Custom {
			custom++
		}
	}
	fmt.Fprintf(w, "%s/%s: %d resources in %d components (offline plan, fake Azure)\n\n", p.Project, p.Stack, custom, len(p.Resources)-custom)
	var walk func(parent, indent string)
	walk = func(parent, indent string) {
		list := children[parent]
		for i, r := range list {
			branch, next := "├─ ", "│  "
			if i == len(list)-1 {
				branch, next = "└─ ", "   "
			}
			fmt.Fprintf(w, "%s%s%s %s%s\n", indent, branch, r.Type, r.Name, protected(r))
			if props := summary(r); props != "" {
				fmt.Fprintf(w, "%s%s    %s\n", indent, next, props)
			}
			walk(r.URN, indent+next)
		}
	}
	walk("", "")
	fmt.Fprintf(w, "\nOutputs:\n")
	names := make([]string, 0, len(p.Outputs))
	for n := range p.Outputs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-30s %s\n", n, short(p.Outputs[n], 100))
	}
	return nil
}

func protected(r Resource) string {
	if r.Protect {
		return "  [protected]"
	}
	return ""
}

func summary(r Resource) string {
	if !r.Custom {
		return ""
	}
	var parts []string
	if strings.HasPrefix(r.Type, "kubernetes:") {
		if meta, ok := r.Inputs["metadata"].(map[string]any); ok {
			name, _ := meta["name"].(string)
			if ns, _ := meta["namespace"].(string); ns != "" {
				name = ns + "/" + name
			}
			parts = append(parts, "name="+name)
		}
		if v, ok := r.Inputs["version"]; ok {
			parts = append(parts, fmt.Sprintf("chart=%v@%v", r.Inputs["chart"], v))
		}
		return strings.Join(parts, " ")
	}
	if strings.HasSuffix(r.Type, ":RoleAssignment") {
		return roleAssignmentSummary(r)
	}
	for _, k := range keyProperties {
		v, ok := r.Inputs[k]
		if !ok {
			continue
		}
		switch v.(type) {
		case map[string]any, []any:
			continue
		}
		parts = append(parts, k+"="+short(v, 60))
	}
	if sku, ok := r.Inputs["sku"].(map[string]any); ok {
		parts = append(parts, "sku="+short(sku["name"], 40))
	}
	return strings.Join(parts, " ")
}

// roleAssignmentSummary says what is granted, to whom and where: the role by name (from
// Microsoft's built-in roles table), the principal's type and the scope below the subscription.
func roleAssignmentSummary(r Resource) string {
	def, _ := r.Inputs["roleDefinitionId"].(string)
	role, ok := azurefacts.RoleName(def)
	if !ok {
		role = "unknown role " + def[strings.LastIndex(def, "/")+1:]
	}
	parts := []string{fmt.Sprintf("role=%q", role)}
	if pt, ok := r.Inputs["principalType"].(string); ok {
		parts = append(parts, "principalType="+pt)
	}
	scope, _ := r.Inputs["scope"].(string)
	parts = append(parts, "scope="+scopeBelowSubscription(scope))
	return strings.Join(parts, " ")
}

// scopeBelowSubscription shortens an ARM scope to what follows the subscription, e.g.
// "rg-x/Microsoft.Storage/storageAccounts/st/blobServices/default/containers/metaflow".
func scopeBelowSubscription(scope string) string {
	rest := scope
	if i := strings.Index(rest, "/resourceGroups/"); i >= 0 {
		rest = rest[i+len("/resourceGroups/"):]
	}
	return strings.Replace(rest, "/providers/", "/", 1)
}

func short(v any, max int) string {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	default:
		b, _ := json.Marshal(x)
		s = string(b)
	}
	s = strings.ReplaceAll(s, "\n", "⏎")
	if len(s) > max {
		s = s[:max-1] + "…"
	}
	return s
}

// Skipped is a Helm release left out of the manifests.
type Skipped struct {
	Name, Chart, Version, Repository string
}

var unsafeFileChars = regexp.MustCompile(`[^a-z0-9.-]+`)

// WriteManifests writes every Kubernetes object the stack declares to dir, one YAML file each,
// ready for `kubectl apply --server-side -f dir`. Helm releases cannot be rendered offline (their
// charts are fetched at deploy time); they are returned so the caller can say so.
func (p *Plan) WriteManifests(dir string) ([]Skipped, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	var skipped []Skipped
	n := 0
	for _, r := range p.Resources {
		if !r.Custom || !strings.HasPrefix(r.Type, "kubernetes:") {
			continue
		}
		if r.Type == "kubernetes:helm.sh/v3:Release" || r.Type == "kubernetes:helm.sh/v4:Chart" {
			repo := ""
			if opts, ok := r.Inputs["repositoryOpts"].(map[string]any); ok {
				repo, _ = opts["repo"].(string)
			}
			skipped = append(skipped, Skipped{Name: fmt.Sprint(r.Inputs["name"]), Chart: fmt.Sprint(r.Inputs["chart"]), Version: fmt.Sprint(r.Inputs["version"]), Repository: repo})
			continue
		}
		obj := r.Inputs
		kind, _ := obj["kind"].(string)
		meta, _ := obj["metadata"].(map[string]any)
		if kind == "" || meta == nil {
			return nil, fmt.Errorf("internal-error: %s has no kind or metadata", r.URN)
		}
		n++
		name := fmt.Sprintf("%03d-%s-%v-%v.yaml", n, kind, meta["namespace"], meta["name"])
		name = unsafeFileChars.ReplaceAllString(strings.ToLower(strings.ReplaceAll(name, "<nil>", "cluster")), "-")
		doc, err := yaml.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("encoding %s: %w", r.URN, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), doc, 0o644); err != nil {
			return nil, fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return skipped, nil
}
