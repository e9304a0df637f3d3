//go:build engine

package fakeprovider

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The providers as the real engine drives them: many concurrent calls over gRPC, previews with
// unknowns, updates, a replacement, a destroy. With -race (make test-engine) this is the race
// detector's view of the provider served to the engine.

var pulumiDir string

func TestMain(m *testing.M) {
	out, err := exec.Command("../../hack/pulumi-cli.sh").Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "the engine tests need the pulumi CLI; hack/pulumi-cli.sh: %v\n", err)
		os.Exit(1)
	}
	pulumiDir = strings.TrimSpace(string(out))
	os.Exit(m.Run())
}

type identityResource struct {
	pulumi.CustomResourceState
	PrincipalID pulumi.StringOutput `pulumi:"principalId"`
}

// program declares a resource group, n identities (the first in location) and a role assignment
// per identity, which waits for the identity's principal ID.
func program(n int, location, team string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		var rg pulumi.CustomResourceState
		if err := ctx.RegisterResource(rgType, "rg", pulumi.Map{
			"resourceGroupName": pulumi.String("rg-a"), "location": pulumi.String("westeurope"),
		}, &rg); err != nil {
			return err
		}
		for i := range n {
			loc := "westeurope"
			if i == 0 {
				loc = location
			}
			name := fmt.Sprintf("id%02d", i)
			var id identityResource
			if err := ctx.RegisterResource("azure-native:managedidentity:UserAssignedIdentity", name, pulumi.Map{
				"resourceGroupName": pulumi.String("rg-a"), "resourceName": pulumi.String(name), "location": pulumi.String(loc),
				"tags": pulumi.StringMap{"team": pulumi.String(team)},
			}, &id, pulumi.DependsOn([]pulumi.Resource{&rg})); err != nil {
				return err
			}
			var ra pulumi.CustomResourceState
			if err := ctx.RegisterResource("azure-native:authorization:RoleAssignment", name+"-reader", pulumi.Map{
				"scope":              pulumi.String("/subscriptions/00000000-0000-4000-8000-00000000cafe/resourceGroups/rg-a"),
				"roleAssignmentName": pulumi.String(fmt.Sprintf("00000000-0000-4000-8000-0000000000%02d", i)),
				"principalId":        id.PrincipalID,
				"principalType":      pulumi.String("ServicePrincipal"),
				"roleDefinitionId":   pulumi.String("/subscriptions/00000000-0000-4000-8000-00000000cafe/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"),
			}, &ra); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestTheEngineDrivesTheProviders(t *testing.T) {
	ctx := context.Background()
	cloud, err := New("engine-test", "dev")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := cloud.Serve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	root := t.TempDir()
	for _, d := range []string{"project", "state"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "project", "Pulumi.yaml"), []byte("name: engine-test\nruntime: go\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", pulumiDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	env := map[string]string{
		"PULUMI_BACKEND_URL": "file://" + filepath.Join(root, "state"), "PULUMI_CONFIG_PASSPHRASE": "x",
		"PULUMI_HOME": filepath.Join(root, "home"), "PULUMI_SKIP_UPDATE_CHECK": "true",
		"PULUMI_DEBUG_PROVIDERS": srv.DebugProviders, "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
	}
	const n = 25
	stackWith := func(p pulumi.RunFunc) auto.Stack {
		ws, err := auto.NewLocalWorkspace(ctx, auto.WorkDir(filepath.Join(root, "project")), auto.Program(p), auto.EnvVars(env))
		if err != nil {
			t.Fatal(err)
		}
		st, err := auto.UpsertStack(ctx, "dev", ws)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	changes := func(st auto.Stack) map[string]int {
		t.Helper()
		res, err := st.Preview(ctx, optpreview.ProgressStreams(io.Discard))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for op, k := range res.ChangeSummary {
			if op != "same" {
				out[string(op)] = k
			}
		}
		return out
	}

	st := stackWith(program(n, "westeurope", "a"))
	if _, err := st.Up(ctx, optup.ProgressStreams(io.Discard)); err != nil {
		t.Fatal(err)
	}
	if got := len(cloud.Resources()); got != 1+2*n {
		t.Fatalf("%d resources in the fake Azure after the first up, want %d", got, 1+2*n)
	}
	if c := changes(st); len(c) != 0 {
		t.Errorf("a preview right after up: %v", c)
	}

	st = stackWith(program(n, "westeurope", "b"))
	if c := changes(st); c["update"] != n || len(c) != 1 {
		t.Errorf("new tags must update every identity in place: %v", c)
	}
	if _, err := st.Up(ctx, optup.ProgressStreams(io.Discard)); err != nil {
		t.Fatal(err)
	}

	// A new location is create-only: the identity is replaced, delete-first since it keeps its
	// name (a create first would find it existing).
	st = stackWith(program(n, "northeurope", "b"))
	if c := changes(st); c["replace"] != 1 {
		t.Errorf("a new location must replace the identity: %v", c)
	}
	before := len(cloud.Ops())
	if _, err := st.Up(ctx, optup.ProgressStreams(io.Discard)); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, op := range cloud.Ops()[before:] {
		if strings.HasSuffix(op.URN, "::id00") && op.Kind != "read" {
			order = append(order, op.Kind)
		}
	}
	if strings.Join(order, ",") != "delete,create" {
		t.Errorf("the replacement of id00 did %v, want delete then create", order)
	}
	if _, err := st.Destroy(ctx, optdestroy.ProgressStreams(io.Discard)); err != nil {
		t.Fatal(err)
	}
	if left := cloud.Resources(); len(left) != 0 {
		t.Errorf("destroy left %d resources in the fake Azure", len(left))
	}
}
