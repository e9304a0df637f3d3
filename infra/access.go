package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-azure-native-sdk/authorization/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/naming"
)

// Principal is a Microsoft Entra user or group.
type Principal struct {
	ObjectID string
	// Type is User or Group.
	Type string
}

// FlowRunnerAccessArgs configures what people who run flows may do.
type FlowRunnerAccessArgs struct {
	SubscriptionID string
	Runners        []Principal
	// ContainerID scopes their datastore access to the Metaflow container.
	ContainerID pulumi.StringInput
	// ClusterID is the AKS cluster; Kubernetes rights are scoped to TaskNamespace inside it.
	ClusterID     pulumi.StringInput
	TaskNamespace string
	AssignmentKey string
}

// FlowRunnerAccess grants each flow runner, as themselves (no shared secret): Storage Blob Data
// Contributor on the datastore container, Cluster User on the cluster (to fetch a kubeconfig
// that signs in with Entra ID) and, through Azure RBAC for Kubernetes, RBAC Writer in the task
// namespace only.
type FlowRunnerAccess struct {
	pulumi.ResourceState
}

// FlowRunnerGrant is one role a flow runner gets, and on what.
type FlowRunnerGrant struct {
	// Logical distinguishes the grant in names.
	Logical string
	// Role is the built-in role's GUID.
	Role string
	// Scope says which scope the grant uses: "container", "cluster" or "namespace".
	Scope string
}

// FlowRunnerGrants are the roles every flow runner gets.
var FlowRunnerGrants = []FlowRunnerGrant{
	{"blob-data-contributor", azurefacts.RoleStorageBlobDataContributor, "container"},
	{"aks-cluster-user", azurefacts.RoleAKSClusterUser, "cluster"},
	{"aks-rbac-writer", azurefacts.RoleAKSRBACWriter, "namespace"},
}

// NewFlowRunnerAccess declares the role assignments.
func NewFlowRunnerAccess(ctx *pulumi.Context, name string, args *FlowRunnerAccessArgs, opts ...pulumi.ResourceOption) (*FlowRunnerAccess, error) {
	if args == nil {
		return nil, errNilArgs("FlowRunnerAccess")
	}
	if err := requireStrings("FlowRunnerAccess", map[string]string{
		"SubscriptionID": args.SubscriptionID, "TaskNamespace": args.TaskNamespace, "AssignmentKey": args.AssignmentKey,
	}); err != nil {
		return nil, err
	}
	c := &FlowRunnerAccess{}
	if err := ctx.RegisterComponentResource("metaflow-azure:infra:FlowRunnerAccess", name, c, opts...); err != nil {
		return nil, err
	}
	scopes := map[string]pulumi.StringInput{
		"container": args.ContainerID,
		"cluster":   args.ClusterID,
		// Azure RBAC for Kubernetes accepts a namespace of the cluster as a scope.
		"namespace": pulumi.Sprintf("%s/namespaces/%s", args.ClusterID, args.TaskNamespace),
	}
	for _, p := range args.Runners {
		if p.Type != PrincipalTypeUser && p.Type != PrincipalTypeGroup {
			return nil, fmt.Errorf("internal-error: FlowRunnerAccess: principal %s has type %q", p.ObjectID, p.Type)
		}
		for _, g := range FlowRunnerGrants {
			if _, err := authorization.NewRoleAssignment(ctx, fmt.Sprintf("%s-%s-%s", name, p.ObjectID, g.Logical), &authorization.RoleAssignmentArgs{
				RoleAssignmentName: pulumi.String(naming.RoleAssignmentName(g.Logical, p.ObjectID, args.AssignmentKey)),
				PrincipalId:        pulumi.String(p.ObjectID),
				PrincipalType:      pulumi.String(p.Type),
				RoleDefinitionId:   pulumi.String(RoleDefinitionID(args.SubscriptionID, g.Role)),
				Scope:              scopes[g.Scope],
				Description:        pulumi.String("Metaflow flow runner: " + g.Logical),
			}, pulumi.Parent(c)); err != nil {
				return nil, err
			}
		}
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"runners": pulumi.Int(len(args.Runners))})
}
