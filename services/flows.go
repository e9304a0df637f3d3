package services

import "fmt"

// The network flows of the stack, as data: NewNetworkPolicies declares one NetworkPolicy per
// group of pods from them, after a default deny in every namespace the stack owns, and
// docs/security.md lists them. Adding a flow is adding one entry to Flows (docs/security.md,
// "Adding a flow").

// Pods is a set of pods: the pods of one namespace that carry every label of Labels and a label
// of every key in Exists. A Pods with neither selects every pod of the namespace.
type Pods struct {
	// Role is the namespace's role (RoleServices, RoleTasks, RoleArgo, RoleArgoEvents, or
	// RoleKubeSystem for the cluster DNS).
	Role   string
	Labels map[string]string
	Exists []string
	// Name says who the pods are, for the docs and errors.
	Name string
	// Policy names the NetworkPolicy that holds these pods' flows.
	Policy string
}

// The namespaces' roles; NetworkPoliciesArgs.Namespaces maps them to names.
const (
	RoleServices   = "services"
	RoleTasks      = "tasks"
	RoleArgo       = "argo"
	RoleArgoEvents = "argo-events"
	// RoleKubeSystem is AKS's kube-system, where the cluster DNS runs; the stack declares
	// nothing there.
	RoleKubeSystem = "kube-system"
)

// Destination is where a flow goes: other pods, or addresses outside the cluster.
type Destination struct {
	// Pods, when set, are the destination pods.
	Pods *Pods
	// CIDR is an address range outside the cluster; OutsideCluster means any address but the
	// cluster's own (its pod range, node and database subnets, service range).
	CIDR           string
	OutsideCluster bool
}

// Port is a port and protocol ("TCP" or "UDP"); Number 0 means every port.
type Port struct {
	Number   int
	Protocol string
}

// Flow is one connection the stack needs: from pods to a destination on ports, and why.
type Flow struct {
	From  Pods
	To    Destination
	Ports []Port
	// Why says who needs it, with the source that shows it.
	Why string
}

// Who runs in the stack's namespaces, as the pods' labels show it. Each comes from the owner's
// source at the pinned version.
var (
	// metaflowTaskLabels are on every pod Metaflow creates for a step: @kubernetes Jobs
	// (metaflow 2.19.38 metaflow/plugins/kubernetes/kubernetes.py:665-670, copied to the pod
	// template by kubernetes_job.py:106-110) and Argo workflows (argo_workflows.py:985-988,
	// the workflow's podMetadata).
	metaflowTaskLabels = map[string]string{"app.kubernetes.io/name": "metaflow-task"}
	// ArgoWorkflowPodLabel is on every pod of an Argo workflow, whoever submitted it: the
	// controller labels each pod with its workflow's name (argo-workflows v3.7.11
	// workflow/common/common.go:89-90, workflow/controller/workflowpod.go:195).
	ArgoWorkflowPodLabel = "workflows.argoproj.io/workflow"
	// The pods the Argo Events controller creates for the EventBus, EventSource and Sensors
	// (argo-events v1.9.10 pkg/reconciler/eventbus/installer/installer.go:57-62,
	// pkg/reconciler/eventsource/controller.go:89-93, pkg/reconciler/sensor/controller.go:125-129).
	eventBusPodLabels    = map[string]string{"controller": "eventbus-controller", "eventbus-name": EventBusName}
	eventSourcePodLabels = map[string]string{"controller": "eventsource-controller", "eventsource-name": EventSourceName}
	sensorPodLabels      = map[string]string{"controller": "sensor-controller"}
	// The charts' pods, as the pinned charts label them (argo-workflows 0.47.5 and argo-events
	// 2.4.22 templates/_helpers.tpl; the chart tier of tests/k8sapi checks these select the
	// rendered Deployments' pods).
	argoControllerPodLabels = map[string]string{"app.kubernetes.io/instance": ArgoReleaseName, "app.kubernetes.io/component": "workflow-controller"}
	argoServerPodLabels     = map[string]string{"app.kubernetes.io/instance": ArgoReleaseName, "app.kubernetes.io/component": "server"}
	eventsControllerLabels  = map[string]string{"app.kubernetes.io/instance": ArgoEventsReleaseName, "app.kubernetes.io/component": "controller-manager"}
	// kubeDNSLabels select AKS's CoreDNS pods in kube-system (MicrosoftDocs/azure-aks-docs @
	// fb060abe articles/aks/coredns-troubleshoot.md:69 and best-practices-ml-ops.md:697-707, whose
	// NetworkPolicy allows DNS exactly so: kube-system, k8s-app: kube-dns, UDP and TCP 53).
	kubeDNSLabels = map[string]string{"k8s-app": "kube-dns"}
)

