package tests

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"metaflow-azure/infra"
	"metaflow-azure/internal/armcontract"
	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/fakeazure"
)

// Day-2 operations (issue 14): every property that matters has its own assertion, so dropping
// it fails a test; the golden plan only detects change.

const (
	tWorkspace   = "azure-native:operationalinsights/v20210601:Workspace"
	tActionGroup = "azure-native:insights:ActionGroup"
	tMetricAlert = "azure-native:insights:MetricAlert"
	tLogAlert    = "azure-native:insights/v20220801preview:ScheduledQueryRule"
	tDiagnostic  = "azure-native:insights:DiagnosticSetting"
	tLock        = "azure-native:authorization:ManagementLockByScope"
	tMaintenance = "azure-native:containerservice/v20241001:MaintenanceConfiguration"
	tDCR         = "azure-native:insights:DataCollectionRule"
	tDCRA        = "azure-native:insights:DataCollectionRuleAssociation"
	tBudget      = "azure-native:consumption/v20240801:Budget"
)

var dayTwoTypes = []string{tWorkspace, tActionGroup, tMetricAlert, tLogAlert, tDiagnostic, tDCR, tDCRA, tBudget}

func TestWorkspaceCarriesRetentionAndCap(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		stack     string
		retention float64
		capGB     float64 // -1: no cap sent
	}{
		{"dev", 30, 1},
		{"prod", 90, -1},
	} {
		s := runStack(t, tc.stack)
		ws := s.one(tWorkspace, "monitoring-workspace")
		if got := num(ws.Inputs, "retentionInDays"); got != tc.retention {
			t.Errorf("%s: workspace retentionInDays = %v, want %v", tc.stack, got, tc.retention)
		}
		if got := num(ws.Inputs, "workspaceCapping.dailyQuotaGb"); got != tc.capGB {
			t.Errorf("%s: workspace dailyQuotaGb = %v, want %v", tc.stack, got, tc.capGB)
		}
		if got := str(ws.Inputs, "sku.name"); got != azurefacts.LogAnalyticsSKU {
			t.Errorf("%s: workspace sku = %q, want %q", tc.stack, got, azurefacts.LogAnalyticsSKU)
		}
	}
}

func TestContainerInsightsSendsToTheWorkspace(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	ws := s.one(tWorkspace, "monitoring-workspace")
	aks := s.one(tCluster, "aks")
	addon := "addonProfiles." + azurefacts.ContainerInsightsAddon
	if on, _ := boolean(aks.Inputs, addon+".enabled"); !on {
		t.Errorf("Container Insights add-on not enabled: %v", aks.Inputs["addonProfiles"])
	}
	if got := str(aks.Inputs, addon+".config."+azurefacts.ContainerInsightsWorkspaceKey); got != ws.ID {
		t.Errorf("Container Insights workspace = %q, want %q", got, ws.ID)
	}
	if got := str(aks.Inputs, addon+".config."+azurefacts.ContainerInsightsAADAuthKey); got != "true" {
		t.Errorf("Container Insights must sign in with the managed identity (useAADAuth true), got %q", got)
	}
}

