package services

import (
	"slices"
	"strings"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"

	"metaflow-azure/internal/metaflowconfig"
)

// Argo Workflows release facts the rest of the stack refers to. The chart names its objects
// <fullname>-<component>, and its fullname is the release name when that contains the chart's
// name ("argo-workflows" does; argo-workflows-0.47.5 templates/_helpers.tpl:28-36); the chart
// tier of tests/k8sapi checks these names in the rendered chart.
const (
	ArgoReleaseName              = "argo-workflows"
	ArgoServerServiceAccount     = ArgoReleaseName + "-server"
	ArgoServerService            = ArgoReleaseName + "-server"
	ArgoControllerServiceAccount = ArgoReleaseName + "-workflow-controller"
	ArgoServerPort               = 2746
)

// Argo's default artifact repository for workflows in the task namespace: Argo reads the
// ConfigMap of this name in a workflow's namespace, and the key its annotation names
// (docs: "Configuring Your Artifact Repository", artifact-repositories ConfigMap).
const (
	ArtifactRepositoriesConfigMap = "artifact-repositories"
	ArtifactRepositoryKey         = "default-v1"
	DefaultArtifactRepositoryAnno = "workflows.argoproj.io/default-artifact-repository"
	// ArtifactBlobNameFormat is where Argo puts a workflow's artifacts in the container. The
	// {{...}} are Argo's placeholders, filled per workflow and pod; they must reach Argo as is.
	ArtifactBlobNameFormat = "argo-artifacts/{{workflow.namespace}}/{{workflow.name}}/{{pod.name}}"
)

// ArgoArgs configures Argo Workflows.
type ArgoArgs struct {
	// Namespace is created for the controller and server.
	Namespace    string
	ChartVersion string
	// ChartRepository is an HTTPS Helm repository or an oci:// registry path holding the chart.
	ChartRepository string
	// AuthMode is the server's --auth-mode: client or server.
	AuthMode string
	// Tasks is where workflows run: the controller and the server manage that namespace only
	// and workflows default to its ServiceAccount.
	Tasks *Tasks
	// BlobEndpoint and Container make the default artifact repository Azure Blob.
	BlobEndpoint pulumi.StringInput
	Container    pulumi.StringInput
	// DatastoreRoot is Metaflow's datastore root ("<container>/<prefix>"), which every container
	// template gets by default (see ArgoValues).
	DatastoreRoot pulumi.StringInput
}

// Argo is Argo Workflows from the official chart, with no demo components, confined to the task
// namespace.
type Argo struct {
	pulumi.ResourceState

	Release *HelmRelease
	// NamespaceResource is the controller's and server's namespace.
	NamespaceResource *corev1.Namespace
	// Server is the Argo UI/API, reached by port-forward.
	Server metaflowconfig.Endpoint
}

// NewArgo declares the namespace, the Helm release, the controller's and server's rights in
// the task namespace and the task namespace's default artifact repository.
func NewArgo(ctx *pulumi.Context, name string, args *ArgoArgs, opts ...pulumi.ResourceOption) (*Argo, error) {
	if args == nil || args.Tasks == nil {
		return nil, errNilArgs("Argo")
	}
	if err := requireNonEmpty("Argo", map[string]string{
		"Namespace": args.Namespace, "ChartVersion": args.ChartVersion, "ChartRepository": args.ChartRepository, "AuthMode": args.AuthMode,
	}); err != nil {
		return nil, err
	}
	c := &Argo{Server: metaflowconfig.Endpoint{
		Name: "argo", Namespace: args.Namespace, Service: ArgoServerService,
		Port: ArgoServerPort, LocalPort: ArgoServerPort, Scheme: "https", Path: "/",
	}}
	if err := ctx.RegisterComponentResource("metaflow-azure:services:Argo", name, c, opts...); err != nil {
		return nil, err
	}
	release, ns, err := newArgoRelease(ctx, c, name, args.Namespace, argoPodSecurity, ArgoReleaseName,
		chartSource{Chart: "argo-workflows", Repository: args.ChartRepository, Version: args.ChartVersion},
		ArgoValues(args.Tasks.Pods(), args.AuthMode, MetaflowDatastoreEnv(args.BlobEndpoint, args.DatastoreRoot)))
	if err != nil {
		return nil, err
	}
	c.Release, c.NamespaceResource = release, ns
	parent := pulumi.Parent(c)
	tasksNS := pulumi.String(args.Tasks.Namespace)
	inTasks := pulumi.DependsOn([]pulumi.Resource{args.Tasks.NamespaceResource})
	// With singleNamespace the chart binds the controller and the server only in their own
	// namespace; these Roles give them the task namespace, and nothing else.
	if err := newRoleWithBinding(ctx, name+"-controller-tasks", ArgoControllerServiceAccount, "argo", tasksNS,
		argoControllerTaskRules(), serviceAccountSubject(ArgoControllerServiceAccount, args.Namespace), parent, inTasks); err != nil {
		return nil, err
	}
	if err := newRoleWithBinding(ctx, name+"-server-tasks", ArgoServerServiceAccount, "argo", tasksNS,
		argoServerTaskRules(), serviceAccountSubject(ArgoServerServiceAccount, args.Namespace), parent, inTasks); err != nil {
		return nil, err
	}
	if _, err := newArtifactRepositories(ctx, name+"-artifact-repositories", tasksNS, args.BlobEndpoint, args.Container, parent, inTasks); err != nil {
		return nil, err
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"release":        release.Name,
		"namespace":      pulumi.String(args.Namespace),
		"serverService":  pulumi.String(ArgoServerService),
		"serverAccount":  pulumi.String(ArgoServerServiceAccount),
		"chartVersion":   pulumi.String(args.ChartVersion),
		"watchNamespace": pulumi.String(args.Tasks.Namespace),
	})
}

