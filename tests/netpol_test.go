package tests

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"metaflow-azure/internal/program"
	"metaflow-azure/internal/settings"
	"metaflow-azure/internal/stackconfig"
)

// The network policies are checked with cyclonus (github.com/mattfenwick/cyclonus v0.5.6), whose
// matcher models Kubernetes NetworkPolicy semantics and was written for the upstream
// network-policy conformance work: it is fed every NetworkPolicy the stack declares (the pinned
// charts render none, TestChartsOfferNoNetworkPolicies) and asked whether each flow of a truth
// table is allowed. The table is written here from the owners' sources, independently of the
// program's own flow list (services/flows.go): the pods carry the labels Metaflow, Argo and Argo
// Events give them, the stack's own pods the labels their declared pod templates carry.

// peer is one end of a flow: a pod (namespace, labels) or an address outside the cluster.
type peer struct {
	name      string
	namespace string
	labels    map[string]string
	ip        string
}

func (p peer) internal() bool { return p.namespace != "" }

// flowCase is one row of the truth table.
type flowCase struct {
	from, to peer
	port     int
	protocol corev1.Protocol
	allowed  bool
}

func (f flowCase) String() string {
	verdict := "denied"
	if f.allowed {
		verdict = "allowed"
	}
	return fmt.Sprintf("%s -> %s %d/%s must be %s", f.from.name, f.to.name, f.port, f.protocol, verdict)
}

// cluster is a model of a stack's cluster: its pods and the addresses around it.
type cluster struct {
	pods map[string]peer
	ext  map[string]peer
}

