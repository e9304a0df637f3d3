package infra

import (
	"encoding/base64"
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi-azure-native-sdk/authorization/v2"
	containerservice "github.com/pulumi/pulumi-azure-native-sdk/containerservice/v2/v20241001"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/kubeconfig"
	"metaflow-azure/internal/naming"
)

// NodePoolArgs configures one autoscaling node pool.
type NodePoolArgs struct {
	// Name is 1–12 lowercase letters and digits.
	Name     string
	VMSize   string
	MinCount int
	MaxCount int
	// Labels are set on every node of the pool.
	Labels map[string]string
	// Taints ("key=value:Effect") keep pods without a matching toleration off the pool.
	Taints []string
}

// ExtraPoolArgs configures one more User-mode task pool.
type ExtraPoolArgs struct {
	NodePoolArgs
	// Spot makes it an Azure Spot pool whose evicted nodes are deleted; SpotMaxPrice is the
	// USD/hour cap, -1 for up to on-demand.
	Spot         bool
	SpotMaxPrice float64
}

// ClusterArgs configures the AKS cluster.
type ClusterArgs struct {
	ResourceGroupName pulumi.StringInput
	Location          string
	Tags              map[string]string
	SubscriptionID    string
	TenantID          string

	Name              string
	DNSPrefix         string
	NodeResourceGroup string
	IdentityName      string
	// KubernetesVersion is pinned ("1.36" or "1.36.4").
	KubernetesVersion string
	// UpgradeChannel is AKS's automatic upgrade channel (patch, node-image or none).
	UpgradeChannel string
	// KubeLogin is how the Kubernetes provider signs in to an Azure RBAC cluster: "token" or a
	// non-interactive kubelogin mode (internal/kubeconfig).
	KubeLogin string
	// SKUTier is Free or Standard.
	SKUTier string
	// AuthorizedIPRanges limit the API server; empty leaves it public.
	AuthorizedIPRanges []string
	// AzureRBAC turns on AKS-managed Entra ID with Azure RBAC for Kubernetes and turns off
	// local accounts.
	AzureRBAC bool
	// DeployerObjectID is who runs the stack; with AzureRBAC it needs Kubernetes admin rights
	// to declare the in-cluster objects, which nobody has by default.
	DeployerObjectID string
	// DeployerPrincipalType is User or ServicePrincipal: ARM refuses a role assignment whose
	// principalType does not match the principal (azure-native would send User).
	DeployerPrincipalType pulumi.StringInput

	SubnetID    pulumi.StringInput
	PodCIDR     string
	ServiceCIDR string

	SystemPool NodePoolArgs
	TaskPool   NodePoolArgs
	// ExtraPools are GPU, Spot or other task pools, each User mode and able to scale to zero.
	ExtraPools []ExtraPoolArgs

	// Day-2 operations (issue 14). NodeOSUpgradeChannel keeps nodes patched (NodeImage or
	// SecurityPatch); empty leaves AKS's default.
	NodeOSUpgradeChannel string
	// ContainerInsightsWorkspaceID turns on Container Insights to that Log Analytics
	// workspace; nil leaves it off.
	ContainerInsightsWorkspaceID pulumi.StringInput

	// Security (issue 21). NetworkDataplane is "cilium" (Azure CNI powered by Cilium, which
	// enforces NetworkPolicies) or "azure" (no policy engine: the profile the stack sent before).
	NetworkDataplane string
	// AzurePolicy enables the Azure Policy add-on.
	AzurePolicy bool
	// DefenderWorkspaceID turns on the Defender profile, reporting to that workspace; nil
	// leaves it off.
	DefenderWorkspaceID pulumi.StringInput
}

