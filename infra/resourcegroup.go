package infra

import (
	resources "github.com/pulumi/pulumi-azure-native-sdk/resources/v2/v20241101"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ResourceGroupArgs configures the stack's resource group.
type ResourceGroupArgs struct {
	// Name of the resource group.
	Name string
	// Location is the Azure region.
	Location string
	// Tags for the group.
	Tags map[string]string
	// ProtectData also protects the group: deleting a resource group deletes everything in it,
	// whatever retainOnDelete says on the storage account and database inside.
	ProtectData bool
}

// ResourceGroup holds every Azure resource of the stack (AKS adds its own node resource group).
type ResourceGroup struct {
	pulumi.ResourceState

	Name pulumi.StringOutput
	ID   pulumi.IDOutput
}

// NewResourceGroup declares the resource group.
func NewResourceGroup(ctx *pulumi.Context, name string, args *ResourceGroupArgs, opts ...pulumi.ResourceOption) (*ResourceGroup, error) {
	if args == nil {
		return nil, errNilArgs("ResourceGroup")
	}
	if err := requireStrings("ResourceGroup", map[string]string{"Name": args.Name, "Location": args.Location}); err != nil {
		return nil, err
	}
	c := &ResourceGroup{}
	if err := ctx.RegisterComponentResource("metaflow-azure:infra:ResourceGroup", name, c, opts...); err != nil {
		return nil, err
	}
	rg, err := resources.NewResourceGroup(ctx, name, &resources.ResourceGroupArgs{
		ResourceGroupName: pulumi.String(args.Name),
		Location:          pulumi.String(args.Location),
		Tags:              pulumi.ToStringMap(args.Tags),
	}, append(dataProtection(args.ProtectData), pulumi.Parent(c))...)
	if err != nil {
		return nil, err
	}
	c.Name = rg.Name
	c.ID = rg.ID()
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"name": c.Name, "id": c.ID})
}
