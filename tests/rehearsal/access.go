//go:build rehearsal

package rehearsal

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	pulumiresource "github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/fakeprovider"
	"metaflow-azure/tests/internal/controlplane"
)

// Users the token authority knows the stack's credentials by.
const (
	clusterUser = "clusterUser"
	deployer    = "deployer@example.com"
)

// aksAccess makes the fake AKS clusters the local control plane (fakeazure.ClusterAccess): their
// kubeconfigs name its API server and CA, the clusterUser token of a cluster with local accounts
// is a static token the authority accepts until it is rotated (AKS keeps it until
// `az aks rotate-certs`), and the deployer's Entra tokens come from the authority, each reused
// while valid, as the Azure CLI's token cache does, until it expires or the test rotates it.
type aksAccess struct {
	cluster *controlplane.Cluster
	ca      []byte
	tokens  *tokenAuthority

	mu         sync.Mutex
	userTokens map[string]string
	access     map[string]string
	issued     []string // every access token handed out, oldest first
}

func newAKSAccess(c *controlplane.Cluster, tokens *tokenAuthority) (*aksAccess, error) {
	ca, err := os.ReadFile(c.CACertFile)
	if err != nil {
		return nil, err
	}
	return &aksAccess{cluster: c, ca: ca, tokens: tokens, userTokens: map[string]string{}, access: map[string]string{}}, nil
}

func (a *aksAccess) Server(string) (string, []byte) { return a.cluster.URL, a.ca }

func (a *aksAccess) ClusterUserToken(cluster string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.userTokens[cluster]; ok {
		return t
	}
	t := a.tokens.issue(clusterUser)
	a.userTokens[cluster] = t
	return t
}

func (a *aksAccess) AccessToken(audience string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.access[audience]; ok && a.tokens.valid(t) {
		return t
	}
	t := a.tokens.issue(deployer)
	a.access[audience] = t
	a.issued = append(a.issued, t)
	return t
}

// rotate makes the next run get new credentials: a new Entra token (as from a new CI runner),
// and new clusterUser tokens (as after `az aks rotate-certs`), the old ones still valid.
func (a *aksAccess) rotate() {
	a.mu.Lock()
	defer a.mu.Unlock()
	clear(a.access)
	clear(a.userTokens)
}

// expire ends every Entra token handed out so far, as an hour passing does.
func (a *aksAccess) expire() { a.tokens.expire(deployer) }

// issuedCount is how many Entra tokens were handed out.
func (a *aksAccess) issuedCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.issued)
}

// nodePools keeps one simulated node per AKS node pool of the fake Azure: AKS creates a pool's
// nodes with the pool's labels and taints (and, on Spot pools, its own Spot label and taint) and
// removes them with the pool. Every pool gets one node whatever its minimum, so each pool's pods
// have somewhere to go; GPU sizes advertise their GPUs as the device plugin would.
type nodePools struct {
	cluster *controlplane.Cluster
	logf    func(string, ...any)
	mu      sync.Mutex
	errs    []error
}

const (
	managedClusterType = "azure-native:containerservice/v20241001:ManagedCluster"
	agentPoolType      = "azure-native:containerservice/v20241001:AgentPool"
	poolNodeLabel      = "metaflow-azure.test/aks-pool"
)

// watch is a fakeprovider watcher.
func (n *nodePools) watch(e fakeprovider.Event) {
	var pools []pool
	switch e.Type {
	case managedClusterType:
		for _, p := range arrayOf(e.Inputs, "agentPoolProfiles") {
			if p.IsObject() {
				pools = append(pools, poolFrom(p.ObjectValue(), str(p.ObjectValue(), "name")))
			}
		}
	case agentPoolType:
		pools = append(pools, poolFrom(e.Inputs, str(e.Inputs, "agentPoolName")))
	default:
		return
	}
	ctx := context.Background()
	for _, p := range pools {
		var err error
		if e.Kind == "delete" {
			err = n.cluster.Client.CoreV1().Nodes().Delete(ctx, nodeName(p.name), metav1.DeleteOptions{})
			if apierrors.IsNotFound(err) {
				err = nil
			}
		} else {
			err = n.apply(ctx, p)
		}
		if err != nil {
			n.mu.Lock()
			n.errs = append(n.errs, fmt.Errorf("node of pool %s after %s: %w", p.name, e.Kind, err))
			n.mu.Unlock()
		}
	}
}

