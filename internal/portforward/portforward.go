// Package portforward forwards local ports to Kubernetes Services the way `kubectl
// port-forward svc/...` does, with client-go only: each Service is resolved to a ready pod
// through its selector and target port, and the pod's port is forwarded over the API server's
// pods/portforward (SPDY) stream. Unlike kubectl it keeps going: when the pod goes away or the
// stream drops it resolves the Service again and reconnects on the same local port.
package portforward

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// Target is one Service port to forward; the JSON names are those of the stack's portForwards
// output.
type Target struct {
	// Name labels the forward in messages, e.g. "metadata".
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Service   string `json:"service"`
	// Port is the Service's port (not the container's).
	Port int `json:"port"`
	// LocalPort is the port on localhost; 0 picks a free one.
	LocalPort int `json:"localPort"`
	// Scheme is http or https, for the printed URL. Default: http.
	Scheme string `json:"scheme"`
}

// Forwarder forwards Targets until its context ends.
type Forwarder struct {
	// Config reaches the API server.
	Config *rest.Config
	// Out receives one "name  URL" line per target once it is first forwarded.
	Out io.Writer
	// Log receives reconnects and errors.
	Log io.Writer
	// PodCheckInterval is how often the forwarded pod is checked to still be ready, so a pod that
	// is replaced without the stream dropping is noticed. Default: 5s.
	PodCheckInterval time.Duration
	// MaxRetryDelay caps the wait between attempts to reach a Service's pod. Default: 10s.
	MaxRetryDelay time.Duration

	client kubernetes.Interface
	outMu  sync.Mutex
}

// RESTConfigFromKubeconfig builds a client config from kubeconfig bytes in memory, so the
// stack's credentials are never written to disk.
func RESTConfigFromKubeconfig(kubeconfig []byte) (*rest.Config, error) {
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig: %w", err)
	}
	return cfg, nil
}

// Run forwards every target until ctx ends, then returns nil. It returns an error early only for
// problems retrying cannot fix: a bad config, a duplicate or busy local port.
func (f *Forwarder) Run(ctx context.Context, targets []Target) error {
	if len(targets) == 0 {
		return errors.New("nothing to forward: the stack's portForwards output is empty")
	}
	if f.Log == nil {
		f.Log = io.Discard
	}
	if f.Out == nil {
		f.Out = io.Discard
	}
	if f.PodCheckInterval <= 0 {
		f.PodCheckInterval = 5 * time.Second
	}
	if f.MaxRetryDelay <= 0 {
		f.MaxRetryDelay = 10 * time.Second
	}
	client, err := kubernetes.NewForConfig(f.Config)
	if err != nil {
		return fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	f.client = client

	seen := map[int]string{}
	for _, t := range targets {
		if t.Namespace == "" || t.Service == "" || t.Port <= 0 || t.LocalPort < 0 {
			return fmt.Errorf("port forward %q: needs namespace, service and port, got %+v", t.Name, t)
		}
		if t.LocalPort == 0 {
			continue
		}
		if other, dup := seen[t.LocalPort]; dup {
			return fmt.Errorf("port forwards %q and %q both use local port %d", other, t.Name, t.LocalPort)
		}
		seen[t.LocalPort] = t.Name
		// Check now, so a busy port is one clear error instead of an endless retry.
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(t.LocalPort)))
		if err != nil {
			return fmt.Errorf("port forward %q: local port %d: %w", t.Name, t.LocalPort, err)
		}
		l.Close()
	}

	var wg sync.WaitGroup
	for _, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.keepForwarding(ctx, t)
		}()
	}
	wg.Wait()
	return nil
}

// keepForwarding forwards one target, reconnecting until ctx ends.
func (f *Forwarder) keepForwarding(ctx context.Context, t Target) {
	local := t.LocalPort
	announced := false
	delay := 250 * time.Millisecond
	lastErr := ""
	for ctx.Err() == nil {
		pod, remote, err := f.resolve(ctx, t)
		if err == nil {
			var port int
			port, err = f.forwardOnce(ctx, t, pod, remote, local, func(p int) {
				local = p
				if !announced {
					announced = true
					f.printf(f.Out, "%-14s %s\n", t.Name, URL(t, p))
				} else {
					f.printf(f.Log, "%s: forwarding again, to pod %s/%s\n", t.Name, pod.Namespace, pod.Name)
				}
				delay = 250 * time.Millisecond
				lastErr = ""
			})
			if port != 0 {
				local = port
			}
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				err = fmt.Errorf("pod %s/%s is gone or not ready", pod.Namespace, pod.Name)
			}
		}
		// Say each distinct problem once, not on every retry.
		if msg := err.Error(); msg != lastErr {
			f.printf(f.Log, "%s: %v; reconnecting\n", t.Name, err)
			lastErr = msg
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, f.MaxRetryDelay)
	}
}

// URL is where a forwarded target answers locally.
func URL(t Target, localPort int) string {
	scheme := t.Scheme
	if scheme == "" {
		scheme = "http"
	}
	return fmt.Sprintf("%s://localhost:%d", scheme, localPort)
}

func (f *Forwarder) printf(w io.Writer, format string, args ...any) {
	f.outMu.Lock()
	defer f.outMu.Unlock()
	fmt.Fprintf(w, format, args...)
}

