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
	"time"

	"github.com/pulumi/pulumi-azure-native-sdk/authorization/v2"
	"github.com/pulumi/pulumi-azuread/sdk/v5/go/azuread"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/infra"
	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/dbpool"
	"metaflow-azure/internal/entra"
	"metaflow-azure/internal/metaflowconfig"
	"metaflow-azure/internal/naming"
	"metaflow-azure/internal/settings"
	"metaflow-azure/internal/taskpools"
	"metaflow-azure/internal/transitions"
	"metaflow-azure/services"
)

// DatastorePrefix is the folder inside the container that holds Metaflow's datastore.
const DatastorePrefix = "metaflow"

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

// EnvToday pins the day the program checks Microsoft's support calendars against, as YYYY-MM-DD.
// Tests set it so that they do not change with the calendar; it also replays a preview as of a
// day. Unset, the day is today's (UTC).
const EnvToday = "METAFLOW_AZURE_TODAY"

// Today is the day the program checks support calendars against (EnvToday, else today in UTC).
func Today(getenv func(string) string) (time.Time, error) {
	v := getenv(EnvToday)
	if v == "" {
		return time.Now().UTC(), nil
	}
	day, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s=%q must be a date like 2026-12-04", EnvToday, v)
	}
	return day, nil
}

// Declare validates the config, declares every resource of the stack and returns the stack
// outputs by name, for callers that want to inspect them rather than export them.
func Declare(ctx *pulumi.Context, config map[string]string) (pulumi.Map, error) {
	today, err := Today(os.Getenv)
	if err != nil {
		return nil, err
	}
	s, err := settings.LoadForDeployment(ctx.Project(), config, today)
	if err != nil {
		return nil, fmt.Errorf("invalid stack configuration:\n%w", err)
	}
	// What needs the last deployment is checked once it has been read: versions out of
	// support, and changes Azure cannot apply.
	previous, err := ReadPrevious(ctx)
	if err != nil {
		return nil, err
	}
	var deployed settings.Deployed
	if a := previous.Applied; a != nil {
		deployed = settings.Deployed{KubernetesMinor: a.KubernetesMinor, PostgresMajor: a.PostgresMajor}
	}
	if err := s.CheckSupport(deployed); err != nil {
		return nil, fmt.Errorf("invalid stack configuration:\n%w", err)
	}
	for _, w := range s.Warnings() {
		if err := ctx.Log.Warn(ctx.Project()+":"+w, nil); err != nil {
			return nil, err
		}
	}
	applied := transitions.FromSettings(s)
	if s.Identity.ClientSecret {
		if w := SecretExpiryWarning(previous.SecretExpiry, today); w != "" {
			if err := ctx.Log.Warn(ctx.Project()+":identity.clientSecret: "+w, nil); err != nil {
				return nil, err
			}
		}
	}
	var live transitions.Deployed
	if transitions.NeedsLiveDataplane(previous.Applied, applied) {
		if live, err = deployedCluster(ctx, s); err != nil {
			return nil, err
		}
	}
	if err := transitions.Check(previous.Applied, applied, live); err != nil {
		return nil, fmt.Errorf("changes Azure cannot apply to the deployed stack:\n%w", prefixed(ctx.Project(), err))
	}
	outputs, err := declare(ctx, s)
	if err != nil {
		return nil, err
	}
	outputs[OutputAppliedSettings] = appliedOutput(applied)
	return outputs, nil
}

// Previous is what the stack's last deployment left in its outputs that the next run needs.
type Previous struct {
	// Applied is nil before the first deployment.
	Applied *transitions.Applied
	// SecretExpiry is the client secret's end date (RFC 3339); empty without one.
	SecretExpiry string
}

