//go:build rehearsal

package rehearsal

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// rehearsalSettings are what a stack of the tier sets over the repository's example: the charts
// from the loopback mirror (argo.chartRepository), and a Kubernetes minor below the example's, so
// an upgrade can be rehearsed.
func rehearsalSettings(charts string) map[string]string {
	return map[string]string{
		"argo.chartRepository":       charts,
		"argoEvents.chartRepository": charts,
		"aks.kubernetesVersion":      "1.35",
	}
}

// Each test has its own control plane, fake Azure and state, so they run in parallel (two at a
// time with go test's default -parallel on two cores).

func TestDev(t *testing.T) {
	t.Parallel()
	p := env.newProject(t, "dev", rehearsalSettings(env.charts.URL))
	r := &rehearsal{t: t, p: p, up: p.upWithCLI, other: p.upWithPulumi}
	r.all()
}

func TestProd(t *testing.T) {
	t.Parallel()
	p := env.newProject(t, "prod", rehearsalSettings(env.charts.URL))
	r := &rehearsal{t: t, p: p, up: p.upWithPulumi, other: p.upWithCLI}
	r.all()
}

// rehearsal is the life of one stack. up is how this stack is mostly deployed (metaflow-azure or
// plain pulumi); other the other way, used for some of the runs, on the same state.
type rehearsal struct {
	t         *testing.T
	p         *project
	up, other func()
	// namespaces of the stack, known after the first deploy.
	namespaces []string
}

func (r *rehearsal) all() {
	ctx := context.Background()
	steps := []struct {
		name string
		run  func(context.Context, *testing.T)
	}{
		{"first deploy", r.firstDeploy},
		{"no-op runs change nothing", r.noOp},
		{"day-2 changes", r.dayTwo},
		{"refresh finds no drift", r.refresh},
		{"verify as far as kwok goes", r.verify},
		{"destroy", r.destroy},
	}
	for _, s := range steps {
		start := time.Now()
		ok := r.t.Run(s.name, func(t *testing.T) {
			defer r.p.reportTo(t)()
			s.run(ctx, t)
		})
		env.logf("timing: %s %s took %s", r.p.stack, s.name, time.Since(start).Round(time.Second))
		if !ok {
			return
		}
	}
}

func (p *project) upWithCLI() { p.ok("up", "--yes") }

func (p *project) upWithPulumi() { p.pulumi("up", "--yes", "--stack", p.stack) }

// firstDeploy: up from nothing deploys both releases, every Deployment becomes Available, the
// migration Job completes, and wherever the offline plan knows an output, the stack's equals it.
func (r *rehearsal) firstDeploy(ctx context.Context, t *testing.T) {
	p := r.p
	declared := p.declared()
	r.up()
	outputs := p.outputs()
	r.namespaces = namespacesOf(outputs)
	if len(r.namespaces) < 4 {
		t.Fatalf("the stack's namespaces output names %v", r.namespaces)
	}
	if problems := readiness(ctx, p.cluster, r.namespaces); len(problems) > 0 {
		t.Errorf("after the first up:\n%s", strings.Join(problems, "\n"))
	}
	releases := helmReleases(ctx, p.cluster, r.namespaces)
	if len(releases) != 2 {
		t.Errorf("deployed Helm releases %v, want Argo Workflows and Argo Events", releases)
	}
	if env.charts.fetches("/index.yaml") == 0 {
		t.Error("the Kubernetes provider never read the chart repository's index")
	}
	if failures := p.nodes.failures(); len(failures) > 0 {
		t.Errorf("simulated node pools: %v", failures)
	}
	// Outputs the offline plan knows must be the deployed stack's. The exceptions stand for what
	// differs between the fake and this tier on purpose: the clusters' kubeconfig (the tier's
	// API server and tokens instead of the fake's).
	for _, k := range slices.Sorted(maps.Keys(declared.Outputs)) {
		if k == "kubeconfig" {
			continue
		}
		if !reflect.DeepEqual(normalise(declared.Outputs[k]), normalise(outputs[k])) {
			t.Errorf("output %s: the stack has %v, the offline plan %v", k, outputs[k], declared.Outputs[k])
		}
	}
	for k := range outputs {
		if _, ok := declared.Outputs[k]; !ok {
			t.Errorf("output %s is the stack's but not the offline plan's", k)
		}
	}
}

// normalise gives the plan's Go values (string slices, int64s, typed maps) the shape the stack's
// JSON outputs have, so that equal values compare equal.
func normalise(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("unencodable %T", v)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Sprintf("undecodable %s", b)
	}
	return out
}

