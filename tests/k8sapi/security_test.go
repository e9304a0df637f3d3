//go:build k8sapi

package k8sapi

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"metaflow-azure/services"
	"metaflow-azure/tests/internal/controlplane"
)

// checkChartPodsSelected: the stack's NetworkPolicies for the charts' pods select the pods the
// pinned charts render (a label a chart version drops would leave its pods default-denied), and
// the charts render no NetworkPolicy of their own, so the plan's policies are all there are.
func checkChartPodsSelected(t *testing.T, sc *stackCharts) {
	t.Helper()
	for _, m := range sc.chartObjects() {
		if m.obj.GetKind() == "NetworkPolicy" {
			t.Errorf("the chart renders %s; the stack assumes the charts offer none (use their values instead)", m)
		}
	}
	for _, c := range []struct{ chart, policy, deployment string }{
		{workflowsChart, "workflow-controller", services.ArgoReleaseName + "-workflow-controller"},
		{workflowsChart, "argo-server", services.ArgoReleaseName + "-server"},
		{eventsChart, "events-controller", services.ArgoEventsReleaseName + "-controller-manager"},
	} {
		rr := sc.releases[c.chart]
		d := find(rr.manifests, "Deployment", rr.release.Namespace, c.deployment)
		np := find(sc.plan.manifests, "NetworkPolicy", rr.release.Namespace, c.policy)
		if d == nil || np == nil {
			t.Errorf("%s: Deployment %s (%v) or NetworkPolicy %s (%v) missing", c.chart, c.deployment, d != nil, c.policy, np != nil)
			continue
		}
		var sel metav1.LabelSelector
		raw, _, _ := unstructured.NestedMap(np.Object, "spec", "podSelector")
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &sel); err != nil {
			t.Fatal(err)
		}
		selector, err := metav1.LabelSelectorAsSelector(&sel)
		if err != nil {
			t.Fatal(err)
		}
		podLabels, _, _ := unstructured.NestedStringMap(d.Object, "spec", "template", "metadata", "labels")
		if len(sel.MatchLabels) == 0 || !selector.Matches(labels.Set(podLabels)) {
			t.Errorf("NetworkPolicy %s/%s selects %s, but %s's pods carry %v", rr.release.Namespace, c.policy, selector, c.deployment, podLabels)
		}
	}
}

