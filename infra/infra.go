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