// JetStream's ports (argo-events v1.9.10 pkg/reconciler/eventbus/installer/jetstream.go:34-37):
// clients connect on 4222, the servers of the EventBus form a cluster on 6222. The monitor
// (8222) serves the kubelet's probes, which NetworkPolicies do not govern; the metrics port
// (7777) has no scraper in the stack.
const (
	JetStreamClientPort  = 4222
	JetStreamClusterPort = 6222
	dnsPort              = 53
	httpsPort            = 443
	postgresPort         = 5432
)

func tcp(n int) Port { return Port{Number: n, Protocol: "TCP"} }

// FlowsArgs is what the flows depend on.
type FlowsArgs struct {
	// Argo and ArgoEvents tell whether they are installed.
	Argo, ArgoEvents bool
	// PostgresSubnetCIDR is the database's delegated subnet: the server's address is in it.
	PostgresSubnetCIDR string
	// TaskInternetEgress lets tasks reach any address outside the cluster on any port.
	TaskInternetEgress bool
}

// Flows are the connections the stack's pods need; everything else is denied. Connections
// from the node (the kubelet's probes, and `kubectl port-forward`, which containerd dials from
// inside the pod's own network namespace: containerd internal/cri/server/sandbox_portforward_linux.go)
// need no flow.
func Flows(a FlowsArgs) []Flow {
	services := func(name, who string) Pods {
		return Pods{Role: RoleServices, Labels: map[string]string{"app.kubernetes.io/name": name}, Name: who, Policy: name}
	}
	metadata := services(MetadataServiceName, "metadata service")
	backend := services(UIBackendName, "UI backend")
	migrations := services(migrationsName, "migrations")
	tasks := taskPods(a.Argo)
	postgres := Destination{CIDR: a.PostgresSubnetCIDR}
	outside := Destination{OutsideCluster: true}

	var flows []Flow
	for _, t := range tasks {
		flows = append(flows, Flow{From: t, To: Destination{Pods: &metadata}, Ports: []Port{tcp(MetadataPort)},
			Why: "tasks and workflow pods record runs, steps and artifacts (METAFLOW_SERVICE_URL: metaflow 2.19.38 kubernetes.py:243, argo_workflows.py:3058)"})
	}
	flows = append(flows, []Flow{
		{From: backend, To: Destination{Pods: &metadata}, Ports: []Port{tcp(MetadataPort)},
			Why: "the UI backend reads runs through the metadata service (METAFLOW_SERVICE_URL)"},
		{From: metadata, To: postgres, Ports: []Port{tcp(postgresPort)}, Why: "the metadata service's database"},
		{From: migrations, To: postgres, Ports: []Port{tcp(postgresPort)}, Why: "the migrations' database"},
		{From: backend, To: postgres, Ports: []Port{tcp(postgresPort)}, Why: "the UI backend reads the database directly (its six pools)"},
		{From: backend, To: outside, Ports: []Port{tcp(httpsPort)},
			Why: "the UI backend reads artifacts from Blob Storage and signs in to Microsoft Entra ID; neither has fixed addresses a NetworkPolicy could name"},
	}...)
	for _, t := range tasks {
		ports := []Port{tcp(httpsPort)}
		why := "Blob Storage (the datastore, Argo's artifacts), Microsoft Entra ID (workload identity) and, for Argo's executor, the Kubernetes API server, all outside the cluster"
		if a.TaskInternetEgress {
			ports = []Port{{Number: 0}}
			why = "metaflow.taskInternetEgress: any address outside the cluster (package indexes: Metaflow's bootstrap pip-installs the Azure SDK into an image without it, metaflow_environment.py:159-170), Blob Storage, Entra ID and the API server"
		}
		flows = append(flows, Flow{From: t, To: outside, Ports: ports, Why: why})
	}
	if a.Argo {
		for _, p := range []Pods{
			{Role: RoleArgo, Labels: argoControllerPodLabels, Name: "workflow controller", Policy: "workflow-controller"},
			{Role: RoleArgo, Labels: argoServerPodLabels, Name: "Argo server", Policy: "argo-server"},
		} {
			flows = append(flows, Flow{From: p, To: outside, Ports: []Port{tcp(httpsPort)},
				Why: "the Kubernetes API server (AKS runs it outside the cluster's nodes and pods)"})
		}
	}
	if a.ArgoEvents {
		bus := Pods{Role: RoleTasks, Labels: eventBusPodLabels, Name: "EventBus (JetStream)", Policy: "eventbus"}
		source := Pods{Role: RoleTasks, Labels: eventSourcePodLabels, Name: "webhook EventSource", Policy: "webhook-eventsource"}
		sensors := Pods{Role: RoleTasks, Labels: sensorPodLabels, Name: "sensors", Policy: "sensors"}
		for _, t := range tasks {
			flows = append(flows, Flow{From: t, To: Destination{Pods: &source}, Ports: []Port{tcp(WebhookPort)},
				Why: "steps publish events to the webhook (ARGO_EVENTS_WEBHOOK_URL; metaflow 2.19.38 plugins/argo/argo_events.py:90-142)"})
		}
		flows = append(flows,
			Flow{From: source, To: Destination{Pods: &bus}, Ports: []Port{tcp(JetStreamClientPort)},
				Why: "the EventSource publishes to the EventBus, and elects its leader through it (argo-events pkg/shared/leaderelection)"},
			Flow{From: sensors, To: Destination{Pods: &bus}, Ports: []Port{tcp(JetStreamClientPort)}, Why: "sensors subscribe to the EventBus"},
			Flow{From: bus, To: Destination{Pods: &bus}, Ports: []Port{tcp(JetStreamClusterPort)}, Why: "the EventBus's JetStream servers form one cluster"},
			Flow{From: sensors, To: outside, Ports: []Port{tcp(httpsPort)},
				Why: "sensors create Metaflow's workflows through the Kubernetes API server (Metaflow's k8s trigger, argo_workflows.py:3967)"},
			Flow{From: Pods{Role: RoleArgoEvents, Labels: eventsControllerLabels, Name: "events controller", Policy: "events-controller"}, To: outside, Ports: []Port{tcp(httpsPort)},
				Why: "the Kubernetes API server"},
		)
	}
	return flows
}

