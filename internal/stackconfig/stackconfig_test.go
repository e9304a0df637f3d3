package stackconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func project(t *testing.T, stackYAML string) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("Pulumi.yaml", "name: metaflow-azure\nruntime: go\nconfig:\n  location:\n    type: string\n  region-default:\n    default: x\n")
	write("Pulumi.dev.yaml", stackYAML)
	return dir
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := project(t, `config:
  metaflow-azure:location: westeurope
  metaflow-azure:protectData: false
  metaflow-azure:aks:
    kubernetesVersion: "1.35"
    systemPool:
      maxCount: 3
  metaflow-azure:password:
    secure: AAABAxyz
  azure-native:location: westeurope
`)
	c, err := Load(dir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"metaflow-azure:location":       "westeurope",
		"metaflow-azure:protectData":    "false",
		"metaflow-azure:aks":            `{"kubernetesVersion":"1.35","systemPool":{"maxCount":3}}`,
		"metaflow-azure:region-default": "x",
		"azure-native:location":         "westeurope",
	} {
		if c.Values[k] != want {
			t.Errorf("%s = %q, want %q", k, c.Values[k], want)
		}
	}
	if !strings.HasPrefix(c.Values["metaflow-azure:password"], SecretStandIn) || len(c.SecretKeys) != 1 {
		t.Errorf("secure value must get a stand-in: %q %v", c.Values["metaflow-azure:password"], c.SecretKeys)
	}
}

func TestOverride(t *testing.T) {
	t.Parallel()
	c, err := Load(project(t, "config:\n  metaflow-azure:aks:\n    skuTier: Free\n"), "dev")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []struct{ path, value string }{
		{"aks.authorizedIpRanges", `["1.2.3.0/24"]`},
		{"aks.kubernetesVersion", "1.30"},
		{"aks.systemPool.maxCount", "5"},
		{"protectData", "false"},
	} {
		if err := c.Override(o.path, o.value); err != nil {
			t.Fatal(err)
		}
	}
	want := `{"authorizedIpRanges":["1.2.3.0/24"],"kubernetesVersion":"1.30","skuTier":"Free","systemPool":{"maxCount":5}}`
	if got := c.Values["metaflow-azure:aks"]; got != want {
		t.Errorf("aks = %s\nwant  %s", got, want)
	}
	if c.Values["metaflow-azure:protectData"] != "false" {
		t.Errorf("protectData = %q", c.Values["metaflow-azure:protectData"])
	}
	if err := c.Override("aks.authorizedIpRanges[0]", "x"); err == nil {
		t.Error("index paths must be refused with a hint")
	}
}

func TestLoadMissingStack(t *testing.T) {
	t.Parallel()
	_, err := Load(project(t, ""), "prod")
	if err == nil || !strings.Contains(err.Error(), "Pulumi.prod.yaml") {
		t.Errorf("want an error naming the missing file, got %v", err)
	}
}