// With managed identity authentication the add-on sends only what a data collection rule
// associated with the cluster names: the pod inventory and events the alerts query among them.
func TestContainerInsightsRuleIsAssociatedWithTheCluster(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	ws := s.one(tWorkspace, "monitoring-workspace")
	aks := s.one(tCluster, "aks")
	rule := s.one(tDCR, "container-insights-rule")
	dest := list(rule.Inputs, "destinations.logAnalytics")
	if len(dest) != 1 || str(dest[0].ObjectValue(), "workspaceResourceId") != ws.ID {
		t.Errorf("rule destinations = %v, want the workspace %s", dest, ws.ID)
	}
	ext := list(rule.Inputs, "dataSources.extensions")
	if len(ext) != 1 || str(ext[0].ObjectValue(), "extensionName") != "ContainerInsights" {
		t.Fatalf("rule data sources = %v", ext)
	}
	streams := strings_(list(ext[0].ObjectValue(), "streams"))
	for _, want := range []string{"Microsoft-KubePodInventory", "Microsoft-KubeEvents", "Microsoft-ContainerLogV2"} {
		if !slices.Contains(streams, want) {
			t.Errorf("rule does not collect %s (collects %v)", want, streams)
		}
	}
	flows := list(rule.Inputs, "dataFlows")
	if len(flows) != 1 || !slices.Equal(strings_(list(flows[0].ObjectValue(), "streams")), streams) {
		t.Errorf("data flows %v do not send the collected streams %v", flows, streams)
	}
	a := s.one(tDCRA, "container-insights-association")
	if str(a.Inputs, "resourceUri") != aks.ID || str(a.Inputs, "dataCollectionRuleId") != rule.ID {
		t.Errorf("association %v must tie rule %s to cluster %s", a.Inputs, rule.ID, aks.ID)
	}
}

func TestDiagnosticSettingsSendEachSourceToTheWorkspace(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	ws := s.one(tWorkspace, "monitoring-workspace")
	for _, tc := range []struct {
		name, scope string
		logs        []string
		metrics     bool
	}{
		{"diagnostics-aks", s.one(tCluster, "aks").ID, []string{"kube-audit-admin", "kube-apiserver"}, false},
		{"diagnostics-postgres", s.one(tServer, "database-server").ID, []string{"PostgreSQLLogs"}, true},
		{"diagnostics-blob", s.one(tBlobService, "datastore-blob-service").ID, []string{"StorageRead", "StorageWrite", "StorageDelete"}, false},
	} {
		d := s.one(tDiagnostic, tc.name)
		if got := str(d.Inputs, "resourceUri"); got != tc.scope {
			t.Errorf("%s resourceUri = %q, want %q", tc.name, got, tc.scope)
		}
		if got := str(d.Inputs, "workspaceId"); got != ws.ID {
			t.Errorf("%s workspaceId = %q, want the workspace %q", tc.name, got, ws.ID)
		}
		var enabled []string
		for _, l := range list(d.Inputs, "logs") {
			if on, _ := boolean(l.ObjectValue(), "enabled"); on {
				enabled = append(enabled, str(l.ObjectValue(), "category"))
			}
		}
		for _, want := range tc.logs {
			if !slices.Contains(enabled, want) {
				t.Errorf("%s does not send log category %s (sends %v)", tc.name, want, enabled)
			}
		}
		metrics := list(d.Inputs, "metrics")
		if tc.metrics && (len(metrics) != 1 || str(metrics[0].ObjectValue(), "category") != "AllMetrics") {
			t.Errorf("%s must send AllMetrics, sends %v", tc.name, metrics)
		}
	}
}

func TestActionGroupMailsTheConfiguredAddresses(t *testing.T) {
	t.Parallel()
	for stack, want := range map[string][]string{
		"dev":  {"data-science-oncall@example.com"},
		"prod": {"ml-platform-oncall@example.com", "ml-platform-lead@example.com"},
	} {
		s := runStack(t, stack)
		ag := s.one(tActionGroup, "monitoring-action-group")
		var got []string
		for _, r := range list(ag.Inputs, "emailReceivers") {
			got = append(got, str(r.ObjectValue(), "emailAddress"))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: action group mails %v, want %v", stack, got, want)
		}
		if on, _ := boolean(ag.Inputs, "enabled"); !on {
			t.Errorf("%s: action group disabled", stack)
		}
	}
}

