package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-azure-native-sdk/authorization/v2"
	"github.com/pulumi/pulumi-azure-native-sdk/managedidentity/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/naming"
)

// ServiceAccountRef is a Kubernetes ServiceAccount a workload identity trusts.
type ServiceAccountRef struct {
	Namespace string
	Name      string
}

// Subject is the federated credential subject of the ServiceAccount.
func (r ServiceAccountRef) Subject() string {
	return azurefacts.FederatedSubject(r.Namespace, r.Name)
}

// Grant is one built-in role a workload identity holds, and on what.
type Grant struct {
	// Logical distinguishes the grant in names.
	Logical string
	// Role is the built-in role's GUID.
	Role  string
	Scope pulumi.StringInput
	// Why becomes the assignment's description, for whoever reads the IAM blade.
	Why string
}

// WorkloadIdentityArgs configures one workload's identity.
type WorkloadIdentityArgs struct {
	ResourceGroupName pulumi.StringInput
	Location          string
	Tags              map[string]string
	SubscriptionID    string
	// Name of the user-assigned identity.
	Name string
	// Issuer is the cluster's OIDC issuer URL.
	Issuer pulumi.StringInput
	// ServiceAccounts may exchange their projected tokens for the identity's Entra tokens.
	ServiceAccounts []ServiceAccountRef
	// Grants are everything the identity may do.
	Grants []Grant
	// AssignmentKey makes role assignment names unique per stack.
	AssignmentKey string
}

// WorkloadIdentity is a user-assigned managed identity that Kubernetes ServiceAccounts sign in
// as through federated credentials: no secret exists that could leak or expire, and the
// identity holds only its grants.
type WorkloadIdentity struct {
	pulumi.ResourceState

	ClientID    pulumi.StringOutput
	PrincipalID pulumi.StringOutput
	// ServiceAccounts are the ones the identity trusts, as declared.
	ServiceAccounts []ServiceAccountRef
}

// grantServicePrincipal assigns a built-in role to a service principal (an application's or a
// managed identity's) with principalType set.
func grantServicePrincipal(ctx *pulumi.Context, name string, principalID pulumi.StringInput, subscriptionID, assignmentName string, g Grant, opts ...pulumi.ResourceOption) error {
	_, err := authorization.NewRoleAssignment(ctx, name+"-"+g.Logical, &authorization.RoleAssignmentArgs{
		RoleAssignmentName: pulumi.String(assignmentName),
		PrincipalId:        principalID,
		PrincipalType:      pulumi.String(PrincipalTypeServicePrincipal),
		RoleDefinitionId:   pulumi.String(RoleDefinitionID(subscriptionID, g.Role)),
		Scope:              g.Scope,
		Description:        pulumi.String(g.Why),
	}, opts...)
	return err
}

// newUserAssignedIdentity declares a user-assigned managed identity.
func newUserAssignedIdentity(ctx *pulumi.Context, name, resourceName string, resourceGroup pulumi.StringInput, location string, tags map[string]string, opts ...pulumi.ResourceOption) (*managedidentity.UserAssignedIdentity, error) {
	return managedidentity.NewUserAssignedIdentity(ctx, name, &managedidentity.UserAssignedIdentityArgs{
		ResourceName:      pulumi.String(resourceName),
		ResourceGroupName: resourceGroup,
		Location:          pulumi.String(location),
		Tags:              pulumi.ToStringMap(tags),
	}, opts...)
}

// NewWorkloadIdentity declares the identity, its role assignments and one federated identity
// credential per ServiceAccount.
func NewWorkloadIdentity(ctx *pulumi.Context, name string, args *WorkloadIdentityArgs, opts ...pulumi.ResourceOption) (*WorkloadIdentity, error) {
	if args == nil || args.Issuer == nil || args.ResourceGroupName == nil {
		return nil, fmt.Errorf("internal-error: WorkloadIdentity: args, Issuer and ResourceGroupName are required")
	}
	if err := requireStrings("WorkloadIdentity", map[string]string{
		"Location": args.Location, "SubscriptionID": args.SubscriptionID, "Name": args.Name, "AssignmentKey": args.AssignmentKey,
	}); err != nil {
		return nil, err
	}
	if len(args.ServiceAccounts) == 0 || len(args.ServiceAccounts) > azurefacts.MaxFederatedCredentialsPerIdentity {
		return nil, fmt.Errorf("internal-error: WorkloadIdentity %s: %d ServiceAccounts, want 1 to %d",
			args.Name, len(args.ServiceAccounts), azurefacts.MaxFederatedCredentialsPerIdentity)
	}
	c := &WorkloadIdentity{ServiceAccounts: args.ServiceAccounts}
	if err := ctx.RegisterComponentResource("metaflow-azure:infra:WorkloadIdentity", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	identity, err := newUserAssignedIdentity(ctx, name+"-identity", args.Name, args.ResourceGroupName, args.Location, args.Tags, parent)
	if err != nil {
		return nil, err
	}
	for _, g := range args.Grants {
		if err := grantServicePrincipal(ctx, name, identity.PrincipalId, args.SubscriptionID,
			naming.RoleAssignmentName(g.Logical, args.Name, args.AssignmentKey), g, parent); err != nil {
			return nil, err
		}
	}
	// Azure refuses concurrent writes of federated credentials under one identity, so each
	// waits for the one before it.
	var previous pulumi.Resource
	for _, sa := range args.ServiceAccounts {
		credName, err := naming.FederatedCredential(sa.Namespace, sa.Name)
		if err != nil {
			return nil, err
		}
		credOpts := []pulumi.ResourceOption{parent}
		if previous != nil {
			credOpts = append(credOpts, pulumi.DependsOn([]pulumi.Resource{previous}))
		}
		cred, err := managedidentity.NewFederatedIdentityCredential(ctx, name+"-"+sa.Namespace+"-"+sa.Name, &managedidentity.FederatedIdentityCredentialArgs{
			ResourceName:                            identity.Name,
			ResourceGroupName:                       args.ResourceGroupName,
			FederatedIdentityCredentialResourceName: pulumi.String(credName),
			Issuer:                                  args.Issuer,
			Subject:                                 pulumi.String(sa.Subject()),
			Audiences:                               pulumi.ToStringArray([]string{azurefacts.FederatedTokenAudience}),
		}, credOpts...)
		if err != nil {
			return nil, err
		}
		previous = cred
	}
	c.ClientID = identity.ClientId
	c.PrincipalID = identity.PrincipalId
	subjects := pulumi.StringArray{}
	for _, sa := range args.ServiceAccounts {
		subjects = append(subjects, pulumi.String(sa.Subject()))
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"clientId":    c.ClientID,
		"principalId": c.PrincipalID,
		"subjects":    subjects,
	})
}