// noOp: a preview right after an up shows no change; an up with new AKS credentials (a new Entra
// token, a rotated clusterUser token) updates the Kubernetes provider and nothing else: no
// Kubernetes object is written, no Azure resource touched, nothing replaced.
func (r *rehearsal) noOp(ctx context.Context, t *testing.T) {
	p := r.p
	if changes := p.preview(); len(changes) > 0 {
		t.Fatalf("a preview right after up shows changes:\n%s", strings.Join(compareDecisions(changes, nil), "\n"))
	}
	before, err := objects(ctx, p.cluster, r.namespaces)
	if err != nil {
		t.Fatal(err)
	}
	ops := len(p.cloud.Ops())
	p.access.rotate()
	changes := p.preview()
	provider := ""
	for urn, s := range changes {
		if strings.Contains(urn, "pulumi:providers:kubernetes::") {
			provider = s.Op
			continue
		}
		t.Errorf("a new AKS token: the engine would %s %s", s.Op, short(urn))
	}
	if provider != "update" {
		t.Errorf("a new AKS token: the Kubernetes provider is %q, want an update", provider)
	}
	r.other()
	after, err := objects(ctx, p.cluster, r.namespaces)
	if err != nil {
		t.Fatal(err)
	}
	if diff := changed(before, after); len(diff) > 0 {
		t.Errorf("an up with a new AKS token wrote Kubernetes objects:\n%s", strings.Join(diff, "\n"))
	}
	for _, op := range p.cloud.Ops()[ops:] {
		if op.Kind != "read" {
			t.Errorf("an up with a new AKS token: the fake Azure saw %s %s", op.Kind, short(op.URN))
		}
	}
	if changes := p.preview(); len(changes) > 0 {
		t.Errorf("a preview after the token's up shows changes:\n%s", strings.Join(compareDecisions(changes, nil), "\n"))
	}
}

// dayTwoChange is one change users make. refused names the key of a change the stack must
// refuse before touching anything; the change is then taken back.
type dayTwoChange struct {
	name    string
	set     map[string]string
	check   func(*testing.T)
	refused string
}

// dayTwo makes each change users make, one at a time, and checks the engine's own decisions
// against what the offline plans before and after say must change.
func (r *rehearsal) dayTwo(ctx context.Context, t *testing.T) {
	p := r.p
	// One more replica than the example has (prod runs 3; dev's burstable database fits 3), and
	// one more pool after the example's (prod has two).
	replicas, pool := int32(3), "aks.extraPools[0]"
	if p.stack == "prod" {
		replicas, pool = 4, "aks.extraPools[2]"
	}
	changes := []dayTwoChange{
		{name: "metaflow.replicas", set: map[string]string{"metaflow.replicas": fmt.Sprint(replicas)}, check: func(t *testing.T) { r.replicas(ctx, t, replicas) }},
		{name: "aks.taskPool.maxCount", set: map[string]string{"aks.taskPool.maxCount": "7"}},
		// v2.4.13, a release before the default v2.5.1 (../shared/reference/versions.md).
		{name: "an image tag", set: map[string]string{"metaflow.metadataImage": "public.ecr.aws/outerbounds/metaflow_metadata_service:v2.4.13"}},
		{name: "add an extra pool", set: map[string]string{pool + ".name": "batch", pool + ".vmSize": "Standard_D8ds_v5", pool + ".maxCount": "3"},
			check: func(t *testing.T) { r.node(ctx, t, "batch", true) }},
		{name: "remove it", set: map[string]string{pool: ""}, check: func(t *testing.T) { r.node(ctx, t, "batch", false) }},
	}
	monitoring := []dayTwoChange{
		{name: "monitoring off", set: map[string]string{"monitoring.enabled": "false"}},
		{name: "monitoring on", set: map[string]string{"monitoring.enabled": "true"}},
	}
	if p.protected() {
		// The delete locks would refuse deleting the diagnostic settings halfway through the up,
		// so the stack refuses first and names the way out, which is then taken.
		changes = append(changes,
			dayTwoChange{name: "monitoring off, refused under the delete locks", set: monitoring[0].set, refused: "monitoring.enabled"},
			dayTwoChange{name: "protectData off first", set: map[string]string{"protectData": "false"}})
		changes = append(changes, monitoring...)
		changes = append(changes, dayTwoChange{name: "protectData on again", set: map[string]string{"protectData": "true"}})
	} else {
		changes = append(changes, monitoring...)
	}
	changes = append(changes,
		dayTwoChange{name: "Kubernetes minor upgrade", set: map[string]string{"aks.kubernetesVersion": "1.36"}},
		dayTwoChange{name: "a change Azure cannot apply", set: map[string]string{"aks.systemPool.vmSize": "Standard_D8ds_v5"}, refused: "aks.systemPool.vmSize"},
	)
	for i, c := range changes {
		ok := t.Run(c.name, func(t *testing.T) {
			defer p.reportTo(t)()
			if c.refused != "" {
				r.refused(t, c.set, c.refused)
				return
			}
			before := p.declared()
			p.setAll(c.set)
			want := expectedChanges(before, p.declared())
			if len(want) == 0 {
				t.Fatalf("the change %v declares nothing different", c.set)
			}
			decided := p.preview()
			env.logf("%s: %s: the engine would %s", p.stack, c.name, strings.Join(decisions(decided), ", "))
			if problems := compareDecisions(decided, want); len(problems) > 0 {
				t.Errorf("the engine's decisions differ from what must change:\n%s", strings.Join(problems, "\n"))
			}
			// Alternate the ways a stack is run, on the same state.
			if i%2 == 0 {
				r.up()
			} else {
				r.other()
			}
			if problems := readiness(ctx, p.cluster, r.namespaces); len(problems) > 0 {
				t.Errorf("after the up:\n%s", strings.Join(problems, "\n"))
			}
			if c.check != nil {
				c.check(t)
			}
			if left := p.preview(); len(left) > 0 {
				t.Errorf("a preview after the up shows changes:\n%s", strings.Join(compareDecisions(left, nil), "\n"))
			}
		})
		if !ok {
			return
		}
	}
}

