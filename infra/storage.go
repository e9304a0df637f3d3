package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-azure-native-sdk/storage/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/azurefacts"
)

// DatastoreArgs configures the Metaflow datastore.
type DatastoreArgs struct {
	ResourceGroupName pulumi.StringInput
	Location          string
	Tags              map[string]string

	// AccountName is globally unique: 3–24 lowercase letters and digits.
	AccountName string
	// ContainerName holds Metaflow's artifacts.
	ContainerName string
	// Replication is LRS, ZRS, GRS, RAGRS, GZRS or RAGZRS.
	Replication string
	// SoftDeleteDays keeps deleted blobs and containers recoverable (1–365).
	SoftDeleteDays int
	// ProtectData protects the account and retains it on delete.
	ProtectData bool

	// NetworkAccess is public, allowlist or private (settings.StorageAccess*).
	NetworkAccess string
	// AllowedCIDRs are the public addresses and ranges an allowlist lets in.
	AllowedCIDRs []string
	// ClusterSubnetID is the AKS subnet, let in by a virtual network rule (allowlist) through
	// its service endpoint.
	ClusterSubnetID pulumi.StringInput
	// PrivateEndpointSubnetID, VNetID and the names are the private endpoint's (private).
	PrivateEndpointSubnetID pulumi.StringInput
	VNetID                  pulumi.StringInput
	PrivateEndpointName     string
	PrivateDNSLinkName      string
}

// The values of DatastoreArgs.NetworkAccess.
const (
	DatastorePublic    = "public"
	DatastoreAllowlist = "allowlist"
	DatastorePrivate   = "private"
)

// Datastore is a storage account reachable only with Microsoft Entra credentials over TLS 1.2,
// with soft delete for blobs and containers and one private container for Metaflow.
type Datastore struct {
	pulumi.ResourceState

	AccountName   pulumi.StringOutput
	AccountID     pulumi.IDOutput
	BlobEndpoint  pulumi.StringOutput
	ContainerName pulumi.StringOutput
	// ContainerID is the ARM ID of the container: the scope of data-plane role assignments.
	ContainerID pulumi.IDOutput
	// BlobServiceID is the blob service's ARM ID (<account>/blobServices/default): the scope
	// of the blob diagnostic setting.
	BlobServiceID pulumi.IDOutput
}

// NewDatastore declares the storage account and container.
func NewDatastore(ctx *pulumi.Context, name string, args *DatastoreArgs, opts ...pulumi.ResourceOption) (*Datastore, error) {
	if args == nil {
		return nil, errNilArgs("Datastore")
	}
	if err := requireStrings("Datastore", map[string]string{
		"Location": args.Location, "AccountName": args.AccountName,
		"ContainerName": args.ContainerName, "Replication": args.Replication,
	}); err != nil {
		return nil, err
	}
	switch {
	case args.NetworkAccess == DatastoreAllowlist && args.ClusterSubnetID == nil,
		args.NetworkAccess == DatastorePrivate && (args.PrivateEndpointSubnetID == nil || args.VNetID == nil || args.PrivateEndpointName == "" || args.PrivateDNSLinkName == ""),
		args.NetworkAccess != DatastorePublic && args.NetworkAccess != DatastoreAllowlist && args.NetworkAccess != DatastorePrivate:
		return nil, fmt.Errorf("internal-error: Datastore: NetworkAccess %q without what it needs", args.NetworkAccess)
	}
	if args.SoftDeleteDays < 1 || args.SoftDeleteDays > 365 {
		return nil, fmt.Errorf("internal-error: Datastore: SoftDeleteDays %d outside 1–365", args.SoftDeleteDays)
	}
	c := &Datastore{}
	if err := ctx.RegisterComponentResource("metaflow-azure:infra:Datastore", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)

	account, err := storage.NewStorageAccount(ctx, name+"-account", &storage.StorageAccountArgs{
		AccountName:       pulumi.String(args.AccountName),
		ResourceGroupName: args.ResourceGroupName,
		Location:          pulumi.String(args.Location),
		Kind:              pulumi.String("StorageV2"),
		Sku:               &storage.SkuArgs{Name: pulumi.String("Standard_" + args.Replication)},
		AccessTier:        storage.AccessTierHot,
		MinimumTlsVersion: pulumi.String("TLS1_2"),
		// Only HTTPS, no anonymous reads, and no account keys: Metaflow, the UI backend and
		// Argo all authenticate with Entra ID (DefaultAzureCredential), so a leaked key
		// cannot exist.
		EnableHttpsTrafficOnly:       pulumi.Bool(true),
		AllowBlobPublicAccess:        pulumi.Bool(false),
		AllowSharedKeyAccess:         pulumi.Bool(false),
		DefaultToOAuthAuthentication: pulumi.Bool(true),
		AllowCrossTenantReplication:  pulumi.Bool(false),
		NetworkRuleSet:               networkRules(args),
		PublicNetworkAccess:          publicNetworkAccess(args.NetworkAccess),
		Tags:                         pulumi.ToStringMap(args.Tags),
	}, append(dataProtection(args.ProtectData), parent)...)
	if err != nil {
		return nil, err
	}
	retention := &storage.DeleteRetentionPolicyArgs{Enabled: pulumi.Bool(true), Days: pulumi.Int(args.SoftDeleteDays)}
	blobService, err := storage.NewBlobServiceProperties(ctx, name+"-blob-service", &storage.BlobServicePropertiesArgs{
		AccountName:                    account.Name,
		ResourceGroupName:              args.ResourceGroupName,
		BlobServicesName:               pulumi.String("default"),
		DeleteRetentionPolicy:          retention,
		ContainerDeleteRetentionPolicy: retention,
	}, parent)
	if err != nil {
		return nil, err
	}
	container, err := storage.NewBlobContainer(ctx, name+"-container", &storage.BlobContainerArgs{
		ContainerName:     pulumi.String(args.ContainerName),
		AccountName:       account.Name,
		ResourceGroupName: args.ResourceGroupName,
		PublicAccess:      storage.PublicAccessNone,
	}, parent, pulumi.DependsOn([]pulumi.Resource{blobService}))
	if err != nil {
		return nil, err
	}

	if args.NetworkAccess == DatastorePrivate {
		if err := newBlobPrivateEndpoint(ctx, name, args, account, parent); err != nil {
			return nil, err
		}
	}

	c.AccountName = account.Name
	c.AccountID = account.ID()
	c.BlobEndpoint = account.PrimaryEndpoints.Blob()
	c.ContainerName = container.Name
	c.ContainerID = container.ID()
	c.BlobServiceID = blobService.ID()
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"accountName":   c.AccountName,
		"accountId":     c.AccountID,
		"blobEndpoint":  c.BlobEndpoint,
		"containerName": c.ContainerName,
		"containerId":   c.ContainerID,
	})
}

