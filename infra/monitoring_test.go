package infra

import (
	"strings"
	"testing"
)

func TestContainerInsightsRuleName(t *testing.T) {
	t.Parallel()
	if got := ContainerInsightsRuleName("westeurope", "aks-acme-metaflow-prod"); got != "MSCI-westeurope-aks-acme-metaflow-prod" {
		t.Errorf("rule name %q", got)
	}
	long := ContainerInsightsRuleName("australiasoutheast", strings.Repeat("c", 63))
	if len(long) != 64 || !strings.HasPrefix(long, "MSCI-australiasoutheast-c") {
		t.Errorf("long rule name %q (%d characters), want Microsoft's 64-character cut", long, len(long))
	}
}

func TestAlertQueries(t *testing.T) {
	t.Parallel()
	q := NoRunningPodQuery("metaflow", "metadata-service")
	for _, want := range []string{"KubePodInventory", `Namespace == "metaflow"`, `ControllerName startswith "metadata-service-"`, `PodStatus == "Running"`, `ContainerStatus =~ "running"`, "summarize Count = dcount(Name)"} {
		if !strings.Contains(q, want) {
			t.Errorf("pod query lacks %q:\n%s", want, q)
		}
	}
	q = FailedSchedulingQuery("metaflow-jobs")
	for _, want := range []string{"KubeEvents", `Namespace == "metaflow-jobs"`, `Reason == "FailedScheduling"`, `ObjectKind == "Pod"`, "summarize Count = count()"} {
		if !strings.Contains(q, want) {
			t.Errorf("scheduling query lacks %q:\n%s", want, q)
		}
	}
	if ConnectionsThreshold(1703) != 1362 {
		t.Errorf("80 %% of 1703 user connections = %v, want 1362", ConnectionsThreshold(1703))
	}
}

func TestMaintenanceStartTime(t *testing.T) {
	t.Parallel()
	for hour, want := range map[int]string{0: "00:00", 2: "02:00", 23: "23:00"} {
		if got := (MaintenanceWindow{StartHour: hour}).StartTime(); got != want {
			t.Errorf("StartTime(%d) = %q, want %q", hour, got, want)
		}
	}
}
