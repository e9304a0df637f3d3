package settings

import (
	"fmt"
	"strings"
	"testing"
)

func aksWith(extraPools string) map[string]string {
	return with(map[string]string{"metaflow-azure:aks": `{"extraPools":` + extraPools + `}`})
}

func TestExtraPoolsDefaults(t *testing.T) {
	t.Parallel()
	s, err := load(aksWith(`[{"name":"gpu","vmSize":"Standard_NC24ads_A100_v4","maxCount":2,"gpu":true},{"name":"spot","vmSize":"Standard_D16ds_v5","maxCount":20,"spot":true}]`))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(s.AKS.ExtraPools) != 2 {
		t.Fatalf("extra pools: %+v", s.AKS.ExtraPools)
	}
	gpu, spot := s.AKS.ExtraPools[0], s.AKS.ExtraPools[1]
	if gpu.MinCount != 0 || gpu.Spot || !gpu.GPU || len(gpu.Labels) != 0 || len(gpu.Taints) != 0 {
		t.Errorf("gpu pool defaults: %+v", gpu)
	}
	if spot.SpotMaxPrice != -1 {
		t.Errorf("spotMaxPrice default = %v, want -1 (up to on-demand)", spot.SpotMaxPrice)
	}
	if gpu.SpotMaxPrice != -1 {
		t.Errorf("a non-Spot pool's spotMaxPrice default = %v, want -1", gpu.SpotMaxPrice)
	}
	if s, err := load(minimal()); err != nil || len(s.AKS.ExtraPools) != 0 {
		t.Errorf("default stack has extra pools: %+v, %v", s, err)
	}
	s, err = load(aksWith(`[{"name":"spot","vmSize":"Standard_D16ds_v5","maxCount":20,"spot":true,"spotMaxPrice":0.98765}]`))
	if err != nil || s.AKS.ExtraPools[0].SpotMaxPrice != 0.98765 {
		t.Errorf("a five-decimal max price was not read: %+v, %v", s, err)
	}
}

