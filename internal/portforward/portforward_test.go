package portforward_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"metaflow-azure/internal/portforward"
	"metaflow-azure/internal/portforward/pftest"
)

// syncBuffer is a bytes.Buffer safe for the forwarder's goroutines and the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// backend is a real HTTP server standing for the process in a pod.
func backend(t *testing.T, name string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "hello from %s", name)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// get fetches url with a fresh connection each time, so every call goes through a new stream.
func get(url string) (string, error) {
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// eventually polls get(url) until it returns want.
func eventually(t *testing.T, url, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var got string
	var err error
	for time.Now().Before(deadline) {
		if got, err = get(url); err == nil && got == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s: got %q, %v; want %q", url, got, err, want)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestForwardReconnects(t *testing.T) {
	api := pftest.New()
	defer api.Close()
	sel := map[string]string{"app": "metadata"}
	api.AddService("mf", "metadata-service", sel, 8080, "http")
	api.AddPod("mf", "metadata-a", sel, "http", 18080, backend(t, "a"))

	cfg, err := portforward.RESTConfigFromKubeconfig(api.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	local := freePort(t)
	var out, log syncBuffer
	f := &portforward.Forwarder{Config: cfg, Out: &out, Log: &log, PodCheckInterval: 200 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- f.Run(ctx, []portforward.Target{{Name: "metadata", Namespace: "mf", Service: "metadata-service", Port: 8080, LocalPort: local}})
	}()

	url := fmt.Sprintf("http://localhost:%d", local)
	waitFor(t, "the URL", func() bool { return strings.Contains(out.String(), url) })
	eventually(t, url, "hello from a")
	eventually(t, url, "hello from a") // a second connection over the same stream

	// The server drops the stream: the forward reconnects on the same port.
	api.DropConnections()
	waitFor(t, "a second port-forward connection", func() bool { return api.Forwards("mf", "metadata-a") >= 2 })
	eventually(t, url, "hello from a")

	// The pod is replaced: the forward notices (pod check), resolves the Service again and
	// reaches the new pod.
	api.AddPod("mf", "metadata-b", sel, "http", 18080, backend(t, "b"))
	api.DeletePod("mf", "metadata-a")
	eventually(t, url, "hello from b")

	// Replaced again, this time with the stream dropped as a kubelet does.
	api.AddPod("mf", "metadata-c", sel, "http", 18080, backend(t, "c"))
	api.DeletePod("mf", "metadata-b")
	api.DropConnections()
	eventually(t, url, "hello from c")

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not stop after cancel")
	}
	if _, err := get(url); err == nil {
		t.Fatal("local port still answers after stop")
	}
	if strings.Count(out.String(), url) != 1 {
		t.Errorf("URL printed %d times, want once:\n%s", strings.Count(out.String(), url), out.String())
	}
	t.Logf("log:\n%s", log.String())
}

func TestForwardErrors(t *testing.T) {
	api := pftest.New()
	defer api.Close()
	cfg, err := portforward.RESTConfigFromKubeconfig(api.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port

	f := &portforward.Forwarder{Config: cfg}
	err = f.Run(context.Background(), []portforward.Target{{Name: "ui", Namespace: "mf", Service: "ui", Port: 80, LocalPort: port}})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("local port %d", port)) {
		t.Errorf("busy port: got %v", err)
	}
	err = f.Run(context.Background(), []portforward.Target{
		{Name: "a", Namespace: "mf", Service: "a", Port: 80, LocalPort: 9999},
		{Name: "b", Namespace: "mf", Service: "b", Port: 80, LocalPort: 9999},
	})
	if err == nil || !strings.Contains(err.Error(), `"a" and "b" both use local port 9999`) {
		t.Errorf("duplicate port: got %v", err)
	}
	if err := f.Run(context.Background(), nil); err == nil {
		t.Error("no targets: got nil error")
	}

	// A missing Service is retried (it may be being deployed) and reported once.
	var log syncBuffer
	f = &portforward.Forwarder{Config: cfg, Log: &log, MaxRetryDelay: 100 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := f.Run(ctx, []portforward.Target{{Name: "ui", Namespace: "mf", Service: "ui", Port: 80, LocalPort: freePort(t)}}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log.String(), `services "ui" not found`); n != 1 {
		t.Errorf("missing service reported %d times, want 1:\n%s", n, log.String())
	}
}