func TestDatabaseAlertsThresholdsAndTargets(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		stack string
		// user connections of the stack's SKU: max_connections (dbpool) minus the 15 reserved.
		connections float64
	}{
		{"dev", 28},    // B_Standard_B1ms: 50 - 15 = 35, 80 % = 28
		{"prod", 1362}, // GP_Standard_D4ds_v5: 1718 - 15 = 1703, 80 % = 1362.4
	} {
		s := runStack(t, tc.stack)
		server := s.one(tServer, "database-server")
		ag := s.one(tActionGroup, "monitoring-action-group")
		for _, a := range []struct {
			name, metric, aggregation, window string
			threshold                         float64
		}{
			{"alert-pg-storage", azurefacts.PostgresMetricStorage, "Average", "PT15M", 80},
			{"alert-pg-cpu", azurefacts.PostgresMetricCPU, "Average", "PT30M", 80},
			{"alert-pg-connections", azurefacts.PostgresMetricConnections, "Maximum", "PT15M", tc.connections},
		} {
			r := s.one(tMetricAlert, a.name)
			if got := strings_(list(r.Inputs, "scopes")); !slices.Equal(got, []string{server.ID}) {
				t.Errorf("%s %s scopes = %v, want the server", tc.stack, a.name, got)
			}
			if got := actionGroupsOf(r.Inputs, "actions", "actionGroupId"); !slices.Equal(got, []string{ag.ID}) {
				t.Errorf("%s %s actions = %v, want the action group", tc.stack, a.name, got)
			}
			crit := list(r.Inputs, "criteria.allOf")
			if len(crit) != 1 {
				t.Fatalf("%s %s: %d criteria", tc.stack, a.name, len(crit))
			}
			c := crit[0].ObjectValue()
			if str(c, "metricName") != a.metric || str(c, "operator") != "GreaterThan" || str(c, "timeAggregation") != a.aggregation {
				t.Errorf("%s %s criterion = %v", tc.stack, a.name, c)
			}
			if got := num(c, "threshold"); got != a.threshold {
				t.Errorf("%s %s threshold = %v, want %v", tc.stack, a.name, got, a.threshold)
			}
			if got := str(r.Inputs, "windowSize"); got != a.window {
				t.Errorf("%s %s windowSize = %q, want %q", tc.stack, a.name, got, a.window)
			}
			if d := str(r.Inputs, "description"); !strings.Contains(d, "docs/operations.md") {
				t.Errorf("%s %s description does not say what to do: %q", tc.stack, a.name, d)
			}
		}
	}
}

func TestPodAlertsQueryTheServicesAndTasks(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev")
	ws := s.one(tWorkspace, "monitoring-workspace")
	ag := s.one(tActionGroup, "monitoring-action-group")
	for _, tc := range []struct {
		name      string
		contains  []string
		operator  string
		threshold float64
	}{
		{"alert-no-ready-metadata-service", []string{"KubePodInventory", `"metaflow"`, `"metadata-service-"`, `"Running"`}, "LessThan", 1},
		{"alert-no-ready-metaflow-ui-backend", []string{"KubePodInventory", `"metaflow"`, `"metaflow-ui-backend-"`}, "LessThan", 1},
		{"alert-tasks-unschedulable", []string{"KubeEvents", `"metaflow-jobs"`, `"FailedScheduling"`}, "GreaterThan", 0},
	} {
		r := s.one(tLogAlert, tc.name)
		if got := strings_(list(r.Inputs, "scopes")); !slices.Equal(got, []string{ws.ID}) {
			t.Errorf("%s scopes = %v, want the workspace", tc.name, got)
		}
		if got := strings_(list(r.Inputs, "actions.actionGroups")); !slices.Equal(got, []string{ag.ID}) {
			t.Errorf("%s action groups = %v, want the action group", tc.name, got)
		}
		crit := list(r.Inputs, "criteria.allOf")
		if len(crit) != 1 {
			t.Fatalf("%s: %d conditions", tc.name, len(crit))
		}
		c := crit[0].ObjectValue()
		for _, want := range tc.contains {
			if q := str(c, "query"); !strings.Contains(q, want) {
				t.Errorf("%s query lacks %s:\n%s", tc.name, want, q)
			}
		}
		if str(c, "operator") != tc.operator || num(c, "threshold") != tc.threshold {
			t.Errorf("%s fires on %s %v, want %s %v", tc.name, str(c, "operator"), num(c, "threshold"), tc.operator, tc.threshold)
		}
		if d := str(r.Inputs, "description"); !strings.Contains(d, "kubectl") || !strings.Contains(d, "docs/operations.md") {
			t.Errorf("%s description does not say what to do: %q", tc.name, d)
		}
	}
}