func TestExtraPoolsRejects(t *testing.T) {
	t.Parallel()
	ok := `{"name":"gpu","vmSize":"Standard_NC24ads_A100_v4","maxCount":2,"gpu":true}`
	tests := []struct {
		name    string
		config  map[string]string
		key     string
		message string
	}{
		{"name missing", aksWith(`[{"vmSize":"Standard_D8ds_v5","maxCount":2}]`), "aks.extraPools[0].name", "is required"},
		{"name upper case", aksWith(`[{"name":"GPU","vmSize":"Standard_D8ds_v5","maxCount":2}]`), "aks.extraPools[0].name", "1–12 lowercase"},
		{"name too long", aksWith(`[{"name":"abcdefghijklm","vmSize":"Standard_D8ds_v5","maxCount":2}]`), "aks.extraPools[0].name", "1–12 lowercase"},
		{"name digit first", aksWith(`[{"name":"1gpu","vmSize":"Standard_D8ds_v5","maxCount":2}]`), "aks.extraPools[0].name", "starting with a letter"},
		{"name twice", aksWith(`[` + ok + `,` + ok + `]`), "aks.extraPools[1].name", "already the name of aks.extraPools[0]"},
		{"name of the task pool", aksWith(`[{"name":"tasks","vmSize":"Standard_D8ds_v5","maxCount":2}]`), "aks.extraPools[0].name", "already the name of aks.taskPool"},
		{"name of the system pool", aksWith(`[{"name":"system","vmSize":"Standard_D8ds_v5","maxCount":2}]`), "aks.extraPools[0].name", "already the name of aks.systemPool"},
		{"vm size", aksWith(`[{"name":"big","vmSize":"D8ds_v5","maxCount":2}]`), "aks.extraPools[0].vmSize", "not an Azure VM size"},
		{"max missing", aksWith(`[{"name":"big","vmSize":"Standard_D8ds_v5"}]`), "aks.extraPools[0].maxCount", "between 1 and 1000"},
		{"max over the per-pool limit", aksWith(`[{"name":"big","vmSize":"Standard_D8ds_v5","maxCount":1001}]`), "aks.extraPools[0].maxCount", "between 1 and 1000"},
		{"min negative", aksWith(`[{"name":"big","vmSize":"Standard_D8ds_v5","minCount":-1,"maxCount":2}]`), "aks.extraPools[0].minCount", "between 0 and 1000"},
		{"min above max", aksWith(`[{"name":"big","vmSize":"Standard_D8ds_v5","minCount":3,"maxCount":2}]`), "aks.extraPools[0].minCount", "at most maxCount"},
		{"gpu on a cpu size", aksWith(`[{"name":"gpu","vmSize":"Standard_D8ds_v5","maxCount":2,"gpu":true}]`), "aks.extraPools[0].gpu", "not a size of an NVIDIA GPU series"},
		{"gpu on an AMD gpu size", aksWith(`[{"name":"gpu","vmSize":"Standard_NV32as_v4","maxCount":2,"gpu":true}]`), "aks.extraPools[0].gpu", "NCasT4_v3, NC_A100_v4"},
		{"gpu on a retired series", aksWith(`[{"name":"gpu","vmSize":"Standard_NC6s_v3","maxCount":2,"gpu":true}]`), "aks.extraPools[0].gpu", "not a size of an NVIDIA GPU series"},
		{"max price without spot", aksWith(`[{"name":"big","vmSize":"Standard_D8ds_v5","maxCount":2,"spotMaxPrice":0.5}]`), "aks.extraPools[0].spotMaxPrice", "Spot pools only"},
		{"max price zero", aksWith(`[{"name":"spot","vmSize":"Standard_D8ds_v5","maxCount":2,"spot":true,"spotMaxPrice":0}]`), "aks.extraPools[0].spotMaxPrice", "-1 (pay up to the on-demand price) or a positive"},
		{"max price six decimals", aksWith(`[{"name":"spot","vmSize":"Standard_D8ds_v5","maxCount":2,"spot":true,"spotMaxPrice":0.123456}]`), "aks.extraPools[0].spotMaxPrice", "up to 5 decimal places"},
		{"max price not a number", aksWith(`[{"name":"spot","vmSize":"Standard_D8ds_v5","maxCount":2,"spot":true,"spotMaxPrice":"cheap"}]`), "aks.extraPools[0].spotMaxPrice", "must be a number"},
		{"label with a reserved prefix", aksWith(`[{"name":"big","vmSize":"Standard_D8ds_v5","maxCount":2,"labels":{"kubernetes.azure.com/scalesetpriority":"spot"}}]`), "aks.extraPools[0].labels", "AKS reserves"},
		{"label the stack sets", aksWith(`[{"name":"big","vmSize":"Standard_D8ds_v5","maxCount":2,"labels":{"metaflow.org/pool":"other"}}]`), "aks.extraPools[0].labels", "set by the stack"},
		{"label key syntax", aksWith(`[{"name":"big","vmSize":"Standard_D8ds_v5","maxCount":2,"labels":{"-team":"ml"}}]`), "aks.extraPools[0].labels", "not a Kubernetes label key"},
		{"label value", aksWith(`[{"name":"big","vmSize":"Standard_D8ds_v5","maxCount":2,"labels":{"team":"a b"}}]`), "aks.extraPools[0].labels.team", "not a Kubernetes label value"},
		{"taint without effect", aksWith(`[{"name":"big","vmSize":"Standard_D8ds_v5","maxCount":2,"taints":["team=ml"]}]`), "aks.extraPools[0].taints[0]", "key=value:Effect"},
		{"taint with a reserved key", aksWith(`[{"name":"big","vmSize":"Standard_D8ds_v5","maxCount":2,"taints":["kubernetes.io/x=y:NoSchedule"]}]`), "aks.extraPools[0].taints[0]", "AKS reserves"},
		{"subnet too small for the extra pools", with(map[string]string{
			"metaflow-azure:network": `{"aksSubnetCidr":"10.40.0.0/26"}`,
			"metaflow-azure:aks":     `{"systemPool":{"maxCount":2},"taskPool":{"maxCount":10},"extraPools":[{"name":"big","vmSize":"Standard_D8ds_v5","maxCount":50}]}`,
		}), "network.aksSubnetCidr", "aks.extraPools[0].maxCount 50 + 3 upgrade surge nodes"},
		{"pod range too small for the extra pools", with(map[string]string{
			"metaflow-azure:network": `{"podCidr":"10.244.0.0/22"}`,
			"metaflow-azure:aks":     `{"systemPool":{"maxCount":1},"taskPool":{"maxCount":1},"extraPools":[{"name":"big","vmSize":"Standard_D8ds_v5","maxCount":2}]}`,
		}), "network.podCidr", "may reach 7"},
		{"more nodes than a cluster may have", with(map[string]string{
			"metaflow-azure:network": `{"vnetCidr":"10.0.0.0/8","aksSubnetCidr":"10.0.0.0/16","postgresSubnetCidr":"10.1.0.0/24","podCidr":"172.16.0.0/12","serviceCidr":"192.168.0.0/16"}`,
			"metaflow-azure:aks":     `{"extraPools":[{"name":"a","vmSize":"Standard_D8ds_v5","maxCount":1000},{"name":"b","vmSize":"Standard_D8ds_v5","maxCount":1000},{"name":"c","vmSize":"Standard_D8ds_v5","maxCount":1000},{"name":"d","vmSize":"Standard_D8ds_v5","maxCount":1000},{"name":"e","vmSize":"Standard_D8ds_v5","maxCount":1000}]}`,
		}), "aks.extraPools", "AKS allows 5000 per cluster"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(tt.config)
			if !hasFieldError(err, "metaflow-azure:"+tt.key, tt.message) {
				t.Errorf("want an error at %s containing %q, got:\n%v", tt.key, tt.message, err)
			}
		})
	}
}

