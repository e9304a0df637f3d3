package infra

import (
	"fmt"

	containerservice "github.com/pulumi/pulumi-azure-native-sdk/containerservice/v2/v20241001"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/azurefacts"
)

// MaintenanceWindow is a weekly window in UTC.
type MaintenanceWindow struct {
	// DayOfWeek is Monday … Sunday.
	DayOfWeek     string
	StartHour     int
	DurationHours int
}

// StartTime is the window's start as AKS takes it ("HH:MM").
func (w MaintenanceWindow) StartTime() string { return fmt.Sprintf("%02d:00", w.StartHour) }

// ClusterMaintenanceArgs configures AKS planned maintenance.
type ClusterMaintenanceArgs struct {
	ResourceGroupName pulumi.StringInput
	ClusterName       pulumi.StringInput
	Window            MaintenanceWindow
}

// NewClusterMaintenance schedules both automatic upgrades AKS runs for the cluster, the
// Kubernetes patches of aks.upgradeChannel and the node OS updates of the node OS channel, into
// the same weekly window. AKS reserves the two configuration names (azurefacts).
func NewClusterMaintenance(ctx *pulumi.Context, name string, args *ClusterMaintenanceArgs, opts ...pulumi.ResourceOption) error {
	if args == nil || args.ClusterName == nil {
		return errNilArgs("ClusterMaintenance")
	}
	w := args.Window
	if _, ok := azurefacts.WeekdayNumber(w.DayOfWeek); !ok || w.StartHour < 0 || w.StartHour > 23 || w.DurationHours < azurefacts.AKSMaintenanceMinHours || w.DurationHours > 24 {
		return fmt.Errorf("internal-error: ClusterMaintenance: window %+v out of range", w)
	}
	g, parent, err := newGroup(ctx, "ClusterMaintenance", name, opts...)
	if err != nil {
		return err
	}
	for _, cfg := range []struct{ key, config string }{
		{"kubernetes", azurefacts.AKSAutoUpgradeSchedule},
		{"node-os", azurefacts.AKSNodeOSUpgradeSchedule},
	} {
		if _, err := containerservice.NewMaintenanceConfiguration(ctx, name+"-"+cfg.key, &containerservice.MaintenanceConfigurationArgs{
			ConfigName:        pulumi.String(cfg.config),
			ResourceGroupName: args.ResourceGroupName,
			ResourceName:      args.ClusterName,
			MaintenanceWindow: &containerservice.MaintenanceWindowArgs{
				Schedule: &containerservice.ScheduleArgs{Weekly: &containerservice.WeeklyScheduleArgs{
					DayOfWeek: pulumi.String(w.DayOfWeek), IntervalWeeks: pulumi.Int(1),
				}},
				StartTime:     pulumi.String(w.StartTime()),
				DurationHours: pulumi.Int(w.DurationHours),
				UtcOffset:     pulumi.String("+00:00"),
			},
		}, parent); err != nil {
			return err
		}
	}
	return g.done(ctx)
}
