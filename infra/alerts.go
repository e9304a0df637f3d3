package infra

import (
	"fmt"
	"math"

	"github.com/pulumi/pulumi-azure-native-sdk/insights/v2"
	insightsquery "github.com/pulumi/pulumi-azure-native-sdk/insights/v2/v20220801preview"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/azurefacts"
)

// The stack's alert policy: what is worth waking someone for. Thresholds are the stack's choice;
// the metric and table names they apply to are Microsoft's (azurefacts).
const (
	// PostgresStoragePercent: above this the server is about to go read-only when full.
	PostgresStoragePercent = 80
	// PostgresCPUPercent sustained for PostgresCPUWindow.
	PostgresCPUPercent = 80
	PostgresCPUWindow  = "PT30M"
	// ConnectionsShare of the SKU's user connections (max_connections minus Azure's reserved).
	ConnectionsShare = 0.8
	// PodAlertWindow is how long a service may have no running pod before the alert fires.
	PodAlertWindow = "PT10M"
)

// AlertsArgs configures the alert rules.
type AlertsArgs struct {
	ResourceGroupName pulumi.StringInput
	// Location is the workspace's region, where log alert rules must live.
	Location string
	Tags     map[string]string
	Prefix   string

	ActionGroupID pulumi.StringInput
	WorkspaceID   pulumi.StringInput

	PostgresServerID pulumi.StringInput
	// UserConnections is what the server's SKU allows its users (Microsoft's table minus the
	// reserved connections); the connections alert fires at ConnectionsShare of it.
	UserConnections int

	// ServicesNamespace holds the Deployments named in Services (metadata service, UI backend);
	// TaskNamespace holds Metaflow's task pods.
	ServicesNamespace string
	Services          []string
	TaskNamespace     string
}

// Alert is one declared rule, for tests and docs: its name and the threshold it fires above.
type Alert struct {
	Name      string
	Threshold float64
}

// ConnectionsThreshold is the active_connections level the connections alert fires above.
func ConnectionsThreshold(userConnections int) float64 {
	return math.Floor(ConnectionsShare * float64(userConnections))
}

