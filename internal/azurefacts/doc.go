// Package azurefacts is the one home of the facts about Azure that the stack depends on and
// that Microsoft, not this repository, decides: built-in role definition GUIDs, the AKS and
// PostgreSQL version calendars, region capabilities (availability zones, paired regions) and
// the API version each resource is sent with. Each table cites where it was read; none is typed
// from memory. The tests in this package compare every table with the project's reference notes
// (../shared/reference), which record two independent confirmations of each fact.
//
// It imports no Pulumi or Azure SDK, so settings validation and the fake Azure can both use it.
package azurefacts

// Short addresses of Microsoft's pages, for error messages; the *Source constants say exactly
// which version of each was read.
const (
	KubernetesCalendarURL = "https://learn.microsoft.com/azure/aks/supported-kubernetes-versions"
	PostgresCalendarURL   = "https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-version-policy"
	RegionsURL            = "https://learn.microsoft.com/azure/reliability/regions-list"
)
