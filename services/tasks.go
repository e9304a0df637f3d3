package services

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Names in the task namespace that the Metaflow config refers to.
const (
	TaskServiceAccountName = "metaflow-task"
	CredentialsSecretName  = "metaflow-azure-credentials"
	executorRoleName       = "argo-executor"
)

// TasksArgs configures where Metaflow tasks and Argo workflows run.
type TasksArgs struct {
	// Namespace is created for tasks, workflows and Argo Events objects.
	Namespace string
	// Azure is how tasks and workflow pods reach the datastore.
	Azure AzureAccess
	// FlowRunners are Microsoft Entra users and groups who run flows. Azure RBAC for Kubernetes
	// grants them the built-in kinds in the namespace; Argo's custom resources need this
	// Kubernetes Role, which AKS evaluates beside Azure RBAC.
	FlowRunners []Subject
}

// Subject is a Kubernetes RBAC subject for a Microsoft Entra principal: Kind User or Group,
// Name the principal's object id.
type Subject struct {
	Kind string
	Name string
}

// flowRunnerRoleName is the Role flow runners get in the task namespace.
const flowRunnerRoleName = "metaflow-flow-runner"

// Tasks is the task namespace with the ServiceAccount tasks run as (federated to the task
// identity, or with a credentials Secret in client-secret mode) and the RBAC Argo's executor
// needs.
type Tasks struct {
	pulumi.ResourceState

	Namespace         string
	NamespaceResource *corev1.Namespace
	ServiceAccount    string
	// CredentialsSecret is empty unless the stack runs in client-secret mode.
	CredentialsSecret string
	// PodLabels must be on every task and workflow pod for it to reach Azure.
	PodLabels map[string]string
}

// TaskPods is what every task and workflow pod runs with.
type TaskPods struct {
	Namespace      string
	ServiceAccount string
	// CredentialsSecret is empty unless the stack runs in client-secret mode.
	CredentialsSecret string
	Labels            map[string]string
}

// Pods returns what every task and workflow pod runs with.
func (t *Tasks) Pods() TaskPods {
	return TaskPods{Namespace: t.Namespace, ServiceAccount: t.ServiceAccount, CredentialsSecret: t.CredentialsSecret, Labels: t.PodLabels}
}

// NewTasks declares the task namespace and its identity.
func NewTasks(ctx *pulumi.Context, name string, args *TasksArgs, opts ...pulumi.ResourceOption) (*Tasks, error) {
	if args == nil {
		return nil, errNilArgs("Tasks")
	}
	if err := requireNonEmpty("Tasks", map[string]string{"Namespace": args.Namespace}); err != nil {
		return nil, err
	}
	if err := args.Azure.validate("Tasks"); err != nil {
		return nil, err
	}
	c := &Tasks{Namespace: args.Namespace, ServiceAccount: TaskServiceAccountName, PodLabels: args.Azure.PodLabels()}
	if !args.Azure.Federated() {
		c.CredentialsSecret = CredentialsSecretName
	}
	if err := ctx.RegisterComponentResource("metaflow-azure:services:Tasks", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	namespace, err := NewNamespace(ctx, name+"-namespace", args.Namespace, tasksPodSecurity, parent)
	if err != nil {
		return nil, err
	}
	ns := namespaceName(namespace)
	c.NamespaceResource = namespace

	sa, err := corev1.NewServiceAccount(ctx, name+"-service-account", &corev1.ServiceAccountArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(TaskServiceAccountName), Namespace: ns,
			Labels:      pulumi.ToStringMap(labels(TaskServiceAccountName, "tasks")),
			Annotations: args.Azure.serviceAccountAnnotations(),
		},
	}, parent)
	if err != nil {
		return nil, err
	}
	if !args.Azure.Federated() {
		if _, err := newAzureCredentialsSecret(ctx, name+"-azure-credentials", ns, CredentialsSecretName, *args.Azure.Credentials, parent); err != nil {
			return nil, err
		}
	}
	// Argo ≥ 3.4's executor reports step results through WorkflowTaskResult objects, created and
	// patched as the pod's own ServiceAccount; without this every workflow step fails.
	if err := newRoleWithBinding(ctx, name+"-executor", executorRoleName, "tasks", ns, rbacv1.PolicyRuleArray{
		&rbacv1.PolicyRuleArgs{
			ApiGroups: pulumi.ToStringArray([]string{"argoproj.io"}),
			Resources: pulumi.ToStringArray([]string{"workflowtaskresults"}),
			Verbs:     pulumi.ToStringArray([]string{"create", "patch"}),
		},
	}, rbacv1.SubjectArray{&rbacv1.SubjectArgs{
		Kind: pulumi.String("ServiceAccount"), Name: sa.Metadata.Name().Elem(), Namespace: ns,
	}}, parent); err != nil {
		return nil, err
	}
	if len(args.FlowRunners) > 0 {
		subjects := rbacv1.SubjectArray{}
		for _, r := range args.FlowRunners {
			subjects = append(subjects, &rbacv1.SubjectArgs{
				Kind: pulumi.String(r.Kind), Name: pulumi.String(r.Name), ApiGroup: pulumi.String("rbac.authorization.k8s.io"),
			})
		}
		if err := newRoleWithBinding(ctx, name+"-flow-runners", flowRunnerRoleName, "tasks", ns, rbacv1.PolicyRuleArray{
			&rbacv1.PolicyRuleArgs{
				ApiGroups: pulumi.ToStringArray([]string{"argoproj.io"}),
				Resources: pulumi.ToStringArray([]string{"workflows", "workflowtemplates", "cronworkflows", "sensors"}),
				Verbs:     pulumi.ToStringArray([]string{"get", "list", "watch", "create", "update", "patch", "delete"}),
			},
			&rbacv1.PolicyRuleArgs{
				ApiGroups: pulumi.ToStringArray([]string{"argoproj.io"}),
				Resources: pulumi.ToStringArray([]string{"eventsources", "eventbuses", "workflowtaskresults"}),
				Verbs:     pulumi.ToStringArray([]string{"get", "list", "watch"}),
			},
		}, subjects, parent); err != nil {
			return nil, err
		}
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"namespace":         pulumi.String(c.Namespace),
		"serviceAccount":    pulumi.String(c.ServiceAccount),
		"credentialsSecret": pulumi.String(c.CredentialsSecret),
	})
}