// refused makes a change that must be refused, through metaflow-azure and through pulumi, before
// anything is touched, with an error naming the key; then takes it back.
func (r *rehearsal) refused(t *testing.T, set map[string]string, key string) {
	p := r.p
	stackFile := p.read("Pulumi." + p.stack + ".yaml")
	ops := len(p.cloud.Ops())
	p.setAll(set)
	res := p.metaflowAzure("up", "--yes")
	if res.code == 0 || !strings.Contains(res.errOut, key) {
		t.Errorf("the change must be refused naming %s: %s", key, res)
	}
	plain := p.pulumiRun("up", "--yes", "--stack", p.stack)
	if plain.code == 0 || !strings.Contains(plain.out+plain.errOut, key) {
		t.Errorf("pulumi up must refuse it too: %s", plain)
	}
	for _, op := range p.cloud.Ops()[ops:] {
		if op.Kind != "read" {
			t.Errorf("the refused change touched %s %s", op.Kind, short(op.URN))
		}
	}
	p.write("Pulumi."+p.stack+".yaml", stackFile)
	if left := p.preview(); len(left) > 0 {
		t.Errorf("after taking the change back, a preview shows changes:\n%s", strings.Join(compareDecisions(left, nil), "\n"))
	}
}

// protected tells a stack deployed with protectData (its delete locks stand).
func (p *project) protected() bool {
	applied, _ := p.outputs()["appliedSettings"].(map[string]any)
	return applied["deleteLocks"] == true
}

// setAll sets each key as a user does (`pulumi config set --path`); an empty value removes the
// key (`pulumi config rm --path`).
func (p *project) setAll(set map[string]string) {
	p.t.Helper()
	for _, k := range slices.Sorted(maps.Keys(set)) {
		if set[k] == "" {
			p.pulumi("config", "rm", "--path", "--stack", p.stack, "metaflow-azure:"+k)
			continue
		}
		p.configSet(k, set[k])
	}
}

func (r *rehearsal) replicas(ctx context.Context, t *testing.T, want int32) {
	for _, name := range []string{"metadata-service", "metaflow-ui-backend", "metaflow-ui"} {
		d, err := r.p.cluster.Client.AppsV1().Deployments("metaflow").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas != want || d.Status.AvailableReplicas != want {
			t.Errorf("%s: %d replicas, %d available, want %d", name, ptrOr(d.Spec.Replicas, 1), d.Status.AvailableReplicas, want)
		}
	}
}

func (r *rehearsal) node(ctx context.Context, t *testing.T, pool string, want bool) {
	_, err := r.p.cluster.Client.CoreV1().Nodes().Get(ctx, nodeName(pool), metav1.GetOptions{})
	if got := err == nil; got != want {
		t.Errorf("the node of pool %s exists: %v, want %v (%v)", pool, got, want, err)
	}
}

