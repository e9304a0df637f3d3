// Package dbpool sizes the Metaflow services' PostgreSQL connection pools so that every pod
// that can be running at once, plus a migration run, stays within the server's connection
// limit. The limits are Microsoft's table; what each process opens comes from package images.
// It imports no SDK.
package dbpool

import (
	"fmt"
	"strings"

	"metaflow-azure/internal/images"
)

// ReservedConnections are the slots Azure keeps for physical replication and monitoring; the
// "maximum user connections" of Microsoft's table are max_connections minus these.
const ReservedConnections = 15

// RolloutSurge is the extra pod per service a rolling update starts before an old one stops
// (the Deployments' maxSurge), so a rollout briefly runs replicas+RolloutSurge pods.
const RolloutSurge = 1

// maxConnections is the default max_connections per compute size, from "Limits in Azure
// Database for PostgreSQL", section "Maximum connections": MicrosoftDocs/azure-databases-docs
// articles/postgresql/configure-maintain/concepts-limits.md lines 20-54 (ms.date 11/13/2025,
// commit 0200b8f33c43283e8c247f6c6352626cfab38bab), i.e.
// https://learn.microsoft.com/azure/postgresql/configure-maintain/concepts-limits.
// Keys are the size without the tier prefix, lower case.
var maxConnections = map[string]int{
	// Burstable
	"b1ms": 50, "b2s": 429, "b2ms": 859, "b4ms": 1718, "b8ms": 3437,
	"b12ms": 5000, "b16ms": 5000, "b20ms": 5000,
}

func init() {
	// General Purpose and Memory Optimized: one row per vCore count, the same limit for each
	// series in the row.
	rows := []struct {
		family string
		vcores []int
		limits []int
		series []string
	}{
		{"d", []int{2, 4, 8, 16, 32, 48, 64}, []int{859, 1718, 3437, 5000, 5000, 5000, 5000}, []string{"s_v3", "ds_v4", "ds_v5", "ads_v5"}},
		{"d", []int{96}, []int{5000}, []string{"ds_v5", "ads_v5"}},
		{"e", []int{2, 4, 8, 16, 32, 48, 64}, []int{1718, 3437, 5000, 5000, 5000, 5000, 5000}, []string{"s_v3", "ds_v4", "ds_v5", "ads_v5"}},
		{"e", []int{20}, []int{5000}, []string{"ds_v4", "ds_v5", "ads_v5"}},
		{"e", []int{96}, []int{5000}, []string{"ds_v5", "ads_v5"}},
	}
	for _, r := range rows {
		for i, n := range r.vcores {
			for _, s := range r.series {
				maxConnections[fmt.Sprintf("%s%d%s", r.family, n, s)] = r.limits[i]
			}
		}
	}
}

// MaxConnections is the default max_connections of a SKU as the stack writes it
// ("B_Standard_B1ms", "GP_Standard_D4ds_v5"); false when Microsoft's table does not list it.
func MaxConnections(sku string) (int, bool) {
	_, size, ok := strings.Cut(sku, "_Standard_")
	if !ok {
		return 0, false
	}
	n, ok := maxConnections[strings.ToLower(size)]
	return n, ok
}

// PoolsPerPod is how many pools one pod of each service opens, summed over the two services
// that connect (the metadata service and the UI backend).
const PoolsPerPod = images.MetadataPools + images.UIBackendPools

// Plan is the pool size every service process gets and the arithmetic behind it.
type Plan struct {
	// PoolMax is MF_METADATA_DB_POOL_MAX for every process (its pools each open at most this).
	PoolMax int
	// PodsPerService is replicas plus the rollout surge.
	PodsPerService int
	// Connections is the most the stack can hold at once; Available what the SKU allows.
	Connections int
	Available   int
}

// Size returns the largest pool size, up to metaflow-service's own default, for which every pod
// of both services during a rollout plus a migration run fit into the SKU's user connections.
// The error says why nothing fits.
func Size(replicas int, sku string) (Plan, error) {
	limit, ok := MaxConnections(sku)
	if !ok {
		return Plan{}, fmt.Errorf("%q is not in Microsoft's max_connections table", sku)
	}
	p := Plan{PodsPerService: replicas + RolloutSurge, Available: limit - ReservedConnections}
	need := func(pool int) int { return p.PodsPerService*PoolsPerPod*pool + images.MigrationConnections }
	if need(1) > p.Available {
		return Plan{}, fmt.Errorf("%d pods per service during a rollout (replicas + %d) × %d pools × at least 1 connection + %d for migrations = %d connections, but %s allows %d user connections (max_connections %d − %d reserved by Azure)",
			p.PodsPerService, RolloutSurge, PoolsPerPod, images.MigrationConnections, need(1), sku, p.Available, limit, ReservedConnections)
	}
	for p.PoolMax = images.DefaultDBPoolMax; need(p.PoolMax) > p.Available; p.PoolMax-- {
	}
	p.Connections = need(p.PoolMax)
	return p, nil
}
