package infra

import (
	"fmt"

	consumption "github.com/pulumi/pulumi-azure-native-sdk/consumption/v2/v20240801"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"metaflow-azure/internal/azurefacts"
)

// BudgetThresholds are the percentages of the monthly budget at which the receivers are told,
// each once for the actual cost and once for the forecast: 80 % warns while there is time to
// act, 100 % says the budget is spent (or will be by the month's end).
var BudgetThresholds = []float64{80, 100}

// BudgetArgs configures the monthly cost budget.
type BudgetArgs struct {
	// Scope is the resource group's ID: the budget tracks what its resources cost.
	Scope pulumi.StringInput
	Name  string
	// Amount is in the subscription's billing currency; it must be positive.
	Amount int
	// StartDate is the first day of the month the budget starts in (azurefacts.BudgetStart of
	// the day it is created). Pulumi keeps the date the budget was created with: see NewBudget.
	StartDate string
	// ActionGroupID receives every notification: the same people as the alerts.
	ActionGroupID pulumi.StringInput
}

// Budget notification keys: thresholdType and percentage, e.g. "actual-80", "forecasted-100".
func budgetNotificationKey(thresholdType string, percent float64) string {
	return fmt.Sprintf("%s-%.0f", map[string]string{
		azurefacts.BudgetThresholdActual: "actual", azurefacts.BudgetThresholdForecasted: "forecasted",
	}[thresholdType], percent)
}

// NewBudget declares a monthly Cost Management budget on the resource group with a notification
// for each of BudgetThresholds, on the actual and on the forecast cost, to the action group.
//
// Azure takes the first of a month as start, a past one only within the time grain (the current
// month), so the start is the first of the month of the first deployment, and Pulumi ignores
// later differences (ignoreChanges on timePeriod): an `up` next month neither moves the budget's
// start nor shows a change, and changing the amount sends the date the budget was created with.
func NewBudget(ctx *pulumi.Context, name string, args *BudgetArgs, opts ...pulumi.ResourceOption) error {
	if args == nil || args.Scope == nil || args.ActionGroupID == nil {
		return fmt.Errorf("internal-error: Budget: scope and action group are required")
	}
	if err := requireStrings("Budget", map[string]string{"Name": args.Name, "StartDate": args.StartDate}); err != nil {
		return err
	}
	if args.Amount <= 0 {
		return fmt.Errorf("internal-error: Budget: amount %d must be positive", args.Amount)
	}
	notifications := consumption.NotificationMap{}
	for _, typ := range []string{azurefacts.BudgetThresholdActual, azurefacts.BudgetThresholdForecasted} {
		for _, percent := range BudgetThresholds {
			notifications[budgetNotificationKey(typ, percent)] = &consumption.NotificationArgs{
				Enabled:       pulumi.Bool(true),
				Operator:      pulumi.String(azurefacts.BudgetOperatorGreaterThan),
				Threshold:     pulumi.Float64(percent),
				ThresholdType: pulumi.String(typ),
				ContactGroups: pulumi.StringArray{args.ActionGroupID},
				// Required by the API; empty because the action group already mails everyone,
				// and a contact group alone suffices at resource group scope.
				ContactEmails: pulumi.StringArray{},
			}
		}
	}
	if len(notifications) > azurefacts.BudgetMaxNotifications {
		return fmt.Errorf("internal-error: Budget: %d notifications, Azure takes at most %d", len(notifications), azurefacts.BudgetMaxNotifications)
	}
	g, parent, err := newGroup(ctx, "Budget", name, opts...)
	if err != nil {
		return err
	}
	if _, err := consumption.NewBudget(ctx, name, &consumption.BudgetArgs{
		BudgetName: pulumi.String(args.Name),
		Scope:      args.Scope,
		Amount:     pulumi.Float64(float64(args.Amount)),
		Category:   pulumi.String(azurefacts.BudgetCategoryCost),
		TimeGrain:  pulumi.String(azurefacts.BudgetTimeGrainMonthly),
		// No end date: Azure makes it ten years after the start.
		TimePeriod:    &consumption.BudgetTimePeriodArgs{StartDate: pulumi.String(args.StartDate)},
		Notifications: notifications,
	}, parent, pulumi.IgnoreChanges([]string{"timePeriod"})); err != nil {
		return err
	}
	return g.done(ctx)
}