func TestDeleteLocksGuardTheData(t *testing.T) {
	t.Parallel()
	s := runStack(t, "prod")
	for _, tc := range []struct{ lock, target string }{
		{"delete-lock-datastore", s.one(tStorage, "datastore-account").URN},
		{"delete-lock-database", s.one(tServer, "database-server").URN},
	} {
		target := s.byURN[tc.target]
		l := s.one(tLock, tc.lock)
		if got := str(l.Inputs, "level"); got != "CanNotDelete" {
			t.Errorf("%s level = %q, want CanNotDelete", tc.lock, got)
		}
		if got := str(l.Inputs, "scope"); got != target.ID {
			t.Errorf("%s scope = %q, want %q", tc.lock, got, target.ID)
		}
		// Created after, and so deleted before, the resource it locks.
		if !s.waitsFor(l, target) {
			t.Errorf("%s does not depend on %s", tc.lock, target.Name)
		}
		// Not protected and not retained: turning protectData off must lift it.
		if l.Protect || l.RetainOnDelete {
			t.Errorf("%s is protected (%v) or retained (%v); protectData false could not lift it", tc.lock, l.Protect, l.RetainOnDelete)
		}
	}
	if n := len(runStack(t, "dev").all(tLock)); n != 0 {
		t.Errorf("dev (protectData false) declares %d delete locks, want 0", n)
	}
}

func TestMaintenanceWindows(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		stack, day, start string
		dayNumber, hour   float64
		hours             float64
	}{
		{"dev", "Sunday", "02:00", 0, 2, 4},
		{"prod", "Saturday", "22:00", 6, 22, 6},
	} {
		s := runStack(t, tc.stack)
		for name, config := range map[string]string{
			"aks-maintenance-kubernetes": azurefacts.AKSAutoUpgradeSchedule,
			"aks-maintenance-node-os":    azurefacts.AKSNodeOSUpgradeSchedule,
		} {
			m := s.one(tMaintenance, name)
			if got := str(m.Inputs, "configName"); got != config {
				t.Errorf("%s %s configName = %q, want %q", tc.stack, name, got, config)
			}
			if got := str(m.Inputs, "resourceName"); got != str(s.one(tCluster, "aks").Inputs, "resourceName") {
				t.Errorf("%s %s is for cluster %q", tc.stack, name, got)
			}
			w := "maintenanceWindow."
			if got := str(m.Inputs, w+"schedule.weekly.dayOfWeek"); got != tc.day {
				t.Errorf("%s %s day = %q, want %q", tc.stack, name, got, tc.day)
			}
			if got := num(m.Inputs, w+"schedule.weekly.intervalWeeks"); got != 1 {
				t.Errorf("%s %s every %v weeks, want 1", tc.stack, name, got)
			}
			if got := str(m.Inputs, w+"startTime"); got != tc.start {
				t.Errorf("%s %s startTime = %q, want %q", tc.stack, name, got, tc.start)
			}
			if got := num(m.Inputs, w+"durationHours"); got != tc.hours {
				t.Errorf("%s %s durationHours = %v, want %v", tc.stack, name, got, tc.hours)
			}
			if got := str(m.Inputs, w+"utcOffset"); got != "+00:00" {
				t.Errorf("%s %s utcOffset = %q, want +00:00", tc.stack, name, got)
			}
		}
		aks := s.one(tCluster, "aks")
		if got := str(aks.Inputs, "autoUpgradeProfile.nodeOSUpgradeChannel"); got != "NodeImage" {
			t.Errorf("%s node OS channel = %q, want NodeImage", tc.stack, got)
		}
		pg := s.one(tServer, "database-server")
		if got := str(pg.Inputs, "maintenanceWindow.customWindow"); got != "Enabled" {
			t.Errorf("%s PostgreSQL custom window = %q, want Enabled", tc.stack, got)
		}
		if num(pg.Inputs, "maintenanceWindow.dayOfWeek") != tc.dayNumber || num(pg.Inputs, "maintenanceWindow.startHour") != tc.hour || num(pg.Inputs, "maintenanceWindow.startMinute") != 0 {
			t.Errorf("%s PostgreSQL window = %v, want day %v at %v:00", tc.stack, pg.Inputs["maintenanceWindow"], tc.dayNumber, tc.hour)
		}
	}
}

