package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-azure-native-sdk/insights/v2"
	operationalinsights "github.com/pulumi/pulumi-azure-native-sdk/operationalinsights/v2/v20210601"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/azurefacts"
)

// GlobalLocation is where action groups and metric alerts live: they are not regional.
const GlobalLocation = "global"

// MonitoringArgs configures the Log Analytics workspace and the action group.
type MonitoringArgs struct {
	ResourceGroupName pulumi.StringInput
	Location          string
	Tags              map[string]string

	WorkspaceName string
	// RetentionDays keeps the workspace's data (30–730).
	RetentionDays int
	// DailyCapGB stops ingestion for the day once reached; 0 means no cap.
	DailyCapGB int

	ActionGroupName      string
	ActionGroupShortName string
	// AlertEmails receive every alert; with none, no action group is declared.
	AlertEmails []string
}

// Monitoring is the stack's Log Analytics workspace and, when someone is to be told, the action
// group every alert goes to.
type Monitoring struct {
	pulumi.ResourceState

	WorkspaceID pulumi.StringOutput
	// ActionGroupID is empty (not declared) without alert emails.
	ActionGroupID  pulumi.StringOutput
	HasActionGroup bool
}

// NewMonitoring declares the workspace and the action group.
func NewMonitoring(ctx *pulumi.Context, name string, args *MonitoringArgs, opts ...pulumi.ResourceOption) (*Monitoring, error) {
	if args == nil {
		return nil, errNilArgs("Monitoring")
	}
	if err := requireStrings("Monitoring", map[string]string{
		"Location": args.Location, "WorkspaceName": args.WorkspaceName,
		"ActionGroupName": args.ActionGroupName, "ActionGroupShortName": args.ActionGroupShortName,
	}); err != nil {
		return nil, err
	}
	if args.RetentionDays < azurefacts.LogAnalyticsRetentionMinDays || args.RetentionDays > azurefacts.LogAnalyticsRetentionMaxDays || args.DailyCapGB < 0 {
		return nil, fmt.Errorf("internal-error: Monitoring: retention %d days or daily cap %d GB out of range", args.RetentionDays, args.DailyCapGB)
	}
	c := &Monitoring{}
	if err := ctx.RegisterComponentResource("metaflow-azure:infra:Monitoring", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)

	// Without a cap Log Analytics takes the API's "no quota" value (-1, the SDK's documented
	// default); the stack sends a cap only when one is set.
	var capping operationalinsights.WorkspaceCappingPtrInput
	if args.DailyCapGB > 0 {
		capping = &operationalinsights.WorkspaceCappingArgs{DailyQuotaGb: pulumi.Float64(float64(args.DailyCapGB))}
	}
	workspace, err := operationalinsights.NewWorkspace(ctx, name+"-workspace", &operationalinsights.WorkspaceArgs{
		WorkspaceName:     pulumi.String(args.WorkspaceName),
		ResourceGroupName: args.ResourceGroupName,
		Location:          pulumi.String(args.Location),
		Sku:               &operationalinsights.WorkspaceSkuArgs{Name: pulumi.String(azurefacts.LogAnalyticsSKU)},
		RetentionInDays:   pulumi.Int(args.RetentionDays),
		WorkspaceCapping:  capping,
		Tags:              pulumi.ToStringMap(args.Tags),
	}, parent)
	if err != nil {
		return nil, err
	}
	c.WorkspaceID = workspace.ID().ToStringOutput()

	if len(args.AlertEmails) > 0 {
		receivers := insights.EmailReceiverArray{}
		for i, email := range args.AlertEmails {
			receivers = append(receivers, &insights.EmailReceiverArgs{
				Name:         pulumi.Sprintf("email-%d", i),
				EmailAddress: pulumi.String(email),
				// One payload shape for every alert type, so mail rules can match it.
				UseCommonAlertSchema: pulumi.Bool(true),
			})
		}
		group, err := insights.NewActionGroup(ctx, name+"-action-group", &insights.ActionGroupArgs{
			ActionGroupName:   pulumi.String(args.ActionGroupName),
			ResourceGroupName: args.ResourceGroupName,
			Location:          pulumi.String(GlobalLocation),
			GroupShortName:    pulumi.String(args.ActionGroupShortName),
			Enabled:           pulumi.Bool(true),
			EmailReceivers:    receivers,
			Tags:              pulumi.ToStringMap(args.Tags),
		}, parent)
		if err != nil {
			return nil, err
		}
		c.ActionGroupID = group.ID().ToStringOutput()
		c.HasActionGroup = true
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"workspaceId": c.WorkspaceID})
}

// DiagnosticsArgs names the resources whose logs and metrics go to the workspace.
type DiagnosticsArgs struct {
	WorkspaceID pulumi.StringInput
	// ClusterID gets the control-plane logs; PostgresServerID the server logs and metrics;
	// BlobServiceID (<account>/blobServices/default) the blob read/write/delete logs.
	ClusterID        pulumi.StringInput
	PostgresServerID pulumi.StringInput
	BlobServiceID    pulumi.StringInput
}

// DiagnosticSettingName is the one name the stack gives its diagnostic settings.
const DiagnosticSettingName = "metaflow-to-log-analytics"

