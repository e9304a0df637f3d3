// Package program is the whole stack, wired in one place: settings → names → Azure components →
// Kubernetes provider from the AKS kubeconfig → Kubernetes components → stack outputs. main.go,
// the CLI and the tests all run it.
package program

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/pulumi/pulumi-azure-native-sdk/authorization/v2"
	"github.com/pulumi/pulumi-azuread/sdk/v5/go/azuread"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/infra"
	"metaflow-azure/internal/dbpool"
	"metaflow-azure/internal/entra"
	"metaflow-azure/internal/metaflowconfig"
	"metaflow-azure/internal/naming"
	"metaflow-azure/internal/settings"
	"metaflow-azure/internal/transitions"
	"metaflow-azure/services"
)

// DatastorePrefix is the folder inside the container that holds Metaflow's datastore.
const DatastorePrefix = "metaflow"

// taskPoolTaint keeps everything but Metaflow tasks off the task pool, so services never hold a
// task node up and tasks never crowd out the services.
var taskPoolTaint = struct{ key, value, effect string }{"metaflow.org/tasks", "true", "NoSchedule"}

// taskPoolLabels select the task pool for tasks.
var taskPoolLabels = map[string]string{"metaflow.org/pool": "tasks"}

// Run is the stack program as `pulumi up` runs it: it reads the stack config the language host
// passes to the program.
func Run(ctx *pulumi.Context) error {
	config, err := hostConfig(ctx)
	if err != nil {
		return err
	}
	return WithConfig(config)(ctx)
}

// RunWithKeys is Run for hosts that cannot hand over the whole config (an in-process Automation
// API program): keys are the config keys of the stack file, read through the engine so they are
// decrypted, and checked like the rest, so a misspelt key is reported there too.
func RunWithKeys(keys []string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		config, err := hostConfig(ctx)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if v, ok := ctx.GetConfig(k); ok {
				config[k] = v
			}
		}
		return WithConfig(config)(ctx)
	}
}

// WithConfig returns the stack program for a given stack config (full keys, raw values). The
// offline plan and tests use it with the config of a Pulumi.<stack>.yaml.
func WithConfig(config map[string]string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		outputs, err := Declare(ctx, config)
		if err != nil {
			return err
		}
		for _, name := range slices.Sorted(maps.Keys(outputs)) {
			ctx.Export(name, outputs[name])
		}
		return nil
	}
}

// Declare validates the config, declares every resource of the stack and returns the stack
// outputs by name, for callers that want to inspect them rather than export them.
func Declare(ctx *pulumi.Context, config map[string]string) (pulumi.Map, error) {
	s, err := settings.Load(ctx.Project(), config)
	if err != nil {
		return nil, fmt.Errorf("invalid stack configuration:\n%w", err)
	}
	for _, w := range s.Warnings() {
		if err := ctx.Log.Warn(ctx.Project()+":"+w, nil); err != nil {
			return nil, err
		}
	}
	applied := transitions.FromSettings(s)
	previous, err := PreviousApplied(ctx)
	if err != nil {
		return nil, err
	}
	if err := transitions.Check(previous, applied); err != nil {
		return nil, fmt.Errorf("changes Azure cannot apply to the deployed stack:\n%w", prefixed(ctx.Project(), err))
	}
	outputs, err := declare(ctx, s)
	if err != nil {
		return nil, err
	}
	outputs[OutputAppliedSettings] = appliedOutput(applied)
	return outputs, nil
}