// NewAlerts declares the metric alerts on the database and the log alerts on the cluster's pods.
// Each description says what to do (docs/operations.md has the long form).
func NewAlerts(ctx *pulumi.Context, name string, args *AlertsArgs, opts ...pulumi.ResourceOption) ([]Alert, error) {
	if args == nil || args.ActionGroupID == nil || args.WorkspaceID == nil || args.PostgresServerID == nil {
		return nil, fmt.Errorf("internal-error: Alerts: action group, workspace and server IDs are required")
	}
	if err := requireStrings("Alerts", map[string]string{
		"Location": args.Location, "Prefix": args.Prefix, "ServicesNamespace": args.ServicesNamespace, "TaskNamespace": args.TaskNamespace,
	}); err != nil {
		return nil, err
	}
	if args.UserConnections < 1 || len(args.Services) == 0 {
		return nil, fmt.Errorf("internal-error: Alerts: UserConnections and Services are required")
	}
	g, parent, err := newGroup(ctx, "Alerts", name, opts...)
	if err != nil {
		return nil, err
	}
	var alerts []Alert
	metric := []struct {
		key, metric, aggregation, window string
		threshold                        float64
		severity                         int
		description                      string
	}{
		{"pg-storage", azurefacts.PostgresMetricStorage, "Average", "PT15M", PostgresStoragePercent, 1,
			fmt.Sprintf("PostgreSQL storage is above %d %%. At 95 %% Azure switches the server to read-only and the Metaflow metadata service can no longer record runs. Raise postgres.storageGb (a larger disk, no downtime) and deploy, or enable storage autogrow; see docs/operations.md#alerts.", PostgresStoragePercent)},
		{"pg-cpu", azurefacts.PostgresMetricCPU, "Average", PostgresCPUWindow, PostgresCPUPercent, 2,
			fmt.Sprintf("PostgreSQL CPU has averaged above %d %% for 30 minutes. Check slow queries in the workspace (AzureDiagnostics, category PostgreSQLLogs); if the load is real, move postgres.sku to a larger size and deploy; see docs/operations.md#alerts.", PostgresCPUPercent)},
		{"pg-connections", azurefacts.PostgresMetricConnections, "Maximum", "PT15M", ConnectionsThreshold(args.UserConnections), 2,
			fmt.Sprintf("PostgreSQL active connections are above %.0f, 80 %% of the %d the SKU allows users. New connections will soon be refused. Lower metaflow.replicas or move postgres.sku to a larger size and deploy; see docs/operations.md#alerts.", ConnectionsThreshold(args.UserConnections), args.UserConnections)},
	}
	for _, m := range metric {
		rule := args.Prefix + "-" + m.key
		if _, err := insights.NewMetricAlert(ctx, name+"-"+m.key, &insights.MetricAlertArgs{
			RuleName:            pulumi.String(rule),
			ResourceGroupName:   args.ResourceGroupName,
			Location:            pulumi.String(GlobalLocation),
			Description:         pulumi.String(m.description),
			Enabled:             pulumi.Bool(true),
			Severity:            pulumi.Int(m.severity),
			Scopes:              pulumi.StringArray{args.PostgresServerID},
			EvaluationFrequency: pulumi.String("PT5M"),
			WindowSize:          pulumi.String(m.window),
			AutoMitigate:        pulumi.Bool(true),
			Criteria: &insights.MetricAlertSingleResourceMultipleMetricCriteriaArgs{
				OdataType: pulumi.String("Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria"),
				AllOf: insights.MetricCriteriaArray{&insights.MetricCriteriaArgs{
					CriterionType:   pulumi.String("StaticThresholdCriterion"),
					Name:            pulumi.String(m.metric),
					MetricName:      pulumi.String(m.metric),
					MetricNamespace: pulumi.String(azurefacts.PostgresMetricNamespace),
					Operator:        pulumi.String("GreaterThan"),
					Threshold:       pulumi.Float64(m.threshold),
					TimeAggregation: pulumi.String(m.aggregation),
				}},
			},
			Actions: insights.MetricAlertActionArray{&insights.MetricAlertActionArgs{ActionGroupId: args.ActionGroupID}},
			Tags:    pulumi.ToStringMap(args.Tags),
		}, parent); err != nil {
			return nil, err
		}
		alerts = append(alerts, Alert{Name: rule, Threshold: m.threshold})
	}

	type logAlert struct {
		key, query, window, description string
		// The rule fires when the query's measure is below (LessThan) or above the threshold.
		operator  string
		threshold float64
		periods   int
	}
	var logs []logAlert
	for _, svc := range args.Services {
		logs = append(logs, logAlert{
			key:    "no-ready-" + svc,
			query:  NoRunningPodQuery(args.ServicesNamespace, svc),
			window: PodAlertWindow, operator: "LessThan", threshold: 1, periods: 1,
			description: fmt.Sprintf("No pod of %s in namespace %s has been running for 10 minutes: Metaflow clients and the UI fail. Run kubectl -n %s describe deployment %s and kubectl -n %s logs deployment/%s; a database it cannot reach or a failed image pull are the usual causes; see docs/operations.md#alerts.",
				svc, args.ServicesNamespace, args.ServicesNamespace, svc, args.ServicesNamespace, svc),
		})
	}
	logs = append(logs, logAlert{
		key:    "tasks-unschedulable",
		query:  FailedSchedulingQuery(args.TaskNamespace),
		window: "PT10M", operator: "GreaterThan", threshold: 0, periods: 3,
		description: fmt.Sprintf("Metaflow task pods in namespace %s have failed to schedule for 20 minutes or more: no node fits them and the autoscaler cannot add one (pool at aks.taskPool.maxCount, a VM size or GPU quota used up, or resources asked for that no VM size of the pool has). Run kubectl -n %s get events --field-selector reason=FailedScheduling and az vm list-usage --location <region>; see docs/operations.md#alerts.",
			args.TaskNamespace, args.TaskNamespace),
	})
	for _, l := range logs {
		rule := args.Prefix + "-" + l.key
		if _, err := insightsquery.NewScheduledQueryRule(ctx, name+"-"+l.key, &insightsquery.ScheduledQueryRuleArgs{
			RuleName:            pulumi.String(rule),
			ResourceGroupName:   args.ResourceGroupName,
			Location:            pulumi.String(args.Location),
			Kind:                pulumi.String("LogAlert"),
			Description:         pulumi.String(l.description),
			Enabled:             pulumi.Bool(true),
			Severity:            pulumi.Float64(1),
			Scopes:              pulumi.StringArray{args.WorkspaceID},
			EvaluationFrequency: pulumi.String("PT5M"),
			WindowSize:          pulumi.String(l.window),
			AutoMitigate:        pulumi.Bool(true),
			Criteria: &insightsquery.ScheduledQueryRuleCriteriaArgs{AllOf: insightsquery.ConditionArray{&insightsquery.ConditionArgs{
				Query:               pulumi.String(l.query),
				TimeAggregation:     pulumi.String("Total"),
				MetricMeasureColumn: pulumi.String(measureColumn),
				Operator:            pulumi.String(l.operator),
				Threshold:           pulumi.Float64(l.threshold),
				FailingPeriods: &insightsquery.ConditionFailingPeriodsArgs{
					NumberOfEvaluationPeriods: pulumi.Float64(float64(l.periods)),
					MinFailingPeriodsToAlert:  pulumi.Float64(float64(l.periods)),
				},
			}}},
			Actions: &insightsquery.ActionsArgs{ActionGroups: pulumi.StringArray{args.ActionGroupID}},
			Tags:    pulumi.ToStringMap(args.Tags),
		}, parent); err != nil {
			return nil, err
		}
		alerts = append(alerts, Alert{Name: rule, Threshold: l.threshold})
	}
	return alerts, g.done(ctx)
}

// measureColumn is the column the log queries put their count in.
const measureColumn = "Count"

// NoRunningPodQuery counts a Deployment's pods that are running with a running container. Its
// ReplicaSets are named "<deployment>-<hash>", which is what ControllerName holds; summarize
// without "by" always returns a row, so no pod at all counts as 0.
func NoRunningPodQuery(namespace, deployment string) string {
	return fmt.Sprintf(`%s
| where %s == %q and %s startswith %q
| where %s == "Running" and %s =~ "running"
| summarize %s = dcount(Name)`,
		azurefacts.TablePods, azurefacts.ColumnNamespace, namespace, azurefacts.ColumnController, deployment+"-",
		azurefacts.ColumnPodStatus, azurefacts.ColumnContainerStat, measureColumn)
}

// FailedSchedulingQuery counts the scheduler's FailedScheduling events for pods of a namespace.
func FailedSchedulingQuery(namespace string) string {
	return fmt.Sprintf(`%s
| where %s == %q and %s == %q and %s == "Pod"
| summarize %s = count()`,
		azurefacts.TableEvents, azurefacts.ColumnNamespace, namespace, azurefacts.ColumnReason, azurefacts.ReasonFailedScheduling,
		azurefacts.ColumnObjectKind, measureColumn)
}
