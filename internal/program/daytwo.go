package program

import (
	"fmt"

	"metaflow-azure/infra"
	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/dbpool"
	"metaflow-azure/internal/naming"
	"metaflow-azure/internal/settings"
	"metaflow-azure/services"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// monitoring is the declared workspace and action group; nil when monitoring.enabled is false.
type monitoring struct{ *infra.Monitoring }

func (m *monitoring) workspaceID() pulumi.StringInput {
	if m == nil {
		return nil
	}
	return m.WorkspaceID
}

// declareMonitoring declares the Log Analytics workspace and the action group, before the
// cluster, whose Container Insights add-on needs the workspace.
func declareMonitoring(ctx *pulumi.Context, s *settings.Settings, names naming.Names, rg *infra.ResourceGroup, tags map[string]string) (*monitoring, error) {
	if !s.Monitoring.Enabled {
		return nil, nil
	}
	m, err := infra.NewMonitoring(ctx, "monitoring", &infra.MonitoringArgs{
		ResourceGroupName: rg.Name, Location: s.Location, Tags: tags,
		WorkspaceName: names.LogAnalyticsWorkspace, RetentionDays: s.Monitoring.RetentionDays, DailyCapGB: s.Monitoring.DailyCapGB,
		ActionGroupName: names.ActionGroup, ActionGroupShortName: names.ActionGroupShortName,
		AlertEmails: s.Monitoring.AlertEmails,
	})
	if err != nil {
		return nil, fmt.Errorf("declaring the monitoring workspace: %w", err)
	}
	return &monitoring{m}, nil
}

// declareDayTwo declares what keeps the deployed stack operable (issue 14): AKS planned
// maintenance, delete locks on the data (protectData), and with monitoring the diagnostic
// settings, the alerts and the monthly budget (both need the action group).
func declareDayTwo(ctx *pulumi.Context, s *settings.Settings, names naming.Names, rg *infra.ResourceGroup, tags map[string]string,
	mon *monitoring, window infra.MaintenanceWindow, store *infra.Datastore, db *infra.Database, cluster *infra.Cluster) error {
	if err := infra.NewClusterMaintenance(ctx, "aks-maintenance", &infra.ClusterMaintenanceArgs{
		ResourceGroupName: rg.Name, ClusterName: cluster.Name, Window: window,
	}); err != nil {
		return fmt.Errorf("declaring the AKS maintenance windows: %w", err)
	}
	if s.ProtectData {
		if _, err := infra.NewDeleteLocks(ctx, "delete-lock", []infra.LockTarget{
			{Key: "datastore", Scope: store.AccountID.ToStringOutput(), What: "the Metaflow datastore (storage account " + names.StorageAccount + ")"},
			{Key: "database", Scope: db.ServerID.ToStringOutput(), What: "the Metaflow metadata database (PostgreSQL server " + names.PostgresServer + ")"},
		}); err != nil {
			return fmt.Errorf("declaring the delete locks: %w", err)
		}
	}
	if mon == nil {
		return nil
	}
	if err := infra.NewContainerInsights(ctx, "container-insights", &infra.ContainerInsightsArgs{
		ResourceGroupName: rg.Name, Location: s.Location, Tags: tags,
		ClusterName: names.Cluster, ClusterID: cluster.ID.ToStringOutput(), WorkspaceID: mon.WorkspaceID,
	}); err != nil {
		return fmt.Errorf("declaring Container Insights' data collection: %w", err)
	}
	if err := infra.NewDiagnostics(ctx, "diagnostics", &infra.DiagnosticsArgs{
		WorkspaceID: mon.WorkspaceID, ClusterID: cluster.ID.ToStringOutput(),
		PostgresServerID: db.ServerID.ToStringOutput(), BlobServiceID: store.BlobServiceID.ToStringOutput(),
	}); err != nil {
		return fmt.Errorf("declaring the diagnostic settings: %w", err)
	}
	if !mon.HasActionGroup {
		return nil
	}
	limit, ok := dbpool.MaxConnections(s.Postgres.SKU)
	if !ok {
		return fmt.Errorf("internal-error: postgres.sku %q has no connection limit after validation", s.Postgres.SKU)
	}
	if _, err := infra.NewAlerts(ctx, "alert", &infra.AlertsArgs{
		ResourceGroupName: rg.Name, Location: s.Location, Tags: tags, Prefix: names.AlertPrefix,
		ActionGroupID: mon.ActionGroupID, WorkspaceID: mon.WorkspaceID,
		PostgresServerID: db.ServerID.ToStringOutput(), UserConnections: limit - dbpool.ReservedConnections,
		ServicesNamespace: s.Metaflow.Namespace, Services: []string{services.MetadataServiceName, services.UIBackendName},
		TaskNamespace: s.Metaflow.TaskNamespace,
	}); err != nil {
		return fmt.Errorf("declaring the alerts: %w", err)
	}
	if s.Monitoring.MonthlyBudget > 0 {
		if err := infra.NewBudget(ctx, "budget", &infra.BudgetArgs{
			Scope: rg.ID.ToStringOutput(), Name: names.Budget, Amount: s.Monitoring.MonthlyBudget,
			StartDate: azurefacts.BudgetStart(s.Today()), ActionGroupID: mon.ActionGroupID,
		}); err != nil {
			return fmt.Errorf("declaring the monthly budget: %w", err)
		}
	}
	return nil
}

// defenderWorkspace is the workspace the AKS Defender profile reports to: the stack's own, with
// aks.defender (settings refuse aks.defender without monitoring.enabled); nil leaves it off.
func defenderWorkspace(s *settings.Settings, mon *monitoring) pulumi.StringInput {
	if !s.AKS.Defender {
		return nil
	}
	return mon.workspaceID()
}