func TestMonitoringDisabledDeclaresNone(t *testing.T) {
	t.Parallel()
	s := runStack(t, "prod", "monitoring.enabled=false")
	for _, typ := range dayTwoTypes {
		if n := len(s.all(typ)); n != 0 {
			t.Errorf("monitoring.enabled false still declares %d %s", n, typ)
		}
	}
	if _, ok := prop(s.one(tCluster, "aks").Inputs, "addonProfiles."+azurefacts.ContainerInsightsAddon); ok {
		t.Error("monitoring.enabled false still turns on Container Insights")
	}
	// Locks and maintenance windows have their own settings and stay.
	if len(s.all(tLock)) != 2 || len(s.all(tMaintenance)) != 2 {
		t.Errorf("locks %d, maintenance configurations %d; want 2 and 2", len(s.all(tLock)), len(s.all(tMaintenance)))
	}
}

func TestNoAlertEmailsDeclaresNoAlerts(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev", "monitoring.alertEmails=[]")
	for _, typ := range []string{tActionGroup, tMetricAlert, tLogAlert, tBudget} {
		if n := len(s.all(typ)); n != 0 {
			t.Errorf("no alert emails, yet %d %s", n, typ)
		}
	}
	if len(s.all(tWorkspace)) != 1 || len(s.all(tDiagnostic)) != 3 {
		t.Error("logs must still flow without alert emails")
	}
}

func TestBadDayTwoSettingsDeclareNothing(t *testing.T) {
	t.Parallel()
	for override, want := range map[string]string{
		`monitoring.alertEmails=["oncall"]`:   "metaflow-azure:monitoring.alertEmails[0]",
		"maintenance.window.startHour=24":     "metaflow-azure:maintenance.window.startHour",
		"maintenance.window.durationHours=2":  "metaflow-azure:maintenance.window.durationHours",
		"monitoring.retentionDays=10":         "metaflow-azure:monitoring.retentionDays",
		"maintenance.nodeOsChannel=Unmanaged": "metaflow-azure:maintenance.nodeOsChannel",
		"maintenance.window.dayOfWeek=Funday": "metaflow-azure:maintenance.window.dayOfWeek",
		"monitoring.monthlyBudget=-500":       "metaflow-azure:monitoring.monthlyBudget",
	} {
		s, err := tryStack("dev", override)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v; want one naming %s", override, err, want)
		}
		if s != nil && len(s.fake.Resources()) > 1 { // the stack reference to the last deployment only
			t.Errorf("%s: %d resources declared before the refusal", override, len(s.fake.Resources()))
		}
	}
}

