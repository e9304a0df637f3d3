package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/cli"
	"metaflow-azure/internal/fakeazure"
	"metaflow-azure/internal/plan"
	"metaflow-azure/internal/stackconfig"
)

var update = flag.Bool("update", false, "rewrite the golden files from the current plan")

// runCLI runs the metaflow-azure command line in the repository root.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	o := &cli.Options{Streams: cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}}
	code = cli.MainWithOptions(context.Background(), o, append(args, "--cwd", ".."))
	return out.String(), errOut.String(), code
}

// budgetStartPlaceholder stands in the golden plan for the budget's start date, which is the first
// of the month the plan runs in (a new budget can start in no other); Pulumi keeps the date of
// the budget's creation afterwards (ignoreChanges), so it is not part of what the golden pins.
const budgetStartPlaceholder = "<first day of the current month>"

// withoutMonth replaces this month's budget start date in a plan (either side of a month
// boundary the run may cross) with budgetStartPlaceholder.
func withoutMonth(plan string, before, after time.Time) string {
	for _, d := range []time.Time{before, after} {
		plan = strings.ReplaceAll(plan, `"startDate": "`+azurefacts.BudgetStart(d)+`"`, `"startDate": "`+budgetStartPlaceholder+`"`)
	}
	return plan
}

func TestPlanDevMatchesGolden(t *testing.T) {
	before := time.Now()
	stdout, stderr, code := runCLI(t, "plan", "--stack", "dev", "--json")
	if code != 0 {
		t.Fatalf("plan exited %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, `"startDate": "`) {
		t.Error("the dev plan has no budget start date")
	}
	stdout = withoutMonth(stdout, before, time.Now())
	golden := filepath.Join("testdata", "golden", "plan-dev.json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(stdout), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("reading %s (run `go test ./tests -run TestPlanDevMatchesGolden -update`): %v", golden, err)
	}
	if stdout != string(want) {
		t.Errorf("the dev plan differs from %s; review the change and run with -update:\n%s", golden, firstDiff(string(want), stdout))
	}
	again, _, _ := runCLI(t, "plan", "--stack", "dev", "--json")
	if withoutMonth(again, before, time.Now()) != stdout {
		t.Error("the plan must be byte-for-byte stable between runs")
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return "line " + itoa(i+1) + ":\n- " + al[i] + "\n+ " + bl[i]
		}
	}
	return "lengths differ"
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestPlanJSONSchema checks the documented shape strictly: no unknown fields, every resource
// with a type token, URN and JSON-typed fields, dependencies that resolve to planned resources.
func TestPlanJSONSchema(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := runCLI(t, "plan", "--stack", "prod", "--json")
	if code != 0 {
		t.Fatalf("plan exited %d: %s", code, stderr)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	var p plan.Plan
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("stdout is not the documented plan object: %v", err)
	}
	if dec.More() {
		t.Fatal("stdout must hold exactly one JSON object")
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal([]byte(stdout), &raw)
	for _, k := range []string{"project", "stack", "resources", "outputs", "secretOutputs"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("top-level key %q missing", k)
		}
	}
	if p.Project != "metaflow-azure" || p.Stack != "prod" || len(p.Resources) < 50 {
		t.Fatalf("plan header %q/%q with %d resources", p.Project, p.Stack, len(p.Resources))
	}
	urns := map[string]bool{}
	typeRe := regexp.MustCompile(`^[a-z0-9-]+:[A-Za-z0-9./-]*:[A-Za-z0-9]+$`)
	for i, r := range p.Resources {
		if !strings.HasPrefix(r.URN, "urn:pulumi:prod::metaflow-azure::") || !typeRe.MatchString(r.Type) || r.Name == "" {
			t.Errorf("resource %d malformed: %+v", i, r)
		}
		for _, ref := range append([]string{r.Parent, r.Provider}, r.Dependencies...) {
			if ref != "" && !urns[ref] {
				t.Errorf("%s refers to %s, which is not planned before it", r.URN, ref)
			}
		}
		if r.Inputs == nil || r.Outputs == nil || r.Dependencies == nil {
			t.Errorf("%s: inputs, outputs and dependencies must be present (empty, not null)", r.URN)
		}
		urns[r.URN] = true
	}
	for _, name := range p.SecretOutputs {
		if p.Outputs[name] != plan.Redacted {
			t.Errorf("secret output %s printed without --show-secrets", name)
		}
	}
}

func TestPlanNeverLeaksSecretsUnlessAsked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"plan", "--stack", "dev", "--json"},
		{"plan", "--stack", "dev"},
		{"plan", "--stack", "prod", "--json", "--manifests", dir},
	} {
		stdout, stderr, code := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v exited %d: %s", args, code, stderr)
		}
		for _, marker := range []string{fakeazure.SecretMarker, stackconfig.SecretStandIn} {
			if strings.Contains(stdout, marker) || strings.Contains(stderr, marker) {
				t.Errorf("%v printed a secret value (%s…)", args, marker)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), fakeazure.SecretMarker) {
			t.Errorf("%s holds a secret value", filepath.Base(f))
		}
	}
	shown, _, _ := runCLI(t, "plan", "--stack", "dev", "--json", "--show-secrets")
	if !strings.Contains(shown, fakeazure.SecretMarker) {
		t.Error("--show-secrets must print the (fake) secret values")
	}
}

func TestPlanHumanOutput(t *testing.T) {
	t.Parallel()
	stdout, _, code := runCLI(t, "plan", "--stack", "dev")
	if code != 0 {
		t.Fatal("plan failed")
	}
	for _, want := range []string{
		"metaflow-azure/dev:", "metaflow-azure:infra:Database database", "└─ ", "allowBlobPublicAccess=false",
		"Outputs:", "kubeconfig", "[secret]", "chart=argo-workflows@0.47.5",
		// A reviewer sees what a role assignment grants, to whom and where.
		`role="Network Contributor" principalType=ServicePrincipal scope=rg-`,
		`role="Storage Blob Data Contributor" principalType=ServicePrincipal scope=rg-`,
		"/Microsoft.Storage/storageAccounts/",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("human plan lacks %q", want)
		}
	}
}

func TestPlanSaysTheSettingsWarnings(t *testing.T) {
	t.Parallel()
	_, stderr, code := runCLI(t, "plan", "--stack", "dev", "--config", "location=australiacentral", "--config", "storage.replication=ZRS")
	if code != 0 || !strings.Contains(stderr, "warning: metaflow-azure:location: australiacentral is not in the stack's region table") {
		t.Errorf("exit %d, stderr %q; want the unconfirmed-region warning", code, stderr)
	}
}

func TestPlanRejectsInvalidSettings(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		override, key string
	}{
		{"aks.taskPool.maxCuont=3", `metaflow-azure:aks.taskPool.maxCuont: is not a setting (did you mean "maxCount"?)`},
		{"postgres.backupRetentionDays=3", "metaflow-azure:postgres.backupRetentionDays: 3 must be between 7 and 35 days"},
		{"location=mars", `metaflow-azure:location: "mars" is not an Azure region name`},
	} {
		stdout, stderr, code := runCLI(t, "plan", "--stack", "dev", "--json", "--config", tt.override)
		if code == 0 || stdout != "" {
			t.Errorf("--config %s: exit %d, stdout %q; want a failure and no plan", tt.override, code, stdout)
		}
		if !strings.Contains(stderr, tt.key) {
			t.Errorf("--config %s: stderr must say %q, got:\n%s", tt.override, tt.key, stderr)
		}
	}
	if _, stderr, code := runCLI(t, "plan", "--stack", "nosuch"); code == 0 || !strings.Contains(stderr, "Pulumi.nosuch.yaml") {
		t.Errorf("unknown stack: exit %d, %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "plan"); code == 0 || !strings.Contains(stderr, "--stack is required") {
		t.Errorf("no stack: exit %d, %s", code, stderr)
	}
}

func TestPlanConfigOverride(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := runCLI(t, "plan", "--stack", "dev", "--json", "--config", `aks.authorizedIpRanges=["198.51.100.0/24"]`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, `"198.51.100.0/24"`) {
		t.Error("the override must reach the cluster's authorized ranges")
	}
}
