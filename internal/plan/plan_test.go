package plan

import (
	"fmt"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/stackconfig"
)

type group struct {
	pulumi.CustomResourceState
	Name pulumi.StringOutput `pulumi:"name"`
}

// Build runs a program whose registrations and applies come from many goroutines, as the stack's
// do, and must describe all of it, secrets redacted, the same way every time. Run under -race.
func TestBuildIsCompleteAndStableUnderConcurrency(t *testing.T) {
	const n = 30
	program := func(ctx *pulumi.Context, _ map[string]string) (pulumi.Map, error) {
		out := pulumi.Map{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := fmt.Sprintf("rg-%02d", i)
				var r group
				if err := ctx.RegisterResource("azure-native:resources/v20241101:ResourceGroup", name, pulumi.Map{
					"resourceGroupName": pulumi.String(name), "location": pulumi.String("westeurope"),
					"tags": pulumi.ToSecret(pulumi.StringMap{"owner": pulumi.String("team")}),
				}, &r); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				out[name] = r.Name
				mu.Unlock()
			}()
		}
		wg.Wait()
		return out, nil
	}
	cfg := &stackconfig.Config{Project: "metaflow-azure", Stack: "dev", Values: map[string]string{}}
	var first *Plan
	for range 3 {
		p, err := Build(Options{Config: cfg, Program: program})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Resources) != n || len(p.Outputs) != n {
			t.Fatalf("%d resources and %d outputs, want %d", len(p.Resources), len(p.Outputs), n)
		}
		for _, r := range p.Resources {
			if tags := r.Inputs["tags"]; tags != Redacted && fmt.Sprint(tags) != fmt.Sprint(map[string]any{"owner": Redacted}) {
				t.Errorf("%s: secret tags shown as %v", r.Name, tags)
			}
		}
		if first == nil {
			first = p
			continue
		}
		for i := range p.Resources {
			if p.Resources[i].URN != first.Resources[i].URN {
				t.Fatalf("resource %d is %s, was %s: the order must not depend on scheduling", i, p.Resources[i].URN, first.Resources[i].URN)
			}
		}
	}
}
