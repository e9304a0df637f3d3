package dbpool

import (
	"strings"
	"testing"
)

func TestMaxConnectionsFromMicrosoftsTable(t *testing.T) {
	t.Parallel()
	for sku, want := range map[string]int{
		"B_Standard_B1ms": 50, "B_Standard_B2s": 429, "GP_Standard_D2ds_v5": 859, "GP_Standard_D4ds_v5": 1718,
		"GP_Standard_D2s_v3": 859, "GP_Standard_D96ads_v5": 5000, "MO_Standard_E2ds_v5": 1718, "MO_Standard_E20ds_v4": 5000,
	} {
		if got, ok := MaxConnections(sku); !ok || got != want {
			t.Errorf("MaxConnections(%q) = %d, %v; want %d", sku, got, ok, want)
		}
	}
	for _, sku := range []string{"GP_Standard_D3ds_v5", "B_Standard_B1s", "Standard_B1ms", "MO_Standard_E96s_v3"} {
		if _, ok := MaxConnections(sku); ok {
			t.Errorf("MaxConnections(%q): not in the table, but found", sku)
		}
	}
}

func TestSizeFitsEveryPodAndTheMigrations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		replicas int
		sku      string
		pool     int
	}{
		// 50 − 15 = 35 user connections; 3 pods × 7 pools × 1 + 2 = 23, × 2 would be 44.
		{"dev: B1ms, 2 replicas", 2, "B_Standard_B1ms", 1},
		{"B1ms at its largest replica count", 3, "B_Standard_B1ms", 1},
		{"default SKU gets upstream's default", 2, "GP_Standard_D2ds_v5", 10},
		{"prod", 3, "GP_Standard_D4ds_v5", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Size(tt.replicas, tt.sku)
			if err != nil {
				t.Fatalf("Size: %v", err)
			}
			if p.PoolMax != tt.pool {
				t.Errorf("PoolMax = %d, want %d (%+v)", p.PoolMax, tt.pool, p)
			}
			if p.Connections > p.Available || p.Connections != (tt.replicas+1)*7*p.PoolMax+2 {
				t.Errorf("connections %d do not fit or do not add up (%+v)", p.Connections, p)
			}
		})
	}
}

func TestSizeRefusesWhatCannotFit(t *testing.T) {
	t.Parallel()
	// 5 pods × 7 + 2 = 37 > 35.
	_, err := Size(4, "B_Standard_B1ms")
	if err == nil || !strings.Contains(err.Error(), "37 connections") || !strings.Contains(err.Error(), "35 user connections") {
		t.Errorf("Size(4, B1ms) = %v; want a refusal with the arithmetic", err)
	}
	if _, err := Size(2, "GP_Standard_D3ds_v5"); err == nil || !strings.Contains(err.Error(), "not in Microsoft's") {
		t.Errorf("unknown SKU: %v", err)
	}
}