// The facts the stack sends as enum values are checked against Microsoft's contract for the API
// version they are sent with: a wrong fact is refused here, not only in a whole-stack run.
func TestDayTwoFactsAreInTheContract(t *testing.T) {
	t.Parallel()
	c, err := armcontract.Load()
	if err != nil {
		t.Fatal(err)
	}
	check := func(token string, in resource.PropertyMap) {
		t.Helper()
		vs, err := c.Check(token, in)
		if err != nil || len(vs) != 0 {
			t.Errorf("%s refuses %v: %v %v", token, in, vs, err)
		}
	}
	check(tLock, resource.NewPropertyMapFromMap(map[string]any{"scope": "/x", "lockName": "l", "level": azurefacts.LockCanNotDelete}))
	check(tWorkspace, resource.NewPropertyMapFromMap(map[string]any{"resourceGroupName": "rg", "workspaceName": "ws", "location": "westeurope", "sku": map[string]any{"name": azurefacts.LogAnalyticsSKU}}))
	for _, ch := range azurefacts.KeepPatchedNodeOSChannels {
		check(tCluster, resource.NewPropertyMapFromMap(map[string]any{"autoUpgradeProfile": map[string]any{"nodeOSUpgradeChannel": ch}}))
	}
	for _, day := range azurefacts.Weekdays() {
		check(tMaintenance, resource.NewPropertyMapFromMap(map[string]any{"maintenanceWindow": map[string]any{
			"schedule": map[string]any{"weekly": map[string]any{"dayOfWeek": day, "intervalWeeks": 1}}, "startTime": "02:00", "durationHours": 4}}))
	}
	notifications := map[string]any{}
	for _, typ := range []string{azurefacts.BudgetThresholdActual, azurefacts.BudgetThresholdForecasted} {
		notifications[typ] = map[string]any{
			"enabled": true, "operator": azurefacts.BudgetOperatorGreaterThan, "threshold": 80.0, "thresholdType": typ,
			"contactEmails": []any{}, "contactGroups": []any{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Insights/actionGroups/ag"},
		}
	}
	check(tBudget, resource.NewPropertyMapFromMap(map[string]any{
		"scope": "/subscriptions/s/resourceGroups/rg", "budgetName": "b", "amount": 500.0,
		"category": azurefacts.BudgetCategoryCost, "timeGrain": azurefacts.BudgetTimeGrainMonthly,
		"timePeriod": map[string]any{"startDate": azurefacts.BudgetStart(time.Now())}, "notifications": notifications,
	}))
	if c := infra.ConnectionsThreshold(35); c != 28 {
		t.Errorf("ConnectionsThreshold(35) = %v, want 28", c)
	}
}

// The monthly budget: on the resource group, in the stack's amount, reset monthly, from the first
// of the month it was created in, telling the alert receivers at 80 % and 100 % of it, actual
// and forecast.
func TestBudgetOnTheResourceGroup(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		stack, name string
		amount      float64
	}{
		{"dev", "budget-mfdemo-metaflow-dev", 500},
		{"prod", "budget-acme-metaflow-prod", 10000},
	} {
		before := time.Now()
		s := runStack(t, tc.stack)
		after := time.Now()
		rg := s.one(tRG, "metaflow")
		ag := s.one(tActionGroup, "monitoring-action-group")
		b := s.one(tBudget, "budget")
		if got := str(b.Inputs, "scope"); got != rg.ID {
			t.Errorf("%s: budget scope = %q, want the resource group %q", tc.stack, got, rg.ID)
		}
		if want := rg.ID + "/providers/Microsoft.Consumption/budgets/" + tc.name; b.ID != want {
			t.Errorf("%s: budget ID = %q, want %q", tc.stack, b.ID, want)
		}
		if got := str(b.Inputs, "budgetName"); got != tc.name {
			t.Errorf("%s: budget name = %q, want %q", tc.stack, got, tc.name)
		}
		if got := num(b.Inputs, "amount"); got != tc.amount {
			t.Errorf("%s: budget amount = %v, want %v", tc.stack, got, tc.amount)
		}
		if got := str(b.Inputs, "category"); got != "Cost" {
			t.Errorf("%s: budget category = %q, want Cost", tc.stack, got)
		}
		if got := str(b.Inputs, "timeGrain"); got != "Monthly" {
			t.Errorf("%s: budget timeGrain = %q, want Monthly", tc.stack, got)
		}
		// The first of the current month (UTC), the only start Azure takes for a new budget.
		start := str(b.Inputs, "timePeriod.startDate")
		if want1, want2 := azurefacts.BudgetStart(before), azurefacts.BudgetStart(after); start != want1 && start != want2 {
			t.Errorf("%s: budget startDate = %q, want %q", tc.stack, start, want1)
		}
		if d, err := time.Parse(time.RFC3339, start); err != nil || d.Day() != 1 || d.Hour() != 0 {
			t.Errorf("%s: budget startDate %q is not the first of a month at 00:00 UTC (%v)", tc.stack, start, err)
		}
		// Azure refuses a changed start date: the one the budget was created with is kept.
		if !slices.Contains(b.IgnoreChanges, "timePeriod") {
			t.Errorf("%s: budget ignoreChanges = %v, want timePeriod (the start date of its creation stays)", tc.stack, b.IgnoreChanges)
		}
		if _, ok := prop(b.Inputs, "timePeriod.endDate"); ok {
			t.Errorf("%s: budget sends an end date; Azure's default (ten years) is meant", tc.stack)
		}
		notes, _ := prop(b.Inputs, "notifications")
		if !notes.IsObject() {
			t.Fatalf("%s: budget has no notifications: %v", tc.stack, b.Inputs)
		}
		seen := map[string]bool{}
		for key, n := range notes.ObjectValue() {
			m := n.ObjectValue()
			typ, threshold := str(m, "thresholdType"), num(m, "threshold")
			seen[fmt.Sprintf("%s %.0f", typ, threshold)] = true
			if on, _ := boolean(m, "enabled"); !on {
				t.Errorf("%s: budget notification %s disabled", tc.stack, key)
			}
			if got := str(m, "operator"); got != "GreaterThan" {
				t.Errorf("%s: budget notification %s operator = %q, want GreaterThan", tc.stack, key, got)
			}
			if got := strings_(list(m, "contactGroups")); !slices.Equal(got, []string{ag.ID}) {
				t.Errorf("%s: budget notification %s goes to %v, want the action group %s", tc.stack, key, got, ag.ID)
			}
			if v, ok := prop(m, "contactEmails"); !ok || !v.IsArray() {
				t.Errorf("%s: budget notification %s lacks contactEmails, which the API requires", tc.stack, key)
			}
		}
		var want []string
		for _, typ := range []string{"Actual", "Forecasted"} {
			for _, p := range []float64{80, 100} {
				want = append(want, fmt.Sprintf("%s %.0f", typ, p))
			}
		}
		for _, w := range want {
			if !seen[w] {
				t.Errorf("%s: budget has no notification at %s %% (has %v)", tc.stack, w, seen)
			}
		}
		if len(seen) != len(want) || len(notes.ObjectValue()) != len(want) {
			t.Errorf("%s: budget notifications %v, want exactly %v", tc.stack, seen, want)
		}
	}
}

func TestNoBudgetAtZero(t *testing.T) {
	t.Parallel()
	s := runStack(t, "dev", "monitoring.monthlyBudget=0")
	if n := len(s.all(tBudget)); n != 0 {
		t.Errorf("monitoring.monthlyBudget 0 still declares %d budgets", n)
	}
	if len(s.all(tActionGroup)) != 1 || len(s.all(tMetricAlert)) == 0 {
		t.Error("the alerts do not depend on the budget")
	}
}

func actionGroupsOf(m resource.PropertyMap, path, key string) []string {
	var out []string
	for _, a := range list(m, path) {
		out = append(out, str(a.ObjectValue(), key))
	}
	return out
}

var _ = fakeazure.SubscriptionID
