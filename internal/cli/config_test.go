package cli

import (
	"strings"
	"testing"
)

func TestDescribePoolsNamesEveryPool(t *testing.T) {
	t.Parallel()
	out, err := describePools([]any{
		map[string]any{"name": "tasks", "nodeSelector": "metaflow.org/pool=tasks", "vmSize": "Standard_D8ds_v5", "spot": false, "gpu": false, "default": true, "decorator": "@kubernetes"},
		map[string]any{"name": "gpu", "nodeSelector": "metaflow.org/pool=gpu", "vmSize": "Standard_NC24ads_A100_v4", "spot": false, "gpu": true, "default": false, "decorator": `@kubernetes(gpu=1, node_selector="metaflow.org/pool=gpu")`},
		map[string]any{"name": "spot", "nodeSelector": "metaflow.org/pool=spot", "vmSize": "Standard_D16ds_v5", "spot": true, "gpu": false, "default": false, "decorator": `@kubernetes(node_selector="metaflow.org/pool=spot")`},
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("want a title, a header and 3 pools, got:\n%s", out)
	}
	for i, want := range [][]string{
		{"tasks (default)", "metaflow.org/pool=tasks", "Standard_D8ds_v5", "false", "false", "@kubernetes"},
		{"gpu", "metaflow.org/pool=gpu", "Standard_NC24ads_A100_v4", "false", "true", `@kubernetes(gpu=1, node_selector="metaflow.org/pool=gpu")`},
		{"spot", "metaflow.org/pool=spot", "Standard_D16ds_v5", "true", "false", `node_selector="metaflow.org/pool=spot"`},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i+2], w) {
				t.Errorf("pool line %d %q lacks %q", i, lines[i+2], w)
			}
		}
	}
	if _, err := describePools("not a list"); err == nil {
		t.Error("a malformed output was accepted")
	}
}
