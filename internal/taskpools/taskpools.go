// Package taskpools derives, from the settings, every node pool Metaflow tasks run on: the
// general task pool and the extra (GPU, Spot) pools. Each pool's labels and taints are decided
// here once, so the AKS pools, the Metaflow profile's tolerations and node selector, the NVIDIA
// device plugin's placement and the stack outputs cannot disagree. It imports no SDK.
package taskpools

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/metaflowconfig"
	"metaflow-azure/internal/settings"
)

// The general task pool's taint keeps everything but Metaflow tasks off it, so services never
// hold a task node up and tasks never crowd out the services.
const (
	taskTaintKey   = "metaflow.org/tasks"
	taskTaintValue = "true"
	// Effect is what every pool taint the stack sets does: pods without a toleration are
	// not scheduled there (running pods are left alone).
	Effect = "NoSchedule"
)

// Taint is a node taint.
type Taint struct{ Key, Value, Effect string }

// String is the "key=value:Effect" form AKS's nodeTaints take.
func (t Taint) String() string { return t.Key + "=" + t.Value + ":" + t.Effect }

// Toleration tolerates exactly this taint.
func (t Taint) Toleration() metaflowconfig.Toleration {
	return metaflowconfig.Toleration{Key: t.Key, Operator: "Equal", Value: t.Value, Effect: t.Effect}
}

// ParseTaint reads "key=value:Effect" (validated by package settings).
func ParseTaint(s string) Taint {
	kv, effect, _ := strings.Cut(s, ":")
	key, value, _ := strings.Cut(kv, "=")
	return Taint{Key: key, Value: value, Effect: effect}
}

// Pool is a task node pool.
type Pool struct {
	// Name is the AKS node pool name and the value of its settings.PoolLabelKey label.
	Name string
	// Default is the general task pool, the one plain steps land on.
	Default            bool
	VMSize             string
	MinCount, MaxCount int
	Spot               bool
	SpotMaxPrice       float64
	GPU                bool
	// Labels and Taints are what the AKS pool declares for its nodes.
	Labels map[string]string
	Taints []Taint
}

// Selector is the node selector that sends a step to this pool.
func (p Pool) Selector() map[string]string { return map[string]string{settings.PoolLabelKey: p.Name} }

// SelectorString is Selector as Metaflow's node_selector string takes it.
func (p Pool) SelectorString() string { return settings.PoolLabelKey + "=" + p.Name }

// Decorator is how a step asks for this pool.
func (p Pool) Decorator() string {
	switch {
	case p.Default:
		return "@kubernetes"
	case p.GPU:
		return fmt.Sprintf("@kubernetes(gpu=1, node_selector=%q)", p.SelectorString())
	default:
		return fmt.Sprintf("@kubernetes(node_selector=%q)", p.SelectorString())
	}
}

// FromSettings returns the general task pool first, then the extra pools in settings order.
func FromSettings(s *settings.Settings) []Pool {
	task := s.AKS.TaskPool
	pools := []Pool{{
		Name: settings.TaskPoolName, Default: true, VMSize: task.VMSize, MinCount: task.MinCount, MaxCount: task.MaxCount,
		Labels: map[string]string{settings.PoolLabelKey: settings.TaskPoolName},
		Taints: []Taint{{Key: taskTaintKey, Value: taskTaintValue, Effect: Effect}},
	}}
	for _, x := range s.AKS.ExtraPools {
		p := Pool{
			Name: x.Name, VMSize: x.VMSize, MinCount: x.MinCount, MaxCount: x.MaxCount,
			Spot: x.Spot, SpotMaxPrice: x.SpotMaxPrice, GPU: x.GPU,
			Labels: map[string]string{},
			// Each pool has its own taint, so a step that selects one pool cannot be placed
			// on another by a toleration it needs for the first.
			Taints: []Taint{{Key: settings.PoolLabelKey, Value: x.Name, Effect: Effect}},
		}
		maps.Copy(p.Labels, x.Labels)
		p.Labels[settings.PoolLabelKey] = x.Name
		if x.GPU {
			p.Labels[settings.PoolGPULabelKey] = "true"
		}
		if x.Spot {
			// AKS sets the Spot label and taint on a Spot pool itself and reports them in the
			// pool's nodeLabels and nodeTaints (azurefacts.SpotSource); declaring the same
			// values keeps every later PUT from asking AKS to remove them.
			p.Labels[azurefacts.SpotLabelKey] = azurefacts.SpotLabelValue
			p.Taints = append(p.Taints, ParseTaint(azurefacts.SpotTaint))
		}
		for _, t := range x.Taints {
			p.Taints = append(p.Taints, ParseTaint(t))
		}
		pools = append(pools, p)
	}
	return pools
}

// Default is the general task pool.
func Default(pools []Pool) Pool {
	i := slices.IndexFunc(pools, func(p Pool) bool { return p.Default })
	return pools[i]
}

// Tolerations tolerate every taint of every task pool, so a step that selects a pool can land
// there; the default node selector, not the taints, keeps plain steps on the general pool.
func Tolerations(pools []Pool) []metaflowconfig.Toleration {
	var out []metaflowconfig.Toleration
	seen := map[Taint]bool{}
	for _, p := range pools {
		for _, t := range p.Taints {
			if !seen[t] {
				seen[t] = true
				out = append(out, t.Toleration())
			}
		}
	}
	return out
}

// GPU returns the GPU pools.
func GPU(pools []Pool) []Pool {
	var out []Pool
	for _, p := range pools {
		if p.GPU {
			out = append(out, p)
		}
	}
	return out
}

// TaintStrings lists a pool's taints as AKS takes them.
func (p Pool) TaintStrings() []string {
	out := make([]string, len(p.Taints))
	for i, t := range p.Taints {
		out[i] = t.String()
	}
	return out
}
