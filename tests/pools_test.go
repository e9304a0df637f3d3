package tests

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/fakeazure"
	"metaflow-azure/internal/images"
	"metaflow-azure/internal/program"
)

// poolLabels returns an AgentPool's declared node labels.
func poolLabels(r *fakeazure.Resource) map[string]string {
	v, _ := prop(r.Inputs, "nodeLabels")
	return labelsOf(v)
}

// TestExtraPoolsAreUserPoolsThatScaleToZero checks every property of prod's GPU and Spot pools
// that decides where pods land, what they cost idle and what eviction does.
func TestExtraPoolsAreUserPoolsThatScaleToZero(t *testing.T) {
	t.Parallel()
	s := runStack(t, "prod")
	aksSubnet := s.one(tSubnet, "network-aks")
	for _, name := range []string{"gpu", "spot"} {
		p := s.one(tAgentPool, "aks-"+name)
		if got := str(p.Inputs, "agentPoolName"); got != name {
			t.Errorf("%s: agentPoolName %q", name, got)
		}
		if got := str(p.Inputs, "mode"); got != "User" {
			t.Errorf("%s: mode %q, want User (never System)", name, got)
		}
		if on, _ := boolean(p.Inputs, "enableAutoScaling"); !on {
			t.Errorf("%s: the autoscaler is off", name)
		}
		if got := num(p.Inputs, "minCount"); got != 0 {
			t.Errorf("%s: minCount %v, want 0 (scale to zero)", name, got)
		}
		if got := num(p.Inputs, "count"); got != 0 {
			t.Errorf("%s: count %v, want 0 at creation", name, got)
		}
		if !slices.Contains(p.IgnoreChanges, "count") {
			t.Errorf("%s: the autoscaler owns count, but it is not ignored", name)
		}
		if got := str(p.Inputs, "vnetSubnetID"); got != aksSubnet.ID {
			t.Errorf("%s: subnet %q", name, got)
		}
		if got := poolLabels(p)["metaflow.org/pool"]; got != name {
			t.Errorf("%s: label metaflow.org/pool=%q, want its name", name, got)
		}
		if taints := strings_(list(p.Inputs, "nodeTaints")); !slices.Contains(taints, "metaflow.org/pool="+name+":NoSchedule") {
			t.Errorf("%s: taints %v lack the pool's own taint", name, taints)
		}
	}
	gpu := s.one(tAgentPool, "aks-gpu")
	if got := str(gpu.Inputs, "vmSize"); got != "Standard_NC24ads_A100_v4" {
		t.Errorf("gpu: vmSize %q", got)
	}
	if _, ok := azurefacts.LookupNVIDIAGPUSize(str(gpu.Inputs, "vmSize")); !ok {
		t.Errorf("gpu pool's size is not an NVIDIA GPU size")
	}
	if got := num(gpu.Inputs, "maxCount"); got != 4 {
		t.Errorf("gpu: maxCount %v", got)
	}
	if got := poolLabels(gpu)["metaflow.org/gpu"]; got != "true" {
		t.Errorf("gpu: label metaflow.org/gpu=%q, want true (the device plugin selects it)", got)
	}
	if got := str(gpu.Inputs, "scaleSetPriority"); got != "" {
		t.Errorf("gpu: scaleSetPriority %q, want Regular by default", got)
	}

	spot := s.one(tAgentPool, "aks-spot")
	if got := str(spot.Inputs, "scaleSetPriority"); got != azurefacts.SpotPriority {
		t.Errorf("spot: scaleSetPriority %q, want %s", got, azurefacts.SpotPriority)
	}
	if got := str(spot.Inputs, "scaleSetEvictionPolicy"); got != azurefacts.SpotEvictionDelete {
		t.Errorf("spot: scaleSetEvictionPolicy %q, want %s", got, azurefacts.SpotEvictionDelete)
	}
	// num reads a missing property as -1, so presence is checked first.
	if _, set := prop(spot.Inputs, "spotMaxPrice"); !set {
		t.Error("spot: spotMaxPrice is not set")
	} else if got := num(spot.Inputs, "spotMaxPrice"); got != azurefacts.SpotMaxPriceOnDemand {
		t.Errorf("spot: spotMaxPrice %v, want %v", got, azurefacts.SpotMaxPriceOnDemand)
	}
	if got := num(spot.Inputs, "maxCount"); got != 50 {
		t.Errorf("spot: maxCount %v", got)
	}
	if taints := strings_(list(spot.Inputs, "nodeTaints")); !slices.Contains(taints, azurefacts.SpotTaint) {
		t.Errorf("spot: taints %v lack AKS's Spot taint %s", taints, azurefacts.SpotTaint)
	}
	if got := poolLabels(spot)[azurefacts.SpotLabelKey]; got != azurefacts.SpotLabelValue {
		t.Errorf("spot: label %s=%q, want %s", azurefacts.SpotLabelKey, got, azurefacts.SpotLabelValue)
	}
	if _, ok := poolLabels(spot)["metaflow.org/gpu"]; ok {
		t.Error("spot: labelled as a GPU pool")
	}
}

