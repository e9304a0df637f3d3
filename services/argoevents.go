package services

import (
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/metaflowconfig"
)

// Argo Events objects Metaflow's @trigger and @trigger_on_finish use.
const (
	ArgoEventsReleaseName    = "argo-events"
	EventBusName             = "default"
	EventSourceName          = "argo-events-webhook"
	EventName                = "metaflow-event"
	WebhookPort              = 12000
	SensorServiceAccountName = "operate-workflow-sa"
	// WebhookService is the Service the EventSource controller creates for the EventSource.
	WebhookService = EventSourceName + "-eventsource-svc"
)

// ArgoEventsControllerServiceAccount is the chart's controller ServiceAccount
// (<fullname>-controller-manager; fullname is the release name, as for Argo Workflows).
const ArgoEventsControllerServiceAccount = ArgoEventsReleaseName + "-controller-manager"

// ArgoEventsArgs configures Argo Events.
type ArgoEventsArgs struct {
	// Namespace is created for the controller.
	Namespace    string
	ChartVersion string
	// ChartRepository is an HTTPS Helm repository or an oci:// registry path holding the chart.
	ChartRepository  string
	JetStreamVersion string
	// Tasks is where the EventBus, EventSource and Metaflow's sensors live.
	Tasks *Tasks
	// Argo is the Argo Workflows install whose server gets read access to events objects.
	Argo *Argo
}

// ArgoEvents is the controller from the official chart, a JetStream EventBus and a webhook
// EventSource in the task namespace, and the ServiceAccount Metaflow's sensors run as.
type ArgoEvents struct {
	pulumi.ResourceState

	Events metaflowconfig.Events
	// NamespaceResource is the controller's namespace.
	NamespaceResource *corev1.Namespace
}