// ReadPrevious reads the stack's last deployment from its own outputs, through a stack
// reference to itself; everything is empty before the first deployment.
func ReadPrevious(ctx *pulumi.Context) (Previous, error) {
	org := ctx.Organization()
	if org == "" {
		org = "organization" // the DIY backends' fixed organization
	}
	self := fmt.Sprintf("%s/%s/%s", org, ctx.Project(), ctx.Stack())
	ref, err := pulumi.NewStackReference(ctx, "previous-deployment", &pulumi.StackReferenceArgs{Name: pulumi.String(self)})
	if err != nil {
		return Previous{}, fmt.Errorf("reading the stack's last deployment (%s): %w", self, err)
	}
	read := func(name string) (any, error) {
		details, err := ref.GetOutputDetails(name)
		if err != nil {
			return nil, fmt.Errorf("reading the stack's last deployment (%s): %w", self, err)
		}
		if details.Value != nil {
			return details.Value, nil
		}
		return details.SecretValue, nil
	}
	raw, err := read(OutputAppliedSettings)
	if err != nil {
		return Previous{}, err
	}
	applied, err := transitions.Parse(raw)
	if err != nil {
		return Previous{}, err
	}
	expiry, err := read(OutputClientSecretExpiry)
	if err != nil {
		return Previous{}, err
	}
	p := Previous{Applied: applied}
	if e, ok := expiry.(string); ok {
		p.SecretExpiry = e
	}
	return p, nil
}

// secretExpiryNotice is how long before its end date the client secret is warned about.
const secretExpiryNotice = 30 * 24 * time.Hour

// SecretExpiryWarning is the warning preview and up print when the client secret ends within
// 30 days of now (or has ended); empty otherwise, or when the expiry is unknown.
func SecretExpiryWarning(expiry string, now time.Time) string {
	if expiry == "" {
		return ""
	}
	end, err := time.Parse(time.RFC3339, expiry)
	if err != nil {
		return fmt.Sprintf("the client secret's end date %q (output %s) is not a date; check it in Microsoft Entra ID", expiry, OutputClientSecretExpiry)
	}
	const rotate = "rotate it (README: Rotating the client secret) or set identity.clientSecret to false for workload identity"
	switch left := end.Sub(now); {
	case left <= 0:
		return fmt.Sprintf("the client secret expired on %s: tasks and the UI backend can no longer reach the datastore; %s", end.Format(time.DateOnly), rotate)
	case left <= secretExpiryNotice:
		days := int(left.Hours() / 24)
		unit := "days"
		if days == 1 {
			unit = "day"
		}
		return fmt.Sprintf("the client secret expires on %s (in %d %s); %s", end.Format(time.DateOnly), days, unit, rotate)
	}
	return ""
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
		"deleteLocks":        pulumi.Bool(a.DeleteLocks),
		"datastoreGrants":    pulumi.ToStringArray(a.DatastoreGrants),
		"diagnostics":        pulumi.Bool(a.Diagnostics != nil && *a.Diagnostics),
		"networkDataplane":   pulumi.String(a.NetworkDataplane),
	}
}