// taskPods are the kinds of task pods: Metaflow's, and with Argo any Argo workflow's (which
// Metaflow's are too, and which carry Metaflow's label only when Metaflow submitted them).
func taskPods(argo bool) []Pods {
	pods := []Pods{{Role: RoleTasks, Labels: metaflowTaskLabels, Name: "Metaflow tasks", Policy: "metaflow-tasks"}}
	if argo {
		pods = append(pods, Pods{Role: RoleTasks, Exists: []string{ArgoWorkflowPodLabel}, Name: "Argo workflow pods", Policy: "argo-workflow-pods"})
	}
	return pods
}

// migrationsName is the migration Job's pods' name label.
const migrationsName = "metaflow-db-migrations"

// DNSFlow is the flow every pod of the stack gets: the cluster DNS in kube-system.
func DNSFlow() Flow {
	return Flow{
		To:    Destination{Pods: &Pods{Role: RoleKubeSystem, Labels: kubeDNSLabels, Name: "cluster DNS"}},
		Ports: []Port{{Number: dnsPort, Protocol: "UDP"}, tcp(dnsPort)},
		Why:   "every pod resolves names through the cluster DNS",
	}
}

func (p Pods) String() string {
	if p.Name != "" {
		return p.Name
	}
	return fmt.Sprintf("%s pods %v %v", p.Role, p.Labels, p.Exists)
}
