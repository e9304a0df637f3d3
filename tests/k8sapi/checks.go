//go:build k8sapi

package k8sapi

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"metaflow-azure/tests/internal/controlplane"
)

// check is one assertion over the declared objects. It returns a message per problem; an
// empty result means the assertion holds right now.
type check struct {
	name string
	run  func(ctx context.Context, s *subject) []string
}

// subject is what the checks look at: the objects a test declared, the live cluster, and the
// Metaflow configs whose references must resolve.
type subject struct {
	client    kubernetes.Interface
	manifests []manifest
	configs   []metaflowConfig
}

// checks are the assertions every declared object set must pass.
var checks = []check{
	{"deployments", checkDeployments},
	{"services", checkServices},
	{"jobs", checkJobs},
	{"references", checkReferences},
	{"secrets", checkSecrets},
}

// checkResult is a check's last outcome, and when it first passed.
type checkResult struct {
	problems []string
	passedIn time.Duration // zero while it has not passed
}

// runChecks polls every check until all pass or the deadline ends, and returns each one's last
// outcome. Checks that pass keep being re-run, so a later regression is still caught.
func runChecks(ctx context.Context, s *subject, deadline time.Duration) map[string]*checkResult {
	deadlineCtx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	start := time.Now()
	results := map[string]*checkResult{}
	for _, c := range checks {
		results[c.name] = &checkResult{}
	}
	evaluate := func(ctx context.Context) bool {
		allPass := true
		for _, c := range checks {
			r := results[c.name]
			r.problems = c.run(ctx, s)
			if len(r.problems) > 0 {
				allPass = false
				r.passedIn = 0
			} else if r.passedIn == 0 {
				r.passedIn = time.Since(start)
			}
		}
		return allPass
	}
	_ = controlplane.Poll(deadlineCtx, 500*time.Millisecond, func() (bool, error) { return evaluate(deadlineCtx), nil })
	// The deadline may have cut the last pass short, turning every request into an error; judge
	// the final state with one more pass that the deadline does not interrupt.
	if deadlineCtx.Err() != nil && ctx.Err() == nil {
		evaluate(ctx)
	}
	return results
}

// declared decodes every manifest of kind into T.
func declared[T any](ms []manifest, kind string) ([]*T, []string) {
	var out []*T
	var problems []string
	for _, m := range ofKind(ms, kind) {
		v := new(T)
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m.obj.Object, v); err != nil {
			problems = append(problems, fmt.Sprintf("%s: decode: %v", m, err))
			continue
		}
		out = append(out, v)
	}
	return out, problems
}

func checkDeployments(ctx context.Context, s *subject) []string {
	deps, problems := declared[appsv1.Deployment](s.manifests, "Deployment")
	for _, d := range deps {
		live, err := s.client.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
		if err != nil {
			problems = append(problems, fmt.Sprintf("deployment %s/%s: %v", d.Namespace, d.Name, err))
			continue
		}
		if msg := deploymentProblem(ctx, s.client, live); msg != "" {
			problems = append(problems, fmt.Sprintf("deployment %s/%s not available: %s", d.Namespace, d.Name, msg))
		}
	}
	return problems
}

// deploymentProblem says why a live Deployment is not fully rolled out and available, or "".
func deploymentProblem(ctx context.Context, c kubernetes.Interface, d *appsv1.Deployment) string {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	available := false
	var notes []string
	for _, cond := range st.Conditions {
		switch {
		case cond.Type == appsv1.DeploymentAvailable:
			available = cond.Status == corev1.ConditionTrue
		case cond.Type == appsv1.DeploymentReplicaFailure && cond.Status == corev1.ConditionTrue:
			notes = append(notes, "replica failure: "+cond.Message)
		}
	}
	if available && st.ObservedGeneration >= d.Generation && st.UpdatedReplicas == want &&
		st.ReadyReplicas == want && st.AvailableReplicas == want {
		return ""
	}
	if reasons := unreadyPodReasons(ctx, c, d.Namespace, d.Spec.Selector); reasons != "" {
		notes = append(notes, reasons)
	}
	msg := fmt.Sprintf("%d/%d replicas ready", st.ReadyReplicas, want)
	if len(notes) > 0 {
		msg += " (" + strings.Join(notes, "; ") + ")"
	}
	return msg
}