func (n *nodePools) failures() []error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.errs)
}

type pool struct {
	name, vmSize string
	spot         bool
	labels       map[string]string
	taints       []string
}

func poolFrom(m pulumiresource.PropertyMap, name string) pool {
	p := pool{name: name, vmSize: str(m, "vmSize"), spot: str(m, "scaleSetPriority") == azurefacts.SpotPriority, labels: map[string]string{}}
	if v, ok := m["nodeLabels"]; ok && v.IsObject() {
		for k, l := range v.ObjectValue() {
			p.labels[string(k)] = l.StringValue()
		}
	}
	for _, t := range arrayOf(m, "nodeTaints") {
		p.taints = append(p.taints, t.StringValue())
	}
	return p
}

func nodeName(pool string) string { return "aks-" + pool + "-0" }

// apply creates or updates a pool's node: labels, taints and capacity follow the pool.
func (n *nodePools) apply(ctx context.Context, p pool) error {
	labels := maps.Clone(p.labels)
	labels[poolNodeLabel] = p.name
	taints := slices.Clone(p.taints)
	if p.spot {
		labels[azurefacts.SpotLabelKey] = azurefacts.SpotLabelValue
		if !slices.Contains(taints, azurefacts.SpotTaint) {
			taints = append(taints, azurefacts.SpotTaint)
		}
	}
	node := controlplane.FakeNode(nodeName(p.name), labels)
	for _, t := range taints {
		kv, effect, _ := strings.Cut(t, ":")
		k, v, _ := strings.Cut(kv, "=")
		node.Spec.Taints = append(node.Spec.Taints, corev1.Taint{Key: k, Value: v, Effect: corev1.TaintEffect(effect)})
	}
	capacity := node.Status.Capacity.DeepCopy()
	if series, ok := azurefacts.LookupNVIDIAGPUSize(p.vmSize); ok {
		capacity[corev1.ResourceName(azurefacts.GPUResource)] = *resource.NewQuantity(int64(series.Sizes[p.vmSize]), resource.DecimalSI)
	}
	node.Status.Capacity, node.Status.Allocatable = capacity, capacity.DeepCopy()

	nodes := n.cluster.Client.CoreV1().Nodes()
	if _, err := nodes.Get(ctx, node.Name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		return n.cluster.RegisterNodes(ctx, []*corev1.Node{node})
	} else if err != nil {
		return err
	}
	// kwok writes the node's status (heartbeats) all the time: retry on a conflict.
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		existing, err := nodes.Get(ctx, node.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		existing.Labels, existing.Spec.Taints = node.Labels, node.Spec.Taints
		updated, err := nodes.Update(ctx, existing, metav1.UpdateOptions{})
		if err != nil {
			return err
		}
		updated.Status.Capacity, updated.Status.Allocatable = capacity, capacity.DeepCopy()
		_, err = nodes.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
		return err
	})
}

func str(m pulumiresource.PropertyMap, k string) string {
	v, ok := m[pulumiresource.PropertyKey(k)]
	for ok && v.IsSecret() {
		v = v.SecretValue().Element
	}
	if ok && v.IsString() {
		return v.StringValue()
	}
	return ""
}

func arrayOf(m pulumiresource.PropertyMap, k string) []pulumiresource.PropertyValue {
	v, ok := m[pulumiresource.PropertyKey(k)]
	if ok && v.IsArray() {
		return v.ArrayValue()
	}
	return nil
}