// deployedCluster reads the deployed cluster's dataplane from Azure, for a stack that moves to
// Cilium: only a cluster already moved outside the stack may (internal/transitions).
func deployedCluster(ctx *pulumi.Context, s *settings.Settings) (transitions.Deployed, error) {
	azure, err := authorization.GetClientConfig(ctx)
	if err != nil {
		return transitions.Deployed{}, fmt.Errorf("reading the Azure client config: %w", err)
	}
	names, err := naming.For(naming.Input{Prefix: s.NamePrefix, Stack: ctx.Stack(), Location: s.Location, SubscriptionID: azure.SubscriptionId})
	if err != nil {
		return transitions.Deployed{}, fmt.Errorf("deriving Azure names: %w", err)
	}
	dataplane, err := infra.ClusterDataplane(ctx, names.ResourceGroup, names.Cluster)
	if err != nil {
		return transitions.Deployed{}, err
	}
	return transitions.Deployed{LiveNetworkDataplane: dataplane, ResourceGroup: names.ResourceGroup, Cluster: names.Cluster}, nil
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
	netArgs := &infra.NetworkArgs{
		ResourceGroupName: rg.Name, Location: s.Location, Tags: tags,
		VNetName: names.VirtualNetwork, VNetCIDR: s.Network.VNetCIDR,
		AKSSubnetName: names.AKSSubnet, AKSSubnetCIDR: s.Network.AKSSubnetCIDR,
		PostgresSubnetName: names.PostgresSubnet, PostgresSubnetCIDR: s.Network.PostgresSubnetCIDR,
		PostgresDNSZoneName: names.PostgresDNSZone, PostgresDNSLinkName: names.PostgresDNSLink,
		StorageServiceEndpoint: s.Storage.NetworkAccess == settings.StorageAccessAllowlist,
	}
	if s.Storage.NetworkAccess == settings.StorageAccessPrivate {
		netArgs.PrivateEndpointSubnetName, netArgs.PrivateEndpointSubnetCIDR = names.PrivateEndpointSubnet, s.Network.PrivateEndpointSubnetCIDR
	}
	net, err := infra.NewNetwork(ctx, "network", netArgs)
	if err != nil {
		return nil, fmt.Errorf("declaring the network: %w", err)
	}
	store, err := infra.NewDatastore(ctx, "datastore", &infra.DatastoreArgs{
		ResourceGroupName: rg.Name, Location: s.Location, Tags: tags,
		AccountName: names.StorageAccount, ContainerName: names.DatastoreContainer,
		Replication: s.Storage.Replication, SoftDeleteDays: s.Storage.SoftDeleteDays,
		ProtectData:   s.ProtectData,
		NetworkAccess: s.Storage.NetworkAccess, AllowedCIDRs: s.Storage.AllowedCidrs,
		ClusterSubnetID:         net.AKSSubnetID.ToStringOutput(),
		PrivateEndpointSubnetID: net.PrivateEndpointSubnetID, VNetID: net.VNetID.ToStringOutput(),
		PrivateEndpointName: names.BlobPrivateEndpoint, PrivateDNSLinkName: names.BlobDNSLink,
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
	pools := taskpools.FromSettings(s)
	task := taskpools.Default(pools)
	var extra []infra.ExtraPoolArgs
	for _, p := range pools {
		if p.Default {
			continue
		}
		extra = append(extra, infra.ExtraPoolArgs{
			NodePoolArgs: infra.NodePoolArgs{
				Name: p.Name, VMSize: p.VMSize, MinCount: p.MinCount, MaxCount: p.MaxCount,
				Labels: p.Labels, Taints: p.TaintStrings(),
			},
			Spot: p.Spot, SpotMaxPrice: p.SpotMaxPrice,
		})
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
			Name: names.TaskPool, VMSize: task.VMSize, MinCount: task.MinCount, MaxCount: task.MaxCount,
			Labels: task.Labels, Taints: task.TaintStrings(),
		},
		ExtraPools: extra,
		// Day-2 (issue 14).
		NodeOSUpgradeChannel:         s.Maintenance.NodeOSChannel,
		ContainerInsightsWorkspaceID: mon.workspaceID(),
		// Security (issue 21).
		NetworkDataplane:    s.AKS.NetworkDataplane,
		AzurePolicy:         s.AKS.AzurePolicy,
		DefenderWorkspaceID: defenderWorkspace(s, mon),
	})
	if err != nil {
		return nil, fmt.Errorf("declaring the AKS cluster: %w", err)
	}
	if err := declareDayTwo(ctx, s, names, rg, tags, mon, window, store, db, cluster); err != nil {
		return nil, err
	}
	identities, err := declareIdentities(ctx, s, names, azure.SubscriptionId, deployer.ObjectId, rg, store, cluster, tags)
	if err != nil {
		return nil, err
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

	k8s, err := declareKubernetes(ctx, s, pools, cluster, store, db, identities)
	if err != nil {
		return nil, err
	}
	return stackOutputs(s, pools, rg, store, db, cluster, identities, registry, k8s, azure.SubscriptionId, azure.TenantId), nil
}

// workloadIdentities is how tasks, workflow pods and the UI backend reach Azure: two federated
// user-assigned identities by default, or one service principal with a client secret.
type workloadIdentities struct {
	tasks, uiBackend *infra.WorkloadIdentity
	// application is set in client-secret mode only.
	application *infra.Identity
}

func (w workloadIdentities) access(identity *infra.WorkloadIdentity) services.AzureAccess {
	if w.application != nil {
		return services.AzureAccess{Credentials: &services.AzureCredentials{
			ClientID: w.application.ClientID, TenantID: w.application.TenantID, ClientSecret: w.application.ClientSecret,
			KeyID: w.application.SecretKeyID,
		}}
	}
	return services.AzureAccess{WorkloadClientID: identity.ClientID}
}

// declareIdentities declares what the workloads sign in to Azure as. Each identity holds only
// what its workload needs on the datastore container and nothing on the cluster: people reach
// the cluster through access.flowRunners, workloads never call the AKS API.
func declareIdentities(ctx *pulumi.Context, s *settings.Settings, names naming.Names, subscriptionID, deployerObjectID string,
	rg *infra.ResourceGroup, store *infra.Datastore, cluster *infra.Cluster, tags map[string]string) (workloadIdentities, error) {
	key := names.Cluster + "/" + names.StorageAccount
	container := store.ContainerID.ToStringOutput()
	if s.Identity.ClientSecret {
		app, err := infra.NewIdentity(ctx, "workloads", &infra.IdentityArgs{
			SubscriptionID: subscriptionID, DisplayName: names.Application, OwnerObjectID: deployerObjectID,
			SecretLifetimeDays: s.Identity.SecretLifetimeDays, Rotation: s.Identity.SecretRotation,
			ContainerID: container, AssignmentKey: key,
		})
		if err != nil {
			return workloadIdentities{}, fmt.Errorf("declaring the workload service principal: %w", err)
		}
		return workloadIdentities{application: app}, nil
	}
	declareOne := func(logical, name, what string, account infra.ServiceAccountRef, grant infra.Grant) (*infra.WorkloadIdentity, error) {
		grant.Scope = container
		w, err := infra.NewWorkloadIdentity(ctx, logical, &infra.WorkloadIdentityArgs{
			ResourceGroupName: rg.Name, Location: s.Location, Tags: tags, SubscriptionID: subscriptionID,
			Name: name, Issuer: cluster.OIDCIssuerURL, AssignmentKey: key,
			ServiceAccounts: []infra.ServiceAccountRef{account}, Grants: []infra.Grant{grant},
		})
		if err != nil {
			return nil, fmt.Errorf("declaring the %s identity: %w", what, err)
		}
		return w, nil
	}
	// Metaflow's tasks and every pod of an Argo workflow run as the task ServiceAccount.
	tasks, err := declareOne("task-identity", names.TaskIdentity, "task",
		infra.ServiceAccountRef{Namespace: s.Metaflow.TaskNamespace, Name: services.TaskServiceAccountName},
		infra.Grant{Logical: "blob-data-contributor", Role: azurefacts.RoleStorageBlobDataContributor,
			Why: "Metaflow tasks and Argo workflow pods read and write the datastore container"})
	if err != nil {
		return workloadIdentities{}, err
	}
	ui, err := declareOne("ui-identity", names.UIIdentity, "UI backend",
		infra.ServiceAccountRef{Namespace: s.Metaflow.Namespace, Name: services.UIBackendAccountName},
		infra.Grant{Logical: "blob-data-reader", Role: azurefacts.RoleStorageBlobDataReader,
			Why: "The Metaflow UI backend reads artifacts, logs and cards from the datastore container"})
	if err != nil {
		return workloadIdentities{}, err
	}
	return workloadIdentities{tasks: tasks, uiBackend: ui}, nil
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

func declareKubernetes(ctx *pulumi.Context, s *settings.Settings, pools []taskpools.Pool, cluster *infra.Cluster, store *infra.Datastore, db *infra.Database, identities workloadIdentities) (*kubernetesSide, error) {
	provider, err := services.NewProvider(ctx, "aks", cluster.Kubeconfig, cluster.APIServer, pulumi.Parent(cluster), pulumi.DependsOn(cluster.KubernetesAccess))
	if err != nil {
		return nil, fmt.Errorf("declaring the Kubernetes provider: %w", err)
	}
	onCluster := pulumi.Provider(provider)
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
		Namespace: s.Metaflow.TaskNamespace, Azure: identities.access(identities.tasks), FlowRunners: runners,
	}, onCluster)
	if err != nil {
		return nil, fmt.Errorf("declaring the task namespace: %w", err)
	}
	side := &kubernetesSide{config: metaflowconfig.Input{
		Container: "", Prefix: DatastorePrefix, TaskImage: s.Metaflow.TaskImage,
		TaskNamespace: tasks.Namespace, TaskServiceAccount: tasks.ServiceAccount, CredentialsSecret: tasks.CredentialsSecret,
		PodLabels: tasks.PodLabels,
		// Plain steps go to the general task pool; a step that names another pool's label
		// replaces this selector (Metaflow's @kubernetes(node_selector=...)) and, tolerating
		// every pool's taints, lands there.
		NodeSelector: taskpools.Default(pools).Selector(),
		Tolerations:  taskpools.Tolerations(pools),
	}}
	if gpu := taskpools.GPU(pools); len(gpu) > 0 {
		if _, err := services.NewGPUDevicePlugin(ctx, "nvidia-device-plugin", &services.GPUDevicePluginArgs{
			NodeSelector: map[string]string{settings.PoolGPULabelKey: "true"},
			Tolerations:  taskpools.Tolerations(gpu),
		}, onCluster); err != nil {
			return nil, fmt.Errorf("declaring the NVIDIA device plugin: %w", err)
		}
	}
	var argo *services.Argo
	var events *services.ArgoEvents
	if s.Argo.Enabled {
		argo, err = services.NewArgo(ctx, "argo", &services.ArgoArgs{
			Namespace: s.Argo.Namespace, ChartVersion: s.Argo.ChartVersion, ChartRepository: s.Argo.ChartRepository, AuthMode: s.Argo.AuthMode,
			Tasks: tasks, BlobEndpoint: store.BlobEndpoint, Container: store.ContainerName, DatastoreRoot: datastoreRoot,
		}, onCluster)
		if err != nil {
			return nil, fmt.Errorf("declaring Argo Workflows: %w", err)
		}
		side.config.Argo = &argo.Server
		if s.ArgoEvents.Enabled {
			events, err = services.NewArgoEvents(ctx, "argo-events", &services.ArgoEventsArgs{
				Namespace: s.ArgoEvents.Namespace, ChartVersion: s.ArgoEvents.ChartVersion, ChartRepository: s.ArgoEvents.ChartRepository,
				JetStreamVersion: s.ArgoEvents.JetStreamVersion, Tasks: tasks, Argo: argo,
			}, onCluster)
			if err != nil {
				return nil, fmt.Errorf("declaring Argo Events: %w", err)
			}
			side.config.Events = &events.Events
		}
	}
	dbPools, err := dbpool.Size(s.Metaflow.Replicas, s.Postgres.SKU)
	if err != nil {
		return nil, fmt.Errorf("internal-error: sizing the database pools after validation: %w", err)
	}
	mf, err := services.NewMetaflow(ctx, "metaflow", &services.MetaflowArgs{
		Namespace: s.Metaflow.Namespace, MetadataImage: s.Metaflow.MetadataImage, UIImage: s.Metaflow.UIImage,
		Replicas: s.Metaflow.Replicas, DBPoolMax: dbPools.PoolMax,
		Database: services.Database{
			Host: db.Host, Port: db.Port, Name: db.DatabaseName, User: db.AdminLogin, Password: db.AdminPassword, Ready: db.Ready,
		},
		UIBackendAzure: identities.access(identities.uiBackend),
		BlobEndpoint:   store.BlobEndpoint, DatastoreRoot: datastoreRoot,
	}, onCluster)
	if err != nil {
		return nil, fmt.Errorf("declaring the Metaflow services: %w", err)
	}
	side.config.Metadata, side.config.UIBackend, side.config.UI = mf.Metadata, mf.UIBackend, mf.UI

	namespaces := map[string]services.NamespaceRef{
		services.RoleServices: {Name: s.Metaflow.Namespace, Resource: mf.NamespaceResource},
		services.RoleTasks:    {Name: s.Metaflow.TaskNamespace, Resource: tasks.NamespaceResource},
	}
	if argo != nil {
		namespaces[services.RoleArgo] = services.NamespaceRef{Name: s.Argo.Namespace, Resource: argo.NamespaceResource}
	}
	if events != nil {
		namespaces[services.RoleArgoEvents] = services.NamespaceRef{Name: s.ArgoEvents.Namespace, Resource: events.NamespaceResource}
	}
	if _, err := services.NewNetworkPolicies(ctx, "network-policies", &services.NetworkPoliciesArgs{
		Namespaces: namespaces,
		// Everything of the cluster's own: pods, services, nodes and the database. The private
		// endpoint's subnet is not, so HTTPS reaches it as it reaches Blob Storage's public
		// address.
		ClusterCIDRs: []string{s.Network.PodCIDR, s.Network.ServiceCIDR, s.Network.AKSSubnetCIDR, s.Network.PostgresSubnetCIDR},
		Flows: services.FlowsArgs{
			Argo: argo != nil, ArgoEvents: events != nil,
			PostgresSubnetCIDR: s.Network.PostgresSubnetCIDR, TaskInternetEgress: s.Metaflow.TaskInternetEgress,
		},
	}, onCluster); err != nil {
		return nil, fmt.Errorf("declaring the network policies: %w", err)
	}
	return side, nil
}
