package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-azure-native-sdk/storage/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
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
}

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