// networkRules are the storage firewall's rules: none for public access (as the stack always
// sent); otherwise every request is denied but those the rules let in, and no trusted Azure
// service bypasses them (nothing of the stack needs one).
func networkRules(args *DatastoreArgs) storage.NetworkRuleSetPtrInput {
	if args.NetworkAccess == DatastorePublic {
		return nil
	}
	rules := &storage.NetworkRuleSetArgs{
		// Microsoft's limitations page: with public access disabled, set defaultAction Deny as
		// well, or Defender and Advisor keep reporting the account as open.
		DefaultAction: storage.DefaultActionDeny,
		Bypass:        pulumi.String("None"),
	}
	if args.NetworkAccess == DatastoreAllowlist {
		var ips storage.IPRuleArray
		for _, c := range args.AllowedCIDRs {
			ips = append(ips, &storage.IPRuleArgs{IPAddressOrRange: pulumi.String(c), Action: storage.ActionAllow})
		}
		rules.IpRules = ips
		rules.VirtualNetworkRules = storage.VirtualNetworkRuleArray{&storage.VirtualNetworkRuleArgs{
			VirtualNetworkResourceId: args.ClusterSubnetID,
			Action:                   storage.ActionAllow,
		}}
	}
	return rules
}

func publicNetworkAccess(access string) pulumi.StringPtrInput {
	if access == DatastorePrivate {
		return pulumi.String("Disabled")
	}
	return nil
}

// newBlobPrivateEndpoint gives the account's blob service an address in the VNet, and the VNet
// the private DNS zone that resolves the account's blob host name to it.
func newBlobPrivateEndpoint(ctx *pulumi.Context, name string, args *DatastoreArgs, account *storage.StorageAccount, parent pulumi.ResourceOption) error {
	endpoint, err := newAzureResource(ctx, privateEndpointType, name+"-blob-endpoint", pulumi.Map{
		"privateEndpointName": pulumi.String(args.PrivateEndpointName),
		"resourceGroupName":   args.ResourceGroupName,
		"location":            pulumi.String(args.Location),
		// NewPrivateEndpoint completes the subnet reference with SubnetType's defaults.
		"subnet": subnetDefaults(pulumi.Map{"id": args.PrivateEndpointSubnetID}),
		"privateLinkServiceConnections": pulumi.Array{pulumi.Map{
			"name":                 pulumi.String(args.PrivateEndpointName),
			"privateLinkServiceId": account.ID(),
			"groupIds":             pulumi.ToStringArray([]string{azurefacts.BlobPrivateLinkGroup}),
		}},
		"tags": pulumi.ToStringMap(args.Tags),
	}, parent)
	if err != nil {
		return err
	}
	zone, err := newAzureResource(ctx, privateZoneType, name+"-blob-zone", pulumi.Map{
		"privateZoneName":   pulumi.String(azurefacts.BlobPrivateDNSZone),
		"resourceGroupName": args.ResourceGroupName,
		"location":          pulumi.String("global"),
		"tags":              pulumi.ToStringMap(args.Tags),
	}, parent)
	if err != nil {
		return err
	}
	if _, err := newAzureResource(ctx, virtualNetworkLinkType, name+"-blob-zone-link", pulumi.Map{
		"virtualNetworkLinkName": pulumi.String(args.PrivateDNSLinkName),
		"privateZoneName":        zone.Name,
		"resourceGroupName":      args.ResourceGroupName,
		"location":               pulumi.String("global"),
		"virtualNetwork":         pulumi.Map{"id": args.VNetID},
		"registrationEnabled":    pulumi.Bool(false),
		"tags":                   pulumi.ToStringMap(args.Tags),
	}, parent); err != nil {
		return err
	}
	// The zone group keeps the zone's A record for the account in step with the endpoint.
	_, err = newAzureResource(ctx, privateDNSZoneGroupType, name+"-blob-zone-group", pulumi.Map{
		"privateDnsZoneGroupName": pulumi.String("default"),
		"privateEndpointName":     endpoint.Name,
		"resourceGroupName":       args.ResourceGroupName,
		"privateDnsZoneConfigs": pulumi.Array{pulumi.Map{
			"name":             pulumi.String(azurefacts.BlobPrivateLinkGroup),
			"privateDnsZoneId": zone.ID(),
		}},
	}, parent)
	return err
}