// PreviousApplied reads what the stack's last deployment applied, from its own outputs through
// a stack reference to itself; nil before the first deployment.
func PreviousApplied(ctx *pulumi.Context) (*transitions.Applied, error) {
	org := ctx.Organization()
	if org == "" {
		org = "organization" // the DIY backends' fixed organization
	}
	self := fmt.Sprintf("%s/%s/%s", org, ctx.Project(), ctx.Stack())
	ref, err := pulumi.NewStackReference(ctx, "previous-deployment", &pulumi.StackReferenceArgs{Name: pulumi.String(self)})
	if err != nil {
		return nil, fmt.Errorf("reading the stack's last deployment (%s): %w", self, err)
	}
	details, err := ref.GetOutputDetails(OutputAppliedSettings)
	if err != nil {
		return nil, fmt.Errorf("reading the stack's last deployment (%s): %w", self, err)
	}
	raw := details.Value
	if raw == nil {
		raw = details.SecretValue
	}
	return transitions.Parse(raw)
}

// prefixed gives each setting error its full config key, as Load does.
func prefixed(project string, err error) error {
	var errs []error
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		var fe *settings.FieldError
		if errors.As(e, &fe) {
			fe.Path = project + ":" + fe.Path
		}
	}
	return err
}

func appliedOutput(a transitions.Applied) pulumi.Map {
	return pulumi.Map{
		"systemPoolVmSize":   pulumi.String(a.SystemPoolVMSize),
		"azureRbac":          pulumi.Bool(a.AzureRBAC),
		"geoRedundantBackup": pulumi.Bool(a.GeoRedundantBackup),
		"kubernetesMinor":    pulumi.Int(a.KubernetesMinor),
		"postgresMajor":      pulumi.Int(a.PostgresMajor),
	}
}

// hostConfig collects the stack config. The language host passes all of it in PULUMI_CONFIG, so
// unknown keys can be reported; where that is absent (an in-process Automation API program),
// the known keys are read one by one.
func hostConfig(ctx *pulumi.Context) (map[string]string, error) {
	config := map[string]string{}
	if raw := os.Getenv(pulumi.EnvConfig); raw != "" {
		if err := json.Unmarshal([]byte(raw), &config); err != nil {
			return nil, fmt.Errorf("reading the stack config the Pulumi language host passed in %s: %w", pulumi.EnvConfig, err)
		}
	}
	for _, key := range settings.TopLevelKeys() {
		full := ctx.Project() + ":" + key
		if v, ok := ctx.GetConfig(full); ok {
			config[full] = v
		}
	}
	return config, nil
}