// refresh reads every resource back: nothing drifted, so the state is unchanged and a preview
// after it shows no change. Then, with the Entra tokens of the last up expired (an hour later),
// metaflow-azure refresh still works: it runs the program, which signs in again; the pulumi CLI
// without --run-program configures the Kubernetes provider from the state and fails.
func (r *rehearsal) refresh(ctx context.Context, t *testing.T) {
	p := r.p
	res := p.ok("refresh")
	if !strings.Contains(res.errOut, "refresh of stack") {
		t.Errorf("refresh said: %s", res)
	}
	if left := p.preview(); len(left) > 0 {
		t.Errorf("a preview after refresh shows changes:\n%s", strings.Join(compareDecisions(left, nil), "\n"))
	}
	if !p.entra() {
		return
	}
	p.access.expire()
	stale := p.pulumiRun("refresh", "--yes", "--stack", p.stack)
	if stale.code == 0 {
		t.Errorf("pulumi refresh without --run-program succeeded with the expired token of the last up: the tier's token check is not working:\n%s", stale)
	}
	issued := p.access.issuedCount()
	p.ok("refresh")
	if p.access.issuedCount() == issued {
		t.Error("metaflow-azure refresh did not sign in again")
	}
}

// entra tells a stack whose Kubernetes provider signs in with an Entra token: one deployed with
// Azure RBAC (its appliedSettings output says so).
func (p *project) entra() bool {
	applied, _ := p.outputs()["appliedSettings"].(map[string]any)
	return applied["azureRbac"] == true
}

// destroy: with protectData on it is refused and deletes nothing; with it off (after the up that
// lifts the protection and the locks) it leaves an empty state, an empty fake Azure and nothing of
// the stack's in the API server, no namespace stuck on a finalizer. The tokens of the last up
// have expired by then, as they would overnight.
func (r *rehearsal) destroy(ctx context.Context, t *testing.T) {
	p := r.p
	if p.protected() {
		ops := len(p.cloud.Ops())
		res := p.metaflowAzure("destroy", "--yes")
		if res.code == 0 || !strings.Contains(res.errOut, "protectData") {
			t.Errorf("destroy of a protected stack must be refused: %s", res)
		}
		for _, op := range p.cloud.Ops()[ops:] {
			if op.Kind == "delete" {
				t.Errorf("the refused destroy deleted %s", short(op.URN))
			}
		}
		// Plain pulumi: Pulumi's protect on the data must stop the destroy before it deletes
		// anything, the cluster and the Kubernetes objects included.
		objectsBefore, err := objects(ctx, p.cluster, r.namespaces)
		if err != nil {
			t.Fatal(err)
		}
		plain := p.pulumiRun("destroy", "--yes", "--stack", p.stack)
		if plain.code == 0 {
			t.Errorf("pulumi destroy of a protected stack succeeded:\n%s", plain)
		}
		for _, op := range p.cloud.Ops()[ops:] {
			if op.Kind == "delete" {
				t.Errorf("pulumi destroy of a protected stack deleted %s", short(op.URN))
			}
		}
		objectsAfter, err := objects(ctx, p.cluster, r.namespaces)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range changed(objectsBefore, objectsAfter) {
			if strings.HasPrefix(c, "deleted ") {
				t.Errorf("pulumi destroy of a protected stack %s", c)
			}
		}
		if t.Failed() {
			t.Logf("pulumi destroy said:\n%s", plain)
			return
		}
		p.configSet("protectData", "false")
		r.up()
	}
	p.access.expire()
	res := p.ok("destroy", "--yes")
	env.logf("%s: %s", p.stack, strings.TrimSpace(res.errOut))
	if left := p.state(); len(left) > 1 {
		var urns []string
		for urn := range left {
			if !strings.HasSuffix(left[urn], "pulumi:pulumi:Stack") {
				urns = append(urns, short(urn))
			}
		}
		if len(urns) > 0 {
			t.Errorf("destroy left in the state: %v", urns)
		}
	}
	if left := p.cloud.Resources(); len(left) > 0 {
		for _, r := range left {
			t.Errorf("destroy left in the fake Azure: %s %s", r.Type, r.ID)
		}
	}
	if stuck := gone(ctx, p.cluster, r.namespaces, 2*time.Minute); len(stuck) > 0 {
		t.Errorf("after destroy:\n%s", strings.Join(stuck, "\n"))
	}
	left, err := objects(ctx, p.cluster, r.namespaces)
	if err != nil {
		t.Fatal(err)
	}
	for obj := range left {
		if kept := keptByDesign(obj); !kept {
			t.Errorf("destroy left %s", obj)
		}
	}
}

// keptByDesign: the Argo charts mark their CRDs helm.sh/resource-policy: keep, so an uninstall
// (and so a destroy) does not delete every workflow and event source with them; on Azure the
// cluster goes with the stack.
func keptByDesign(obj string) bool {
	return strings.HasPrefix(obj, "CustomResourceDefinition /") && strings.HasSuffix(obj, ".argoproj.io")
}
