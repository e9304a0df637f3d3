package settings

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"metaflow-azure/internal/azurefacts"
)

// Names the stack gives its own pools; an extra pool may not take them.
const (
	SystemPoolName = "system"
	TaskPoolName   = "tasks"
)

// PoolLabelKey labels every task pool's nodes with the pool's name; steps select a pool with
// it. PoolGPULabelKey marks GPU pools for the NVIDIA device plugin.
const (
	PoolLabelKey    = "metaflow.org/pool"
	PoolGPULabelKey = "metaflow.org/gpu"
)

var (
	// AKS node pool names (internal/naming's nodePoolRule): Linux pools 1–12 characters.
	extraPoolNameRe = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)
	// Kubernetes' taint effects (k8s.io/api/core/v1).
	taintEffects = []string{string(corev1.TaintEffectNoSchedule), string(corev1.TaintEffectPreferNoSchedule), string(corev1.TaintEffectNoExecute)}
)

func (p *problems) extraPools(a *AKS) {
	seen := map[string]string{SystemPoolName: "aks.systemPool", TaskPoolName: "aks.taskPool"}
	for i, x := range a.ExtraPools {
		path := fmt.Sprintf("aks.extraPools[%d]", i)
		switch {
		case x.Name == "":
			p.add(path+".name", "is required: 1–12 lowercase letters and digits, starting with a letter; steps select the pool with %s=<name>", PoolLabelKey)
		case !extraPoolNameRe.MatchString(x.Name):
			p.add(path+".name", "%q must be 1–12 lowercase letters and digits, starting with a letter (AKS node pool names)", x.Name)
		case seen[x.Name] != "":
			p.add(path+".name", "%q is already the name of %s; pool names must be unique", x.Name, seen[x.Name])
		default:
			seen[x.Name] = path
		}
		if x.VMSize == "" || !vmSizeRe.MatchString(x.VMSize) {
			p.add(path+".vmSize", "%q is not an Azure VM size such as Standard_NC24ads_A100_v4", x.VMSize)
		}
		if x.MinCount < 0 || x.MinCount > maxPoolNodes {
			p.add(path+".minCount", "%d must be between 0 and %d", x.MinCount, maxPoolNodes)
		}
		if x.MaxCount < 1 || x.MaxCount > maxPoolNodes {
			p.add(path+".maxCount", "%d must be between 1 and %d (%s)", x.MaxCount, maxPoolNodes, azurefacts.NodePoolLimitsSource)
		} else if x.MinCount > x.MaxCount {
			p.add(path+".minCount", "%d is larger than %s.maxCount %d; minCount must be at most maxCount", x.MinCount, path, x.MaxCount)
		}
		p.spotPrice(path, x)
		if x.GPU {
			if _, ok := azurefacts.LookupNVIDIAGPUSize(x.VMSize); !ok {
				p.add(path+".gpu", "is true but vmSize %q is not a size of an NVIDIA GPU series the stack knows (%s: %s); use one of their sizes or set gpu to false", x.VMSize,
					strings.Join(azurefacts.NVIDIAGPUSeriesNames(), ", "), gpuSizes())
			}
		}
		p.poolLabels(path, x.Labels)
		p.poolTaints(path, x.Taints)
	}
	if n := 2 + len(a.ExtraPools); n > azurefacts.MaxNodePoolsPerCluster {
		p.add("aks.extraPools", "has %d pools; with the system and task pools that is %d, but AKS allows %d node pools per cluster", len(a.ExtraPools), n, azurefacts.MaxNodePoolsPerCluster)
	}
	if nodes, _, _ := poolNodes(a); nodes > azurefacts.MaxNodesPerCluster {
		p.add("aks.extraPools", "the pools' maxCounts add up to %d nodes, but AKS allows %d per cluster (%s)", nodes, azurefacts.MaxNodesPerCluster, azurefacts.NodePoolLimitsSource)
	}
}

// spotPrice: -1 (up to on-demand) or a positive price with up to five decimals, and only on
// Spot pools (azurefacts.SpotSource).
func (p *problems) spotPrice(path string, x ExtraPool) {
	price := x.SpotMaxPrice
	if !x.Spot {
		if price != azurefacts.SpotMaxPriceOnDemand {
			p.add(path+".spotMaxPrice", "%v is set but %s.spot is false; a max price applies to Spot pools only", price, path)
		}
		return
	}
	scaled := price * math.Pow10(azurefacts.SpotMaxPriceDecimals)
	if price != azurefacts.SpotMaxPriceOnDemand && (price <= 0 || math.Abs(scaled-math.Round(scaled)) > 1e-6) {
		p.add(path+".spotMaxPrice", "%v must be -1 (pay up to the on-demand price) or a positive USD price per hour with up to %d decimal places, e.g. 0.98765", price, azurefacts.SpotMaxPriceDecimals)
	}
}

func (p *problems) poolLabels(path string, labels map[string]string) {
	for _, k := range sortedStringKeys(labels) {
		if msg := labelKeyProblem(k); msg != "" {
			p.add(path+".labels", "key %q %s", k, msg)
			continue
		}
		if v := labels[k]; len(validation.IsValidLabelValue(v)) > 0 {
			p.add(path+".labels."+k, "%q is not a Kubernetes label value: %s", v, strings.Join(validation.IsValidLabelValue(v), "; "))
		}
	}
}

func (p *problems) poolTaints(path string, taints []string) {
	for i, t := range taints {
		tpath := fmt.Sprintf("%s.taints[%d]", path, i)
		kv, effect, ok := strings.Cut(t, ":")
		key, value, _ := strings.Cut(kv, "=")
		switch {
		case !ok || !slices.Contains(taintEffects, effect):
			p.add(tpath, "%q must be key=value:Effect with Effect one of %s", t, strings.Join(taintEffects, ", "))
		case labelKeyProblem(key) != "":
			p.add(tpath, "%q: key %q %s", t, key, labelKeyProblem(key))
		case len(validation.IsValidLabelValue(value)) > 0:
			p.add(tpath, "%q: value %q is not a Kubernetes label value: %s", t, value, strings.Join(validation.IsValidLabelValue(value), "; "))
		}
	}
}

// labelKeyProblem says what is wrong with a label or taint key a user gives a pool, or "".
func labelKeyProblem(key string) string {
	// Kubernetes' own check (k8s.io/apimachinery, the version the module pins).
	switch errs := validation.IsQualifiedName(key); {
	case len(errs) > 0:
		return "is not a Kubernetes label key: " + strings.Join(errs, "; ")
	case key == PoolLabelKey || key == PoolGPULabelKey:
		return "is set by the stack itself"
	}
	for _, r := range azurefacts.ReservedLabelPrefixes() {
		if strings.HasPrefix(key, r) {
			return fmt.Sprintf("uses the prefix %s, which AKS reserves (%s)", r, azurefacts.ReservedLabelPrefixesSource)
		}
	}
	return ""
}

func gpuSizes() string {
	var sizes []string
	for _, s := range azurefacts.NVIDIAGPUSeries() {
		for size := range s.Sizes {
			sizes = append(sizes, size)
		}
	}
	slices.Sort(sizes)
	return strings.Join(sizes, ", ")
}
