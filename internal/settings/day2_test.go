package settings

import (
	"slices"
	"strings"
	"testing"
)

func TestMonitoringAndMaintenanceDefaults(t *testing.T) {
	t.Parallel()
	s, err := load(minimal())
	if err != nil {
		t.Fatal(err)
	}
	m, w := s.Monitoring, s.Maintenance
	if !m.Enabled {
		t.Error("monitoring.enabled defaults to false; want true")
	}
	if m.RetentionDays != 30 {
		t.Errorf("monitoring.retentionDays = %d; want 30", m.RetentionDays)
	}
	if m.DailyCapGB != 0 {
		t.Errorf("monitoring.dailyCapGb = %d; want 0 (no cap)", m.DailyCapGB)
	}
	if m.MonthlyBudget != 0 {
		t.Errorf("monitoring.monthlyBudget = %d; want 0 (no budget)", m.MonthlyBudget)
	}
	if !s.Today().Equal(testDay.UTC()) {
		t.Errorf("Today() = %s; want the day the settings were loaded on, %s", s.Today(), testDay)
	}
	if w.Window != (MaintenanceWindow{DayOfWeek: "Sunday", StartHour: 2, DurationHours: 4}) {
		t.Errorf("maintenance.window = %+v", w.Window)
	}
	if w.NodeOSChannel != "NodeImage" {
		t.Errorf("maintenance.nodeOsChannel = %q; want NodeImage", w.NodeOSChannel)
	}
	if !slices.ContainsFunc(s.Warnings(), func(x string) bool { return strings.HasPrefix(x, "monitoring.alertEmails: is empty") }) {
		t.Errorf("no warning about the missing alert address: %q", s.Warnings())
	}
}

func TestMonitoringAndMaintenanceRead(t *testing.T) {
	t.Parallel()
	s, err := load(with(map[string]string{
		"metaflow-azure:monitoring":  `{"retentionDays":90,"dailyCapGb":2,"alertEmails":["a@example.com","b@example.org"],"monthlyBudget":750}`,
		"metaflow-azure:maintenance": `{"window":{"dayOfWeek":"Wednesday","startHour":23,"durationHours":6},"nodeOsChannel":"SecurityPatch"}`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Monitoring; got.RetentionDays != 90 || got.DailyCapGB != 2 || got.MonthlyBudget != 750 || !slices.Equal(got.AlertEmails, []string{"a@example.com", "b@example.org"}) {
		t.Errorf("monitoring = %+v", got)
	}
	if got := s.Maintenance; got.Window != (MaintenanceWindow{"Wednesday", 23, 6}) || got.NodeOSChannel != "SecurityPatch" {
		t.Errorf("maintenance = %+v", got)
	}
}

// Each bad value is refused with the full key and what is allowed, before anything is declared.
func TestMonitoringAndMaintenanceRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		key, value, want string
	}{
		{"monitoring", `{"alertEmails":["not-an-address"]}`, `metaflow-azure:monitoring.alertEmails[0]: "not-an-address" is not an email address`},
		{"monitoring", `{"alertEmails":["ops@example.com","Ops@Example.com"]}`, `metaflow-azure:monitoring.alertEmails[1]: "Ops@Example.com" is listed twice`},
		{"monitoring", `{"retentionDays":7}`, "metaflow-azure:monitoring.retentionDays: 7 must be between 30 and 730 days"},
		{"monitoring", `{"retentionDays":731}`, "metaflow-azure:monitoring.retentionDays: 731 must be between 30 and 730 days"},
		{"monitoring", `{"dailyCapGb":-1}`, "metaflow-azure:monitoring.dailyCapGb: -1 must be between 0 (no cap)"},
		{"monitoring", `{"monthlyBudget":-100}`, "metaflow-azure:monitoring.monthlyBudget: -100 must be 0 (no budget) or a positive amount in the subscription's billing currency"},
		{"monitoring", `{"monthlyBudget":99.5}`, "metaflow-azure:monitoring.monthlyBudget"},
		{"maintenance", `{"window":{"dayOfWeek":"Sun"}}`, `metaflow-azure:maintenance.window.dayOfWeek: "Sun" must be one of Sunday, Monday`},
		{"maintenance", `{"window":{"startHour":24}}`, "metaflow-azure:maintenance.window.startHour: 24 must be an hour of the day (UTC), 0–23"},
		{"maintenance", `{"window":{"startHour":-1}}`, "metaflow-azure:maintenance.window.startHour: -1 must be an hour"},
		{"maintenance", `{"window":{"durationHours":3}}`, "metaflow-azure:maintenance.window.durationHours: 3 must be between 4 (AKS's minimum for auto-upgrade windows) and 24 hours"},
		{"maintenance", `{"window":{"durationHours":25}}`, "metaflow-azure:maintenance.window.durationHours: 25 must be between 4"},
		{"maintenance", `{"nodeOsChannel":"None"}`, `metaflow-azure:maintenance.nodeOsChannel: "None" must be one of NodeImage, SecurityPatch`},
	} {
		_, err := load(with(map[string]string{"metaflow-azure:" + tc.key: tc.value}))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%s: error %v; want it to contain %q", tc.key, tc.value, err, tc.want)
		}
	}
}

// monitoring.enabled false turns the checks off: nothing of it is declared.
func TestMonitoringDisabledSkipsChecks(t *testing.T) {
	t.Parallel()
	if _, err := load(with(map[string]string{"metaflow-azure:monitoring": `{"enabled":false,"retentionDays":1,"alertEmails":["x"]}`})); err != nil {
		t.Errorf("disabled monitoring still checked: %v", err)
	}
}

// A budget goes to the alert receivers; without them it is not declared, and the warning says so.
func TestMonthlyBudgetWithoutReceiversWarns(t *testing.T) {
	t.Parallel()
	s, err := load(with(map[string]string{"metaflow-azure:monitoring": `{"monthlyBudget":500}`}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(s.Warnings(), func(x string) bool {
		return strings.HasPrefix(x, "monitoring.alertEmails: is empty, so no action group, no alerts and no budget (monitoring.monthlyBudget) are declared")
	}) {
		t.Errorf("no warning that the budget is not declared: %q", s.Warnings())
	}
}