// modelCluster builds the pods of a stack: the stack's own from its declared pod templates,
// the others as their owners create them.
func modelCluster(t *testing.T, s *stack, cfg settings.Settings) cluster {
	t.Helper()
	pod, n := netip.MustParsePrefix(cfg.Network.PodCIDR).Addr(), 0
	nextIP := func() string {
		n++
		a := pod
		for range n + 10 {
			a = a.Next()
		}
		return a.String()
	}
	c := cluster{pods: map[string]peer{}, ext: map[string]peer{}}
	add := func(name, ns string, labels map[string]string) {
		c.pods[name] = peer{name: name, namespace: ns, labels: labels, ip: nextIP()}
	}
	template := func(kind, ns, name string) map[string]string {
		r := s.k8s(kind, ns, name)
		v, ok := prop(r.Inputs, "spec.template.metadata.labels")
		if !ok {
			t.Fatalf("%s %s/%s has no pod labels", kind, ns, name)
		}
		out := map[string]string{}
		for k, l := range unsecret(v).ObjectValue() {
			out[string(k)] = unsecret(l).StringValue()
		}
		return out
	}
	services, tasks := cfg.Metaflow.Namespace, cfg.Metaflow.TaskNamespace
	add("metadata service", services, template("Deployment", services, "metadata-service"))
	add("UI backend", services, template("Deployment", services, "metaflow-ui-backend"))
	add("UI", services, template("Deployment", services, "metaflow-ui"))
	for _, j := range s.kinds("Job") {
		add("migrations", services, template("Job", services, str(j.Inputs, "metadata.name")))
	}
	add("stray pod in the services namespace", services, map[string]string{"app": "debug"})

	// A Metaflow task as Metaflow 2.19.38 creates it from the profile: the profile's
	// METAFLOW_KUBERNETES_LABELS plus its own (plugins/kubernetes/kubernetes.py:665-670).
	task := map[string]string{"app.kubernetes.io/name": "metaflow-task", "app.kubernetes.io/part-of": "metaflow"}
	var profile map[string]string
	if err := json.Unmarshal([]byte(s.outputs[program.OutputMetaflowConfig].Value.(string)), &profile); err != nil {
		t.Fatal(err)
	}
	for _, kv := range strings.Split(profile["METAFLOW_KUBERNETES_LABELS"], ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			task[k] = v
		}
	}
	add("Metaflow task", tasks, task)
	add("stray pod in the task namespace", tasks, map[string]string{"app": "debug"})
	if cfg.Argo.Enabled {
		// A pod of an Argo workflow someone other than Metaflow submitted: Argo v3.7.11 labels
		// it with its workflow (workflow/controller/workflowpod.go:195) and "completed".
		add("Argo step pod", tasks, map[string]string{"workflows.argoproj.io/workflow": "hello-7x2k", "workflows.argoproj.io/completed": "false"})
	}
	if cfg.ArgoEvents.Enabled {
		// Argo Events v1.9.10's pods (pkg/reconciler/{eventbus/installer/installer.go:57-62,
		// eventsource/controller.go:89-93, sensor/controller.go:125-129}), the sensor's also with
		// Metaflow's template labels (argo_workflows.py:3925-3929).
		add("EventBus pod", tasks, map[string]string{"controller": "eventbus-controller", "eventbus-name": "default", "owner-name": "default"})
		add("EventSource pod", tasks, map[string]string{"controller": "eventsource-controller", "eventsource-name": "argo-events-webhook", "owner-name": "argo-events-webhook"})
		add("sensor pod", tasks, map[string]string{"controller": "sensor-controller", "sensor-name": "helloflow", "owner-name": "helloflow",
			"app.kubernetes.io/name": "metaflow-sensor", "app.kubernetes.io/part-of": "metaflow"})
	}
	if cfg.Argo.Enabled {
		// The pinned chart's pod labels (argo-workflows 0.47.5, as `helm template` renders them).
		chart := func(component string) map[string]string {
			return map[string]string{"app.kubernetes.io/name": "argo-workflows-" + component, "app.kubernetes.io/instance": "argo-workflows",
				"app.kubernetes.io/component": component, "app": component, "app.kubernetes.io/part-of": "argo-workflows"}
		}
		add("workflow controller", cfg.Argo.Namespace, chart("workflow-controller"))
		add("Argo server", cfg.Argo.Namespace, chart("server"))
	}
	if cfg.ArgoEvents.Enabled {
		add("events controller", cfg.ArgoEvents.Namespace, map[string]string{"app.kubernetes.io/name": "argo-events-controller-manager",
			"app.kubernetes.io/instance": "argo-events", "app.kubernetes.io/component": "controller-manager", "app.kubernetes.io/part-of": "argo-events"})
	}
	add("cluster DNS", "kube-system", map[string]string{"k8s-app": "kube-dns"})
	add("metrics server", "kube-system", map[string]string{"k8s-app": "metrics-server"})
	add("pod in default", "default", map[string]string{"app": "other"})

	at := func(cidr string, i int) string {
		a := netip.MustParsePrefix(cidr).Addr()
		for range i {
			a = a.Next()
		}
		return a.String()
	}
	for name, ip := range map[string]string{
		// The database takes an address of its delegated subnet; the nodes of the AKS subnet.
		"PostgreSQL":   at(cfg.Network.PostgresSubnetCIDR, 4),
		"node kubelet": at(cfg.Network.AKSSubnetCIDR, 4),
		// Public addresses of Blob Storage, Entra ID, the AKS API server, a package index and
		// a web server (documentation ranges would do as well: only "outside" matters).
		"Blob Storage":      "20.60.40.4",
		"Entra ID":          "20.190.160.1",
		"AKS API server":    "52.143.10.20",
		"package index":     "151.101.0.223",
		"web server":        "93.184.216.34",
		"private endpoint":  at(cfg.Network.PrivateEndpointSubnetCIDR, 4),
		"service ClusterIP": at(cfg.Network.ServiceCIDR, 1),
	} {
		c.ext[name] = peer{name: name, ip: ip}
	}
	return c
}

func (c cluster) get(t *testing.T, name string) peer {
	t.Helper()
	if p, ok := c.pods[name]; ok {
		return p
	}
	if p, ok := c.ext[name]; ok {
		return p
	}
	t.Fatalf("no %s in the model", name)
	return peer{}
}

