package deployerrole

import (
	"fmt"
	"path"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/fakeazure"
	"metaflow-azure/internal/stackconfig"
)

// DeclareFunc is the stack program in the form that returns its outputs (program.Declare).
type DeclareFunc func(ctx *pulumi.Context, config map[string]string) (pulumi.Map, error)

// Declared is what one or more stacks declare, as far as the deployer's rights depend on it.
type Declared struct {
	// Stacks are the stack names, in the order given.
	Stacks []string
	// Tokens maps every resource type and function token the stacks use to the stacks using it.
	Tokens map[string][]string
	// KubernetesAzureRBAC are the stacks whose AKS cluster authorizes Kubernetes requests with
	// Azure RBAC (aadProfile.enableAzureRBAC).
	KubernetesAzureRBAC []string
	// AssignedRoles are the GUIDs of the role definitions the stacks assign, sorted.
	AssignedRoles []string
	// ResourceGroups are the resource groups the stacks declare, sorted.
	ResourceGroups []string
}

// Collect runs the program of each stack offline, against the fake Azure the plan uses, and
// gathers its resource types and the functions it calls. Functions matter too: the AKS
// credentials call is an ARM POST with its own action, which the plan's resources do not show.
func Collect(configs []*stackconfig.Config, declare DeclareFunc) (*Declared, error) {
	if declare == nil {
		return nil, fmt.Errorf("internal-error: Collect needs the stack program")
	}
	d := &Declared{Tokens: map[string][]string{}}
	for _, cfg := range configs {
		fake := fakeazure.New(cfg.Project, cfg.Stack)
		if _, err := fake.RunDeclare(cfg.Values, func(ctx *pulumi.Context) (pulumi.Map, error) {
			return declare(ctx, cfg.Values)
		}); err != nil {
			return nil, fmt.Errorf("planning stack %q: %w", cfg.Stack, err)
		}
		d.Stacks = append(d.Stacks, cfg.Stack)
		tokens := map[string]bool{}
		for _, r := range fake.Resources() {
			tokens[r.Type] = true
			switch r.Type {
			case "azure-native:containerservice/v20241001:ManagedCluster":
				if boolAt(r.Inputs, "aadProfile", "enableAzureRBAC") && !slices.Contains(d.KubernetesAzureRBAC, cfg.Stack) {
					d.KubernetesAzureRBAC = append(d.KubernetesAzureRBAC, cfg.Stack)
				}
			case "azure-native:authorization:RoleAssignment":
				// roleDefinitionId is /subscriptions/ID/providers/Microsoft.Authorization/roleDefinitions/GUID.
				if id := stringAt(r.Inputs, "roleDefinitionId"); id != "" {
					d.AssignedRoles = appendUnique(d.AssignedRoles, path.Base(id))
				}
			case "azure-native:resources/v20241101:ResourceGroup":
				if name := stringAt(r.Inputs, "resourceGroupName"); name != "" {
					d.ResourceGroups = appendUnique(d.ResourceGroups, name)
				}
			}
		}
		for _, inv := range fake.Invokes() {
			tokens[inv.Token] = true
		}
		for t := range tokens {
			d.Tokens[t] = append(d.Tokens[t], cfg.Stack)
		}
	}
	slices.Sort(d.AssignedRoles)
	slices.Sort(d.ResourceGroups)
	return d, nil
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// valueAt follows keys through nested objects, looking through secrets.
func valueAt(m resource.PropertyMap, keys ...string) (resource.PropertyValue, bool) {
	var v resource.PropertyValue
	for i, k := range keys {
		if i > 0 {
			if !v.IsObject() {
				return resource.PropertyValue{}, false
			}
			m = v.ObjectValue()
		}
		var ok bool
		if v, ok = m[resource.PropertyKey(k)]; !ok {
			return resource.PropertyValue{}, false
		}
		for v.IsSecret() {
			v = v.SecretValue().Element
		}
	}
	return v, true
}

func boolAt(m resource.PropertyMap, keys ...string) bool {
	v, ok := valueAt(m, keys...)
	return ok && v.IsBool() && v.BoolValue()
}

func stringAt(m resource.PropertyMap, keys ...string) string {
	if v, ok := valueAt(m, keys...); ok && v.IsString() {
		return v.StringValue()
	}
	return ""
}
