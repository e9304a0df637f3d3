package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-azuread/sdk/v5/go/azuread"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/naming"
)

// IdentityArgs configures the service principal with a client secret that Metaflow's pods and
// the UI backend use when identity.clientSecret is true (the default is workload identity).
type IdentityArgs struct {
	SubscriptionID string
	// DisplayName of the Entra application.
	DisplayName string
	// OwnerObjectID is the deployer: owning the application lets them rotate its secret
	// without directory-wide application rights.
	OwnerObjectID string
	// SecretLifetimeDays is the password's validity.
	SecretLifetimeDays int
	// Rotation, when it changes, replaces the password; empty declares none.
	Rotation string
	// ContainerID scopes Storage Blob Data Contributor to the datastore container only.
	ContainerID pulumi.StringInput
	// AssignmentKey makes the role assignment names unique per stack.
	AssignmentKey string
}

// Identity is an Entra application and service principal with an expiring password, allowed to
// read and write the datastore container and nothing else: no workload calls the AKS API as it.
type Identity struct {
	pulumi.ResourceState

	ClientID     pulumi.StringOutput
	ObjectID     pulumi.StringOutput
	TenantID     pulumi.StringOutput
	ClientSecret pulumi.StringOutput // secret
	SecretExpiry pulumi.StringOutput
	// SecretKeyID identifies the current password; it changes when the password is rotated.
	SecretKeyID pulumi.StringOutput
}

// NewIdentity declares the application, service principal, password and role assignments.
func NewIdentity(ctx *pulumi.Context, name string, args *IdentityArgs, opts ...pulumi.ResourceOption) (*Identity, error) {
	if args == nil {
		return nil, errNilArgs("Identity")
	}
	if err := requireStrings("Identity", map[string]string{
		"SubscriptionID": args.SubscriptionID, "DisplayName": args.DisplayName,
		"OwnerObjectID": args.OwnerObjectID, "AssignmentKey": args.AssignmentKey,
	}); err != nil {
		return nil, err
	}
	if args.SecretLifetimeDays < 1 {
		return nil, fmt.Errorf("internal-error: Identity: SecretLifetimeDays %d must be positive", args.SecretLifetimeDays)
	}
	c := &Identity{}
	if err := ctx.RegisterComponentResource("metaflow-azure:infra:Identity", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	owners := pulumi.ToStringArray([]string{args.OwnerObjectID})

	app, err := azuread.NewApplication(ctx, name+"-app", &azuread.ApplicationArgs{
		DisplayName:    pulumi.String(args.DisplayName),
		Owners:         owners,
		SignInAudience: pulumi.String("AzureADMyOrg"),
	}, parent)
	if err != nil {
		return nil, err
	}
	sp, err := azuread.NewServicePrincipal(ctx, name+"-sp", &azuread.ServicePrincipalArgs{
		ClientId: app.ClientId,
		Owners:   owners,
	}, parent)
	if err != nil {
		return nil, err
	}
	// A relative end date is fixed when the password is created, so every run declares the
	// same value; changing the lifetime issues a new password.
	passwordArgs := &azuread.ApplicationPasswordArgs{
		ApplicationId:   app.ID().ToStringOutput(),
		DisplayName:     pulumi.String("metaflow-azure (pulumi)"),
		EndDateRelative: pulumi.String(fmt.Sprintf("%dh", args.SecretLifetimeDays*24)),
	}
	if args.Rotation != "" {
		passwordArgs.RotateWhenChanged = pulumi.StringMap{"identity.secretRotation": pulumi.String(args.Rotation)}
	}
	password, err := azuread.NewApplicationPassword(ctx, name+"-password", passwordArgs, parent, pulumi.AdditionalSecretOutputs([]string{"value"}))
	if err != nil {
		return nil, err
	}

	grant := Grant{
		Logical: "blob-data-contributor", Role: azurefacts.RoleStorageBlobDataContributor, Scope: args.ContainerID,
		Why: "Metaflow tasks and the UI backend read and write artifacts in the datastore container",
	}
	if err := grantServicePrincipal(ctx, name, sp.ObjectId, args.SubscriptionID,
		naming.RoleAssignmentName(grant.Logical, args.AssignmentKey), grant, parent); err != nil {
		return nil, err
	}

	c.ClientID = app.ClientId
	c.ObjectID = sp.ObjectId
	c.TenantID = sp.ApplicationTenantId
	c.ClientSecret = pulumi.ToSecret(password.Value).(pulumi.StringOutput)
	c.SecretExpiry = password.EndDate
	c.SecretKeyID = password.KeyId
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"clientId":     c.ClientID,
		"objectId":     c.ObjectID,
		"tenantId":     c.TenantID,
		"clientSecret": c.ClientSecret,
		"secretExpiry": c.SecretExpiry,
	})
}
