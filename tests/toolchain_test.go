package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// requirement returns the version a go.mod requires of a module.
func requirement(t *testing.T, gomod, module string) string {
	t.Helper()
	b, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(module) + `\s+(v\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s does not require %s", gomod, module)
	}
	return string(m[1])
}

// The program's Kubernetes SDK asks the engine for the provider plugin of its own version, and the
// rehearsal runs the provider built from tools/k8sprovider: the only pulumi-kubernetes provider the
// module proxy serves is the v4.25.0 tag. Keeping the SDK at the provider's version leaves no skew
// between the inputs the program sends and the schema the provider knows (SDK v4.33.0 could send
// inputs v4.25.0 does not know, and v4.33's provider refuses to create over an existing object
// where v4.25 adopts it). Raising one without the other fails here.
func TestKubernetesSDKIsTheProvidersVersion(t *testing.T) {
	const sdk = "github.com/pulumi/pulumi-kubernetes/sdk/v4"
	program := requirement(t, filepath.Join("..", "go.mod"), sdk)
	provider := requirement(t, filepath.Join("..", "tools", "k8sprovider", "go.mod"), sdk)
	script, err := os.ReadFile(filepath.Join("..", "hack", "k8s-provider.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^version=(\S+)$`).FindSubmatch(script)
	if m == nil {
		t.Fatal("hack/k8s-provider.sh sets no version=")
	}
	if built := "v" + string(m[1]); program != provider || program != built {
		t.Errorf("the program's Kubernetes SDK is %s, tools/k8sprovider resolves %s and hack/k8s-provider.sh builds the provider as %s: keep them one version", program, provider, built)
	}
}
