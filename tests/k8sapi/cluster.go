//go:build k8sapi

package k8sapi

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Address ranges the simulated cluster books. Nothing listens on them and no traffic goes
// there: without kube-proxy or a CNI they are only values in object status.
const (
	serviceCIDR = "10.96.0.0/16"
	podCIDR     = "10.244.0.1/16"
	fakeNodeIP  = "10.240.0.10"
)

// cluster is a control plane on loopback: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok, which plays the kubelet for simulated nodes.
type cluster struct {
	dir        string
	pki        *pki
	kubeconfig string
	config     *rest.Config
	client     kubernetes.Interface
	apiserver  *process
	etcdURL    string
	procs      []*process // in start order; stopped in reverse
	logf       func(string, ...any)
}

// startCluster starts every component and waits for each to be healthy. On error it stops
// whatever it started.
func startCluster(ctx context.Context, dir string, t *tools, logf func(string, ...any)) (c *cluster, err error) {
	c = &cluster{dir: dir, logf: logf}
	defer func() {
		if err != nil {
			c.dumpLogs()
			c.stop()
		}
	}()
	if c.pki, err = newPKI(filepath.Join(dir, "pki")); err != nil {
		return nil, err
	}
	steps := []struct {
		name string
		run  func(context.Context, *tools) error
	}{
		{"etcd", c.startEtcd},
		{"kube-apiserver", c.startAPIServer},
		{"kube-controller-manager", c.startControllerManager},
		{"kube-scheduler", c.startScheduler},
		{"kwok", c.startKwok},
	}
	for _, s := range steps {
		start := time.Now()
		if err := s.run(ctx, t); err != nil {
			return nil, fmt.Errorf("start %s: %w", s.name, err)
		}
		logf("timing: start %s ready in %s", s.name, time.Since(start).Round(time.Millisecond))
	}
	return c, nil
}

func (c *cluster) start(name, bin string, args []string, env ...string) (*process, error) {
	p, err := startProcess(c.dir, name, bin, args, env)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	return p, nil
}

func (c *cluster) startEtcd(ctx context.Context, t *tools) error {
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	client := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	p, err := c.start("etcd", t.Etcd, []string{
		"--name=local", "--data-dir=" + filepath.Join(c.dir, "etcd"),
		"--listen-client-urls=" + client, "--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=local=" + peer,
	})
	if err != nil {
		return err
	}
	c.etcdURL = client
	return waitHTTP(ctx, p, client+"/health", nil)
}

func (c *cluster) startAPIServer(ctx context.Context, t *tools) error {
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	port := ports[0]
	p := c.pki
	proc, err := c.start("kube-apiserver", t.KubeAPIServer, []string{
		"--etcd-servers=" + c.etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(c.dir, "apiserver-certs"),
		"--tls-cert-file=" + p.servingCrt, "--tls-private-key-file=" + p.servingKey,
		"--client-ca-file=" + p.caCert, "--token-auth-file=" + p.tokenFile,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p.saPub, "--service-account-signing-key-file=" + p.saKey,
		"--service-cluster-ip-range=" + serviceCIDR,
		"--authorization-mode=Node,RBAC",
		// AKS admits privileged pods; a stricter test API server would reject objects AKS accepts.
		"--allow-privileged=true",
		"--enable-priority-and-fairness=false", "--profiling=false",
		// With WatchList on, the server turns a watch from resourceVersion "0" (kwok's informers)
		// into a watch-list stream, which it then refuses on Debian's etcd 3.4 (no
		// RequestWatchProgress); kwok fell back with growing backoffs and saw pods up to 30 s late.
		"--feature-gates=WatchList=false",
	})
	if err != nil {
		return err
	}
	c.apiserver = proc
	if err := c.writeKubeconfig(port); err != nil {
		return err
	}
	c.config = &rest.Config{
		Host:            fmt.Sprintf("https://127.0.0.1:%d", port),
		BearerToken:     p.token,
		TLSClientConfig: rest.TLSClientConfig{CAFile: p.caCert},
		// Applying the Argo CRDs and polling many objects trips client-go's default 5 QPS limiter.
		QPS:   200,
		Burst: 400,
	}
	if c.client, err = kubernetes.NewForConfig(c.config); err != nil {
		return fmt.Errorf("build client: %w", err)
	}
	return c.waitReadyz(ctx)
}

// waitReadyz polls /readyz until the API server reports every post-start hook done.
func (c *cluster) waitReadyz(ctx context.Context) error {
	return poll(ctx, 100*time.Millisecond, func() (bool, error) {
		if err := c.apiserver.exited(); err != nil {
			return false, err
		}
		_, err := c.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil, nil
	})
}