// Cluster is an AKS cluster with a user-assigned control-plane identity that may join the node
// subnet, Azure CNI Overlay, OIDC issuer and workload identity, a system pool and a separate
// autoscaling task pool.
type Cluster struct {
	pulumi.ResourceState

	Name          pulumi.StringOutput
	ID            pulumi.IDOutput
	OIDCIssuerURL pulumi.StringOutput
	// Kubeconfig is the cluster-user kubeconfig made non-interactive for the stack's own
	// Kubernetes provider (secret), never written to disk.
	Kubeconfig pulumi.StringOutput
	// APIServer is the cluster's API server URL, from its kubeconfig: it names the cluster for
	// as long as the cluster lives.
	APIServer pulumi.StringOutput
	// UserKubeconfig is the kubeconfig for people and tools after the deploy (the kubeconfig
	// output): with Azure RBAC it signs in through kubelogin with the Azure CLI's login, which
	// lasts, where the provider's token expires within the hour.
	UserKubeconfig pulumi.StringOutput
	// KubeletObjectID is the object id of the identity the nodes pull images as.
	KubeletObjectID pulumi.StringOutput
	// TaskPool is the task node pool resource.
	TaskPool *containerservice.AgentPool
	// ExtraPools are the extra task pools' resources, in ClusterArgs order.
	ExtraPools []*containerservice.AgentPool
	// KubernetesAccess is what the Kubernetes provider must wait for before it may act: the
	// deployer's admin role assignment when Azure RBAC is on, else nothing.
	KubernetesAccess []pulumi.Resource
}

