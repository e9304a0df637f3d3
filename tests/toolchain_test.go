package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"golang.org/x/mod/modfile"
)

// requirement returns the version a go.mod requires of a module.
func requirement(t *testing.T, gomod, module string) string {
	t.Helper()
	v, ok := requirements(t, gomod)[module]
	if !ok {
		t.Fatalf("%s does not require %s", gomod, module)
	}
	return v
}

// requirements returns every module a go.mod requires, with its version.
func requirements(t *testing.T, gomod string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.ParseLax(gomod, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	reqs := map[string]string{}
	for _, r := range f.Require {
		reqs[r.Mod.Path] = r.Mod.Version
	}
	return reqs
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

// The Go build cache shares a compiled package between two builds only when the package and
// everything it imports are the same versions, built with the same flags. A fresh machine
// builds the program's dependencies (vet, unit) while the Pulumi CLI builds beside them (same
// flags: no -trimpath, cgo as go test has it), and Helm and the Kubernetes provider before kwok
// and the workload identity webhook (all CGO_ENABLED=0 -trimpath). Keeping each pair's common
// modules at one version lets the second build of a pair reuse the first's packages: about 70 MB
// of the 370 MB of Go source a fresh machine compiles (docs/testing.md has the measured saving).
// A version that drifts (a go get in one module only) fails here instead of silently costing
// minutes of CI.
func TestToolModulesShareCompiledPackages(t *testing.T) {
	pairs := []struct {
		first, second string
		// Modules the second's code is written against at another version, and why.
		except map[string]string
	}{
		{first: "go.mod", second: "tools/pulumi/go.mod", except: map[string]string{
			"github.com/google/pprof": "neither build compiles it",
		}},
		{first: "tools/k8sprovider/go.mod", second: "tools/k8s/kwok/go.mod", except: map[string]string{
			"sigs.k8s.io/controller-runtime": "kwok v0.7.0 is written against v0.19",
			"github.com/google/cel-go":       "kwok v0.7.0 requires v0.24; the provider's apiserver packages stay at its own",
		}},
		{first: "tools/k8sprovider/go.mod", second: "tools/k8s/workload-identity/go.mod", except: map[string]string{
			"sigs.k8s.io/controller-runtime": "the webhook v1.5.1 is written against v0.19",
		}},
	}
	for _, p := range pairs {
		first := requirements(t, filepath.Join("..", p.first))
		second := requirements(t, filepath.Join("..", p.second))
		common := 0
		for module, v := range second {
			w, ok := first[module]
			if !ok {
				continue
			}
			common++
			if _, excepted := p.except[module]; !excepted && v != w {
				t.Errorf("%s requires %s %s but %s requires %s: their builds no longer share its compiled packages (raise the lower one)", p.second, module, v, p.first, w)
			}
		}
		if common < 50 {
			t.Errorf("%s and %s have %d modules in common; expected the Kubernetes or Pulumi libraries in both", p.first, p.second, common)
		}
	}
}
