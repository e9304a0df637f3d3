//go:build k8sapi

package k8sapi

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"metaflow-azure/tests/internal/controlplane"
)

// env is the control plane the tests share, started once by TestMain.
type env struct {
	root    string
	dir     string
	tools   *controlplane.Tools
	cluster *controlplane.Cluster
	applier *applier
	charts  *renderer

	mu      sync.Mutex
	timings []timing
}

type timing struct {
	name string
	d    time.Duration
}

// record keeps a phase's duration for the summary TestMain prints at the end.
func (e *env) record(name string, d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.timings = append(e.timings, timing{name, d})
	logf("timing: %s took %s", name, d.Round(time.Millisecond))
}

func (e *env) summary() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for _, t := range e.timings {
		fmt.Fprintf(&b, "  %-45s %9s\n", t.name, t.d.Round(time.Millisecond))
	}
	return b.String()
}

// logf logs outside a test (TestMain and the cluster's own messages), with timestamps.
func logf(format string, args ...any) { log.Printf(format, args...) }

// setUp finds or builds the tools, starts the control plane and installs the Argo CRDs.
func setUp(ctx context.Context) (*env, error) {
	e := &env{}
	var err error
	if e.root, err = controlplane.RepoRoot(); err != nil {
		return nil, err
	}
	start := time.Now()
	if e.tools, err = controlplane.FindTools(ctx, e.root, logf); err != nil {
		return nil, err
	}
	e.record("build: hack/k8s-tools.sh (find or build)", time.Since(start))
	start = time.Now()
	helm, err := findHelm(ctx, e.root, logf)
	if err != nil {
		return nil, err
	}
	e.record("build: hack/helm.sh (find or build)", time.Since(start))

	if e.dir, err = workDir(); err != nil {
		return nil, err
	}
	start = time.Now()
	if e.cluster, err = controlplane.Start(ctx, e.dir, e.tools, logf, controlplane.Options{}); err != nil {
		return e, err
	}
	if err := e.checkServerVersion(); err != nil {
		return e, err
	}
	if err := e.cluster.CreateNodes(ctx, "kwok-node", []map[string]string{{}}); err != nil {
		return e, err
	}
	e.record("start: control plane + simulated node", time.Since(start))
	start = time.Now()
	if err := startWorkloadIdentityWebhook(ctx, e.cluster, e.tools); err != nil {
		return e, fmt.Errorf("start the Azure Workload Identity webhook: %w", err)
	}
	e.record("start: Azure Workload Identity webhook, registered", time.Since(start))

	if e.applier, err = newApplier(e.cluster); err != nil {
		return e, err
	}
	e.charts = &renderer{helm: helm, root: e.root, dir: filepath.Join(e.dir, "charts")}
	if err := os.MkdirAll(e.charts.dir, 0o700); err != nil {
		return e, err
	}
	start = time.Now()
	if err := e.installArgoCRDs(ctx); err != nil {
		return e, err
	}
	e.record("apply: Argo Workflows + Argo Events CRDs", time.Since(start))
	return e, nil
}

// checkServerVersion makes sure the version ldflags of hack/k8s-tools.sh took: without them
// /version says v0.0.0-master, and clients that gate features on it (pulumi-kubernetes) misjudge
// the server.
func (e *env) checkServerVersion() error {
	v, err := e.cluster.Client.Discovery().ServerVersion()
	if err != nil {
		return fmt.Errorf("read server version: %w", err)
	}
	want := strings.TrimPrefix(filepath.Base(filepath.Dir(e.tools.KubeAPIServer)), "kube-apiserver-")
	if v.GitVersion != want {
		return fmt.Errorf("kube-apiserver reports version %q, want %q (version ldflags missing?)", v.GitVersion, want)
	}
	logf("kube-apiserver reports %s", v.GitVersion)
	return nil
}

// installArgoCRDs applies the CRDs the stack's custom objects need: the Helm charts would
// install them, and they cannot be fetched offline, but the Go module proxy serves the same
// CRDs from the Argo repositories. The full (schema-carrying) Workflow CRDs make the server
// validate Argo objects for real; they are too large for client-side apply.
func (e *env) installArgoCRDs(ctx context.Context) error {
	var crds []manifest
	for _, dir := range []string{e.tools.ArgoWorkflowsCRDs, e.tools.ArgoEventsCRDs} {
		ms, err := loadCRDs(dir)
		if err != nil {
			return err
		}
		logf("crds: %d from %s", len(ms), dir)
		crds = append(crds, ms...)
	}
	return e.applier.applyCRDs(ctx, crds)
}

// tearDown logs peak memory, stops every process and removes the work directory; it keeps the
// directory (logs, kubeconfig) when the run failed or K8SAPI_KEEP_LOGS is set.
func (e *env) tearDown(failed bool) {
	if e.cluster != nil {
		if rss := e.cluster.PeakRSS(); rss > 0 {
			logf("memory: kube-apiserver peak RSS %d MiB", rss>>20)
		}
		if failed {
			e.cluster.DumpLogs()
		}
		start := time.Now()
		e.cluster.Stop()
		logf("timing: stop control plane took %s", time.Since(start).Round(time.Millisecond))
	}
	if e.dir == "" {
		return
	}
	if failed || os.Getenv("K8SAPI_KEEP_LOGS") != "" {
		logf("kept logs and kubeconfig in %s", e.dir)
		return
	}
	if err := os.RemoveAll(e.dir); err != nil {
		logf("remove %s: %v", e.dir, err)
	}
}

// workDir makes the run's directory outside the repo. etcd's data goes there too, so tmpfs
// (/dev/shm) is preferred: fsync on a busy disk made etcd the slowest component.
func workDir() (string, error) {
	base := os.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		base = "/dev/shm"
	}
	dir, err := os.MkdirTemp(base, "metaflow-azure-k8sapi-")
	if err != nil {
		return "", fmt.Errorf("create work dir: %w", err)
	}
	return filepath.Clean(dir), nil
}