// checkPodSecurity: the API server enforces each namespace's Pod Security level. In every
// namespace of the stack a privileged pod and a host-network pod are refused; pods shaped as
// Metaflow and Argo create them are admitted where they run; and where a namespace is only
// baseline, restricted would refuse pods it runs (the reason beside the level is real). The
// stack's own pods and the charts' were admitted already: their Deployments became Available.
func checkPodSecurity(t *testing.T, e *env, sc *stackCharts) {
	ctx := t.Context()
	c := e.cluster.Client
	cfg := sc.plan.config.values
	tasksNS := cfg[mfNamespace]
	dryRun := func(pod *corev1.Pod) error {
		_, err := c.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	}
	refusedForPodSecurity := func(err error) bool {
		return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "violates PodSecurity")
	}
	plain := func(ns, name string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{GenerateName: name + "-", Namespace: ns},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "busybox"}}},
		}
	}
	levels := map[string]string{}
	for _, m := range sc.plan.manifests {
		if m.obj.GetKind() != "Namespace" {
			continue
		}
		ns, err := c.CoreV1().Namespaces().Get(ctx, m.obj.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		level := ns.Labels[services.PodSecurityEnforceLabel]
		if level != services.PodSecurityRestricted && level != services.PodSecurityBaseline {
			t.Errorf("namespace %s enforces %q", ns.Name, level)
			continue
		}
		levels[ns.Name] = level
		privileged := plain(ns.Name, "privileged")
		yes := true
		privileged.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &yes}
		hostNet := plain(ns.Name, "host-network")
		hostNet.Spec.HostNetwork = true
		for what, pod := range map[string]*corev1.Pod{"a privileged pod": privileged, "a host-network pod": hostNet} {
			if err := dryRun(pod); !refusedForPodSecurity(err) {
				t.Errorf("namespace %s (%s) admitted %s: %v", ns.Name, level, what, err)
			}
		}
	}
	if len(levels) != 4 {
		t.Errorf("%d namespaces with a Pod Security level, want 4", len(levels))
	}

	// A pod that meets restricted is admitted in a restricted namespace: the refusals above are
	// the levels at work, not a namespace that refuses everything.
	no, yes, nonRoot := false, true, int64(65532)
	hardened := func(ns string) *corev1.Pod {
		p := plain(ns, "hardened")
		p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: &yes, RunAsUser: &nonRoot,
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
		p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: &no,
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
		return p
	}
	for ns, level := range levels {
		if level == services.PodSecurityRestricted {
			if err := dryRun(hardened(ns)); err != nil {
				t.Errorf("restricted namespace %s refused a pod that meets restricted: %v", ns, err)
			}
		}
	}

	// Pods shaped as Metaflow and Argo create them are admitted in the task namespace.
	mfLabels := parseLabels(cfg["METAFLOW_KUBERNETES_LABELS"])
	mfLabels["app.kubernetes.io/name"], mfLabels["app.kubernetes.io/part-of"] = "metaflow-task", "metaflow"
	task := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "task-", Namespace: tasksNS, Labels: mfLabels},
		Spec: corev1.PodSpec{ServiceAccountName: cfg[mfServiceAccount], RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "main", Image: "python:3.12", Command: []string{"bash", "-c", "python flow.py step start"}}}},
	}
	step := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "step-", Namespace: tasksNS, Labels: map[string]string{"workflows.argoproj.io/workflow": "helloflow-abc12"}},
		Spec: corev1.PodSpec{ServiceAccountName: cfg[mfServiceAccount], RestartPolicy: corev1.RestartPolicyNever,
			InitContainers: []corev1.Container{{Name: "init", Image: "quay.io/argoproj/argoexec:v3.7.11"}},
			Containers:     []corev1.Container{{Name: "wait", Image: "quay.io/argoproj/argoexec:v3.7.11"}, {Name: "main", Image: "python:3.12"}}},
	}
	for what, pod := range map[string]*corev1.Pod{"a Metaflow task pod": task, "an Argo step pod": step} {
		if err := dryRun(pod); err != nil {
			t.Errorf("namespace %s (%s) refused %s: %v", tasksNS, levels[tasksNS], what, err)
		}
	}

	// Where a namespace is baseline, restricted would refuse what runs there: the task pods in
	// the task namespace, the services' own pod templates in theirs. Asked of a scratch
	// namespace that enforces restricted.
	scratch := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "restricted-probe-",
		Labels: map[string]string{services.PodSecurityEnforceLabel: services.PodSecurityRestricted}}}
	scratch, err := c.CoreV1().Namespaces().Create(ctx, scratch, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CoreV1().Namespaces().Delete(ctx, scratch.Name, metav1.DeleteOptions{})
	// Pods name the namespace's default ServiceAccount, which the controller manager creates.
	if err := controlplane.Poll(ctx, 200*time.Millisecond, func() (bool, error) {
		_, err := c.CoreV1().ServiceAccounts(scratch.Name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		t.Fatalf("namespace %s got no default ServiceAccount: %v", scratch.Name, err)
	}
	reasons := 0
	for ns, level := range levels {
		if level != services.PodSecurityBaseline {
			continue
		}
		var pods []*corev1.Pod
		if ns == tasksNS {
			pods = append(pods, task.DeepCopy())
		}
		for _, pt := range podTemplates(sc.plan.manifests) {
			if pt.namespace == ns {
				pods = append(pods, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "template-"}, Spec: *pt.spec.DeepCopy()})
			}
		}
		refused := 0
		for _, p := range pods {
			p.Namespace = scratch.Name
			p.Spec.ServiceAccountName = ""
			if err := dryRun(p); refusedForPodSecurity(err) {
				refused++
			}
		}
		if len(pods) == 0 || refused == 0 {
			t.Errorf("namespace %s is only baseline, but restricted admits all %d of its pods: make it restricted", ns, len(pods))
		} else {
			reasons++
			t.Logf("namespace %s: restricted refuses %d of its %d pods, so baseline", ns, refused, len(pods))
		}
	}
	if reasons != 2 {
		t.Errorf("%d baseline namespaces with a reason, want 2 (services, tasks)", reasons)
	}
	t.Logf("Pod Security: %v; privileged and host-network pods refused everywhere", fmt.Sprint(levels))
}

// checkNetworkPoliciesApplied: every NetworkPolicy of the plan is on the server as declared
// (the server validated each: selectors, ipBlocks with their excepts, ports).
func checkNetworkPoliciesApplied(t *testing.T, e *env, sc *stackCharts) {
	ctx := t.Context()
	declared := ofKind(sc.plan.manifests, "NetworkPolicy")
	if len(declared) == 0 {
		t.Fatal("the plan declares no NetworkPolicy")
	}
	for _, m := range declared {
		got, err := e.cluster.Client.NetworkingV1().NetworkPolicies(m.obj.GetNamespace()).Get(ctx, m.obj.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Errorf("%s: not on the server: %v", m, err)
			continue
		}
		rules, _, _ := unstructured.NestedSlice(m.obj.Object, "spec", "egress")
		in, _, _ := unstructured.NestedSlice(m.obj.Object, "spec", "ingress")
		if len(got.Spec.Egress) != len(rules) || len(got.Spec.Ingress) != len(in) {
			t.Errorf("%s: the server holds %d egress and %d ingress rules, the plan %d and %d", m, len(got.Spec.Egress), len(got.Spec.Ingress), len(rules), len(in))
		}
	}
	t.Logf("%d NetworkPolicies accepted by the API server", len(declared))
}