// resolve finds a ready pod behind the Service and the pod's port for the Service port.
func (f *Forwarder) resolve(ctx context.Context, t Target) (*corev1.Pod, int, error) {
	svc, err := f.client.CoreV1().Services(t.Namespace).Get(ctx, t.Service, metav1.GetOptions{})
	if err != nil {
		return nil, 0, fmt.Errorf("reading service %s/%s: %w", t.Namespace, t.Service, err)
	}
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if int(svc.Spec.Ports[i].Port) == t.Port {
			sp = &svc.Spec.Ports[i]
			break
		}
	}
	if sp == nil {
		return nil, 0, fmt.Errorf("service %s/%s has no port %d", t.Namespace, t.Service, t.Port)
	}
	if len(svc.Spec.Selector) == 0 {
		return nil, 0, fmt.Errorf("service %s/%s has no selector, so no pod to forward to", t.Namespace, t.Service)
	}
	pods, err := f.client.CoreV1().Pods(t.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(svc.Spec.Selector).String(),
	})
	if err != nil {
		return nil, 0, fmt.Errorf("listing pods of service %s/%s: %w", t.Namespace, t.Service, err)
	}
	var ready []*corev1.Pod
	for i := range pods.Items {
		if podReady(&pods.Items[i]) {
			ready = append(ready, &pods.Items[i])
		}
	}
	if len(ready) == 0 {
		return nil, 0, fmt.Errorf("service %s/%s has no ready pod (of %d)", t.Namespace, t.Service, len(pods.Items))
	}
	// The newest ready pod: during a rollout it is the one that stays.
	sort.Slice(ready, func(i, j int) bool {
		ti, tj := ready[i].CreationTimestamp, ready[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return tj.Before(&ti)
		}
		return ready[i].Name < ready[j].Name
	})
	pod := ready[0]
	port, err := containerPort(pod, sp.TargetPort, sp.Port)
	if err != nil {
		return nil, 0, fmt.Errorf("service %s/%s port %d: %w", t.Namespace, t.Service, t.Port, err)
	}
	return pod, port, nil
}

func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// containerPort maps a Service's targetPort to the pod's port number: a number is used as is
// (unset means the Service port), a name is looked up among the containers' ports.
func containerPort(pod *corev1.Pod, target intstr.IntOrString, servicePort int32) (int, error) {
	if target.Type == intstr.Int {
		if target.IntVal == 0 {
			return int(servicePort), nil
		}
		return int(target.IntVal), nil
	}
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name == target.StrVal {
				return int(p.ContainerPort), nil
			}
		}
	}
	return 0, fmt.Errorf("pod %s/%s has no container port named %q", pod.Namespace, pod.Name, target.StrVal)
}

// forwardOnce forwards localPort to the pod until the stream drops, the pod stops being ready,
// or ctx ends. ready is called with the bound local port once listening. It returns the bound
// port (0 if it never listened) and why it stopped (nil when the pod check stopped it).
func (f *Forwarder) forwardOnce(ctx context.Context, t Target, pod *corev1.Pod, remote, localPort int, ready func(int)) (int, error) {
	transport, upgrader, err := spdy.RoundTripperFor(f.Config)
	if err != nil {
		return 0, fmt.Errorf("setting up the SPDY transport: %w", err)
	}
	url := f.client.CoreV1().RESTClient().Post().
		Resource("pods").Namespace(pod.Namespace).Name(pod.Name).SubResource("portforward").URL()
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, url)

	stop := make(chan struct{})
	readyCh := make(chan struct{})
	pf, err := portforward.NewOnAddresses(dialer, []string{"localhost"},
		[]string{fmt.Sprintf("%d:%d", localPort, remote)}, stop, readyCh, nil, f.Log)
	if err != nil {
		return 0, fmt.Errorf("setting up the forward: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- pf.ForwardPorts() }()

	var stopOnce sync.Once
	stopForward := func() { stopOnce.Do(func() { close(stop) }) }
	defer stopForward()

	bound := 0
	select {
	case err := <-done:
		return 0, forwardError(pod, err)
	case <-ctx.Done():
		stopForward()
		<-done
		return 0, nil
	case <-readyCh:
		ports, err := pf.GetPorts()
		if err != nil || len(ports) == 0 {
			stopForward()
			<-done
			return 0, fmt.Errorf("reading the forwarded port: %w", err)
		}
		bound = int(ports[0].Local)
		ready(bound)
	}

	gone := make(chan struct{})
	checkCtx, cancelCheck := context.WithCancel(ctx)
	defer cancelCheck()
	go f.watchPod(checkCtx, pod, gone)

	select {
	case err := <-done:
		return bound, forwardError(pod, err)
	case <-ctx.Done():
		stopForward()
		<-done
		return bound, nil
	case <-gone:
		stopForward()
		<-done
		return bound, nil
	}
}

func forwardError(pod *corev1.Pod, err error) error {
	if err == nil {
		return fmt.Errorf("forward to pod %s/%s ended", pod.Namespace, pod.Name)
	}
	if errors.Is(err, portforward.ErrLostConnectionToPod) {
		return fmt.Errorf("lost the connection to pod %s/%s", pod.Namespace, pod.Name)
	}
	return fmt.Errorf("forwarding to pod %s/%s: %w", pod.Namespace, pod.Name, err)
}

// watchPod closes gone when the pod is deleted or no longer ready. Polling a single GET keeps
// this working with API servers (and proxies) that do not allow watches.
func (f *Forwarder) watchPod(ctx context.Context, pod *corev1.Pod, gone chan<- struct{}) {
	tick := time.NewTicker(f.PodCheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		p, err := f.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err), err == nil && (p.UID != pod.UID || !podReady(p)):
			close(gone)
			return
		case err != nil:
			// Unreachable API server: the stream may still work; the next tick tries again.
		}
	}
}