func declare(ctx *pulumi.Context, s *settings.Settings) (pulumi.Map, error) {
	azure, err := authorization.GetClientConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the Azure client config: %w", err)
	}
	deployer, err := azuread.GetClientConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the Microsoft Entra client config: %w", err)
	}
	names, err := naming.For(naming.Input{
		Prefix: s.NamePrefix, Stack: ctx.Stack(), Location: s.Location, SubscriptionID: azure.SubscriptionId,
	})
	if err != nil {
		return nil, fmt.Errorf("deriving Azure names: %w", err)
	}
	tags := Tags(s.Tags, names.Environment)

	rg, err := infra.NewResourceGroup(ctx, "metaflow", &infra.ResourceGroupArgs{
		Name: names.ResourceGroup, Location: s.Location, Tags: tags, ProtectData: s.ProtectData,
	})
	if err != nil {
		return nil, fmt.Errorf("declaring the resource group: %w", err)
	}
	net, err := infra.NewNetwork(ctx, "network", &infra.NetworkArgs{
		ResourceGroupName: rg.Name, Location: s.Location, Tags: tags,
		VNetName: names.VirtualNetwork, VNetCIDR: s.Network.VNetCIDR,
		AKSSubnetName: names.AKSSubnet, AKSSubnetCIDR: s.Network.AKSSubnetCIDR,
		PostgresSubnetName: names.PostgresSubnet, PostgresSubnetCIDR: s.Network.PostgresSubnetCIDR,
		PostgresDNSZoneName: names.PostgresDNSZone, PostgresDNSLinkName: names.PostgresDNSLink,
	})
	if err != nil {
		return nil, fmt.Errorf("declaring the network: %w", err)
	}
	store, err := infra.NewDatastore(ctx, "datastore", &infra.DatastoreArgs{
		ResourceGroupName: rg.Name, Location: s.Location, Tags: tags,
		AccountName: names.StorageAccount, ContainerName: names.DatastoreContainer,
		Replication: s.Storage.Replication, SoftDeleteDays: s.Storage.SoftDeleteDays,
		ProtectData: s.ProtectData,
	})
	if err != nil {
		return nil, fmt.Errorf("declaring the datastore: %w", err)
	}
	window := infra.MaintenanceWindow{
		DayOfWeek: s.Maintenance.Window.DayOfWeek, StartHour: s.Maintenance.Window.StartHour,
		DurationHours: s.Maintenance.Window.DurationHours,
	}
	mon, err := declareMonitoring(ctx, s, names, rg, tags)
	if err != nil {
		return nil, err
	}
	db, err := infra.NewDatabase(ctx, "database", &infra.DatabaseArgs{
		ResourceGroupName: rg.Name, Location: s.Location, Tags: tags,
		ServerName: names.PostgresServer, DatabaseName: names.PostgresDatabase, AdminLogin: names.PostgresAdminUser,
		Version: s.Postgres.Version, SKU: s.Postgres.SKU, StorageGB: s.Postgres.StorageGB,
		BackupRetentionDays: s.Postgres.BackupRetentionDays,
		HighAvailability:    s.Postgres.HighAvailability, GeoRedundantBackup: s.Postgres.GeoRedundantBackup,
		DelegatedSubnetID: net.PostgresSubnetID.ToStringOutput(), PrivateDNSZoneID: net.PostgresDNSZoneID.ToStringOutput(),
		DNSLink:     net.PostgresDNSLink,
		ProtectData: s.ProtectData,
		// Day-2 (issue 14): Azure patches the server in the stack's weekly slot.
		MaintenanceWindow: &window,
	})
	if err != nil {
		return nil, fmt.Errorf("declaring the database: %w", err)
	}
	cluster, err := infra.NewCluster(ctx, "aks", &infra.ClusterArgs{
		ResourceGroupName: rg.Name, Location: s.Location, Tags: tags,
		SubscriptionID: azure.SubscriptionId, TenantID: azure.TenantId,
		Name: names.Cluster, DNSPrefix: names.ClusterDNSPrefix, NodeResourceGroup: names.NodeResourceGroup,
		IdentityName: names.ClusterIdentity, KubernetesVersion: s.AKS.KubernetesVersion, SKUTier: s.AKS.SKUTier,
		UpgradeChannel: s.AKS.UpgradeChannel, KubeLogin: s.AKS.KubeLogin,
		AuthorizedIPRanges: s.AKS.AuthorizedIPRanges, AzureRBAC: s.AKS.AzureRBAC, DeployerObjectID: deployer.ObjectId,
		DeployerPrincipalType: deployerPrincipalType(ctx, s.AKS.AzureRBAC),
		SubnetID:              net.AKSSubnetID.ToStringOutput(), PodCIDR: s.Network.PodCIDR, ServiceCIDR: s.Network.ServiceCIDR,
		SystemPool: infra.NodePoolArgs{
			Name: names.SystemPool, VMSize: s.AKS.SystemPool.VMSize,
			MinCount: s.AKS.SystemPool.MinCount, MaxCount: s.AKS.SystemPool.MaxCount,
		},
		TaskPool: infra.NodePoolArgs{
			Name: names.TaskPool, VMSize: s.AKS.TaskPool.VMSize,
			MinCount: s.AKS.TaskPool.MinCount, MaxCount: s.AKS.TaskPool.MaxCount,
			Labels: taskPoolLabels,
			Taints: []string{fmt.Sprintf("%s=%s:%s", taskPoolTaint.key, taskPoolTaint.value, taskPoolTaint.effect)},
		},
		// Day-2 (issue 14).
		NodeOSUpgradeChannel:         s.Maintenance.NodeOSChannel,
		ContainerInsightsWorkspaceID: mon.workspaceID(),
	})
	if err != nil {
		return nil, fmt.Errorf("declaring the AKS cluster: %w", err)
	}
	if err := declareDayTwo(ctx, s, names, rg, tags, mon, window, store, db, cluster); err != nil {
		return nil, err
	}
	identity, err := infra.NewIdentity(ctx, "workloads", &infra.IdentityArgs{
		SubscriptionID: azure.SubscriptionId, DisplayName: names.Application, OwnerObjectID: deployer.ObjectId,
		SecretLifetimeDays: s.Identity.SecretLifetimeDays,
		ContainerID:        store.ContainerID.ToStringOutput(), ClusterID: cluster.ID.ToStringOutput(),
		AssignmentKey: names.Cluster + "/" + names.StorageAccount,
	})
	if err != nil {
		return nil, fmt.Errorf("declaring the workload identity: %w", err)
	}
	if len(s.Access.FlowRunners) > 0 {
		if _, err := infra.NewFlowRunnerAccess(ctx, "flow-runners", &infra.FlowRunnerAccessArgs{
			SubscriptionID: azure.SubscriptionId, Runners: principals(s.Access.FlowRunners),
			ContainerID: store.ContainerID.ToStringOutput(), ClusterID: cluster.ID.ToStringOutput(),
			TaskNamespace: s.Metaflow.TaskNamespace, AssignmentKey: names.Cluster + "/" + names.StorageAccount,
		}); err != nil {
			return nil, fmt.Errorf("declaring flow runner access: %w", err)
		}
	}

	var registry *infra.Registry
	if s.Registry.Enabled {
		registry, err = infra.NewRegistry(ctx, "registry", &infra.RegistryArgs{
			ResourceGroupName: rg.Name, Location: s.Location, Tags: tags, SubscriptionID: azure.SubscriptionId,
			Name: names.ContainerRegistry, SKU: s.Registry.SKU, KubeletObjectID: cluster.KubeletObjectID,
		})
		if err != nil {
			return nil, fmt.Errorf("declaring the container registry: %w", err)
		}
	}

	k8s, err := declareKubernetes(ctx, s, cluster, store, db, identity)
	if err != nil {
		return nil, err
	}
	return stackOutputs(s, rg, store, db, cluster, identity, registry, k8s, azure.SubscriptionId), nil
}

