package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/fakeazure"
)

// The engine commands run the stack in-process, where the program sees only the config keys it
// asks for; it names the stack file's keys so a misspelt one is still reported. A stack file
// that cannot be read must fail, not quietly turn that check off.
func TestStackProgramChecksTheStackFilesKeys(t *testing.T) {
	t.Setenv("METAFLOW_AZURE_TODAY", "2026-12-04")
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Pulumi.yaml", "name: metaflow-azure\nruntime: go\n")
	run := func(stackFile string, config map[string]string) error {
		write("Pulumi.dev.yaml", stackFile)
		o := &Options{Cwd: dir}
		fake := fakeazure.New("metaflow-azure", "dev")
		return pulumi.RunErr(o.stackProgram, pulumi.WithMocks("metaflow-azure", "dev", fake), func(info *pulumi.RunInfo) {
			info.Config = config
		})
	}
	misspelt := map[string]string{
		"metaflow-azure:location": "westeurope", "metaflow-azure:namePrefix": "acme",
		"metaflow-azure:aks": `{"taskPool":{"maxCuont":3}}`,
	}
	err := run("config:\n  metaflow-azure:location: westeurope\n  metaflow-azure:namePrefix: acme\n  metaflow-azure:aks:\n    taskPool:\n      maxCuont: 3\n", misspelt)
	if err == nil || !strings.Contains(err.Error(), `did you mean "maxCount"`) {
		t.Errorf("a misspelt key in the stack file: %v", err)
	}
	err = run("config: [this is not a map\n", misspelt)
	if err == nil || !strings.Contains(err.Error(), "reading the stack's settings") {
		t.Errorf("an unreadable stack file must be reported: %v", err)
	}
}
