// Package infra declares the Azure side of Metaflow as typed Pulumi components: the resource
// group, networking, the datastore (Blob Storage), the metadata database (PostgreSQL Flexible
// Server), the AKS cluster and the identities with their role assignments. Components take plain
// Go values for what is decided at plan time and Pulumi inputs for what comes from other
// resources; they never read stack config.
package infra

import (
	"errors"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// PrincipalTypeServicePrincipal and friends are set on every role assignment: Azure then skips
// the directory lookup that fails with PrincipalNotFound while a new principal replicates.
const (
	PrincipalTypeServicePrincipal = "ServicePrincipal"
	PrincipalTypeUser             = "User"
	PrincipalTypeGroup            = "Group"
)

// RoleDefinitionID is the ARM ID of a built-in role in a subscription.
func RoleDefinitionID(subscriptionID, roleGUID string) string {
	return fmt.Sprintf("/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s", subscriptionID, roleGUID)
}

// errNilArgs is what every constructor returns for nil args rather than panicking.
func errNilArgs(component string) error {
	return fmt.Errorf("internal-error: %s: args must not be nil", component)
}

// requireStrings reports every empty required plain value at once.
func requireStrings(component string, fields map[string]string) error {
	var errs []error
	for name, v := range fields {
		if v == "" {
			errs = append(errs, fmt.Errorf("internal-error: %s: %s is required", component, name))
		}
	}
	return errors.Join(errs...)
}

// dataProtection returns the options protectData adds: protect stops `pulumi destroy`, and
// retainOnDelete keeps the Azure resource if the stack is destroyed after unprotecting.
func dataProtection(on bool) []pulumi.ResourceOption {
	if !on {
		return nil
	}
	return []pulumi.ResourceOption{pulumi.Protect(true), pulumi.RetainOnDelete(true)}
}

// group is a component with no outputs of its own that holds one concern's resources (the delete
// locks, the alerts, ...): every resource of the stack sits under a typed component, so its URN
// names its concern and moving it later needs an alias, which the URN test demands.
type group struct{ pulumi.ResourceState }

// newGroup registers a group of type metaflow-azure:infra:<kind> and returns the option that
// puts its children under it.
func newGroup(ctx *pulumi.Context, kind, name string, opts ...pulumi.ResourceOption) (*group, pulumi.ResourceOption, error) {
	g := &group{}
	if err := ctx.RegisterComponentResource("metaflow-azure:infra:"+kind, name, g, opts...); err != nil {
		return nil, nil, err
	}
	return g, pulumi.Parent(g), nil
}

// done ends a group's registration.
func (g *group) done(ctx *pulumi.Context) error { return ctx.RegisterResourceOutputs(g, pulumi.Map{}) }