// ArgoValues are the values of the argo-workflows release: the task namespace is the only
// namespace the controller and server manage, and workflows there run as the task
// ServiceAccount with the task pods' labels (the workload identity label) by default. In
// client-secret mode the executor reads the Azure credentials from the task namespace's Secret
// instead. Every key is read by the pinned chart and changes what it renders; the chart tier of
// tests/k8sapi proves both.
//
// templateEnv goes into every container template of every workflow as a template default
// (workflowDefaults.spec.templateDefaults.container.env). Metaflow gives its step templates
// their datastore settings itself, but not the error-capture exit hook of each WorkflowTemplate
// (argo_workflows.py, _error_msg_capture_hook_templates, at 2.19.38): that pod downloads the
// code package from $METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT and saves its logs under the
// datastore root, so without the defaults every failed run loses its error capture on Azure.
// Argo merges template defaults under the template's own values (a strategic merge patch, env
// merged by name: workflow/controller/operator.go mergedTemplateDefaultsInto at v3.7.11), so a
// step's own settings win; the Metaflow tier (tests/metaflow) checks the hook's resulting env.
func ArgoValues(pods TaskPods, authMode string, templateEnv pulumi.StringMap) pulumi.Map {
	workflowSpec := pulumi.Map{"serviceAccountName": pulumi.String(pods.ServiceAccount)}
	if len(pods.Labels) > 0 {
		// Every pod of a workflow (steps, Metaflow's heartbeat daemon, artifact GC, the
		// error-capture hook) carries them, whoever submitted the workflow.
		workflowSpec["podMetadata"] = pulumi.Map{"labels": pulumi.ToStringMap(pods.Labels)}
	}
	if len(templateEnv) > 0 {
		names := make([]string, 0, len(templateEnv))
		for name := range templateEnv {
			names = append(names, name)
		}
		// Sorted: a stable order keeps the release's values, and so the preview, unchanged.
		slices.Sort(names)
		env := make(pulumi.Array, 0, len(names))
		for _, name := range names {
			env = append(env, pulumi.Map{"name": pulumi.String(name), "value": templateEnv[name]})
		}
		workflowSpec["templateDefaults"] = pulumi.Map{"container": pulumi.Map{"env": env}}
	}
	managed := "--managed-namespace=" + pods.Namespace
	values := pulumi.Map{
		// Role/RoleBinding in the release namespace instead of ClusterRole/ClusterRoleBinding, and
		// --namespaced for the controller and the server (templates/controller/
		// workflow-controller-cluster-roles.yaml:3, workflow-controller-crb.yaml:3,
		// workflow-controller-deployment.yaml:57, server/server-cluster-roles.yaml:3,
		// server/server-crb.yaml:3, server/server-deployment.yaml:72 at 0.47.5). --managed-namespace
		// makes the task namespace the one they manage (Argo's docs/managed-namespace.md: both run
		// --namespaced, plus --managed-namespace for workflows in another namespace); NewArgo grants
		// them what they need there.
		"singleNamespace": pulumi.Bool(true),
		// The stack owns the workflow ServiceAccount and its executor RBAC (Tasks); the chart's
		// would be a Role for an unused "argo-workflow" account.
		"workflow": pulumi.Map{"rbac": pulumi.Map{"create": pulumi.Bool(false)}},
		"controller": pulumi.Map{
			// The namespace enforces Pod Security "restricted": the chart's container context
			// already runs non-root with every capability dropped; the seccomp profile is the
			// one thing it leaves out (values podSecurityContext: {}).
			"podSecurityContext": runtimeDefaultSeccomp(),
			"extraArgs":          pulumi.ToStringArray([]string{managed}),
			"workflowDefaults":   pulumi.Map{"spec": workflowSpec},
			// ClusterWorkflowTemplates are cluster-wide; Metaflow does not use them. Left on, the
			// chart would also bind a ClusterRole that singleNamespace does not render.
			"clusterWorkflowTemplates": pulumi.Map{"enabled": pulumi.Bool(false)},
		},
		"server": pulumi.Map{
			"podSecurityContext":       runtimeDefaultSeccomp(),
			"secure":                   pulumi.Bool(true),
			"authMode":                 pulumi.String(authMode),
			"extraArgs":                pulumi.ToStringArray([]string{managed}),
			"clusterWorkflowTemplates": pulumi.Map{"enabled": pulumi.Bool(false)},
		},
	}
	// The executor's wait container uploads artifacts with DefaultAzureCredential (the storage
	// account takes no account keys): with workload identity from what the webhook injects,
	// in client-secret mode from the Secret. The repository itself is the task namespace's
	// artifact-repositories ConfigMap (newArtifactRepositories), not a chart value.
	if pods.CredentialsSecret != "" {
		credentialEnv := make(pulumi.Array, 0, len(AzureCredentialKeys))
		for _, key := range AzureCredentialKeys {
			credentialEnv = append(credentialEnv, pulumi.Map{
				"name": pulumi.String(key),
				"valueFrom": pulumi.Map{"secretKeyRef": pulumi.Map{
					"name": pulumi.String(pods.CredentialsSecret), "key": pulumi.String(key),
				}},
			})
		}
		values["executor"] = pulumi.Map{"env": credentialEnv}
	}
	return values
}

