package deployerrole_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"metaflow-azure/internal/cli"
	"metaflow-azure/internal/deployerrole"
)

// runCLI runs the metaflow-azure command line in the repository root.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	o := &cli.Options{Streams: cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}}
	code = cli.MainWithOptions(context.Background(), o, append(args, "--cwd", projectDir))
	return out.String(), errOut.String(), code
}

func TestCommandPrintsRoleAndChecksIt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "role.json")
	stdout, stderr, code := runCLI(t, "deployer-role", "--subscription", subscription, "--out", file)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "az role definition create --role-definition @"+file) {
		t.Errorf("stderr does not say how to create the role: %s", stderr)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	printed, _, _ := runCLI(t, "deployer-role", "--subscription", subscription)
	if printed != string(raw) {
		t.Error("stdout and --out differ")
	}

	_, stderr, code = runCLI(t, "deployer-role", "--check", file)
	if code != 0 || !strings.Contains(stderr, "grants all") {
		t.Fatalf("checking the generated role: exit %d, stderr %s", code, stderr)
	}

	var def deployerrole.Definition
	if err := json.Unmarshal(raw, &def); err != nil {
		t.Fatal(err)
	}
	const removed = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"
	def.Actions = slices.DeleteFunc(def.Actions, func(a string) bool { return a == removed })
	cut := filepath.Join(dir, "cut.json")
	var buf bytes.Buffer
	if err := def.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cut, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = runCLI(t, "deployer-role", "--check", cut)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], removed) || !strings.Contains(lines[1], "azure-native:containerservice/v20241001:ManagedCluster") {
		t.Errorf("stdout should list exactly %s and the type needing it:\n%s", removed, stdout)
	}
	if !strings.Contains(stderr, "lacks 1 of the") {
		t.Errorf("stderr: %s", stderr)
	}
}

func TestCommandRejectsBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no subscription", []string{"deployer-role"}, "--subscription is required"},
		{"subscription not a GUID", []string{"deployer-role", "--subscription", "prod-sub"}, `--subscription "prod-sub": want a subscription id`},
		{"unknown stack", []string{"deployer-role", "--subscription", subscription, "--stack", "staging"}, `loading stack "staging"`},
		{"check file missing", []string{"deployer-role", "--check", "does-not-exist.json"}, "reading the role definition"},
		{"check and out together", []string{"deployer-role", "--check", "a.json", "--out", "b.json"}, "none of the others can be"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, stderr, code := runCLI(t, tc.args...)
			if code == 0 || !strings.Contains(stderr, tc.wantErr) {
				t.Fatalf("exit %d, stderr %q; want a failure containing %q", code, stderr, tc.wantErr)
			}
		})
	}
}

func TestCommandWarnsOnAnotherResourceGroup(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := runCLI(t, "deployer-role", "--stack", "prod", "--subscription", subscription, "--resource-group", "rg-elsewhere")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, `"/subscriptions/`+subscription+`/resourceGroups/rg-elsewhere"`) {
		t.Errorf("AssignableScopes not the resource group:\n%s", stdout)
	}
	if !strings.Contains(stderr, "rg-elsewhere is not the group") {
		t.Errorf("no warning about the resource group: %s", stderr)
	}
}