// TestDevIdleNodesUnchanged: dev has no extra pools, so its idle footprint stays the system
// pool's minimum and the task pool's zero.
func TestDevIdleNodesUnchanged(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	pools := s.all(tAgentPool)
	if len(pools) != 1 || pools[0].Name != "aks-tasks" {
		t.Fatalf("dev declares agent pools %v, want only the task pool", pools)
	}
	if got := num(pools[0].Inputs, "minCount"); got != 0 {
		t.Errorf("dev task pool minCount %v, want 0", got)
	}
	sys := list(s.one(tCluster, "aks").Inputs, "agentPoolProfiles")[0].ObjectValue()
	if got := num(sys, "minCount"); got != 1 {
		t.Errorf("dev system pool minCount %v, want 1", got)
	}
	if ds := s.kinds("DaemonSet"); len(ds) != 0 {
		t.Errorf("dev declares DaemonSets %v without a GPU pool", ds)
	}
}

// TestProfileTargetsEveryPool: the profile tolerates every taint of every task pool, its
// default node selector matches the general task pool only, and each pool's selector (in the
// taskPools output) matches its own labels.
func TestProfileTargetsEveryPool(t *testing.T) {
	t.Parallel()
	s := runStack(t, "prod")
	var cfg map[string]string
	if err := json.Unmarshal([]byte(s.outputs[program.OutputMetaflowConfig].Value.(string)), &cfg); err != nil {
		t.Fatal(err)
	}
	var tol []map[string]string
	if err := json.Unmarshal([]byte(cfg["METAFLOW_KUBERNETES_TOLERATIONS"]), &tol); err != nil {
		t.Fatal(err)
	}
	tolerated := map[string]bool{}
	for _, x := range tol {
		if x["operator"] != "Equal" {
			t.Errorf("toleration %v is not an exact match", x)
		}
		tolerated[x["key"]+"="+x["value"]+":"+x["effect"]] = true
	}
	pools := s.all(tAgentPool)
	if len(pools) != 3 {
		t.Fatalf("prod declares %d agent pools, want tasks, gpu and spot", len(pools))
	}
	selector := map[string]string{}
	for _, kv := range strings.Split(cfg["METAFLOW_KUBERNETES_NODE_SELECTOR"], ",") {
		k, v, _ := strings.Cut(kv, "=")
		selector[k] = v
	}
	for _, p := range pools {
		for _, taint := range strings_(list(p.Inputs, "nodeTaints")) {
			if !tolerated[taint] {
				t.Errorf("the profile does not tolerate %s of pool %s", taint, p.Name)
			}
		}
		matches := true
		for k, v := range selector {
			matches = matches && poolLabels(p)[k] == v
		}
		if want := p.Name == "aks-tasks"; matches != want {
			t.Errorf("default node selector %v matches pool %s: %v, want %v", selector, p.Name, matches, want)
		}
	}
	out := s.outputs[program.OutputTaskPools].Value.([]any)
	if len(out) != 3 {
		t.Fatalf("taskPools output %v", out)
	}
	for _, o := range out {
		m := o.(map[string]any)
		p := s.one(tAgentPool, "aks-"+m["name"].(string))
		k, v, _ := strings.Cut(m["nodeSelector"].(string), "=")
		if poolLabels(p)[k] != v {
			t.Errorf("taskPools %s: selector %s does not match the pool's labels %v", m["name"], m["nodeSelector"], poolLabels(p))
		}
		if m["vmSize"] != str(p.Inputs, "vmSize") {
			t.Errorf("taskPools %s: vmSize %v", m["name"], m["vmSize"])
		}
		if spot := str(p.Inputs, "scaleSetPriority") == "Spot"; m["spot"] != spot {
			t.Errorf("taskPools %s: spot %v, pool priority %q", m["name"], m["spot"], str(p.Inputs, "scaleSetPriority"))
		}
		if gpu := poolLabels(p)["metaflow.org/gpu"] == "true"; m["gpu"] != gpu {
			t.Errorf("taskPools %s: gpu %v", m["name"], m["gpu"])
		}
		if !strings.Contains(m["decorator"].(string), "@kubernetes") {
			t.Errorf("taskPools %s: decorator %v", m["name"], m["decorator"])
		}
	}
}