// NewCluster declares the identity, its subnet access, the cluster and the task pool.
func NewCluster(ctx *pulumi.Context, name string, args *ClusterArgs, opts ...pulumi.ResourceOption) (*Cluster, error) {
	if args == nil {
		return nil, errNilArgs("Cluster")
	}
	if err := requireStrings("Cluster", map[string]string{
		"Location": args.Location, "SubscriptionID": args.SubscriptionID, "TenantID": args.TenantID,
		"Name": args.Name, "DNSPrefix": args.DNSPrefix, "NodeResourceGroup": args.NodeResourceGroup,
		"IdentityName": args.IdentityName, "KubernetesVersion": args.KubernetesVersion, "SKUTier": args.SKUTier,
		"UpgradeChannel": args.UpgradeChannel, "KubeLogin": args.KubeLogin,
		"PodCIDR": args.PodCIDR, "ServiceCIDR": args.ServiceCIDR, "NetworkDataplane": args.NetworkDataplane,
	}); err != nil {
		return nil, err
	}
	if args.NetworkDataplane != azurefacts.NetworkDataplaneCilium && args.NetworkDataplane != azurefacts.NetworkDataplaneAzure {
		return nil, fmt.Errorf("internal-error: Cluster: NetworkDataplane %q", args.NetworkDataplane)
	}
	dnsServiceIP, err := DNSServiceIP(args.ServiceCIDR)
	if err != nil {
		return nil, fmt.Errorf("internal-error: Cluster: %w", err)
	}
	c := &Cluster{}
	if err := ctx.RegisterComponentResource("metaflow-azure:infra:Cluster", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)

	// A user-assigned identity exists before the cluster, so its right to join the subnet can
	// be granted first; a system-assigned one would only exist after the create that needs it.
	identity, err := newUserAssignedIdentity(ctx, name+"-identity", args.IdentityName, args.ResourceGroupName, args.Location, args.Tags, parent)
	if err != nil {
		return nil, err
	}
	subnetAccess, err := authorization.NewRoleAssignment(ctx, name+"-subnet-access", &authorization.RoleAssignmentArgs{
		RoleAssignmentName: pulumi.String(naming.RoleAssignmentName("aks-subnet", args.Name)),
		PrincipalId:        identity.PrincipalId,
		PrincipalType:      pulumi.String(PrincipalTypeServicePrincipal),
		RoleDefinitionId:   pulumi.String(RoleDefinitionID(args.SubscriptionID, azurefacts.RoleNetworkContributor)),
		Scope:              args.SubnetID,
		Description:        pulumi.String("AKS control plane joins nodes and load balancers to the cluster subnet"),
	}, parent)
	if err != nil {
		return nil, err
	}
	// AKS checks the identity's subnet access as soon as it creates the cluster.
	clusterIdentity := afterPropagation(ctx, subnetAccess.CreatedOn, identity.ID().ToStringOutput())

	var aad containerservice.ManagedClusterAADProfilePtrInput
	if args.AzureRBAC {
		aad = &containerservice.ManagedClusterAADProfileArgs{
			Managed:         pulumi.Bool(true),
			EnableAzureRBAC: pulumi.Bool(true),
			TenantID:        pulumi.String(args.TenantID),
		}
	}
	var apiAccess containerservice.ManagedClusterAPIServerAccessProfilePtrInput
	if len(args.AuthorizedIPRanges) > 0 {
		apiAccess = &containerservice.ManagedClusterAPIServerAccessProfileArgs{
			AuthorizedIPRanges: pulumi.ToStringArray(args.AuthorizedIPRanges),
		}
	}
	system := args.SystemPool
	cluster, err := containerservice.NewManagedCluster(ctx, name, &containerservice.ManagedClusterArgs{
		ResourceName:      pulumi.String(args.Name),
		ResourceGroupName: args.ResourceGroupName,
		Location:          pulumi.String(args.Location),
		DnsPrefix:         pulumi.String(args.DNSPrefix),
		NodeResourceGroup: pulumi.String(args.NodeResourceGroup),
		KubernetesVersion: pulumi.String(args.KubernetesVersion),
		Sku:               &containerservice.ManagedClusterSKUArgs{Name: pulumi.String("Base"), Tier: pulumi.String(args.SKUTier)},
		Identity: &containerservice.ManagedClusterIdentityArgs{
			Type:                   containerservice.ResourceIdentityTypeUserAssigned,
			UserAssignedIdentities: pulumi.StringArray{clusterIdentity},
		},
		EnableRBAC:             pulumi.Bool(true),
		AadProfile:             aad,
		DisableLocalAccounts:   pulumi.Bool(args.AzureRBAC),
		ApiServerAccessProfile: apiAccess,
		NetworkProfile:         networkProfile(args, dnsServiceIP),
		OidcIssuerProfile:      &containerservice.ManagedClusterOIDCIssuerProfileArgs{Enabled: pulumi.Bool(true)},
		SecurityProfile: &containerservice.ManagedClusterSecurityProfileArgs{
			WorkloadIdentity: &containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs{Enabled: pulumi.Bool(true)},
			Defender:         defenderProfile(args.DefenderWorkspaceID),
		},
		// The minor version is pinned by setting; the channel may apply patches within it.
		AutoUpgradeProfile: &containerservice.ManagedClusterAutoUpgradeProfileArgs{
			UpgradeChannel:       pulumi.String(args.UpgradeChannel),
			NodeOSUpgradeChannel: stringOrNil(args.NodeOSUpgradeChannel),
		},
		AddonProfiles: addonProfiles(args.ContainerInsightsWorkspaceID, args.AzurePolicy),
		AgentPoolProfiles: containerservice.ManagedClusterAgentPoolProfileArray{
			&containerservice.ManagedClusterAgentPoolProfileArgs{
				Name:              pulumi.String(system.Name),
				Mode:              pulumi.String("System"),
				Type:              pulumi.String("VirtualMachineScaleSets"),
				OsType:            pulumi.String("Linux"),
				VmSize:            pulumi.String(system.VMSize),
				EnableAutoScaling: pulumi.Bool(true),
				MinCount:          pulumi.Int(system.MinCount),
				MaxCount:          pulumi.Int(system.MaxCount),
				Count:             pulumi.Int(system.MinCount),
				VnetSubnetID:      args.SubnetID,
				NodeLabels:        pulumi.ToStringMap(system.Labels),
				NodeTaints:        pulumi.ToStringArray(system.Taints),
			},
		},
		Tags: pulumi.ToStringMap(args.Tags),
	}, parent,
		pulumi.DependsOn([]pulumi.Resource{subnetAccess}),
		pulumi.IgnoreChanges([]string{
			// The autoscaler owns the node count; only the bounds are ours.
			"agentPoolProfiles[0].count",
			// azure-native replaces a ManagedCluster on any change of networkProfile. The only
			// change of the dataplane the stack lets through (internal/transitions) is a cluster
			// moved to Cilium outside it, whose state predates these fields: ignoring them keeps
			// that up an update. New clusters are created with them.
			"networkProfile.networkDataplane", "networkProfile.networkPolicy",
		}),
	)
	if err != nil {
		return nil, err
	}
	taskPool, err := newUserPool(ctx, name, cluster, args, ExtraPoolArgs{NodePoolArgs: args.TaskPool}, parent)
	if err != nil {
		return nil, err
	}
	for _, x := range args.ExtraPools {
		pool, err := newUserPool(ctx, name, cluster, args, x, parent)
		if err != nil {
			return nil, err
		}
		c.ExtraPools = append(c.ExtraPools, pool)
	}

	creds := containerservice.ListManagedClusterUserCredentialsOutput(ctx, containerservice.ListManagedClusterUserCredentialsOutputArgs{
		ResourceGroupName: args.ResourceGroupName,
		ResourceName:      cluster.Name,
	}, pulumi.Parent(c))
	kubeconfigRaw := creds.Kubeconfigs().Index(pulumi.Int(0)).Value().ApplyT(func(encoded string) (string, error) {
		raw, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil {
			return "", fmt.Errorf("decoding the AKS user kubeconfig: %w", err)
		}
		return string(raw), nil
	}).(pulumi.StringOutput)
	kubeconfigOut, userKubeconfig := kubeconfigRaw, kubeconfigRaw

	if args.AzureRBAC {
		if args.DeployerObjectID == "" || args.DeployerPrincipalType == nil {
			return nil, fmt.Errorf("internal-error: Cluster: DeployerObjectID and DeployerPrincipalType are required with AzureRBAC")
		}
		admin, err := authorization.NewRoleAssignment(ctx, name+"-deployer-admin", &authorization.RoleAssignmentArgs{
			RoleAssignmentName: pulumi.String(naming.RoleAssignmentName("aks-deployer-admin", args.DeployerObjectID, args.Name)),
			PrincipalId:        pulumi.String(args.DeployerObjectID),
			PrincipalType:      args.DeployerPrincipalType,
			RoleDefinitionId:   pulumi.String(RoleDefinitionID(args.SubscriptionID, azurefacts.RoleAKSRBACClusterAdmin)),
			Scope:              cluster.ID(),
			Description:        pulumi.String("The deployer declares Metaflow's Kubernetes objects through Azure RBAC"),
		}, parent)
		if err != nil {
			return nil, err
		}
		c.KubernetesAccess = append(c.KubernetesAccess, admin)

		userKubeconfig = kubeconfigRaw.ApplyT(func(raw string) (string, error) {
			out, err := kubeconfig.NonInteractive([]byte(raw), "azurecli", "")
			return string(out), err
		}).(pulumi.StringOutput)
		// AKS returns an exec kubeconfig that signs in with a device code; the provider
		// gets one that needs no person, once the admin assignment has propagated.
		ready := afterPropagation(ctx, admin.CreatedOn, kubeconfigRaw)
		if args.KubeLogin == kubeconfig.ModeToken {
			token := authorization.GetClientTokenOutput(ctx, authorization.GetClientTokenOutputArgs{
				Endpoint: ready.ApplyT(func(string) string { return kubeconfig.AKSServerAppID }).(pulumi.StringOutput).ToStringPtrOutput(),
			}, pulumi.Parent(c))
			kubeconfigOut = pulumi.All(ready, token.Token()).ApplyT(func(vs []any) (string, error) {
				out, err := kubeconfig.NonInteractive([]byte(vs[0].(string)), kubeconfig.ModeToken, vs[1].(string))
				return string(out), err
			}).(pulumi.StringOutput)
		} else {
			mode := args.KubeLogin
			kubeconfigOut = ready.ApplyT(func(raw string) (string, error) {
				out, err := kubeconfig.NonInteractive([]byte(raw), mode, "")
				return string(out), err
			}).(pulumi.StringOutput)
		}
	}

	c.Name = cluster.Name
	c.ID = cluster.ID()
	c.OIDCIssuerURL = cluster.OidcIssuerProfile.IssuerURL().Elem()
	c.Kubeconfig = pulumi.ToSecret(kubeconfigOut).(pulumi.StringOutput)
	c.APIServer = pulumi.Unsecret(kubeconfigRaw.ApplyT(func(raw string) (string, error) {
		return kubeconfig.Server([]byte(raw))
	})).(pulumi.StringOutput)
	c.UserKubeconfig = pulumi.ToSecret(userKubeconfig).(pulumi.StringOutput)
	c.TaskPool = taskPool
	c.KubeletObjectID = cluster.IdentityProfile.MapIndex(pulumi.String("kubeletidentity")).ObjectId().Elem()
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"name":          c.Name,
		"id":            c.ID,
		"oidcIssuerUrl": c.OIDCIssuerURL,
		"kubeconfig":    c.UserKubeconfig,
	})
}

