// Package pftest is an in-process stand-in for a Kubernetes API server, for tests of port
// forwarding: over TLS it serves Service and Pod GETs and the pods/portforward subresource,
// which it upgrades to a real SPDY connection (k8s.io/apimachinery's server side, as the kubelet
// uses) and relays each forwarded connection to a real local TCP address per pod and port. So a
// client-go PortForwarder talks to it exactly as to a cluster, with no mock of client-go.
package pftest

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/httpstream/spdy"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Server is the fake API server.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	services map[string]*corev1.Service
	pods     map[string]*corev1.Pod
	backends map[string]map[int]string // pod key -> container port -> address
	conns    []httpstream.Connection
	forwards map[string]int // pod key -> portforward upgrades
}

// New starts a server; Close stops it.
func New() *Server {
	s := &Server{
		services: map[string]*corev1.Service{},
		pods:     map[string]*corev1.Pod{},
		backends: map[string]map[int]string{},
		forwards: map[string]int{},
	}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	return s
}

func key(ns, name string) string { return ns + "/" + name }

// AddService adds or replaces a Service selecting pods with selector, with one port.
func (s *Server) AddService(ns, name string, selector map[string]string, port int32, targetPort string) {
	// A number is a container port, anything else a container port's name.
	sp := corev1.ServicePort{Name: "http", Port: port, TargetPort: intstr.Parse(targetPort)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.services[key(ns, name)] = &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Selector: selector, Ports: []corev1.ServicePort{sp}},
	}
}

// AddPod adds a running, ready pod with labels and one named container port, whose forwarded
// connections go to backend (host:port).
func (s *Server) AddPod(ns, name string, podLabels map[string]string, portName string, containerPort int, backend string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pods[key(ns, name)] = &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: podLabels,
			UID: types.UID("uid-" + name), CreationTimestamp: metav1.NewTime(time.Now())},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "main", Ports: []corev1.ContainerPort{{Name: portName, ContainerPort: int32(containerPort)}},
		}}},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		},
	}
	s.backends[key(ns, name)] = map[int]string{containerPort: backend}
}

// DeletePod removes a pod, as when it is rescheduled.
func (s *Server) DeletePod(ns, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pods, key(ns, name))
	delete(s.backends, key(ns, name))
}

// DropConnections closes every port-forward connection, as a kubelet does when its pod goes away
// or an API server restarts.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// Forwards counts the port-forward connections opened to a pod.
func (s *Server) Forwards(ns, pod string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.forwards[key(ns, pod)]
}

