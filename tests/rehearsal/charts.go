//go:build rehearsal

package rehearsal

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/yaml"
)

// chartRepository serves the pinned charts in ../shared/charts as an HTTPS Helm repository on
// loopback, the way a team's mirror would serve them (argo.chartRepository): index.yaml, with each
// chart's metadata as its Chart.yaml states it and its digest, and the packages themselves. The
// Kubernetes provider fetches from it for real (Check, Create, Update).
type chartRepository struct {
	URL    string
	CAFile string
	server *http.Server
	mu     sync.Mutex
	// fetched counts the requests for each path, so a test can tell the provider fetched.
	fetched map[string]int
}

func (r *chartRepository) count(path string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fetched[path]++
}

// fetches returns how often a path was requested.
func (r *chartRepository) fetches(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fetched[path]
}

func serveCharts(chartsDir, dir string) (*chartRepository, error) {
	packages, err := filepath.Glob(filepath.Join(chartsDir, "*.tgz"))
	if err != nil || len(packages) == 0 {
		return nil, fmt.Errorf("no chart packages in %s (they come with the environment, next to the repository): %v", chartsDir, err)
	}
	l, caFile, err := listenTLS(dir, "chart-repository")
	if err != nil {
		return nil, err
	}
	r := &chartRepository{URL: "https://" + l.Addr().String() + "/", CAFile: caFile, fetched: map[string]int{}}
	index, err := helmIndex(packages, r.URL)
	if err != nil {
		l.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/index.yaml", func(w http.ResponseWriter, req *http.Request) {
		r.count(req.URL.Path)
		w.Header().Set("Content-Type", "application/x-yaml")
		_, _ = w.Write(index)
	})
	for _, p := range packages {
		path := "/" + filepath.Base(p)
		mux.HandleFunc(path, func(w http.ResponseWriter, req *http.Request) {
			r.count(req.URL.Path)
			http.ServeFile(w, req, p)
		})
	}
	r.server = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.server.Serve(l) }()
	return r, nil
}

func (r *chartRepository) close() { _ = r.server.Close() }

// helmIndex writes a repository index (Helm's repo index format: apiVersion v1, entries by chart
// name) for the packages, each entry from the package's own Chart.yaml.
func helmIndex(packages []string, base string) ([]byte, error) {
	entries := map[string][]map[string]any{}
	for _, p := range packages {
		meta, digest, err := chartMetadata(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		name, _ := meta["name"].(string)
		if name == "" {
			return nil, fmt.Errorf("%s: Chart.yaml has no name", p)
		}
		meta["digest"] = digest
		meta["urls"] = []string{base + filepath.Base(p)}
		meta["created"] = time.Now().UTC().Format(time.RFC3339)
		entries[name] = append(entries[name], meta)
	}
	return yaml.Marshal(map[string]any{"apiVersion": "v1", "entries": entries, "generated": time.Now().UTC().Format(time.RFC3339)})
}

// chartMetadata reads <chart>/Chart.yaml from a chart package and hashes the package.
func chartMetadata(path string) (map[string]any, string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(raw)
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, "", err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, "", fmt.Errorf("no Chart.yaml")
		}
		if err != nil {
			return nil, "", err
		}
		parts := strings.Split(h.Name, "/")
		if len(parts) != 2 || parts[1] != "Chart.yaml" {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, "", err
		}
		meta := map[string]any{}
		if err := yaml.Unmarshal(b, &meta); err != nil {
			return nil, "", err
		}
		return meta, hex.EncodeToString(sum[:]), nil
	}
}