// newUserPool declares a User-mode autoscaling pool: never System mode, so AKS never puts
// cluster add-ons there and a Spot pool can never be the pool the cluster depends on.
func newUserPool(ctx *pulumi.Context, name string, cluster *containerservice.ManagedCluster, args *ClusterArgs, p ExtraPoolArgs, parent pulumi.ResourceOption) (*containerservice.AgentPool, error) {
	pa := &containerservice.AgentPoolArgs{
		AgentPoolName:       pulumi.String(p.Name),
		ResourceName:        cluster.Name,
		ResourceGroupName:   args.ResourceGroupName,
		Mode:                pulumi.String("User"),
		Type:                pulumi.String("VirtualMachineScaleSets"),
		OsType:              pulumi.String("Linux"),
		VmSize:              pulumi.String(p.VMSize),
		OrchestratorVersion: pulumi.String(args.KubernetesVersion),
		EnableAutoScaling:   pulumi.Bool(true),
		MinCount:            pulumi.Int(p.MinCount),
		MaxCount:            pulumi.Int(p.MaxCount),
		Count:               pulumi.Int(p.MinCount),
		VnetSubnetID:        args.SubnetID,
		NodeLabels:          pulumi.ToStringMap(p.Labels),
		NodeTaints:          pulumi.ToStringArray(p.Taints),
		Tags:                pulumi.ToStringMap(args.Tags),
	}
	if p.Spot {
		pa.ScaleSetPriority = pulumi.String(azurefacts.SpotPriority)
		// Deleted, not deallocated: deallocated nodes keep counting against the quota.
		pa.ScaleSetEvictionPolicy = pulumi.String(azurefacts.SpotEvictionDelete)
		pa.SpotMaxPrice = pulumi.Float64(p.SpotMaxPrice)
	}
	pool, err := containerservice.NewAgentPool(ctx, name+"-"+p.Name, pa, parent, pulumi.IgnoreChanges([]string{"count"}))
	if err != nil {
		return nil, fmt.Errorf("declaring node pool %s: %w", p.Name, err)
	}
	return pool, nil
}