// TestSpotPoolsNeedNoSurgeAddress: the subnet check counts an upgrade surge node for every pool
// but a Spot pool, which AKS upgrades without one.
func TestSpotPoolsNeedNoSurgeAddress(t *testing.T) {
	t.Parallel()
	// /27: 32 - 5 = 27 usable. system 2 + tasks 10 + spot 13 = 25 nodes, + 2 surge = 27.
	cfg := func(spot bool) map[string]string {
		return with(map[string]string{
			"metaflow-azure:network": `{"aksSubnetCidr":"10.40.0.0/27"}`,
			"metaflow-azure:aks":     `{"systemPool":{"maxCount":2},"taskPool":{"maxCount":10},"extraPools":[{"name":"spot","vmSize":"Standard_D8ds_v5","maxCount":13,"spot":` + map[bool]string{true: "true", false: "false"}[spot] + `}]}`,
		})
	}
	if _, err := load(cfg(true)); err != nil {
		t.Errorf("a Spot pool was counted with a surge node: %v", err)
	}
	if _, err := load(cfg(false)); err == nil || !strings.Contains(err.Error(), "28 (") {
		t.Errorf("a regular pool of the same size must need one more address (28), got %v", err)
	}
}

func TestExtraPoolsCountLimit(t *testing.T) {
	t.Parallel()
	var pools []string
	for i := range 99 {
		pools = append(pools, fmt.Sprintf(`{"name":"p%d","vmSize":"Standard_D8ds_v5","maxCount":1}`, i))
	}
	_, err := load(aksWith("[" + strings.Join(pools, ",") + "]"))
	if !hasFieldError(err, "metaflow-azure:aks.extraPools", "AKS allows 100 node pools per cluster") {
		t.Errorf("99 extra pools (101 in all) were not refused: %v", err)
	}
	if _, err := load(aksWith("[" + strings.Join(pools[:98], ",") + "]")); err != nil {
		t.Errorf("98 extra pools (100 in all) were refused: %v", err)
	}
}
