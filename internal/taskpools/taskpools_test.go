package taskpools

import (
	"slices"
	"testing"
	"time"

	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/metaflowconfig"
	"metaflow-azure/internal/settings"
)

func load(t *testing.T, aks string) []Pool {
	t.Helper()
	s, err := settings.LoadOn(settings.Project, map[string]string{
		"metaflow-azure:location": "westeurope", "metaflow-azure:namePrefix": "acme", "metaflow-azure:aks": aks,
	}, time.Date(2026, time.November, 25, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return FromSettings(s)
}

const gpuAndSpot = `{"extraPools":[
 {"name":"gpu","vmSize":"Standard_NC24ads_A100_v4","maxCount":2,"gpu":true,"labels":{"team":"ml"}},
 {"name":"spot","vmSize":"Standard_D16ds_v5","maxCount":20,"spot":true,"taints":["team=ml:NoSchedule"]}]}`

func TestPoolsLabelsAndTaints(t *testing.T) {
	t.Parallel()
	pools := load(t, gpuAndSpot)
	if len(pools) != 3 {
		t.Fatalf("pools: %+v", pools)
	}
	task, gpu, spot := pools[0], pools[1], pools[2]
	if !task.Default || task.Name != "tasks" || task.Labels["metaflow.org/pool"] != "tasks" ||
		!slices.Equal(task.TaintStrings(), []string{"metaflow.org/tasks=true:NoSchedule"}) {
		t.Errorf("general task pool: %+v", task)
	}
	if gpu.Default || gpu.Labels["metaflow.org/pool"] != "gpu" {
		t.Errorf("gpu pool is not labelled with its name: %v", gpu.Labels)
	}
	if gpu.Labels["metaflow.org/gpu"] != "true" {
		t.Errorf("gpu pool lacks the label the device plugin selects: %v", gpu.Labels)
	}
	if gpu.Labels["team"] != "ml" {
		t.Errorf("gpu pool lost the user's label: %v", gpu.Labels)
	}
	if !slices.Equal(gpu.TaintStrings(), []string{"metaflow.org/pool=gpu:NoSchedule"}) {
		t.Errorf("gpu pool taints: %v", gpu.TaintStrings())
	}
	if _, ok := gpu.Labels[azurefacts.SpotLabelKey]; ok {
		t.Errorf("a regular pool carries the Spot label: %v", gpu.Labels)
	}
	if spot.Labels[azurefacts.SpotLabelKey] != azurefacts.SpotLabelValue {
		t.Errorf("spot pool lacks AKS's Spot label: %v", spot.Labels)
	}
	if !slices.Equal(spot.TaintStrings(), []string{"metaflow.org/pool=spot:NoSchedule", azurefacts.SpotTaint, "team=ml:NoSchedule"}) {
		t.Errorf("spot pool taints: %v", spot.TaintStrings())
	}
	if !spot.Spot || spot.SpotMaxPrice != -1 || spot.MinCount != 0 {
		t.Errorf("spot pool: %+v", spot)
	}
}

// TestTolerationsCoverEveryTaint: the profile tolerates each taint of each pool, once.
func TestTolerationsCoverEveryTaint(t *testing.T) {
	t.Parallel()
	pools := load(t, gpuAndSpot)
	tol := Tolerations(pools)
	for _, p := range pools {
		for _, taint := range p.Taints {
			if !slices.Contains(tol, metaflowconfig.Toleration{Key: taint.Key, Operator: "Equal", Value: taint.Value, Effect: taint.Effect}) {
				t.Errorf("taint %s of pool %s is not tolerated: %+v", taint, p.Name, tol)
			}
		}
	}
	if len(tol) != 5 {
		t.Errorf("want 5 tolerations (tasks, gpu, spot pool, AKS spot, the user taint), got %d: %+v", len(tol), tol)
	}
	if got := Default(pools).Selector(); len(got) != 1 || got["metaflow.org/pool"] != "tasks" {
		t.Errorf("default selector %v", got)
	}
}

func TestDecorators(t *testing.T) {
	t.Parallel()
	pools := load(t, gpuAndSpot)
	for i, want := range []string{"@kubernetes", `@kubernetes(gpu=1, node_selector="metaflow.org/pool=gpu")`, `@kubernetes(node_selector="metaflow.org/pool=spot")`} {
		if got := pools[i].Decorator(); got != want {
			t.Errorf("pool %s decorator %s, want %s", pools[i].Name, got, want)
		}
	}
	if gpu := GPU(pools); len(gpu) != 1 || gpu[0].Name != "gpu" {
		t.Errorf("GPU pools: %+v", gpu)
	}
	if dev := load(t, `{}`); len(dev) != 1 || len(GPU(dev)) != 0 {
		t.Errorf("a stack without extra pools has only the task pool: %+v", dev)
	}
}