// deployerPrincipalType tells from the deployer's own Azure token whether it is a user or a
// service principal (internal/entra); only a cluster with Azure RBAC assigns the deployer a role.
func deployerPrincipalType(ctx *pulumi.Context, azureRBAC bool) pulumi.StringInput {
	if !azureRBAC {
		return nil
	}
	token := authorization.GetClientTokenOutput(ctx, authorization.GetClientTokenOutputArgs{})
	return pulumi.Unsecret(token.Token().ApplyT(entra.PrincipalType)).(pulumi.StringOutput)
}

// Tags are the user's tags plus the two the stack always sets.
func Tags(user map[string]string, environment string) map[string]string {
	tags := make(map[string]string, len(user)+2)
	for k, v := range user {
		tags[k] = v
	}
	tags["environment"] = environment
	tags["managed-by"] = "pulumi-metaflow-azure"
	return tags
}

func principals(runners []settings.Principal) []infra.Principal {
	out := make([]infra.Principal, len(runners))
	for i, r := range runners {
		out[i] = infra.Principal{ObjectID: r.ObjectID, Type: r.Type}
	}
	return out
}

// kubernetesSide is what the Kubernetes components produce for the outputs.
type kubernetesSide struct {
	config metaflowconfig.Input
}

func declareKubernetes(ctx *pulumi.Context, s *settings.Settings, cluster *infra.Cluster, store *infra.Datastore, db *infra.Database, identity *infra.Identity) (*kubernetesSide, error) {
	provider, err := services.NewProvider(ctx, "aks", cluster.Kubeconfig, pulumi.Parent(cluster), pulumi.DependsOn(cluster.KubernetesAccess))
	if err != nil {
		return nil, fmt.Errorf("declaring the Kubernetes provider: %w", err)
	}
	onCluster := pulumi.Provider(provider)
	creds := services.AzureCredentials{ClientID: identity.ClientID, TenantID: identity.TenantID, ClientSecret: identity.ClientSecret}
	datastoreRoot := pulumi.Sprintf("%s/%s", store.ContainerName, DatastorePrefix)

	var runners []services.Subject
	for _, r := range s.Access.FlowRunners {
		// AKS names Entra users to Kubernetes RBAC by user principal name, groups by object id.
		name := r.ObjectID
		if r.Type == infra.PrincipalTypeUser {
			name = r.UserPrincipalName
		}
		runners = append(runners, services.Subject{Kind: r.Type, Name: name})
	}
	tasks, err := services.NewTasks(ctx, "tasks", &services.TasksArgs{
		Namespace: s.Metaflow.TaskNamespace, Credentials: creds, FlowRunners: runners,
	}, onCluster)
	if err != nil {
		return nil, fmt.Errorf("declaring the task namespace: %w", err)
	}
	side := &kubernetesSide{config: metaflowconfig.Input{
		Container: "", Prefix: DatastorePrefix, TaskImage: s.Metaflow.TaskImage,
		TaskNamespace: tasks.Namespace, TaskServiceAccount: tasks.ServiceAccount, CredentialsSecret: tasks.CredentialsSecret,
		NodeSelector: taskPoolLabels,
		Tolerations: []metaflowconfig.Toleration{{
			Key: taskPoolTaint.key, Operator: "Equal", Value: taskPoolTaint.value, Effect: taskPoolTaint.effect,
		}},
	}}
	if s.Argo.Enabled {
		argo, err := services.NewArgo(ctx, "argo", &services.ArgoArgs{
			Namespace: s.Argo.Namespace, ChartVersion: s.Argo.ChartVersion, AuthMode: s.Argo.AuthMode,
			Tasks: tasks, BlobEndpoint: store.BlobEndpoint, Container: store.ContainerName,
		}, onCluster)
		if err != nil {
			return nil, fmt.Errorf("declaring Argo Workflows: %w", err)
		}
		side.config.Argo = &argo.Server
		if s.ArgoEvents.Enabled {
			events, err := services.NewArgoEvents(ctx, "argo-events", &services.ArgoEventsArgs{
				Namespace: s.ArgoEvents.Namespace, ChartVersion: s.ArgoEvents.ChartVersion,
				JetStreamVersion: s.ArgoEvents.JetStreamVersion, Tasks: tasks, Argo: argo,
			}, onCluster)
			if err != nil {
				return nil, fmt.Errorf("declaring Argo Events: %w", err)
			}
			side.config.Events = &events.Events
		}
	}
	pools, err := dbpool.Size(s.Metaflow.Replicas, s.Postgres.SKU)
	if err != nil {
		return nil, fmt.Errorf("internal-error: sizing the database pools after validation: %w", err)
	}
	mf, err := services.NewMetaflow(ctx, "metaflow", &services.MetaflowArgs{
		Namespace: s.Metaflow.Namespace, MetadataImage: s.Metaflow.MetadataImage, UIImage: s.Metaflow.UIImage,
		Replicas: s.Metaflow.Replicas, DBPoolMax: pools.PoolMax,
		Database: services.Database{
			Host: db.Host, Port: db.Port, Name: db.DatabaseName, User: db.AdminLogin, Password: db.AdminPassword, Ready: db.Ready,
		},
		Credentials: creds, CredentialsSecret: services.CredentialsSecretName,
		BlobEndpoint: store.BlobEndpoint, DatastoreRoot: datastoreRoot,
	}, onCluster)
	if err != nil {
		return nil, fmt.Errorf("declaring the Metaflow services: %w", err)
	}
	side.config.Metadata, side.config.UIBackend, side.config.UI = mf.Metadata, mf.UIBackend, mf.UI
	return side, nil
}
