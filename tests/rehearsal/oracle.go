//go:build rehearsal

package rehearsal

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"metaflow-azure/internal/plan"
	"metaflow-azure/internal/program"
	"metaflow-azure/internal/stackconfig"
)

// declared runs the offline plan of the project's stack as its files say now: what the program
// declares, resource by resource, with every input known.
func (p *project) declared() *plan.Plan {
	p.t.Helper()
	cfg, err := stackconfig.Load(p.dir, p.stack)
	if err != nil {
		p.t.Fatal(err)
	}
	pl, err := plan.Build(plan.Options{Config: cfg, Program: program.Declare, ShowSecrets: true})
	if err != nil {
		p.t.Fatalf("the offline plan of %s: %v", p.stack, err)
	}
	return pl
}

// expectedChanges is what an up from one declaration to the next must do, by URN: create what
// is new, delete what is gone, update what is declared differently. The day-2 changes the tier
// makes are ones Azure applies in place, so no Azure resource may be replaced; Kubernetes
// objects are replaced only where Kubernetes or the provider cannot change them (replaced).
func expectedChanges(before, after *plan.Plan) map[string]string {
	b, a := byURN(before), byURN(after)
	want := map[string]string{}
	for urn, r := range a {
		old, ok := b[urn]
		switch {
		case !ok:
			want[urn] = "create"
		case reflect.DeepEqual(old.Inputs, r.Inputs):
		case replaced(r.Type, old.Inputs, r.Inputs):
			want[urn] = "replace"
		default:
			want[urn] = "update"
		}
	}
	for urn := range b {
		if _, ok := a[urn]; !ok {
			want[urn] = "delete"
		}
	}
	// Components have no inputs of their own, so they are never updated; they are created and
	// deleted like any resource.
	for urn, op := range want {
		if r, ok := a[urn]; ok && !r.Custom && op == "update" {
			delete(want, urn)
		}
	}
	return want
}

// replaced tells a change of a Kubernetes object that cannot be applied to it in place:
//   - its name or namespace, which are its identity;
//   - a Job's pod template, which Kubernetes refuses to change (the stack makes a new Job, with a
//     name of its own, whenever the migrations' image changes);
//   - a ConfigMap's or Secret's contents: the provider treats both as immutable unless it is told
//     otherwise (pulumi-kubernetes sdk v4.25.0 ProviderArgs.EnableConfigMapMutable and
//     EnableSecretMutable: "disabled by default"), and the stack does not tell it.
func replaced(typ string, before, after map[string]any) bool {
	at := func(m map[string]any, path ...string) any {
		var v any = m
		for _, k := range path {
			obj, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = obj[k]
		}
		return v
	}
	differs := func(path ...string) bool { return !reflect.DeepEqual(at(before, path...), at(after, path...)) }
	if !strings.HasPrefix(typ, "kubernetes:") || typ == "kubernetes:helm.sh/v3:Release" {
		return false
	}
	switch {
	case differs("metadata", "name"), differs("metadata", "namespace"):
		return true
	case typ == "kubernetes:batch/v1:Job":
		return differs("spec", "template")
	case typ == "kubernetes:core/v1:ConfigMap":
		return differs("data") || differs("binaryData")
	case typ == "kubernetes:core/v1:Secret":
		return differs("data") || differs("stringData") || differs("type")
	}
	return false
}

func byURN(p *plan.Plan) map[string]plan.Resource {
	m := map[string]plan.Resource{}
	for _, r := range p.Resources {
		m[r.URN] = r
	}
	return m
}

// compareDecisions lists every difference between the engine's decisions and the expected ones.
func compareDecisions(got map[string]step, want map[string]string) []string {
	var problems []string
	for _, urn := range slices.Sorted(maps.Keys(want)) {
		s, ok := got[urn]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: the engine leaves it alone, want %s", short(urn), want[urn]))
		case s.Op != want[urn]:
			problems = append(problems, fmt.Sprintf("%s: the engine would %s (diff %v, replace %v), want %s", short(urn), s.Op, s.DiffReasons, s.ReplaceReasons, want[urn]))
		}
	}
	for _, urn := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[urn]; !ok {
			s := got[urn]
			problems = append(problems, fmt.Sprintf("%s: the engine would %s (diff %v, replace %v), want no change", short(urn), s.Op, s.DiffReasons, s.ReplaceReasons))
		}
	}
	return problems
}

// decisions lists the engine's steps, one "op type name" each, in URN order.
func decisions(got map[string]step) []string {
	var out []string
	for _, urn := range slices.Sorted(maps.Keys(got)) {
		out = append(out, got[urn].Op+" "+short(urn))
	}
	return out
}

// short is a URN's type and name.
func short(urn string) string {
	parts := strings.Split(urn, "::")
	if len(parts) < 4 {
		return urn
	}
	typ := parts[2]
	if i := strings.LastIndex(typ, "$"); i >= 0 {
		typ = typ[i+1:]
	}
	return typ + " " + parts[3]
}