// DNSServiceIP is the cluster DNS address: the stack's choice is the tenth address of the
// service range. It must lie inside the range, so the range must be /28 or larger.
func DNSServiceIP(serviceCIDR string) (string, error) {
	p, err := netip.ParsePrefix(serviceCIDR)
	if err != nil {
		return "", fmt.Errorf("service CIDR %q: %w", serviceCIDR, err)
	}
	if !p.Addr().Is4() {
		return "", fmt.Errorf("service CIDR %q is not IPv4", serviceCIDR)
	}
	addr := p.Masked().Addr()
	for range 10 {
		addr = addr.Next()
	}
	if !p.Contains(addr) {
		return "", fmt.Errorf("service CIDR %q is too small for the DNS service address (the tenth address); use /28 or larger", serviceCIDR)
	}
	return addr.String(), nil
}

func stringOrNil(v string) pulumi.StringPtrInput {
	if v == "" {
		return nil
	}
	return pulumi.String(v)
}

// addonProfiles are the cluster's add-ons: Container Insights to a workspace, signing in with
// the cluster's managed identity (legacy workspace-key authentication is retired), and the Azure
// Policy add-on; nil without either.
func addonProfiles(workspaceID pulumi.StringInput, azurePolicy bool) containerservice.ManagedClusterAddonProfileMapInput {
	addons := containerservice.ManagedClusterAddonProfileMap{}
	if workspaceID != nil {
		addons[azurefacts.ContainerInsightsAddon] = &containerservice.ManagedClusterAddonProfileArgs{
			Enabled: pulumi.Bool(true),
			Config: pulumi.StringMap{
				azurefacts.ContainerInsightsWorkspaceKey: workspaceID,
				azurefacts.ContainerInsightsAADAuthKey:   pulumi.String("true"),
			},
		}
	}
	if azurePolicy {
		addons[azurefacts.AzurePolicyAddon] = &containerservice.ManagedClusterAddonProfileArgs{Enabled: pulumi.Bool(true)}
	}
	if len(addons) == 0 {
		return nil
	}
	return addons
}

