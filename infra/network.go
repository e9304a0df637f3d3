package infra

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/azurefacts"
)

// NetworkArgs configures the virtual network.
type NetworkArgs struct {
	ResourceGroupName pulumi.StringInput
	Location          string
	Tags              map[string]string

	VNetName           string
	VNetCIDR           string
	AKSSubnetName      string
	AKSSubnetCIDR      string
	PostgresSubnetName string
	PostgresSubnetCIDR string
	// PostgresDNSZoneName must end in .postgres.database.azure.com.
	PostgresDNSZoneName string
	PostgresDNSLinkName string
	// StorageServiceEndpoint puts an Azure Storage service endpoint on the AKS subnet, so a
	// storage account's virtual network rule can let the cluster in (storage.networkAccess:
	// allowlist).
	StorageServiceEndpoint bool
	// PrivateEndpointSubnetName and PrivateEndpointSubnetCIDR add a subnet for private
	// endpoints (storage.networkAccess: private); empty adds none.
	PrivateEndpointSubnetName string
	PrivateEndpointSubnetCIDR string
}

// Network is the VNet with a subnet for AKS nodes, a subnet delegated to PostgreSQL Flexible
// Server, and the private DNS zone through which the cluster resolves the server.
type Network struct {
	pulumi.ResourceState

	VNetID            pulumi.IDOutput
	AKSSubnetID       pulumi.IDOutput
	PostgresSubnetID  pulumi.IDOutput
	PostgresDNSZoneID pulumi.IDOutput
	// PostgresDNSLink must exist before the server is created: Azure resolves the server's
	// private address through it and refuses the create otherwise.
	PostgresDNSLink pulumi.Resource
	// PrivateEndpointSubnetID is the private endpoints' subnet; nil without one.
	PrivateEndpointSubnetID pulumi.StringInput
}

// NewNetwork declares the network.
func NewNetwork(ctx *pulumi.Context, name string, args *NetworkArgs, opts ...pulumi.ResourceOption) (*Network, error) {
	if args == nil {
		return nil, errNilArgs("Network")
	}
	if err := requireStrings("Network", map[string]string{
		"Location": args.Location, "VNetName": args.VNetName, "VNetCIDR": args.VNetCIDR,
		"AKSSubnetName": args.AKSSubnetName, "AKSSubnetCIDR": args.AKSSubnetCIDR,
		"PostgresSubnetName": args.PostgresSubnetName, "PostgresSubnetCIDR": args.PostgresSubnetCIDR,
		"PostgresDNSZoneName": args.PostgresDNSZoneName, "PostgresDNSLinkName": args.PostgresDNSLinkName,
	}); err != nil {
		return nil, err
	}
	c := &Network{}
	if err := ctx.RegisterComponentResource("metaflow-azure:infra:Network", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)

	vnet, err := newAzureResource(ctx, virtualNetworkType, name+"-vnet", pulumi.Map{
		"virtualNetworkName": pulumi.String(args.VNetName),
		"resourceGroupName":  args.ResourceGroupName,
		"location":           pulumi.String(args.Location),
		"addressSpace":       pulumi.Map{"addressPrefixes": pulumi.ToStringArray([]string{args.VNetCIDR})},
		"tags":               pulumi.ToStringMap(args.Tags),
		// NewVirtualNetwork's defaults.
		"enableDdosProtection": pulumi.Bool(false),
		"enableVmProtection":   pulumi.Bool(false),
	}, parent)
	if err != nil {
		return nil, err
	}
	aksProps := pulumi.Map{
		"subnetName":         pulumi.String(args.AKSSubnetName),
		"resourceGroupName":  args.ResourceGroupName,
		"virtualNetworkName": vnet.Name,
		"addressPrefix":      pulumi.String(args.AKSSubnetCIDR),
	}
	if args.StorageServiceEndpoint {
		// Adding or removing it closes the subnet's open connections to Azure Storage
		// (virtual-network-service-endpoints-overview.md, "Considerations").
		aksProps["serviceEndpoints"] = pulumi.Array{pulumi.Map{"service": pulumi.String(azurefacts.StorageServiceEndpoint)}}
	}
	aks, err := newAzureResource(ctx, subnetType, name+"-aks", subnetDefaults(aksProps), parent)
	if err != nil {
		return nil, err
	}
	pg, err := newAzureResource(ctx, subnetType, name+"-psql", subnetDefaults(pulumi.Map{
		"subnetName":         pulumi.String(args.PostgresSubnetName),
		"resourceGroupName":  args.ResourceGroupName,
		"virtualNetworkName": vnet.Name,
		"addressPrefix":      pulumi.String(args.PostgresSubnetCIDR),
		"delegations": pulumi.Array{pulumi.Map{
			"name":        pulumi.String("postgres-flexible-server"),
			"serviceName": pulumi.String("Microsoft.DBforPostgreSQL/flexibleServers"),
		}},
		// Azure serialises writes to one VNet's subnets; two at once fail with
		// AnotherOperationInProgress, so the second waits for the first.
	}), parent, pulumi.DependsOn([]pulumi.Resource{aks}))
	if err != nil {
		return nil, err
	}
	if args.PrivateEndpointSubnetName != "" {
		pe, err := newAzureResource(ctx, subnetType, name+"-pep", subnetDefaults(pulumi.Map{
			"subnetName":         pulumi.String(args.PrivateEndpointSubnetName),
			"resourceGroupName":  args.ResourceGroupName,
			"virtualNetworkName": vnet.Name,
			"addressPrefix":      pulumi.String(args.PrivateEndpointSubnetCIDR),
			// One subnet write at a time per VNet, as above.
		}), parent, pulumi.DependsOn([]pulumi.Resource{pg}))
		if err != nil {
			return nil, err
		}
		c.PrivateEndpointSubnetID = pe.ID().ToStringOutput()
	}
	zone, err := newAzureResource(ctx, privateZoneType, name+"-psql-zone", pulumi.Map{
		"privateZoneName":   pulumi.String(args.PostgresDNSZoneName),
		"resourceGroupName": args.ResourceGroupName,
		"location":          pulumi.String("global"),
		"tags":              pulumi.ToStringMap(args.Tags),
	}, parent)
	if err != nil {
		return nil, err
	}
	link, err := newAzureResource(ctx, virtualNetworkLinkType, name+"-psql-zone-link", pulumi.Map{
		"virtualNetworkLinkName": pulumi.String(args.PostgresDNSLinkName),
		"privateZoneName":        zone.Name,
		"resourceGroupName":      args.ResourceGroupName,
		"location":               pulumi.String("global"),
		"virtualNetwork":         pulumi.Map{"id": vnet.ID()},
		"registrationEnabled":    pulumi.Bool(false),
		"tags":                   pulumi.ToStringMap(args.Tags),
	}, parent)
	if err != nil {
		return nil, err
	}

	c.VNetID = vnet.ID()
	c.AKSSubnetID = aks.ID()
	c.PostgresSubnetID = pg.ID()
	c.PostgresDNSZoneID = zone.ID()
	c.PostgresDNSLink = link
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"vnetId":            c.VNetID,
		"aksSubnetId":       c.AKSSubnetID,
		"postgresSubnetId":  c.PostgresSubnetID,
		"postgresDnsZoneId": c.PostgresDNSZoneID,
	})
}
