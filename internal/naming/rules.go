package naming

import (
	"fmt"
	"regexp"

	"metaflow-azure/internal/azurefacts"
)

// rule is Azure's naming rule for one resource type (from Azure's "naming rules and restrictions
// for Azure resources" and azurerm's validators). Messages are built from the same fields the
// check uses.
type rule struct {
	min, max int
	pattern  *regexp.Regexp
	allowed  string
}

func (r rule) check(name string) error {
	if len(name) < r.min || len(name) > r.max {
		return fmt.Errorf("must be %d–%d characters long, is %d", r.min, r.max, len(name))
	}
	if !r.pattern.MatchString(name) {
		return fmt.Errorf("may contain only %s", r.allowed)
	}
	return nil
}

var (
	resourceGroupRule = rule{1, 90, regexp.MustCompile(`^[-\w.()]*[-\w()]$`),
		"letters, digits, '_', '-', '.', '(' and ')', not ending in '.'"}
	virtualNetworkRule = rule{2, 64, regexp.MustCompile(`^[A-Za-z0-9][-\w.]*\w$`),
		"letters, digits, '_', '-' and '.', starting with a letter or digit and ending with a letter, digit or '_'"}
	subnetRule = rule{1, 80, regexp.MustCompile(`^[A-Za-z0-9][-\w.]*\w$`),
		"letters, digits, '_', '-' and '.', starting with a letter or digit and ending with a letter, digit or '_'"}
	dnsZoneRule = rule{1, 253, regexp.MustCompile(`^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+postgres\.database\.azure\.com$`),
		"DNS labels ending in .postgres.database.azure.com"}
	dnsLinkRule = rule{1, 80, regexp.MustCompile(`^[A-Za-z0-9][-\w.]*\w$`),
		"letters, digits, '_', '-' and '.', starting with a letter or digit and ending with a letter, digit or '_'"}
	// Private endpoints: "2-64, Alphanumerics, underscores, periods, and hyphens. Start with
	// alphanumeric. End alphanumeric or underscore." (azure-resource-manager
	// resource-name-rules.md, Microsoft.Network privateEndpoints).
	privateEndpointRule = rule{2, 64, regexp.MustCompile(`^[A-Za-z0-9][-\w.]*\w$`),
		"letters, digits, '_', '-' and '.', starting with a letter or digit and ending with a letter, digit or '_'"}
	storageAccountRule = rule{3, 24, regexp.MustCompile(`^[a-z0-9]+$`),
		"lowercase letters and digits"}
	// Container registries: 5–50 letters and digits (azurerm containers/validate/container_registry_name.go);
	// lowercase, as the login server is.
	containerRegistryRule = rule{5, 50, regexp.MustCompile(`^[a-z0-9]+$`),
		"lowercase letters and digits"}
	containerRule = rule{3, 63, regexp.MustCompile(`^[a-z0-9]([a-z0-9]|-[a-z0-9])*$`),
		"lowercase letters, digits and single hyphens, starting and ending with a letter or digit"}
	postgresServerRule = rule{3, 63, regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`),
		"lowercase letters, digits and '-', not starting or ending with '-'"}
	clusterRule = rule{1, 63, regexp.MustCompile(`^[A-Za-z0-9]([-\w]*[A-Za-z0-9])?$`),
		"letters, digits, '_' and '-', starting and ending with a letter or digit"}
	dnsPrefixRule = rule{1, 54, regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?$`),
		"letters, digits and '-', starting and ending with a letter or digit"}
	identityRule = rule{3, 128, regexp.MustCompile(`^[A-Za-z0-9][-\w]*$`),
		"letters, digits, '_' and '-', starting with a letter or digit"}
	// Federated identity credentials: 3–120 characters, letters, digits, '-' and '_', starting
	// with a letter or digit (REST API spec Microsoft.ManagedIdentity 2023-01-31,
	// federatedIdentityCredentialResourceName; azure-docs workload-identity-federation-create-trust).
	federatedCredentialRule = rule{3, 120, regexp.MustCompile(`^[A-Za-z0-9][-\w]*$`),
		"letters, digits, '_' and '-', starting with a letter or digit"}
	// Log Analytics workspaces: 4–63 letters, digits and '-', not starting or ending with '-'
	// (azurerm's log_analytics_workspace name rule).
	workspaceRule = rule{4, 63, regexp.MustCompile(`^[A-Za-z0-9][-A-Za-z0-9]*[A-Za-z0-9]$`),
		"letters, digits and '-', not starting or ending with '-'"}
	// Budgets: 1–63 alphanumerics, hyphens and underscores (azurefacts.BudgetName*).
	budgetRule = rule{azurefacts.BudgetNameMinLen, azurefacts.BudgetNameMaxLen, regexp.MustCompile(`^[-\w]+$`),
		"letters, digits, '-' and '_'"}
	nodePoolRule = rule{1, 12, regexp.MustCompile(`^[a-z][a-z0-9]*$`),
		"lowercase letters and digits, starting with a letter"}
)