// NewArgoEvents declares Argo Events.
func NewArgoEvents(ctx *pulumi.Context, name string, args *ArgoEventsArgs, opts ...pulumi.ResourceOption) (*ArgoEvents, error) {
	if args == nil || args.Tasks == nil || args.Argo == nil {
		return nil, errNilArgs("ArgoEvents (Argo Events needs Argo Workflows)")
	}
	if err := requireNonEmpty("ArgoEvents", map[string]string{
		"Namespace": args.Namespace, "ChartVersion": args.ChartVersion, "ChartRepository": args.ChartRepository, "JetStreamVersion": args.JetStreamVersion,
	}); err != nil {
		return nil, err
	}
	tasksNS := args.Tasks.Namespace
	c := &ArgoEvents{Events: metaflowconfig.Events{
		EventBus: EventBusName, EventSource: EventSourceName, Event: EventName,
		ServiceAccount: SensorServiceAccountName,
		Webhook: metaflowconfig.Endpoint{
			Name: "events-webhook", Namespace: tasksNS, Service: WebhookService,
			Port: WebhookPort, LocalPort: WebhookPort, Scheme: "http", Path: "/" + EventName,
		},
	}}
	if err := ctx.RegisterComponentResource("metaflow-azure:services:ArgoEvents", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	release, eventsNS, err := newArgoRelease(ctx, c, name, args.Namespace, argoEventsPodSecurity, ArgoEventsReleaseName,
		chartSource{Chart: "argo-events", Repository: args.ChartRepository, Version: args.ChartVersion},
		ArgoEventsValues(tasksNS))
	if err != nil {
		return nil, err
	}
	c.NamespaceResource = eventsNS
	ns := pulumi.String(tasksNS)
	// With rbac.namespaced the chart binds the controller only in its own namespace; this Role
	// gives it the task namespace, where the EventBus, EventSource and sensors live.
	if err := newRoleWithBinding(ctx, name+"-controller-tasks", ArgoEventsControllerServiceAccount, "events", ns,
		argoEventsControllerTaskRules(), serviceAccountSubject(ArgoEventsControllerServiceAccount, args.Namespace),
		parent, pulumi.DependsOn([]pulumi.Resource{args.Tasks.NamespaceResource})); err != nil {
		return nil, err
	}
	// Custom resources wait for the release that installs their CRDs, and for the task namespace.
	afterRelease := pulumi.DependsOn([]pulumi.Resource{release, args.Tasks.NamespaceResource})

	if _, err := apiextensions.NewCustomResource(ctx, name+"-event-bus", &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String("argoproj.io/v1alpha1"),
		Kind:       pulumi.String("EventBus"),
		Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String(EventBusName), Namespace: ns, Labels: pulumi.ToStringMap(labels(EventBusName, "events"))},
		OtherFields: kubernetes.UntypedArgs{"spec": pulumi.Map{"jetstream": pulumi.Map{
			"version":  pulumi.String(args.JetStreamVersion),
			"replicas": pulumi.Int(3),
			"containerTemplate": pulumi.Map{"resources": pulumi.Map{
				"requests": pulumi.Map{"cpu": pulumi.String("100m"), "memory": pulumi.String("128Mi")},
				"limits":   pulumi.Map{"memory": pulumi.String("256Mi")},
			}},
		}}},
	}, parent, afterRelease); err != nil {
		return nil, err
	}
	if _, err := apiextensions.NewCustomResource(ctx, name+"-webhook", &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String("argoproj.io/v1alpha1"),
		Kind:       pulumi.String("EventSource"),
		Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String(EventSourceName), Namespace: ns, Labels: pulumi.ToStringMap(labels(EventSourceName, "events"))},
		OtherFields: kubernetes.UntypedArgs{"spec": pulumi.Map{
			"eventBusName": pulumi.String(EventBusName),
			"template": pulumi.Map{"container": pulumi.Map{"resources": pulumi.Map{
				"requests": pulumi.Map{"cpu": pulumi.String("50m"), "memory": pulumi.String("64Mi")},
				"limits":   pulumi.Map{"memory": pulumi.String("128Mi")},
			}}},
			"service": pulumi.Map{"ports": pulumi.Array{pulumi.Map{
				"port": pulumi.Int(WebhookPort), "targetPort": pulumi.Int(WebhookPort),
			}}},
			"webhook": pulumi.Map{EventName: pulumi.Map{
				"port":     pulumi.Sprintf("%d", WebhookPort),
				"endpoint": pulumi.String("/" + EventName),
				"method":   pulumi.String("POST"),
			}},
		}},
	}, parent, afterRelease); err != nil {
		return nil, err
	}

	// Metaflow's sensors run as this ServiceAccount and submit workflows from the flows'
	// WorkflowTemplates, in the task namespace only.
	sensorSA, err := corev1.NewServiceAccount(ctx, name+"-sensor-account", &corev1.ServiceAccountArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(SensorServiceAccountName), Namespace: ns, Labels: pulumi.ToStringMap(labels(SensorServiceAccountName, "events"))},
	}, parent, pulumi.DependsOn([]pulumi.Resource{args.Tasks.NamespaceResource}))
	if err != nil {
		return nil, err
	}
	if err := newRoleWithBinding(ctx, name+"-operate-workflow", "operate-workflow-role", "events", ns, rbacv1.PolicyRuleArray{
		&rbacv1.PolicyRuleArgs{
			ApiGroups: pulumi.ToStringArray([]string{"argoproj.io"}),
			Resources: pulumi.ToStringArray([]string{"workflows"}),
			Verbs:     pulumi.ToStringArray([]string{"create", "get", "list", "watch", "patch"}),
		},
		&rbacv1.PolicyRuleArgs{
			ApiGroups: pulumi.ToStringArray([]string{"argoproj.io"}),
			Resources: pulumi.ToStringArray([]string{"workflowtemplates", "cronworkflows"}),
			Verbs:     pulumi.ToStringArray([]string{"get", "list", "watch"}),
		},
	}, rbacv1.SubjectArray{&rbacv1.SubjectArgs{
		Kind: pulumi.String("ServiceAccount"), Name: sensorSA.Metadata.Name().Elem(), Namespace: ns,
	}}, parent, pulumi.DependsOn([]pulumi.Resource{args.Tasks.NamespaceResource})); err != nil {
		return nil, err
	}
	// The Argo UI shows event flows; its server reads them as its own ServiceAccount.
	if err := newRoleWithBinding(ctx, name+"-view-events", "view-events-role", "events", ns, rbacv1.PolicyRuleArray{
		&rbacv1.PolicyRuleArgs{
			ApiGroups: pulumi.ToStringArray([]string{"argoproj.io"}),
			Resources: pulumi.ToStringArray([]string{"eventsources", "eventbuses", "sensors"}),
			Verbs:     pulumi.ToStringArray([]string{"get", "list", "watch"}),
		},
	}, rbacv1.SubjectArray{&rbacv1.SubjectArgs{
		Kind: pulumi.String("ServiceAccount"), Name: pulumi.String(ArgoServerServiceAccount), Namespace: pulumi.String(args.Argo.Server.Namespace),
	}}, parent, pulumi.DependsOn([]pulumi.Resource{args.Tasks.NamespaceResource, args.Argo.Release})); err != nil {
		return nil, err
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"release":        release.Name,
		"eventBus":       pulumi.String(EventBusName),
		"eventSource":    pulumi.String(EventSourceName),
		"webhookService": pulumi.String(WebhookService),
		"serviceAccount": pulumi.String(SensorServiceAccountName),
	})
}

