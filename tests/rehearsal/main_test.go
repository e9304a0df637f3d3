//go:build rehearsal

package rehearsal

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"metaflow-azure/internal/testday"
	"metaflow-azure/tests/internal/controlplane"
)

// environment is what every project of the tier shares: the tools, the binaries, the chart
// repository. Each project starts its own control plane and token authority (newProject), so the
// tests run in parallel.
type environment struct {
	root   string
	dir    string
	tools  *controlplane.Tools
	charts *chartRepository

	pulumiBin     string
	cliBin        string
	programBinary string
	// vars are the variables every command gets (PATH with the tools first, ...).
	vars map[string]string
}

// logf writes progress to stderr, which go test shows as it comes (the log package's output is
// taken over by klog, which client-go brings).
func (e *environment) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s rehearsal: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

var env *environment

func TestMain(m *testing.M) {
	testday.Pin()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	e, cleanup, err := setUp(ctx)
	defer cleanup()
	if err != nil {
		fmt.Fprintf(os.Stderr, "rehearsal: setting up: %v\n", err)
		return 1
	}
	env = e
	return m.Run()
}

func setUp(ctx context.Context) (*environment, func(), error) {
	e := &environment{}
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	var err error
	if e.root, err = controlplane.RepoRoot(); err != nil {
		return nil, cleanup, err
	}
	if e.dir, err = os.MkdirTemp("", "rehearsal"); err != nil {
		return nil, cleanup, err
	}
	cleanups = append(cleanups, func() { os.RemoveAll(e.dir) })

	start := time.Now()
	if e.tools, err = controlplane.FindTools(ctx, e.root, e.logf); err != nil {
		return nil, cleanup, err
	}
	pulumiDir, err := script(ctx, e.root, "hack/pulumi-cli.sh")
	if err != nil {
		return nil, cleanup, err
	}
	e.pulumiBin = filepath.Join(pulumiDir, "pulumi")
	provider, err := scriptValue(ctx, e.root, "hack/k8s-provider.sh", "PULUMI_RESOURCE_KUBERNETES")
	if err != nil {
		return nil, cleanup, err
	}
	// The program and the command line, built once for every run of the tier.
	e.programBinary = filepath.Join(e.dir, "metaflow-azure-program")
	e.cliBin = filepath.Join(e.dir, "metaflow-azure")
	for bin, pkg := range map[string]string{e.programBinary: ".", e.cliBin: "./cmd/metaflow-azure"} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
		cmd.Dir = e.root
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, cleanup, fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	e.logf("timing: tools and binaries ready in %s", time.Since(start).Round(time.Second))

	if e.charts, err = serveCharts(filepath.Join(e.root, "..", "shared", "charts"), e.dir); err != nil {
		return nil, cleanup, err
	}
	cleanups = append(cleanups, e.charts.close)

	e.vars = map[string]string{
		// The pulumi CLI, its Go language host and the Kubernetes provider (found on PATH as
		// pulumi-resource-kubernetes, whatever version the program's SDK asks for).
		"PATH":                     pulumiDir + string(os.PathListSeparator) + filepath.Dir(provider) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"PULUMI_SKIP_UPDATE_CHECK": "true",
		// Nothing may be downloaded: every plugin is one of the tier's.
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
		// The Kubernetes provider fetches the charts over HTTPS from the loopback repository.
		"SSL_CERT_FILE":  e.charts.CAFile,
		testday.EnvToday: os.Getenv(testday.EnvToday),
	}
	return e, cleanup, nil
}

// script runs a hack/ script and returns its output, trimmed.
func script(ctx context.Context, root, name string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(root, name))
	cmd.Dir = root
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %v\n%s", name, err, errOut.String())
	}
	return strings.TrimSpace(out.String()), nil
}

// scriptValue runs a hack/ script that prints KEY=VALUE lines and returns one value.
func scriptValue(ctx context.Context, root, name, key string) (string, error) {
	out, err := script(ctx, root, name)
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && k == key {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s printed no %s", name, key)
}