// unreadyPodReasons summarises why the pods a selector matches are not ready.
func unreadyPodReasons(ctx context.Context, c kubernetes.Interface, ns string, sel *metav1.LabelSelector) string {
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return "invalid selector: " + err.Error()
	}
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return "list pods: " + err.Error()
	}
	counts := map[string]int{}
	for _, p := range pods.Items {
		if r := podNotReadyReason(&p); r != "" {
			counts[r]++
		}
	}
	var parts []string
	for _, r := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%d pods %s", counts[r], r))
	}
	return strings.Join(parts, ", ")
}

func podNotReadyReason(p *corev1.Pod) string {
	if p.Spec.NodeName == "" {
		return "unscheduled"
	}
	for _, c := range p.Status.Conditions {
		if c.Type != corev1.PodReady {
			continue
		}
		if c.Status == corev1.ConditionTrue {
			return ""
		}
		if c.Reason != "" {
			return "not ready: " + c.Reason
		}
	}
	return "not ready: phase " + string(p.Status.Phase)
}

func checkServices(ctx context.Context, s *subject) []string {
	svcs, problems := declared[corev1.Service](s.manifests, "Service")
	for _, svc := range svcs {
		// A Service without a selector (or an ExternalName) has endpoints managed by someone else.
		if len(svc.Spec.Selector) == 0 || svc.Spec.Type == corev1.ServiceTypeExternalName {
			continue
		}
		ready, err := readyEndpoints(ctx, s.client, svc.Namespace, svc.Name)
		if err != nil {
			problems = append(problems, fmt.Sprintf("service %s/%s: %v", svc.Namespace, svc.Name, err))
			continue
		}
		if ready > 0 {
			continue
		}
		problems = append(problems, fmt.Sprintf("service %s/%s has no ready endpoints: %s",
			svc.Namespace, svc.Name, selectorMatches(ctx, s.client, svc)))
	}
	return problems
}

// readyEndpoints counts the ready endpoints in a Service's EndpointSlices.
func readyEndpoints(ctx context.Context, c kubernetes.Interface, ns, name string) (int, error) {
	slices, err := c.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + name,
	})
	if err != nil {
		return 0, fmt.Errorf("list endpointslices: %w", err)
	}
	n := 0
	for _, sl := range slices.Items {
		for _, ep := range sl.Endpoints {
			// A nil Ready means ready (the API's documented default).
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				n++
			}
		}
	}
	return n, nil
}

// selectorMatches explains a Service without endpoints by what its selector finds.
func selectorMatches(ctx context.Context, c kubernetes.Interface, svc *corev1.Service) string {
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	pods, err := c.CoreV1().Pods(svc.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return "list pods: " + err.Error()
	}
	if len(pods.Items) == 0 {
		return fmt.Sprintf("selector %s matches no pods", sel)
	}
	return fmt.Sprintf("selector %s matches %d pods, none ready with the target port", sel, len(pods.Items))
}

func checkJobs(ctx context.Context, s *subject) []string {
	jobs, problems := declared[batchv1.Job](s.manifests, "Job")
	for _, j := range jobs {
		live, err := s.client.BatchV1().Jobs(j.Namespace).Get(ctx, j.Name, metav1.GetOptions{})
		if err != nil {
			problems = append(problems, fmt.Sprintf("job %s/%s: %v", j.Namespace, j.Name, err))
			continue
		}
		if msg := jobProblem(live); msg != "" {
			problems = append(problems, fmt.Sprintf("job %s/%s %s", j.Namespace, j.Name, msg))
		}
	}
	return problems
}

// jobProblem says why a live Job has not completed, or "".
func jobProblem(j *batchv1.Job) string {
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return ""
		case batchv1.JobFailed:
			return fmt.Sprintf("failed: %s: %s", c.Reason, c.Message)
		}
	}
	return fmt.Sprintf("not complete: %d active, %d succeeded, %d failed", j.Status.Active, j.Status.Succeeded, j.Status.Failed)
}