// NewDiagnostics declares one diagnostic setting per source, all to the workspace.
func NewDiagnostics(ctx *pulumi.Context, name string, args *DiagnosticsArgs, opts ...pulumi.ResourceOption) error {
	if args == nil || args.WorkspaceID == nil || args.ClusterID == nil || args.PostgresServerID == nil || args.BlobServiceID == nil {
		return fmt.Errorf("internal-error: Diagnostics: every ID is required")
	}
	g, parent, err := newGroup(ctx, "Diagnostics", name, opts...)
	if err != nil {
		return err
	}
	sources := []struct {
		key     string
		uri     pulumi.StringInput
		logs    []string
		metrics bool
	}{
		{"aks", args.ClusterID, azurefacts.AKSControlPlaneLogs, false},
		{"postgres", args.PostgresServerID, azurefacts.PostgresLogs, true},
		{"blob", args.BlobServiceID, azurefacts.BlobLogs, false},
	}
	for _, s := range sources {
		logs := insights.LogSettingsArray{}
		for _, category := range s.logs {
			logs = append(logs, &insights.LogSettingsArgs{Category: pulumi.String(category), Enabled: pulumi.Bool(true)})
		}
		var metrics insights.MetricSettingsArray
		if s.metrics {
			metrics = insights.MetricSettingsArray{&insights.MetricSettingsArgs{Category: pulumi.String(azurefacts.AllMetricsCategory), Enabled: pulumi.Bool(true)}}
		}
		if _, err := insights.NewDiagnosticSetting(ctx, name+"-"+s.key, &insights.DiagnosticSettingArgs{
			Name:        pulumi.String(DiagnosticSettingName),
			ResourceUri: s.uri,
			WorkspaceId: args.WorkspaceID,
			Logs:        logs,
			Metrics:     metrics,
		}, parent); err != nil {
			return err
		}
	}
	return g.done(ctx)
}

// ContainerInsightsArgs configures what Container Insights collects from a cluster.
type ContainerInsightsArgs struct {
	ResourceGroupName pulumi.StringInput
	// Location is the workspace's region, where the rule must live.
	Location    string
	Tags        map[string]string
	ClusterName string
	ClusterID   pulumi.StringInput
	WorkspaceID pulumi.StringInput
}

// ContainerInsightsRuleName is Microsoft's name for a cluster's Container Insights rule.
func ContainerInsightsRuleName(location, cluster string) string {
	n := azurefacts.ContainerInsightsDCRPrefix + location + "-" + cluster
	if len(n) > azurefacts.ContainerInsightsDCRMaxLen {
		n = n[:azurefacts.ContainerInsightsDCRMaxLen]
	}
	return n
}

// NewContainerInsights declares the data collection rule that tells the cluster's monitoring
// agent (the omsagent add-on, signing in with the cluster's identity) what to send to the
// workspace, and associates it with the cluster. Without them the add-on sends nothing.
func NewContainerInsights(ctx *pulumi.Context, name string, args *ContainerInsightsArgs, opts ...pulumi.ResourceOption) error {
	if args == nil || args.ClusterID == nil || args.WorkspaceID == nil || args.Location == "" || args.ClusterName == "" {
		return fmt.Errorf("internal-error: ContainerInsights: cluster, workspace and location are required")
	}
	g, parent, err := newGroup(ctx, "ContainerInsights", name, opts...)
	if err != nil {
		return err
	}
	const destination = "ciworkspace"
	streams := pulumi.ToStringArray(azurefacts.ContainerInsightsStreams)
	rule, err := insights.NewDataCollectionRule(ctx, name+"-rule", &insights.DataCollectionRuleArgs{
		DataCollectionRuleName: pulumi.String(ContainerInsightsRuleName(args.Location, args.ClusterName)),
		ResourceGroupName:      args.ResourceGroupName,
		Location:               pulumi.String(args.Location),
		Kind:                   pulumi.String(azurefacts.ContainerInsightsDCRKind),
		DataSources: &insights.DataCollectionRuleDataSourcesArgs{
			Extensions: insights.ExtensionDataSourceArray{&insights.ExtensionDataSourceArgs{
				Name:          pulumi.String(azurefacts.ContainerInsightsDataSource),
				ExtensionName: pulumi.String(azurefacts.ContainerInsightsExtensionName),
				Streams:       streams,
				// Inventory every 5 minutes (the pod alerts look at 10-minute windows), all
				// namespaces, container logs in the ContainerLogV2 schema.
				ExtensionSettings: pulumi.Map{"dataCollectionSettings": pulumi.Map{
					"interval": pulumi.String("5m"), "namespaceFilteringMode": pulumi.String("Off"),
					"enableContainerLogV2": pulumi.Bool(true),
				}},
			}},
		},
		Destinations: &insights.DataCollectionRuleDestinationsArgs{
			LogAnalytics: insights.LogAnalyticsDestinationArray{&insights.LogAnalyticsDestinationArgs{
				Name: pulumi.String(destination), WorkspaceResourceId: args.WorkspaceID,
			}},
		},
		DataFlows: insights.DataFlowArray{&insights.DataFlowArgs{
			Streams: streams, Destinations: pulumi.StringArray{pulumi.String(destination)},
		}},
		Tags: pulumi.ToStringMap(args.Tags),
	}, parent)
	if err != nil {
		return err
	}
	_, err = insights.NewDataCollectionRuleAssociation(ctx, name+"-association", &insights.DataCollectionRuleAssociationArgs{
		AssociationName:      pulumi.String(azurefacts.ContainerInsightsAssociation),
		ResourceUri:          args.ClusterID,
		DataCollectionRuleId: rule.ID().ToStringOutput(),
		Description:          pulumi.String("Container Insights for Metaflow; deleting this association stops the cluster's logs and the pod alerts."),
	}, parent)
	if err != nil {
		return err
	}
	return g.done(ctx)
}
