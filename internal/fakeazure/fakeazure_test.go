package fakeazure

import (
	"fmt"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// identity is a user-assigned identity declared without the Azure SDK: the fake answers by type
// token, and the SDK's own registration machinery (goroutines per resource and apply) is what
// the race detector is to watch.
type identity struct {
	pulumi.CustomResourceState
	PrincipalID pulumi.StringOutput `pulumi:"principalId"`
}

// The SDK registers resources and runs applies on many goroutines; RunDeclare must hand every
// output over resolved, and the fake must record every registration. Run under -race.
func TestRunDeclareUnderConcurrentRegistrations(t *testing.T) {
	const n = 40
	fake := New("metaflow-azure", "dev")
	outputs, err := fake.RunDeclare(nil, func(ctx *pulumi.Context) (pulumi.Map, error) {
		out := pulumi.Map{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := fmt.Sprintf("id%02d", i)
				var r identity
				if err := ctx.RegisterResource("azure-native:managedidentity:UserAssignedIdentity", name, pulumi.Map{
					"resourceGroupName": pulumi.String("rg-a"), "resourceName": pulumi.String(name), "location": pulumi.String("westeurope"),
				}, &r); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				out[name] = r.PrincipalID.ApplyT(func(p string) string { return "principal " + p })
				mu.Unlock()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			return nil, err
		}
		return out, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(outputs) != n || len(fake.Resources()) != n {
		t.Fatalf("%d outputs and %d resources, want %d each", len(outputs), len(fake.Resources()), n)
	}
	for name, o := range outputs {
		if s, _ := o.Value.(string); len(s) < len("principal ")+36 {
			t.Errorf("%s resolved to %v", name, o.Value)
		}
	}
}
