package azurefacts

import "time"

// Cost Management budgets (Microsoft.Consumption/budgets, API 2024-08-01), read on 2026-11-25
// from the REST API spec, Azure/azure-rest-api-specs
// specification/consumption/resource-manager/Microsoft.Consumption/stable/2024-08-01/consumption.json
// (stored version id 23025124854, commit 357446b144be4f45402032b55bc349baffdccb97), definitions
// BudgetProperties, BudgetTimePeriod and Notification; the same text is in the doc comments of
// armconsumption v2.0.0 models.go.
const BudgetSpecSource = "Azure/azure-rest-api-specs specification/consumption/resource-manager/Microsoft.Consumption/stable/2024-08-01/consumption.json"

const (
	// BudgetCategoryCost: category's only value ("whether the budget tracks cost or usage").
	BudgetCategoryCost = "Cost"
	// BudgetTimeGrainMonthly resets the tracked amount every calendar month.
	BudgetTimeGrainMonthly = "Monthly"
	// BudgetOperatorGreaterThan: the spec's OperatorType values say of GreaterThan "This is the
	// recommended OperatorType while configuring Budget Alert" (EqualTo is to be deprecated).
	BudgetOperatorGreaterThan = "GreaterThan"
	// ThresholdType: Actual notifies when the accrued cost passes the threshold, Forecasted when
	// the forecast for the period does (the spec's default is Actual).
	BudgetThresholdActual     = "Actual"
	BudgetThresholdForecasted = "Forecasted"
	// Notification.threshold "is always percent and has to be between 0 and 1000".
	BudgetThresholdMinPercent = 0
	BudgetThresholdMaxPercent = 1000
	// BudgetProperties.notifications: "Budget can have up to five notifications".
	BudgetMaxNotifications = 5
	// Notification.contactGroups: action group resource IDs, maxItems 50, "Only supported at
	// Subscription or Resource Group scopes"; at those scopes a notification needs "at least one
	// contact email or contact group" (contactEmails is required, minItems 0).
	BudgetMaxContactGroups = 50
)

// timePeriod: "The start date must be first of the month … Budget start date must be on or after
// June 1, 2017. Future start date should not be more than twelve months. Past start date should
// be selected within the timegrain period." For a monthly budget that leaves the first day of
// the current month as the start a new budget can have.
// BudgetStart is the start date a monthly budget created on day gets: the first of its month
// (UTC), in the date-time format the API takes.
func BudgetStart(day time.Time) string {
	d := day.UTC()
	return time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339)
}

// Budget names: 1–63 alphanumerics, hyphens and underscores, unique in their scope
// (subscription or resource group). https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftconsumption
// (read from the page's source in MicrosoftDocs/azure-docs, search-index file id 248412505).
// Budgets take no tags ("Budgets | No" in
// https://learn.microsoft.com/azure/azure-resource-manager/management/tag-support#microsoftconsumption).
const (
	BudgetNameMinLen = 1
	BudgetNameMaxLen = 63
)