// truthTable is what must and must not flow on a stack with these settings.
func truthTable(t *testing.T, c cluster, cfg settings.Settings) []flowCase {
	t.Helper()
	var rows []flowCase
	row := func(from, to string, port int, proto corev1.Protocol, allowed bool) {
		if _, ok := c.pods[from]; !ok {
			if _, ok := c.ext[from]; !ok {
				return // not in this stack (Argo or Argo Events off)
			}
		}
		if _, ok := c.pods[to]; !ok {
			if _, ok := c.ext[to]; !ok {
				return
			}
		}
		rows = append(rows, flowCase{from: c.get(t, from), to: c.get(t, to), port: port, protocol: proto, allowed: allowed})
	}
	allow := func(from, to string, port int) { row(from, to, port, corev1.ProtocolTCP, true) }
	deny := func(from, to string, port int) { row(from, to, port, corev1.ProtocolTCP, false) }
	metadata, backend := 8080, 8083

	// Every pod of the stack resolves names.
	for name, p := range c.pods {
		if p.namespace == "kube-system" || p.namespace == "default" {
			continue
		}
		row(name, "cluster DNS", 53, corev1.ProtocolUDP, true)
		row(name, "cluster DNS", 53, corev1.ProtocolTCP, true)
		deny(name, "metrics server", 443)
	}
	// Required flows.
	allow("Metaflow task", "metadata service", metadata)
	allow("Argo step pod", "metadata service", metadata)
	allow("UI backend", "metadata service", metadata)
	for _, p := range []string{"metadata service", "migrations", "UI backend"} {
		allow(p, "PostgreSQL", 5432)
	}
	for _, p := range []string{"UI backend", "Metaflow task", "Argo step pod"} {
		allow(p, "Blob Storage", 443)
		allow(p, "Entra ID", 443)
		allow(p, "private endpoint", 443)
	}
	for _, p := range []string{"Argo step pod", "workflow controller", "Argo server", "events controller", "sensor pod"} {
		allow(p, "AKS API server", 443)
	}
	if cfg.ArgoEvents.Enabled {
		allow("Metaflow task", "EventSource pod", 12000)
		allow("Argo step pod", "EventSource pod", 12000)
	}
	allow("EventSource pod", "EventBus pod", 4222)
	allow("sensor pod", "EventBus pod", 4222)
	allow("EventBus pod", "EventBus pod", 6222)
	// Tasks reach package indexes over HTTPS either way (HTTPS outside the cluster cannot be
	// told apart from Blob Storage without FQDN policies), other ports only with
	// metaflow.taskInternetEgress.
	for _, p := range []string{"Metaflow task", "Argo step pod"} {
		allow(p, "package index", 443)
		row(p, "web server", 80, corev1.ProtocolTCP, cfg.Metaflow.TaskInternetEgress)
	}

	// Forbidden flows: the issue's, and what only each namespace's default deny stops.
	for _, p := range []string{"pod in default", "stray pod in the task namespace", "EventBus pod", "sensor pod", "workflow controller", "Argo server", "events controller", "UI"} {
		deny(p, "metadata service", metadata) // another namespace's (or an unlisted) pod -> the metadata service
	}
	for _, p := range []string{"Metaflow task", "Argo step pod", "stray pod in the task namespace", "UI"} {
		deny(p, "PostgreSQL", 5432) // a task pod -> PostgreSQL
	}
	for _, p := range []string{"Metaflow task", "Argo step pod", "metadata service", "pod in default", "UI", "stray pod in the services namespace"} {
		deny(p, "UI backend", backend) // nothing in the cluster reaches the UI backend: the browser does, by port-forward
	}
	for _, p := range []string{"Metaflow task", "Argo step pod", "pod in default", "UI backend"} {
		deny(p, "Argo server", 2746) // a task pod -> the Argo server
		deny(p, "UI", 3000)
		deny(p, "events controller", 7777)
		deny(p, "workflow controller", 9090)
	}
	deny("pod in default", "Metaflow task", 8080)
	deny("metadata service", "Argo step pod", 8080)
	deny("pod in default", "EventSource pod", 12000)
	deny("Metaflow task", "EventBus pod", 4222)
	deny("EventBus pod", "AKS API server", 443)
	deny("EventSource pod", "AKS API server", 443)
	deny("stray pod in the task namespace", "package index", 443)
	deny("stray pod in the task namespace", "EventSource pod", 12000)
	deny("stray pod in the services namespace", "PostgreSQL", 5432)
	for _, p := range []string{"metadata service", "migrations", "UI"} {
		deny(p, "Blob Storage", 443)
		deny(p, "web server", 80)
	}
	deny("UI backend", "web server", 80)
	deny("metadata service", "node kubelet", 10250)
	for _, p := range []string{"Metaflow task", "Argo step pod"} {
		deny(p, "node kubelet", 10250)
		deny(p, "PostgreSQL", 443)
		deny(p, "service ClusterIP", 443)
	}
	return rows
}

