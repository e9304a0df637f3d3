//go:build k8sapi

package k8sapi

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// tools are the binaries and CRD directories hack/k8s-tools.sh provides.
type tools struct {
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

// repoRoot is the main module's directory; `go test` runs in the package directory.
func repoRoot() (string, error) {
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", fmt.Errorf("resolve repo root: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "hack", "k8s-tools.sh")); err != nil {
		return "", fmt.Errorf("find hack/k8s-tools.sh from %s: %w", dir, err)
	}
	return dir, nil
}

// findTools runs hack/k8s-tools.sh, which builds whatever is missing from the version-keyed
// cache (about 15 minutes on a new machine, instant afterwards) and prints KEY=PATH lines.
func findTools(ctx context.Context, root string, logf func(string, ...any)) (*tools, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(root, "hack", "k8s-tools.sh"))
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &logWriter{logf: logf, prefix: "k8s-tools.sh: "}
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
	t := &tools{
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