// newArtifactRepositories declares the task namespace's default artifact repository: the
// Metaflow container, reached with Entra credentials (useSDKCreds).
//
// It is a ConfigMap of the stack and not the chart's artifactRepository value on purpose: the
// chart passes artifactRepository.azure through Helm's tpl (workflow-controller-config-map.yaml
// line 75 at argo-workflows-0.47.5), which reads Argo's own {{workflow.name}} placeholders as
// Helm template code and fails the install. Escaping them for tpl would tie the value to how
// one chart version renders it; here nothing between the program and Argo templates the text,
// and Argo reads this ConfigMap natively for every workflow in the namespace.
func newArtifactRepositories(ctx *pulumi.Context, name string, namespace pulumi.StringInput, blobEndpoint, container pulumi.StringInput, opts ...pulumi.ResourceOption) (*corev1.ConfigMap, error) {
	repository := pulumi.All(blobEndpoint, container).ApplyT(func(v []any) (string, error) {
		out, err := yaml.Marshal(map[string]any{"azure": map[string]any{
			"endpoint":       strings.TrimSuffix(v[0].(string), "/"),
			"container":      v[1].(string),
			"blobNameFormat": ArtifactBlobNameFormat,
			"useSDKCreds":    true,
		}})
		return string(out), err
	}).(pulumi.StringOutput)
	return corev1.NewConfigMap(ctx, name, &corev1.ConfigMapArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(ArtifactRepositoriesConfigMap), Namespace: namespace,
			Labels:      pulumi.ToStringMap(labels(ArtifactRepositoriesConfigMap, "argo")),
			Annotations: pulumi.StringMap{DefaultArtifactRepositoryAnno: pulumi.String(ArtifactRepositoryKey)},
		},
		Data: pulumi.StringMap{ArtifactRepositoryKey: repository},
	}, opts...)
}

func serviceAccountSubject(name, namespace string) rbacv1.SubjectArray {
	return rbacv1.SubjectArray{&rbacv1.SubjectArgs{
		Kind: pulumi.String("ServiceAccount"), Name: pulumi.String(name), Namespace: pulumi.String(namespace),
	}}
}

func rule(group string, resources, verbs []string) *rbacv1.PolicyRuleArgs {
	return &rbacv1.PolicyRuleArgs{
		ApiGroups: pulumi.ToStringArray([]string{group}),
		Resources: pulumi.ToStringArray(resources),
		Verbs:     pulumi.ToStringArray(verbs),
	}
}

var (
	readVerbs = []string{"get", "list", "watch"}
	allVerbs  = []string{"create", "get", "list", "watch", "update", "patch", "delete"}
)