func (c *cluster) startControllerManager(ctx context.Context, t *tools) error {
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	p, err := c.start("kube-controller-manager", t.KubeControllerManager, []string{
		"--kubeconfig=" + c.kubeconfig,
		"--authentication-kubeconfig=" + c.kubeconfig, "--authorization-kubeconfig=" + c.kubeconfig,
		"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(ports[0]),
		"--cert-dir=" + filepath.Join(c.dir, "kcm-certs"),
		"--leader-elect=false",
		// All default controllers: Deployments need ReplicaSets, Services EndpointSlices,
		// namespace deletion the namespace controller, Job pods the job and GC controllers.
		"--controllers=*",
		"--service-account-private-key-file=" + c.pki.saKey,
		"--root-ca-file=" + c.pki.caCert,
	})
	if err != nil {
		return err
	}
	return waitHTTP(ctx, p, fmt.Sprintf("https://127.0.0.1:%d/healthz", ports[0]), insecureLoopback())
}

func (c *cluster) startScheduler(ctx context.Context, t *tools) error {
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	p, err := c.start("kube-scheduler", t.KubeScheduler, []string{
		"--kubeconfig=" + c.kubeconfig,
		"--authentication-kubeconfig=" + c.kubeconfig, "--authorization-kubeconfig=" + c.kubeconfig,
		"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(ports[0]),
		"--cert-dir=" + filepath.Join(c.dir, "scheduler-certs"),
		"--leader-elect=false",
	})
	if err != nil {
		return err
	}
	return waitHTTP(ctx, p, fmt.Sprintf("https://127.0.0.1:%d/healthz", ports[0]), insecureLoopback())
}

func (c *cluster) startKwok(ctx context.Context, t *tools) error {
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	stages := filepath.Join(c.dir, "kwok-stages.yaml")
	if err := os.WriteFile(stages, []byte(kwokStages), 0o600); err != nil {
		return fmt.Errorf("write kwok stages: %w", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	p, err := c.start("kwok", t.Kwok, []string{
		"--kubeconfig=" + c.kubeconfig,
		"--config=" + stages,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + kwokNodeAnnotation + "=fake",
		"--cidr=" + podCIDR, "--node-ip=" + fakeNodeIP,
		"--server-address=" + addr,
		// Without a lease duration kwok neither renews node Leases nor heartbeats node status
		// more often than every 10 minutes, so the node lifecycle controller marks the node and
		// all its pods NotReady 50 s after start.
		"--node-lease-duration-seconds=40",
	},
		// kwok also reads ~/.kwok/kwok.yaml; keep the user's out of the test.
		"HOME="+c.dir,
	)
	if err != nil {
		return err
	}
	return waitHTTP(ctx, p, "http://"+addr+"/healthz", nil)
}

// writeKubeconfig writes the kubeconfig the other components use.
func (c *cluster) writeKubeconfig(port int) error {
	c.kubeconfig = filepath.Join(c.dir, "kubeconfig")
	data := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:%d
    certificate-authority: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: local
  context: {cluster: local, user: admin}
current-context: local
`, port, c.pki.caCert, c.pki.token)
	if err := os.WriteFile(c.kubeconfig, []byte(data), 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// peakRSS logs every component's peak memory and returns the API server's.
func (c *cluster) peakRSS() int64 {
	var apiserver int64
	for _, p := range c.procs {
		rss, err := p.peakRSS()
		if err != nil {
			c.logf("memory: %v", err)
			continue
		}
		c.logf("memory: %s peak RSS (VmHWM) %d MiB", p.name, rss>>20)
		if p == c.apiserver {
			apiserver = rss
		}
	}
	return apiserver
}

// stop ends every component, newest first, so nothing loses its API server or etcd mid-flight.
func (c *cluster) stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop(10 * time.Second)
	}
}

// dumpLogs writes the end of each component's log into the test log, for failures.
func (c *cluster) dumpLogs() {
	for _, p := range c.procs {
		c.logf("---- last lines of %s (%s) ----\n%s", p.name, p.logPath, p.tail(25))
	}
}

// freePorts asks the kernel for n free loopback ports. The listeners are closed before the
// components bind, a small race that a fresh port per component keeps unlikely.
func freePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// insecureLoopback is for the health endpoints of the controller-manager and scheduler, which
// serve a self-signed certificate they make at start.
func insecureLoopback() *http.Client {
	return &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // loopback health probe
	}
}

// waitHTTP polls url until it answers 200, failing early if the process exits.
func waitHTTP(ctx context.Context, p *process, url string, client *http.Client) error {
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Second}
	}
	return poll(ctx, 100*time.Millisecond, func() (bool, error) {
		if err := p.exited(); err != nil {
			return false, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, fmt.Errorf("build request: %w", err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

// poll calls cond every interval until it returns true or an error, or ctx ends.
func poll(ctx context.Context, interval time.Duration, cond func() (bool, error)) error {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up waiting: %w", context.Cause(ctx))
		case <-ticker.C:
		}
	}
}