// networkProfile is Azure CNI Overlay, with Cilium as dataplane and policy engine unless the
// stack keeps Azure's dataplane, whose profile names neither (as the stack sent it before Cilium).
func networkProfile(args *ClusterArgs, dnsServiceIP string) *containerservice.ContainerServiceNetworkProfileArgs {
	p := &containerservice.ContainerServiceNetworkProfileArgs{
		NetworkPlugin:     pulumi.String("azure"),
		NetworkPluginMode: pulumi.String("overlay"),
		PodCidr:           pulumi.String(args.PodCIDR),
		ServiceCidr:       pulumi.String(args.ServiceCIDR),
		DnsServiceIP:      pulumi.String(dnsServiceIP),
		LoadBalancerSku:   pulumi.String("standard"),
	}
	if args.NetworkDataplane == azurefacts.NetworkDataplaneCilium {
		p.NetworkDataplane = pulumi.String(azurefacts.NetworkDataplaneCilium)
		p.NetworkPolicy = pulumi.String(azurefacts.NetworkPolicyCilium)
	}
	return p
}

// defenderProfile is the AKS Defender profile (the Defender for Containers sensor) reporting to
// a workspace; nil leaves it off.
func defenderProfile(workspaceID pulumi.StringInput) containerservice.ManagedClusterSecurityProfileDefenderPtrInput {
	if workspaceID == nil {
		return nil
	}
	return &containerservice.ManagedClusterSecurityProfileDefenderArgs{
		LogAnalyticsWorkspaceResourceId: workspaceID,
		SecurityMonitoring:              &containerservice.ManagedClusterSecurityProfileDefenderSecurityMonitoringArgs{Enabled: pulumi.Bool(true)},
	}
}

// ClusterDataplane reads the deployed cluster's network dataplane from Azure: the program asks
// before it lets the stack move to Cilium, which must happen outside the stack first.
func ClusterDataplane(ctx *pulumi.Context, resourceGroup, cluster string) (string, error) {
	c, err := containerservice.LookupManagedCluster(ctx, &containerservice.LookupManagedClusterArgs{
		ResourceGroupName: resourceGroup, ResourceName: cluster,
	})
	if err != nil {
		return "", fmt.Errorf("reading the deployed cluster %s's network profile: %w", cluster, err)
	}
	if c.NetworkProfile == nil || c.NetworkProfile.NetworkDataplane == nil {
		return azurefacts.NetworkDataplaneAzure, nil
	}
	return *c.NetworkProfile.NetworkDataplane, nil
}
