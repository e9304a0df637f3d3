package controlplane

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

// Options changes how Start starts the control plane.
type Options struct {
	// APIServerArgs are appended to kube-apiserver's flags, e.g. --authentication-token-webhook-config-file.
	APIServerArgs []string
}

// Cluster is a control plane on loopback: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok, which plays the kubelet for simulated nodes.
type Cluster struct {
	Dir        string               // the components' data, certificates, logs and kubeconfig
	URL        string               // the API server, https://127.0.0.1:<port>
	CACertFile string               // PEM CA that signed the API server's serving certificate
	Kubeconfig string               // the admin kubeconfig the components use
	Config     *rest.Config         // admin: a static token in system:masters
	Client     kubernetes.Interface // built from Config

	opts      Options
	pki       *pki
	apiserver *Process
	etcdURL   string
	procs     []*Process // in start order; stopped in reverse
	logf      func(string, ...any)
}

// Start starts every component in dir and waits for each to be healthy. On error it stops
// whatever it started.
func Start(ctx context.Context, dir string, t *Tools, logf func(string, ...any), o Options) (_ *Cluster, err error) {
	// c is not the named result: `return nil, err` would set that to nil before the cleanup runs.
	c := &Cluster{Dir: dir, opts: o, logf: logf}
	defer func() {
		if err != nil {
			c.DumpLogs()
			c.Stop()
		}
	}()
	if c.pki, err = newPKI(filepath.Join(dir, "pki")); err != nil {
		return nil, err
	}
	c.CACertFile = c.pki.caCert
	steps := []struct {
		name string
		run  func(context.Context, *Tools) error
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

// StartProcess starts bin as part of the cluster: its log goes next to the components' (into
// DumpLogs), its peak memory into PeakRSS, and Stop stops it before the components it came
// after. env is added to the test's environment.
func (c *Cluster) StartProcess(name, bin string, args []string, env ...string) (*Process, error) {
	p, err := startProcess(c.Dir, name, bin, args, env)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	return p, nil
}

// SignServing returns a PEM certificate and key for hosts (IPs or DNS names), signed by the
// cluster's CA, so a test can serve HTTPS (webhooks) that the API server and clients trust.
func (c *Cluster) SignServing(hosts ...string) (certPEM, keyPEM []byte, err error) {
	return c.pki.signServingPEM(hosts...)
}

func (c *Cluster) startEtcd(ctx context.Context, t *Tools) error {
	ports, err := FreePorts(2)
	if err != nil {
		return err
	}
	client := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	p, err := c.StartProcess("etcd", t.Etcd, []string{
		"--name=local", "--data-dir=" + filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls=" + client, "--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=local=" + peer,
	})
	if err != nil {
		return err
	}
	c.etcdURL = client
	return WaitHTTP(ctx, p, client+"/health", nil)
}

func (c *Cluster) startAPIServer(ctx context.Context, t *Tools) error {
	ports, err := FreePorts(1)
	if err != nil {
		return err
	}
	port := ports[0]
	p := c.pki
	args := []string{
		"--etcd-servers=" + c.etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(c.Dir, "apiserver-certs"),
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
	}
	// A test's own flags come after these, so it can add what its tier needs (an authentication
	// webhook) without restating the rest.
	proc, err := c.StartProcess("kube-apiserver", t.KubeAPIServer, append(args, c.opts.APIServerArgs...))
	if err != nil {
		return err
	}
	c.apiserver = proc
	c.URL = fmt.Sprintf("https://127.0.0.1:%d", port)
	if err := c.writeKubeconfig(); err != nil {
		return err
	}
	c.Config = &rest.Config{
		Host:            c.URL,
		BearerToken:     p.token,
		TLSClientConfig: rest.TLSClientConfig{CAFile: p.caCert},
		// Applying the Argo CRDs and polling many objects trips client-go's default 5 QPS limiter.
		QPS:   200,
		Burst: 400,
	}
	if c.Client, err = kubernetes.NewForConfig(c.Config); err != nil {
		return fmt.Errorf("build client: %w", err)
	}
	return c.waitReadyz(ctx)
}

// waitReadyz polls /readyz until the API server reports every post-start hook done.
func (c *Cluster) waitReadyz(ctx context.Context) error {
	return Poll(ctx, 100*time.Millisecond, func() (bool, error) {
		if err := c.apiserver.Exited(); err != nil {
			return false, err
		}
		_, err := c.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil, nil
	})
}

func (c *Cluster) startControllerManager(ctx context.Context, t *Tools) error {
	ports, err := FreePorts(1)
	if err != nil {
		return err
	}
	p, err := c.StartProcess("kube-controller-manager", t.KubeControllerManager, []string{
		"--kubeconfig=" + c.Kubeconfig,
		"--authentication-kubeconfig=" + c.Kubeconfig, "--authorization-kubeconfig=" + c.Kubeconfig,
		"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(ports[0]),
		"--cert-dir=" + filepath.Join(c.Dir, "kcm-certs"),
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
	return WaitHTTP(ctx, p, fmt.Sprintf("https://127.0.0.1:%d/healthz", ports[0]), insecureLoopback())
}

func (c *Cluster) startScheduler(ctx context.Context, t *Tools) error {
	ports, err := FreePorts(1)
	if err != nil {
		return err
	}
	p, err := c.StartProcess("kube-scheduler", t.KubeScheduler, []string{
		"--kubeconfig=" + c.Kubeconfig,
		"--authentication-kubeconfig=" + c.Kubeconfig, "--authorization-kubeconfig=" + c.Kubeconfig,
		"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(ports[0]),
		"--cert-dir=" + filepath.Join(c.Dir, "scheduler-certs"),
		"--leader-elect=false",
	})
	if err != nil {
		return err
	}
	return WaitHTTP(ctx, p, fmt.Sprintf("https://127.0.0.1:%d/healthz", ports[0]), insecureLoopback())
}

func (c *Cluster) startKwok(ctx context.Context, t *Tools) error {
	ports, err := FreePorts(1)
	if err != nil {
		return err
	}
	stages := filepath.Join(c.Dir, "kwok-stages.yaml")
	if err := os.WriteFile(stages, []byte(kwokStages), 0o600); err != nil {
		return fmt.Errorf("write kwok stages: %w", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	p, err := c.StartProcess("kwok", t.Kwok, []string{
		"--kubeconfig=" + c.Kubeconfig,
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
		"HOME="+c.Dir,
	)
	if err != nil {
		return err
	}
	return WaitHTTP(ctx, p, "http://"+addr+"/healthz", nil)
}

// writeKubeconfig writes the kubeconfig the other components use.
func (c *Cluster) writeKubeconfig() error {
	c.Kubeconfig = filepath.Join(c.Dir, "kubeconfig")
	data := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: local
  context: {cluster: local, user: admin}
current-context: local
`, c.URL, c.pki.caCert, c.pki.token)
	if err := os.WriteFile(c.Kubeconfig, []byte(data), 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// PeakRSS logs every component's peak memory and returns the API server's.
func (c *Cluster) PeakRSS() int64 {
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

// Stop ends every component, newest first, so nothing loses its API server or etcd mid-flight.
func (c *Cluster) Stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop(10 * time.Second)
	}
}

// DumpLogs writes the end of each component's log into the test log, for failures.
func (c *Cluster) DumpLogs() {
	for _, p := range c.procs {
		c.logf("---- last lines of %s (%s) ----\n%s", p.name, p.logPath, p.tail(25))
	}
}

// FreePorts asks the kernel for n free loopback ports. The listeners are closed before the
// components bind, a small race that a fresh port per component keeps unlikely.
func FreePorts(n int) ([]int, error) {
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

// WaitHTTP polls url until it answers 200, failing early if the process exits. A nil client
// is a plain one with a 2 s timeout.
func WaitHTTP(ctx context.Context, p *Process, url string, client *http.Client) error {
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Second}
	}
	return Poll(ctx, 100*time.Millisecond, func() (bool, error) {
		if err := p.Exited(); err != nil {
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

// Poll calls cond every interval until it returns true or an error, or ctx ends.
func Poll(ctx context.Context, interval time.Duration, cond func() (bool, error)) error {
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
