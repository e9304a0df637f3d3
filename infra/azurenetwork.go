package infra

import (
	"github.com/pulumi/pulumi-azure-native-sdk/v2/utilities"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The stack's Microsoft.Network resources (the VNet, subnets, private DNS zones and their links,
// the blob private endpoint and its zone group) are registered with their azure-native tokens
// here rather than through the SDK's network package. That package holds every Microsoft.Network
// resource and type of the default API versions, 8.5 MB of Go whose compile alone took 215
// CPU-seconds, the longest single step of a cold build (issue 20), for six resources.
//
// Each registration sends what the SDK's constructor sends (network/v2@v2.92.0: subnet.go,
// virtualNetwork.go, privateZone.go, virtualNetworkLink.go, privateEndpoint.go,
// privateDnsZoneGroup.go): the same input names, the constructor's defaults and the provider
// version of the SDK (utilities.PkgResourceDefaultOpts). The URNs are the same as before, so
// deployed stacks see no change. The SDK's aliases name the resources' old versioned tokens,
// which this stack never used. The fake Azure checks every input against the ARM contract of
// the token's API version, the golden plan pins them, and the rehearsal tier creates them
// through the real engine.
const (
	virtualNetworkType      = "azure-native:network:VirtualNetwork"
	subnetType              = "azure-native:network:Subnet"
	privateZoneType         = "azure-native:network:PrivateZone"
	virtualNetworkLinkType  = "azure-native:network:VirtualNetworkLink"
	privateEndpointType     = "azure-native:network:PrivateEndpoint"
	privateDNSZoneGroupType = "azure-native:network:PrivateDnsZoneGroup"
)

// azureResource is an azure-native resource registered by its token; the stack reads only its
// ID and name back.
type azureResource struct {
	pulumi.CustomResourceState

	Name pulumi.StringOutput `pulumi:"name"`
}

func newAzureResource(ctx *pulumi.Context, token, name string, props pulumi.Map, opts ...pulumi.ResourceOption) (*azureResource, error) {
	var r azureResource
	if err := ctx.RegisterResource(token, name, props, &r, utilities.PkgResourceDefaultOpts(opts)...); err != nil {
		return nil, err
	}
	return &r, nil
}

// subnetDefaults are what the SDK's NewSubnet, and SubnetType.Defaults for a private endpoint's
// subnet, set when the program leaves them out: network policies off for private endpoints, on
// for private link services (Azure's own defaults too).
func subnetDefaults(props pulumi.Map) pulumi.Map {
	props["privateEndpointNetworkPolicies"] = pulumi.String("Disabled")
	props["privateLinkServiceNetworkPolicies"] = pulumi.String("Enabled")
	return props
}