// argoControllerTaskRules are the rules the argo-workflows chart gives the workflow controller
// (templates/controller/workflow-controller-cluster-roles.yaml at 0.47.5), for the task namespace:
// without the leader-election leases and the agent CA Secret, which live in its own namespace
// (the chart's Role there keeps them).
func argoControllerTaskRules() rbacv1.PolicyRuleArray {
	return rbacv1.PolicyRuleArray{
		rule("", []string{"pods"}, allVerbs),
		rule("", []string{"pods/exec"}, []string{"create"}),
		rule("", []string{"configmaps", "namespaces"}, readVerbs),
		rule("", []string{"persistentvolumeclaims", "persistentvolumeclaims/finalizers"}, []string{"create", "update", "delete", "get"}),
		rule("argoproj.io", []string{"workflows", "workflows/finalizers", "workflowtasksets", "workflowtasksets/finalizers",
			"workflowtasksets/status", "workflowartifactgctasks"}, []string{"get", "list", "watch", "update", "patch", "delete", "create"}),
		rule("argoproj.io", []string{"workflowtemplates", "workflowtemplates/finalizers"}, readVerbs),
		rule("argoproj.io", []string{"workflowtaskresults", "workflowtaskresults/finalizers"}, []string{"list", "watch", "deletecollection"}),
		rule("argoproj.io", []string{"cronworkflows", "cronworkflows/finalizers"}, []string{"get", "list", "watch", "update", "patch", "delete"}),
		rule("", []string{"events"}, []string{"create", "patch"}),
		rule("", []string{"serviceaccounts"}, []string{"get", "list"}),
		rule("policy", []string{"poddisruptionbudgets"}, []string{"create", "get", "delete"}),
	}
}

// argoServerTaskRules are the rules the argo-workflows chart gives the server
// (templates/server/server-cluster-roles.yaml at 0.47.5), for the task namespace, without
// Secrets: the server reads them only for SSO, which the stack does not configure, and the task
// namespace holds the Azure credentials.
func argoServerTaskRules() rbacv1.PolicyRuleArray {
	return rbacv1.PolicyRuleArray{
		rule("", []string{"configmaps", "events"}, []string{"get", "watch", "list"}),
		rule("", []string{"pods"}, []string{"get", "list", "watch", "delete"}),
		rule("", []string{"pods/log"}, []string{"get", "list"}),
		rule("", []string{"events"}, []string{"watch", "create", "patch"}),
		rule("argoproj.io", []string{"eventsources", "sensors", "workflows", "workfloweventbindings", "workflowtemplates", "cronworkflows"}, allVerbs),
	}
}

// chartSource is where a release's chart comes from.
type chartSource struct {
	Chart, Repository, Version string
}

// ref is a release's chart and repository: from an HTTPS Helm repository, the chart's name and
// the repository (the provider reads the repository's index.yaml); from an OCI registry, the
// chart's full reference oci://host/path/<chart> and no repository, as the Helm release takes it.
func (c chartSource) ref() (chart, repository string) {
	if strings.HasPrefix(c.Repository, "oci://") {
		return strings.TrimSuffix(c.Repository, "/") + "/" + c.Chart, ""
	}
	return c.Chart, c.Repository
}

// newArgoRelease installs one of the official Argo charts, pinned, into a namespace of its own
// that the release depends on. Atomic: a failed install or upgrade rolls back instead of leaving
// a half-upgraded controller.
func newArgoRelease(ctx *pulumi.Context, parent pulumi.Resource, name, namespace, podSecurity, release string, chart chartSource, values pulumi.Map, opts ...pulumi.ResourceOption) (*HelmRelease, *corev1.Namespace, error) {
	ns, err := NewNamespace(ctx, name+"-namespace", namespace, podSecurity, pulumi.Parent(parent))
	if err != nil {
		return nil, nil, err
	}
	r, err := newHelmRelease(ctx, name, helmReleaseArgs{
		Name: release, Namespace: namespaceName(ns), Chart: chart, Values: values,
		Atomic: true, CleanupOnFail: true, Timeout: 600,
	}, append(opts, pulumi.Parent(parent))...)
	return r, ns, err
}

// runtimeDefaultSeccomp is a pod security context with the container runtime's default seccomp
// profile, which Pod Security "restricted" requires.
func runtimeDefaultSeccomp() pulumi.Map {
	return pulumi.Map{"seccompProfile": pulumi.Map{"type": pulumi.String("RuntimeDefault")}}
}

// MetaflowDatastoreEnv is the datastore part of the Metaflow profile, as task containers read it.
func MetaflowDatastoreEnv(blobEndpoint, datastoreRoot pulumi.StringInput) pulumi.StringMap {
	env := pulumi.StringMap{}
	if blobEndpoint != nil {
		env["METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT"] = blobEndpoint
	}
	if datastoreRoot != nil {
		env["METAFLOW_DATASTORE_SYSROOT_AZURE"] = datastoreRoot
	}
	return env
}