// Kubeconfig is a kubeconfig for this server, trusting its certificate.
func (s *Server) Kubeconfig() []byte {
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	cfg := map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"current-context": "test",
		"clusters": []any{map[string]any{"name": "test", "cluster": map[string]any{
			"server": s.URL, "certificate-authority-data": ca,
		}}},
		"users":    []any{map[string]any{"name": "test", "user": map[string]any{"token": "test-token"}}},
		"contexts": []any{map[string]any{"name": "test", "context": map[string]any{"cluster": "test", "user": "test"}}},
	}
	b, _ := json.Marshal(cfg) // JSON is YAML; []byte fields encode as base64, as kubeconfig wants
	return b
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer test-token" {
		writeStatus(w, http.StatusUnauthorized, "Unauthorized", "no or wrong token")
		return
	}
	// /api/v1/namespaces/{ns}/{resource}[/{name}[/{sub}]]
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 5 || parts[0] != "api" || parts[1] != "v1" || parts[2] != "namespaces" {
		writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
		return
	}
	ns, resource := parts[3], parts[4]
	switch {
	case resource == "services" && len(parts) == 6 && r.Method == http.MethodGet:
		s.mu.Lock()
		svc, ok := s.services[key(ns, parts[5])]
		s.mu.Unlock()
		if !ok {
			writeStatus(w, http.StatusNotFound, "NotFound", fmt.Sprintf("services %q not found", parts[5]))
			return
		}
		writeJSON(w, svc)
	case resource == "pods" && len(parts) == 5 && r.Method == http.MethodGet:
		sel, err := labels.Parse(r.URL.Query().Get("labelSelector"))
		if err != nil {
			writeStatus(w, http.StatusBadRequest, "BadRequest", err.Error())
			return
		}
		list := &corev1.PodList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"}}
		s.mu.Lock()
		for _, p := range s.pods {
			if p.Namespace == ns && sel.Matches(labels.Set(p.Labels)) {
				list.Items = append(list.Items, *p)
			}
		}
		s.mu.Unlock()
		writeJSON(w, list)
	case resource == "pods" && len(parts) == 6 && r.Method == http.MethodGet:
		s.mu.Lock()
		p, ok := s.pods[key(ns, parts[5])]
		s.mu.Unlock()
		if !ok {
			writeStatus(w, http.StatusNotFound, "NotFound", fmt.Sprintf("pods %q not found", parts[5]))
			return
		}
		writeJSON(w, p)
	case resource == "pods" && len(parts) == 7 && parts[6] == "portforward":
		s.portForward(w, r, ns, parts[5])
	default:
		writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeStatus(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(&metav1.Status{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
		Status:   metav1.StatusFailure, Message: msg, Reason: metav1.StatusReason(reason), Code: int32(code),
	})
}

// portForward implements the kubelet's side of pods/portforward (protocol portforward.k8s.io):
// the client opens an error stream and a data stream per connection, both carrying the port and
// a request ID in their headers; the server relays the data stream to the pod's port and writes
// any failure to the error stream.
func (s *Server) portForward(w http.ResponseWriter, r *http.Request, ns, name string) {
	s.mu.Lock()
	backends, ok := s.backends[key(ns, name)]
	s.mu.Unlock()
	if !ok {
		writeStatus(w, http.StatusNotFound, "NotFound", fmt.Sprintf("pods %q not found", name))
		return
	}
	if _, err := httpstream.Handshake(r, w, []string{"portforward.k8s.io"}); err != nil {
		return // Handshake wrote the response
	}
	streams := make(chan httpstream.Stream, 16)
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(st httpstream.Stream, replySent <-chan struct{}) error {
		go func() {
			<-replySent
			streams <- st
		}()
		return nil
	})
	if conn == nil {
		return // UpgradeResponse wrote the error
	}
	s.mu.Lock()
	s.conns = append(s.conns, conn)
	s.forwards[key(ns, name)]++
	s.mu.Unlock()

	type pair struct{ data, errs httpstream.Stream }
	pending := map[string]*pair{}
	for {
		select {
		case <-conn.CloseChan():
			return
		case st := <-streams:
			id := st.Headers().Get(corev1.PortForwardRequestIDHeader)
			p := pending[id]
			if p == nil {
				p = &pair{}
				pending[id] = p
			}
			switch st.Headers().Get(corev1.StreamType) {
			case corev1.StreamTypeData:
				p.data = st
			case corev1.StreamTypeError:
				p.errs = st
			default:
				st.Reset()
				continue
			}
			if p.data != nil && p.errs != nil {
				delete(pending, id)
				go relay(p.data, p.errs, backends)
			}
		}
	}
}

func relay(data, errs httpstream.Stream, backends map[int]string) {
	defer errs.Close()
	defer data.Close()
	port, _ := strconv.Atoi(data.Headers().Get(corev1.PortHeader))
	addr, ok := backends[port]
	if !ok {
		fmt.Fprintf(errs, "pod has no port %d", port)
		return
	}
	backend, err := net.Dial("tcp", addr)
	if err != nil {
		fmt.Fprintf(errs, "connecting to port %d: %v", port, err)
		return
	}
	defer backend.Close()
	go func() {
		_, _ = io.Copy(backend, data)
		// The client finished sending: pass the half-close on, as a TCP proxy would.
		if tc, ok := backend.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	_, _ = io.Copy(data, backend)
}