// declaredPolicies are the stack's NetworkPolicies as the API types.
func declaredPolicies(t *testing.T, s *stack) []*networkingv1.NetworkPolicy {
	t.Helper()
	var out []*networkingv1.NetworkPolicy
	for _, r := range s.kinds("NetworkPolicy") {
		raw, err := json.Marshal(r.Inputs.Mappable())
		if err != nil {
			t.Fatal(err)
		}
		var np networkingv1.NetworkPolicy
		if err := json.Unmarshal(raw, &np); err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		out = append(out, &np)
	}
	if len(out) == 0 {
		t.Fatal("the stack declares no NetworkPolicy")
	}
	return out
}

func (f flowCase) traffic() *matcher.Traffic {
	tp := func(p peer) *matcher.TrafficPeer {
		out := &matcher.TrafficPeer{IP: p.ip}
		if p.internal() {
			out.Internal = &matcher.InternalPeer{
				PodLabels: p.labels, Namespace: p.namespace,
				NamespaceLabels: map[string]string{corev1.LabelMetadataName: p.namespace},
			}
		}
		return out
	}
	return &matcher.Traffic{Source: tp(f.from), Destination: tp(f.to), ResolvedPort: f.port, Protocol: f.protocol}
}

// violations are the rows the policies get wrong.
func violations(policies []*networkingv1.NetworkPolicy, rows []flowCase) []flowCase {
	engine := matcher.BuildNetworkPolicies(false, policies)
	var out []flowCase
	for _, r := range rows {
		if engine.IsTrafficAllowed(r.traffic()).IsAllowed() != r.allowed {
			out = append(out, r)
		}
	}
	return out
}

// netpolStacks are the stacks the truth table is asked of: dev, prod, and prod with tasks kept
// off the internet.
var netpolStacks = []struct {
	name, stack string
	overrides   []string
}{
	{"dev", "dev", nil},
	{"prod", "prod", nil},
	{"prod without task internet", "prod", []string{"metaflow.taskInternetEgress=false"}},
	{"dev without Argo", "dev", []string{"argo.enabled=false", "argoEvents.enabled=false"}},
}

func stackSettings(t *testing.T, name string, overrides []string) settings.Settings {
	t.Helper()
	cfg := loadConfig(t, name, overrides...)
	s, err := settings.LoadForDeployment(cfg.Project, cfg.Values, testToday(t))
	if err != nil {
		t.Fatal(err)
	}
	return *s
}

func TestNetworkPolicyTruthTable(t *testing.T) {
	t.Parallel()
	for _, tc := range netpolStacks {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := runStack(t, tc.stack, tc.overrides...)
			cfg := stackSettings(t, tc.stack, tc.overrides)
			rows := truthTable(t, modelCluster(t, s, cfg), cfg)
			for _, v := range violations(declaredPolicies(t, s), rows) {
				t.Errorf("%v (cyclonus says otherwise)", v)
			}
			t.Logf("%d flows checked against %d policies", len(rows), len(declaredPolicies(t, s)))
		})
	}
}

