package azurefacts

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestGPUSeriesCiteTheirPages: every series names Microsoft's page it was read from, has sizes
// with a GPU count, and only NVIDIA GPUs (the stack's device plugin is NVIDIA's).
func TestGPUSeriesCiteTheirPages(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, s := range NVIDIAGPUSeries() {
		if !strings.HasPrefix(s.Source, "MicrosoftDocs/azure-compute-docs ") || !strings.Contains(s.Source, " @ ") {
			t.Errorf("series %s: source %q is not a Microsoft page at a commit", s.Series, s.Source)
		}
		if !strings.HasPrefix(s.GPU, "NVIDIA ") {
			t.Errorf("series %s: GPU %q is not NVIDIA", s.Series, s.GPU)
		}
		if len(s.Sizes) == 0 {
			t.Errorf("series %s has no sizes", s.Series)
		}
		for size, gpus := range s.Sizes {
			if !strings.HasPrefix(size, "Standard_N") || gpus < 1 {
				t.Errorf("series %s: size %s with %d GPUs is not an N-family GPU size", s.Series, size, gpus)
			}
			if other := seen[size]; other != "" {
				t.Errorf("size %s is in %s and %s", size, other, s.Series)
			}
			seen[size] = s.Series
			if got, ok := LookupNVIDIAGPUSize(size); !ok || got.Series != s.Series {
				t.Errorf("LookupNVIDIAGPUSize(%s) = %s, %v", size, got.Series, ok)
			}
		}
	}
	for _, notGPU := range []string{"Standard_D8ds_v5", "Standard_NV32as_v4", "Standard_NC6s_v3", ""} {
		if s, ok := LookupNVIDIAGPUSize(notGPU); ok {
			t.Errorf("%q taken for an NVIDIA GPU size of %s", notGPU, s.Series)
		}
	}
}

// TestSpotFactsAgree: the taint is built from the label as Microsoft documents them together.
func TestSpotFactsAgree(t *testing.T) {
	t.Parallel()
	if SpotTaint != "kubernetes.azure.com/scalesetpriority=spot:NoSchedule" {
		t.Errorf("SpotTaint = %q", SpotTaint)
	}
	for _, src := range []string{NodePoolLimitsSource, SpotSource, GPUSource, ReservedLabelPrefixesSource} {
		if !strings.Contains(src, "MicrosoftDocs/") || !strings.Contains(src, " @ ") {
			t.Errorf("source %q names no Microsoft repository at a commit", src)
		}
	}
}

// TestEverySupportedMinorHasACiliumVersion: new clusters run Azure CNI powered by Cilium, so
// every Kubernetes minor a stack may be created with must be in Microsoft's Cilium table.
func TestEverySupportedMinorHasACiliumVersion(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, time.December, 4, 0, 0, 0, 0, time.UTC)
	minors := SupportedKubernetesMinors(day)
	if len(minors) == 0 {
		t.Fatal("no supported minor")
	}
	for _, m := range minors {
		minor, _ := strconv.Atoi(strings.TrimPrefix(m, "1."))
		if v, ok := CiliumMinimumVersion(minor); !ok || !strings.HasPrefix(v, "1.") {
			t.Errorf("Kubernetes %s has no Cilium version in %s", m, CiliumSource)
		}
	}
	if _, ok := CiliumMinimumVersion(37); ok {
		t.Error("1.37 (preview) is not in Microsoft's table")
	}
}
