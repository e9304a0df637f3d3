package infra

import (
	"github.com/pulumi/pulumi-azure-native-sdk/authorization/v2"
	containerregistry "github.com/pulumi/pulumi-azure-native-sdk/containerregistry/v2/v20230701"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/naming"
)

// RegistryArgs configures the team's container registry.
type RegistryArgs struct {
	ResourceGroupName pulumi.StringInput
	Location          string
	Tags              map[string]string
	SubscriptionID    string
	// Name is globally unique: 5–50 lowercase letters and digits.
	Name string
	// SKU is Basic, Standard or Premium.
	SKU string
	// KubeletObjectID is the object id of the cluster's kubelet identity, which pulls images.
	KubeletObjectID pulumi.StringInput
}

// Registry is an Azure Container Registry without an admin user (people push with `az acr
// login`, i.e. Entra ID) that the cluster's nodes may pull from.
type Registry struct {
	pulumi.ResourceState

	// LoginServer is the registry's host name, e.g. crmfdemodev1a2b3c.azurecr.io.
	LoginServer pulumi.StringOutput
	ID          pulumi.IDOutput
}

// NewRegistry declares the registry and the kubelet identity's AcrPull on it. The registry uses
// API version 2023-07-01, the newest GA one the SDK offers.
func NewRegistry(ctx *pulumi.Context, name string, args *RegistryArgs, opts ...pulumi.ResourceOption) (*Registry, error) {
	if args == nil {
		return nil, errNilArgs("Registry")
	}
	if err := requireStrings("Registry", map[string]string{
		"Location": args.Location, "SubscriptionID": args.SubscriptionID, "Name": args.Name, "SKU": args.SKU,
	}); err != nil {
		return nil, err
	}
	c := &Registry{}
	if err := ctx.RegisterComponentResource("metaflow-azure:infra:Registry", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	registry, err := containerregistry.NewRegistry(ctx, name, &containerregistry.RegistryArgs{
		RegistryName:      pulumi.String(args.Name),
		ResourceGroupName: args.ResourceGroupName,
		Location:          pulumi.String(args.Location),
		Sku:               &containerregistry.SkuArgs{Name: pulumi.String(args.SKU)},
		// No shared admin password: pushes and pulls authenticate with Entra ID.
		AdminUserEnabled: pulumi.Bool(false),
		// Reachable from laptops and CI, which push the images.
		PublicNetworkAccess: pulumi.String("Enabled"),
		Tags:                pulumi.ToStringMap(args.Tags),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := authorization.NewRoleAssignment(ctx, name+"-kubelet-acrpull", &authorization.RoleAssignmentArgs{
		RoleAssignmentName: pulumi.String(naming.RoleAssignmentName("acr-pull", args.Name)),
		PrincipalId:        args.KubeletObjectID,
		PrincipalType:      pulumi.String(PrincipalTypeServicePrincipal),
		RoleDefinitionId:   pulumi.String(RoleDefinitionID(args.SubscriptionID, azurefacts.RoleAcrPull)),
		Scope:              registry.ID(),
		Description:        pulumi.String("AKS nodes pull the team's task images"),
	}, parent); err != nil {
		return nil, err
	}
	c.LoginServer = registry.LoginServer
	c.ID = registry.ID()
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"loginServer": c.LoginServer, "id": c.ID})
}