// TestDevicePluginRunsOnGPUPoolsOnly: NVIDIA's plugin, pinned, selects the GPU pools' nodes and
// no other pool's, and tolerates exactly what it needs to land there.
func TestDevicePluginRunsOnGPUPoolsOnly(t *testing.T) {
	t.Parallel()
	s := runStack(t, "prod")
	ds := s.k8s("DaemonSet", "kube-system", "nvidia-device-plugin")
	c := list(ds.Inputs, "spec.template.spec.containers")[0].ObjectValue()
	if got := str(c, "image"); got != images.DevicePluginImage {
		t.Errorf("image %q, want %s", got, images.DevicePluginImage)
	}
	mount := list(c, "volumeMounts")[0].ObjectValue()
	vol := list(ds.Inputs, "spec.template.spec.volumes")[0].ObjectValue()
	if str(mount, "mountPath") != images.DevicePluginDir || str(vol, "hostPath.path") != images.DevicePluginDir || str(mount, "name") != str(vol, "name") {
		t.Errorf("device plugin directory: mount %v, volume %v", mount, vol)
	}
	if got := str(ds.Inputs, "spec.template.spec.priorityClassName"); got != images.DevicePluginPriorityClass {
		t.Errorf("priorityClassName %q", got)
	}
	v, _ := prop(ds.Inputs, "spec.template.spec.nodeSelector")
	sel := labelsOf(v)
	if len(sel) == 0 {
		t.Fatal("the device plugin has no nodeSelector: it would run on every node")
	}
	tolerated := map[string]bool{}
	for _, x := range list(ds.Inputs, "spec.template.spec.tolerations") {
		m := x.ObjectValue()
		tolerated[str(m, "key")+"="+str(m, "value")+":"+str(m, "effect")] = true
	}
	for _, p := range s.all(tAgentPool) {
		matches := true
		for k, v := range sel {
			matches = matches && poolLabels(p)[k] == v
		}
		gpu := p.Name == "aks-gpu"
		if matches != gpu {
			t.Errorf("device plugin selector %v matches pool %s: %v, want %v", sel, p.Name, matches, gpu)
		}
		if gpu {
			for _, taint := range strings_(list(p.Inputs, "nodeTaints")) {
				if !tolerated[taint] {
					t.Errorf("the device plugin does not tolerate %s of the GPU pool", taint)
				}
			}
		}
	}
	if len(tolerated) != 1 {
		t.Errorf("the device plugin tolerates %v; it needs only the GPU pool's taint", tolerated)
	}
}

// TestBadExtraPoolIsRefusedBeforeAnyResource: a GPU pool on a CPU size is a settings error.
func TestBadExtraPoolIsRefusedBeforeAnyResource(t *testing.T) {
	t.Parallel()
	s, err := tryStack("prod", `aks.extraPools=[{"name":"gpu","vmSize":"Standard_D8ds_v5","maxCount":2,"gpu":true}]`)
	if err == nil || !strings.Contains(err.Error(), "metaflow-azure:aks.extraPools[0].gpu") {
		t.Fatalf("want a settings error naming aks.extraPools[0].gpu, got %v", err)
	}
	if s != nil && len(s.fake.Resources()) != 0 {
		t.Errorf("resources were declared before the refusal")
	}
}
