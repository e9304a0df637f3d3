package tests

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// URNs are state users keep: a resource whose URN changes between two versions of the program is
// deleted and created again, and for the stack's fixed-name Azure objects (locks, budget, alert
// rules, diagnostic settings) the "new" one is the old one, so the delete that follows the
// create removes it. This pins every URN of dev and prod (and of the options that add
// resources); a refactor that changes one must add an alias (pulumi.Aliases) for it and then
// refresh the pin: `go test ./tests -run TestURNsArePinned -update`.
func TestURNsArePinned(t *testing.T) {
	t.Parallel()
	for name, run := range map[string]func() *stack{
		"dev":  func() *stack { return runStack(t, "dev") },
		"prod": func() *stack { return runStack(t, "prod") },
		// Client-secret mode and a protected dev stack declare what the two stacks do not.
		"dev-options": func() *stack {
			return runStack(t, "dev", "identity.clientSecret=true", "protectData=true", "argo.enabled=false", "argoEvents.enabled=false")
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := run()
			var urns []string
			for _, r := range s.fake.Resources() {
				urns = append(urns, r.URN)
			}
			slices.Sort(urns)
			got := strings.Join(urns, "\n") + "\n"
			pin := filepath.Join("testdata", "urns", name+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(pin), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(pin, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(pin)
			if err != nil {
				t.Fatalf("reading %s: %v", pin, err)
			}
			if got == string(want) {
				return
			}
			before := strings.Split(strings.TrimSpace(string(want)), "\n")
			for _, u := range urns {
				if !slices.Contains(before, u) {
					t.Errorf("new URN (a moved resource needs an alias to its old URN): %s", u)
				}
			}
			for _, u := range before {
				if !slices.Contains(urns, u) {
					t.Errorf("URN gone (deployed stacks would delete it): %s", u)
				}
			}
		})
	}
}

// Every resource sits under a typed component of its concern, so the tree is the stack's outline
// and its URNs say what each resource is for. Only the read of the stack's own last deployment
// stays at the root.
func TestEveryResourceHasAComponent(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"dev", "prod"} {
		s := runStack(t, name)
		for _, r := range s.fake.Resources() {
			if r.Type == "pulumi:pulumi:StackReference" || !r.Custom && strings.HasPrefix(r.Type, "metaflow-azure:") {
				continue
			}
			parent, ok := s.byURN[r.Parent]
			if !ok || parent.Custom || !strings.HasPrefix(parent.Type, "metaflow-azure:") {
				t.Errorf("%s: %s %q sits at the root or under %q, not under a component of the stack", name, r.Type, r.Name, r.Parent)
			}
		}
	}
}