func checkReferences(ctx context.Context, s *subject) []string {
	var problems []string
	rbs, p := declared[rbacv1.RoleBinding](s.manifests, "RoleBinding")
	problems = append(problems, p...)
	for _, rb := range rbs {
		owner := fmt.Sprintf("rolebinding %s/%s", rb.Namespace, rb.Name)
		problems = append(problems, roleRefProblems(ctx, s.client, owner, rb.Namespace, rb.RoleRef)...)
		problems = append(problems, subjectProblems(ctx, s.client, owner, rb.Namespace, rb.Subjects)...)
	}
	crbs, p := declared[rbacv1.ClusterRoleBinding](s.manifests, "ClusterRoleBinding")
	problems = append(problems, p...)
	for _, crb := range crbs {
		owner := "clusterrolebinding " + crb.Name
		problems = append(problems, roleRefProblems(ctx, s.client, owner, "", crb.RoleRef)...)
		problems = append(problems, subjectProblems(ctx, s.client, owner, "", crb.Subjects)...)
	}
	for _, pt := range podTemplates(s.manifests) {
		sa := pt.spec.ServiceAccountName
		if sa == "" {
			sa = "default"
		}
		if !exists(ctx, s.client.CoreV1().ServiceAccounts(pt.namespace).Get, sa) {
			problems = append(problems, fmt.Sprintf("%s: serviceAccountName %s not found in namespace %s", pt.owner, sa, pt.namespace))
		}
	}
	for _, cfg := range s.configs {
		problems = append(problems, cfg.serviceAccountProblems(ctx, s.client)...)
	}
	return problems
}

func roleRefProblems(ctx context.Context, c kubernetes.Interface, owner, ns string, ref rbacv1.RoleRef) []string {
	switch ref.Kind {
	case "Role":
		if !exists(ctx, c.RbacV1().Roles(ns).Get, ref.Name) {
			return []string{fmt.Sprintf("%s: roleRef Role %s/%s not found", owner, ns, ref.Name)}
		}
	case "ClusterRole":
		if !exists(ctx, c.RbacV1().ClusterRoles().Get, ref.Name) {
			return []string{fmt.Sprintf("%s: roleRef ClusterRole %s not found", owner, ref.Name)}
		}
	default:
		return []string{fmt.Sprintf("%s: roleRef has unknown kind %q", owner, ref.Kind)}
	}
	return nil
}

func subjectProblems(ctx context.Context, c kubernetes.Interface, owner, ns string, subjects []rbacv1.Subject) []string {
	var problems []string
	for _, sub := range subjects {
		if sub.Kind != rbacv1.ServiceAccountKind {
			continue // users and groups live outside the cluster
		}
		sns := sub.Namespace
		if sns == "" {
			sns = ns
		}
		if !exists(ctx, c.CoreV1().ServiceAccounts(sns).Get, sub.Name) {
			problems = append(problems, fmt.Sprintf("%s: subject ServiceAccount %s/%s not found", owner, sns, sub.Name))
		}
	}
	return problems
}

// exists reports whether get finds name. Errors other than NotFound count as missing too: the
// check is retried until its deadline, so a transient error cannot fail it on its own.
func exists[T any](ctx context.Context, get func(context.Context, string, metav1.GetOptions) (T, error), name string) bool {
	_, err := get(ctx, name, metav1.GetOptions{})
	return err == nil
}

func checkSecrets(ctx context.Context, s *subject) []string {
	var problems []string
	for _, pt := range podTemplates(s.manifests) {
		for _, ref := range secretRefs(&pt.spec) {
			if msg := secretRefProblem(ctx, s.client, pt.namespace, ref); msg != "" {
				problems = append(problems, fmt.Sprintf("%s: %s: %s", pt.owner, ref.from, msg))
			}
		}
	}
	for _, cfg := range s.configs {
		problems = append(problems, cfg.secretProblems(ctx, s.client)...)
	}
	return problems
}

// secretRef is a pod's use of a Secret: the whole Secret (key == "") or one key of it.
type secretRef struct {
	from     string // where the pod names it, for the message
	name     string
	key      string
	optional bool
}

func secretRefProblem(ctx context.Context, c kubernetes.Interface, ns string, ref secretRef) string {
	if ref.optional {
		return ""
	}
	sec, err := c.CoreV1().Secrets(ns).Get(ctx, ref.name, metav1.GetOptions{})
	if err != nil {
		return fmt.Sprintf("secret %s/%s not found", ns, ref.name)
	}
	if ref.key == "" {
		return ""
	}
	if _, ok := sec.Data[ref.key]; !ok {
		return fmt.Sprintf("secret %s/%s has no key %s", ns, ref.name, ref.key)
	}
	return ""
}

