package stackops

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRepairFileBackendRemovesTornAttributes(t *testing.T) {
	dir := t.TempDir()
	stacks := filepath.Join(dir, ".pulumi", "stacks", "metaflow-azure")
	if err := os.MkdirAll(stacks, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"dev.json":           `{"version": 3}`,
		"dev.json.attrs":     "", // killed between os.Create and the write
		"prod.json.attrs":    `{"user.content_type":"app`,
		"test.json.attrs":    `{"user.content_type":"application/json"}`,
		"dev.json.bak.attrs": `{}`,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(stacks, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var log bytes.Buffer
	if err := repairFileBackend("file://"+filepath.ToSlash(dir), &log); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"dev.json": true, "dev.json.attrs": false, "prod.json.attrs": false, "test.json.attrs": true, "dev.json.bak.attrs": true} {
		_, err := os.Stat(filepath.Join(stacks, name))
		if got := err == nil; got != want {
			t.Errorf("%s exists: %v, want %v", name, got, want)
		}
	}
	if !strings.Contains(log.String(), "dev.json.attrs") || !strings.Contains(log.String(), "prod.json.attrs") || strings.Contains(log.String(), "test.json") {
		t.Errorf("log:\n%s", log.String())
	}
	// Other backends are left alone.
	if err := repairFileBackend("s3://bucket", &log); err != nil {
		t.Fatal(err)
	}
}
