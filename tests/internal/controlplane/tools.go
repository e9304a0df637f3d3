package controlplane

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Tools are the binaries and CRD directories hack/k8s-tools.sh provides.
type Tools struct {
	Etcd                  string
	KubeAPIServer         string
	KubeControllerManager string
	KubeScheduler         string
	Kwok                  string
	// WorkloadIdentityWebhook is the Azure Workload Identity mutating webhook, and
	// WorkloadIdentityManifest the upstream deploy manifest of the same version.
	WorkloadIdentityWebhook  string
	WorkloadIdentityManifest string
	ArgoWorkflowsCRDs        string
	ArgoEventsCRDs           string
}

// RepoRoot is the main module's directory, two levels up from the test package's: `go test`
// runs in the package directory, and the tiers that start a control plane live in tests/<tier>.
func RepoRoot() (string, error) {
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", fmt.Errorf("resolve repo root: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "hack", "k8s-tools.sh")); err != nil {
		return "", fmt.Errorf("find hack/k8s-tools.sh from %s: %w", dir, err)
	}
	return dir, nil
}

// FindTools runs hack/k8s-tools.sh, which builds whatever is missing from the version-keyed
// cache (about 15 minutes on a new machine, instant afterwards) and prints KEY=PATH lines.
func FindTools(ctx context.Context, root string, logf func(string, ...any)) (*Tools, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(root, "hack", "k8s-tools.sh"))
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = NewLogWriter(logf, "k8s-tools.sh: ")
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("run hack/k8s-tools.sh: %w", err)
	}
	paths := map[string]string{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			paths[k] = v
		}
	}
	t := &Tools{
		Etcd:                     paths["ETCD"],
		KubeAPIServer:            paths["KUBE_APISERVER"],
		KubeControllerManager:    paths["KUBE_CONTROLLER_MANAGER"],
		KubeScheduler:            paths["KUBE_SCHEDULER"],
		Kwok:                     paths["KWOK"],
		WorkloadIdentityWebhook:  paths["AZURE_WI_WEBHOOK"],
		WorkloadIdentityManifest: paths["AZURE_WI_MANIFEST"],
		ArgoWorkflowsCRDs:        paths["ARGO_WORKFLOWS_CRDS"],
		ArgoEventsCRDs:           paths["ARGO_EVENTS_CRDS"],
	}
	for k, v := range map[string]string{
		"ETCD": t.Etcd, "KUBE_APISERVER": t.KubeAPIServer, "KUBE_CONTROLLER_MANAGER": t.KubeControllerManager,
		"KUBE_SCHEDULER": t.KubeScheduler, "KWOK": t.Kwok,
		"AZURE_WI_WEBHOOK": t.WorkloadIdentityWebhook, "AZURE_WI_MANIFEST": t.WorkloadIdentityManifest,
		"ARGO_WORKFLOWS_CRDS": t.ArgoWorkflowsCRDs, "ARGO_EVENTS_CRDS": t.ArgoEventsCRDs,
	} {
		if v == "" {
			return nil, fmt.Errorf("hack/k8s-tools.sh printed no %s", k)
		}
		if _, err := os.Stat(v); err != nil {
			return nil, fmt.Errorf("hack/k8s-tools.sh: %s: %w", k, err)
		}
	}
	return t, nil
}

// NewLogWriter turns a child's output into log lines, each starting with prefix.
func NewLogWriter(logf func(string, ...any), prefix string) io.Writer {
	return &logWriter{logf: logf, prefix: prefix}
}

// logWriter turns a child's output into log lines.
type logWriter struct {
	logf   func(string, ...any)
	prefix string
	buf    []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.logf("%s%s", w.prefix, w.buf[:i])
		w.buf = w.buf[i+1:]
	}
}