// secretRefs lists every Secret a pod spec needs before its containers can start.
func secretRefs(spec *corev1.PodSpec) []secretRef {
	var refs []secretRef
	containers := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	for _, c := range containers {
		for _, e := range c.Env {
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				continue
			}
			r := e.ValueFrom.SecretKeyRef
			refs = append(refs, secretRef{
				from: fmt.Sprintf("container %s env %s", c.Name, e.Name),
				name: r.Name, key: r.Key, optional: r.Optional != nil && *r.Optional,
			})
		}
		for _, ef := range c.EnvFrom {
			if ef.SecretRef != nil {
				refs = append(refs, secretRef{
					from: fmt.Sprintf("container %s envFrom", c.Name),
					name: ef.SecretRef.Name, optional: ef.SecretRef.Optional != nil && *ef.SecretRef.Optional,
				})
			}
		}
	}
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			refs = append(refs, secretRef{
				from: "volume " + v.Name, name: v.Secret.SecretName,
				optional: v.Secret.Optional != nil && *v.Secret.Optional,
			})
		}
		if v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			if src.Secret != nil {
				refs = append(refs, secretRef{
					from: "projected volume " + v.Name, name: src.Secret.Name,
					optional: src.Secret.Optional != nil && *src.Secret.Optional,
				})
			}
		}
	}
	for _, ips := range spec.ImagePullSecrets {
		refs = append(refs, secretRef{from: "imagePullSecrets", name: ips.Name})
	}
	return refs
}

// podTemplate is a pod spec some declared object creates pods from.
type podTemplate struct {
	owner     string
	namespace string
	spec      corev1.PodSpec
}

// podTemplates extracts the pod specs of workload objects.
func podTemplates(ms []manifest) []podTemplate {
	var out []podTemplate
	add := func(kind, ns, name string, spec corev1.PodSpec) {
		out = append(out, podTemplate{owner: strings.ToLower(kind) + " " + ns + "/" + name, namespace: ns, spec: spec})
	}
	deps, _ := declared[appsv1.Deployment](ms, "Deployment")
	for _, d := range deps {
		add("Deployment", d.Namespace, d.Name, d.Spec.Template.Spec)
	}
	sts, _ := declared[appsv1.StatefulSet](ms, "StatefulSet")
	for _, d := range sts {
		add("StatefulSet", d.Namespace, d.Name, d.Spec.Template.Spec)
	}
	dss, _ := declared[appsv1.DaemonSet](ms, "DaemonSet")
	for _, d := range dss {
		add("DaemonSet", d.Namespace, d.Name, d.Spec.Template.Spec)
	}
	jobs, _ := declared[batchv1.Job](ms, "Job")
	for _, j := range jobs {
		add("Job", j.Namespace, j.Name, j.Spec.Template.Spec)
	}
	cjs, _ := declared[batchv1.CronJob](ms, "CronJob")
	for _, j := range cjs {
		add("CronJob", j.Namespace, j.Name, j.Spec.JobTemplate.Spec.Template.Spec)
	}
	pods, _ := declared[corev1.Pod](ms, "Pod")
	for _, p := range pods {
		add("Pod", p.Namespace, p.Name, p.Spec)
	}
	return out
}

// nodeSelectors lists the nodeSelectors of every pod template, for the simulated node pools.
func nodeSelectors(ms []manifest) []map[string]string {
	var out []map[string]string
	for _, pt := range podTemplates(ms) {
		if len(pt.spec.NodeSelector) > 0 {
			out = append(out, pt.spec.NodeSelector)
		}
	}
	return out
}

// dedupeSelectors drops empty selectors and repeats, so each distinct one gets one node.
func dedupeSelectors(selectors []map[string]string) []map[string]string {
	seen := map[string]bool{}
	var out []map[string]string
	for _, s := range selectors {
		if len(s) == 0 {
			continue
		}
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(s)) {
			parts = append(parts, k+"="+s[k])
		}
		key := strings.Join(parts, ",")
		if !seen[key] {
			seen[key] = true
			out = append(out, s)
		}
	}
	return out
}