// TestEveryAllowRuleIsNeeded: removing any one allow rule (or one of a rule's peers or ports)
// from the declared policies makes at least one required flow of the truth table denied, so no
// rule allows more than the flows Metaflow needs, and the table covers every rule.
func TestEveryAllowRuleIsNeeded(t *testing.T) {
	t.Parallel()
	for _, tc := range netpolStacks {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := runStack(t, tc.stack, tc.overrides...)
			cfg := stackSettings(t, tc.stack, tc.overrides)
			rows := truthTable(t, modelCluster(t, s, cfg), cfg)
			policies := declaredPolicies(t, s)
			mutants := 0
			for i, p := range policies {
				for _, m := range mutations(p) {
					mutants++
					mutated := slices.Clone(policies)
					mutated[i] = m.policy
					if len(violations(mutated, rows)) == 0 {
						t.Errorf("%s/%s: removing %s breaks no flow of the truth table: it allows more than needed, or the table misses a flow", p.Namespace, p.Name, m.what)
					}
				}
			}
			if mutants < len(policies) {
				t.Fatalf("only %d mutants of %d policies", mutants, len(policies))
			}
		})
	}
}

// TestEveryDefaultDenyIsNeeded: removing any namespace's default deny lets a forbidden flow
// through, so each one is what isolates some pod.
func TestEveryDefaultDenyIsNeeded(t *testing.T) {
	t.Parallel()
	for _, tc := range netpolStacks {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := runStack(t, tc.stack, tc.overrides...)
			cfg := stackSettings(t, tc.stack, tc.overrides)
			rows := truthTable(t, modelCluster(t, s, cfg), cfg)
			policies := declaredPolicies(t, s)
			denies := 0
			for i, p := range policies {
				if p.Name != "default-deny" {
					continue
				}
				denies++
				without := slices.Delete(slices.Clone(policies), i, i+1)
				if len(violations(without, rows)) == 0 {
					t.Errorf("%s: without its default deny no forbidden flow opens; the table does not show what it isolates", p.Namespace)
				}
			}
			namespaces := map[string]bool{}
			for _, ns := range s.kinds("Namespace") {
				namespaces[str(ns.Inputs, "metadata.name")] = true
			}
			if denies != len(namespaces) {
				t.Errorf("%d default-deny policies for %d namespaces", denies, len(namespaces))
			}
		})
	}
}

// TestEveryNamespaceDeniesByDefault: each namespace the stack declares has a policy selecting
// every pod, isolating ingress and egress, and allowing nothing.
func TestEveryNamespaceDeniesByDefault(t *testing.T) {
	t.Parallel()
	s := runStack(t, "prod")
	denies := map[string]bool{}
	for _, p := range declaredPolicies(t, s) {
		if len(p.Spec.PodSelector.MatchLabels) == 0 && len(p.Spec.PodSelector.MatchExpressions) == 0 &&
			len(p.Spec.Ingress) == 0 && len(p.Spec.Egress) == 0 &&
			slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) && slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
			denies[p.Namespace] = true
		}
	}
	for _, ns := range s.kinds("Namespace") {
		if name := str(ns.Inputs, "metadata.name"); !denies[name] {
			t.Errorf("namespace %s has no default deny", name)
		}
	}
}

type mutant struct {
	what   string
	policy *networkingv1.NetworkPolicy
}

