package infra

import (
	"github.com/pulumi/pulumi-azure-native-sdk/network/v2"
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
	PostgresDNSLink *network.VirtualNetworkLink
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

	vnet, err := network.NewVirtualNetwork(ctx, name+"-vnet", &network.VirtualNetworkArgs{
		VirtualNetworkName: pulumi.String(args.VNetName),
		ResourceGroupName:  args.ResourceGroupName,
		Location:           pulumi.String(args.Location),
		AddressSpace:       &network.AddressSpaceArgs{AddressPrefixes: pulumi.ToStringArray([]string{args.VNetCIDR})},
		Tags:               pulumi.ToStringMap(args.Tags),
	}, parent)
	if err != nil {
		return nil, err
	}
	var endpoints network.ServiceEndpointPropertiesFormatArray
	if args.StorageServiceEndpoint {
		// Adding or removing it closes the subnet's open connections to Azure Storage
		// (virtual-network-service-endpoints-overview.md, "Considerations").
		endpoints = network.ServiceEndpointPropertiesFormatArray{&network.ServiceEndpointPropertiesFormatArgs{
			Service: pulumi.String(azurefacts.StorageServiceEndpoint),
		}}
	}
	aks, err := network.NewSubnet(ctx, name+"-aks", &network.SubnetArgs{
		SubnetName:         pulumi.String(args.AKSSubnetName),
		ResourceGroupName:  args.ResourceGroupName,
		VirtualNetworkName: vnet.Name,
		AddressPrefix:      pulumi.String(args.AKSSubnetCIDR),
		ServiceEndpoints:   endpoints,
	}, parent)
	if err != nil {
		return nil, err
	}
	pg, err := network.NewSubnet(ctx, name+"-psql", &network.SubnetArgs{
		SubnetName:         pulumi.String(args.PostgresSubnetName),
		ResourceGroupName:  args.ResourceGroupName,
		VirtualNetworkName: vnet.Name,
		AddressPrefix:      pulumi.String(args.PostgresSubnetCIDR),
		Delegations: network.DelegationArray{&network.DelegationArgs{
			Name:        pulumi.String("postgres-flexible-server"),
			ServiceName: pulumi.String("Microsoft.DBforPostgreSQL/flexibleServers"),
		}},
		// Azure serialises writes to one VNet's subnets; two at once fail with
		// AnotherOperationInProgress, so the second waits for the first.
	}, parent, pulumi.DependsOn([]pulumi.Resource{aks}))
	if err != nil {
		return nil, err
	}
	if args.PrivateEndpointSubnetName != "" {
		pe, err := network.NewSubnet(ctx, name+"-pep", &network.SubnetArgs{
			SubnetName:         pulumi.String(args.PrivateEndpointSubnetName),
			ResourceGroupName:  args.ResourceGroupName,
			VirtualNetworkName: vnet.Name,
			AddressPrefix:      pulumi.String(args.PrivateEndpointSubnetCIDR),
			// One subnet write at a time per VNet, as above.
		}, parent, pulumi.DependsOn([]pulumi.Resource{pg}))
		if err != nil {
			return nil, err
		}
		c.PrivateEndpointSubnetID = pe.ID().ToStringOutput()
	}
	zone, err := network.NewPrivateZone(ctx, name+"-psql-zone", &network.PrivateZoneArgs{
		PrivateZoneName:   pulumi.String(args.PostgresDNSZoneName),
		ResourceGroupName: args.ResourceGroupName,
		Location:          pulumi.String("global"),
		Tags:              pulumi.ToStringMap(args.Tags),
	}, parent)
	if err != nil {
		return nil, err
	}
	link, err := network.NewVirtualNetworkLink(ctx, name+"-psql-zone-link", &network.VirtualNetworkLinkArgs{
		VirtualNetworkLinkName: pulumi.String(args.PostgresDNSLinkName),
		PrivateZoneName:        zone.Name,
		ResourceGroupName:      args.ResourceGroupName,
		Location:               pulumi.String("global"),
		VirtualNetwork:         &network.SubResourceArgs{Id: vnet.ID()},
		RegistrationEnabled:    pulumi.Bool(false),
		Tags:                   pulumi.ToStringMap(args.Tags),
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