// ArgoEventsValues are the values of the argo-events release: the controller manages
// tasksNamespace only. The EventBus's JetStream images are the chart's own list for the pinned
// version (configs.jetstream.versions in its values.yaml), which the chart tier of tests/k8sapi
// checks holds the stack's JetStream version.
func ArgoEventsValues(tasksNamespace string) pulumi.Map {
	pod := runtimeDefaultSeccomp()
	// The namespace enforces Pod Security "restricted". The chart sets no security context, and
	// the image has no USER (argo-events v1.9.10 Dockerfile: FROM scratch); upstream's own
	// manifest runs the controller as runAsNonRoot with runAsUser 9731
	// (manifests/base/controller-manager/controller-manager-deployment.yaml:16-18), and the
	// chart's values.yaml suggests exactly these pod and container settings in its comments.
	pod["runAsNonRoot"] = pulumi.Bool(true)
	pod["runAsUser"] = pulumi.Int(EventsControllerUID)
	return pulumi.Map{
		"global": pulumi.Map{"securityContext": pod},
		"controller": pulumi.Map{
			"rbac": pulumi.Map{
				// Role/RoleBinding in the release namespace and --namespaced, instead of a ClusterRole.
				"namespaced": pulumi.Bool(true),
				// --managed-namespace: the namespace the controller manages.
				"managedNamespace": pulumi.String(tasksNamespace),
			},
			"containerSecurityContext": pulumi.Map{
				"allowPrivilegeEscalation": pulumi.Bool(false),
				"capabilities":             pulumi.Map{"drop": pulumi.ToStringArray([]string{"ALL"})},
				"readOnlyRootFilesystem":   pulumi.Bool(true),
			},
		},
	}
}

// EventsControllerUID is the user upstream's manifest runs the events controller as.
const EventsControllerUID = 9731

// argoEventsControllerTaskRules are the rules the argo-events chart gives its controller
// (templates/argo-events-controller/rbac.yaml at 2.4.22), for the task namespace, without the
// leader-election leases, which live in its own namespace (the chart's Role there keeps them).
func argoEventsControllerTaskRules() rbacv1.PolicyRuleArray {
	return rbacv1.PolicyRuleArray{
		rule("", []string{"events"}, []string{"create", "patch"}),
		rule("argoproj.io", []string{"sensors", "sensors/finalizers", "sensors/status", "eventsources", "eventsources/finalizers",
			"eventsources/status", "eventbus", "eventbus/finalizers", "eventbus/status"},
			[]string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}),
		rule("", []string{"pods", "pods/exec", "configmaps", "services", "persistentvolumeclaims"}, allVerbs),
		rule("", []string{"secrets"}, []string{"create", "get", "list", "update", "patch", "delete"}),
		rule("apps", []string{"deployments", "statefulsets"}, allVerbs),
	}
}

func newRoleWithBinding(ctx *pulumi.Context, name, roleName, component string, namespace pulumi.StringInput, rules rbacv1.PolicyRuleArray, subjects rbacv1.SubjectArray, opts ...pulumi.ResourceOption) error {
	meta := &metav1.ObjectMetaArgs{Name: pulumi.String(roleName), Namespace: namespace, Labels: pulumi.ToStringMap(labels(roleName, component))}
	role, err := rbacv1.NewRole(ctx, name, &rbacv1.RoleArgs{Metadata: meta, Rules: rules}, opts...)
	if err != nil {
		return err
	}
	_, err = rbacv1.NewRoleBinding(ctx, name, &rbacv1.RoleBindingArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(roleName + "-binding"), Namespace: namespace, Labels: pulumi.ToStringMap(labels(roleName, component))},
		RoleRef: &rbacv1.RoleRefArgs{
			ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("Role"), Name: role.Metadata.Name().Elem(),
		},
		Subjects: subjects,
	}, opts...)
	return err
}