// mutations are the policy with one allow rule removed, one peer of a rule removed, or one port
// of a rule removed, each on its own.
func mutations(p *networkingv1.NetworkPolicy) []mutant {
	var out []mutant
	for i, r := range p.Spec.Ingress {
		m := p.DeepCopy()
		m.Spec.Ingress = slices.Delete(m.Spec.Ingress, i, i+1)
		out = append(out, mutant{fmt.Sprintf("ingress rule %d", i), m})
		if len(r.From) > 1 {
			for j := range r.From {
				m := p.DeepCopy()
				m.Spec.Ingress[i].From = slices.Delete(m.Spec.Ingress[i].From, j, j+1)
				out = append(out, mutant{fmt.Sprintf("peer %d of ingress rule %d", j, i), m})
			}
		}
		if len(r.Ports) > 1 {
			for j := range r.Ports {
				m := p.DeepCopy()
				m.Spec.Ingress[i].Ports = slices.Delete(m.Spec.Ingress[i].Ports, j, j+1)
				out = append(out, mutant{fmt.Sprintf("port %d of ingress rule %d", j, i), m})
			}
		}
	}
	for i, r := range p.Spec.Egress {
		m := p.DeepCopy()
		m.Spec.Egress = slices.Delete(m.Spec.Egress, i, i+1)
		out = append(out, mutant{fmt.Sprintf("egress rule %d", i), m})
		if len(r.To) > 1 {
			for j := range r.To {
				m := p.DeepCopy()
				m.Spec.Egress[i].To = slices.Delete(m.Spec.Egress[i].To, j, j+1)
				out = append(out, mutant{fmt.Sprintf("peer %d of egress rule %d", j, i), m})
			}
		}
		if len(r.Ports) > 1 {
			for j := range r.Ports {
				m := p.DeepCopy()
				m.Spec.Egress[i].Ports = slices.Delete(m.Spec.Egress[i].Ports, j, j+1)
				out = append(out, mutant{fmt.Sprintf("port %d of egress rule %d", j, i), m})
			}
		}
	}
	return out
}

// TestTruthTableCanFail: the engine is not agreeable by construction. A policy set that allows
// everything, and one that allows nothing, each break the table.
func TestTruthTableCanFail(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	cfg := stackSettings(t, "dev", nil)
	rows := truthTable(t, modelCluster(t, s, cfg), cfg)
	if len(violations(nil, rows)) == 0 {
		t.Error("no policies at all pass the table")
	}
	var denyAll []*networkingv1.NetworkPolicy
	for _, p := range declaredPolicies(t, s) {
		if p.Name == "default-deny" {
			denyAll = append(denyAll, p)
		}
	}
	if len(violations(denyAll, rows)) == 0 {
		t.Error("default denies alone pass the table")
	}
}

// TestChartsOfferNoNetworkPolicies: the pinned Argo charts template no NetworkPolicy, so the
// stack declares every policy itself; a chart version that starts offering them fails here, and
// its values should then be used instead.
func TestChartsOfferNoNetworkPolicies(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "shared", "charts")
	charts, _ := filepath.Glob(filepath.Join(dir, "*.tgz"))
	if len(charts) == 0 {
		t.Skipf("no chart packages in %s (they are beside the repository in CI)", dir)
	}
	for _, c := range charts {
		f, err := os.Open(c)
		if err != nil {
			t.Fatal(err)
		}
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(gz)
		templates := 0
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(h.Name, "/templates/") {
				continue
			}
			templates++
			body, _ := io.ReadAll(tr)
			if strings.Contains(string(body), "NetworkPolicy") {
				t.Errorf("%s: %s templates a NetworkPolicy; use the chart's values for it", filepath.Base(c), h.Name)
			}
		}
		f.Close()
		if templates == 0 {
			t.Errorf("%s: no templates read", filepath.Base(c))
		}
	}
}

// loadConfig is a stack's config with overrides, as runStack reads it.
func loadConfig(t *testing.T, name string, overrides ...string) *stackconfig.Config {
	t.Helper()
	cfg, err := stackconfig.Load("..", name)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range overrides {
		path, value, _ := strings.Cut(o, "=")
		if err := cfg.Override(path, value); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

func testToday(t *testing.T) time.Time {
	t.Helper()
	day, err := program.Today(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	return day
}
