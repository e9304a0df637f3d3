// Package naming derives every Azure name of a stack in one place, following the Cloud Adoption
// Framework abbreviations (<abbr>-<prefix>-metaflow-<environment>[-<region>]), and checks each
// name against the rule Azure enforces for its resource type. Names that Azure needs globally
// unique carry a short hash of the subscription and stack: stable across runs, never random,
// because the Metaflow config and other stacks depend on them.
package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// CAF abbreviations.
const (
	abbrResourceGroup  = "rg"
	abbrVirtualNetwork = "vnet"
	abbrSubnet         = "snet"
	abbrCluster        = "aks"
	abbrPostgres       = "psql"
	abbrStorage        = "st"
	abbrRegistry       = "cr"
	abbrIdentity       = "id"
	abbrDNSLink        = "vnetlink"
	// abbrPrivateEndpoint: CAF resource-abbreviations.md, "Private endpoint |
	// Microsoft.Network/privateEndpoints | pep".
	abbrPrivateEndpoint = "pep"
	abbrWorkspace       = "log"
	abbrActionGroup     = "ag"
	// Budgets have no CAF abbreviation; the word is short enough.
	abbrBudget = "budget"
	app        = "metaflow"
)

const (
	// maxEnvLen keeps every hyphenated name readable and inside its limit; longer stack names
	// are shortened with a hash of the full name so two long names stay distinct.
	maxEnvLen = 16
	hashLen   = 6
	// postgresZoneSuffix is required by Azure for a Flexible Server's private DNS zone.
	postgresZoneSuffix = ".private.postgres.database.azure.com"
)

// Input is what names are derived from.
type Input struct {
	// Prefix is the organisation prefix (settings namePrefix): 2–8 lowercase letters/digits.
	Prefix string
	// Stack is the Pulumi stack name; it becomes the environment part of names.
	Stack string
	// Location is the Azure region name.
	Location string
	// SubscriptionID scopes the hash in globally unique names.
	SubscriptionID string
}

// Names are all Azure names of one stack.
type Names struct {
	Environment       string
	ResourceGroup     string
	NodeResourceGroup string
	VirtualNetwork    string
	AKSSubnet         string
	PostgresSubnet    string
	PostgresDNSZone   string
	PostgresDNSLink   string
	// PrivateEndpointSubnet, BlobPrivateEndpoint and BlobDNSLink exist only with
	// storage.networkAccess: private.
	PrivateEndpointSubnet string
	BlobPrivateEndpoint   string
	BlobDNSLink           string
	StorageAccount        string
	// ContainerRegistry is globally unique like StorageAccount and built the same way.
	ContainerRegistry  string
	DatastoreContainer string
	PostgresServer     string
	PostgresDatabase   string
	PostgresAdminUser  string
	Cluster            string
	ClusterDNSPrefix   string
	ClusterIdentity    string
	// TaskIdentity is the user-assigned identity Metaflow tasks and Argo workflow pods federate
	// to; UIIdentity the UI backend's.
	TaskIdentity string
	UIIdentity   string
	SystemPool   string
	TaskPool     string
	Application  string
	// LogAnalyticsWorkspace receives the stack's logs and metrics (monitoring.enabled).
	LogAnalyticsWorkspace string
	// ActionGroup mails the alerts; ActionGroupShortName is what SMS and mails show.
	ActionGroup          string
	ActionGroupShortName string
	// Budget is the monthly cost budget on the resource group (monitoring.monthlyBudget).
	Budget string
	// AlertPrefix starts every alert rule's name, so the rules of one stack sort together.
	AlertPrefix string
}

// For derives every name of a stack and checks each against its Azure rule.
func For(in Input) (Names, error) {
	if in.Prefix == "" || in.Stack == "" || in.Location == "" || in.SubscriptionID == "" {
		return Names{}, fmt.Errorf("internal-error: naming input incomplete: %+v", in)
	}
	env := Environment(in.Stack)
	if env == "" {
		return Names{}, fmt.Errorf("stack name %q has no letters or digits to name resources with", in.Stack)
	}
	hash := shortHash(in.SubscriptionID, in.Prefix, in.Stack)
	base := strings.Join([]string{in.Prefix, app, env}, "-")

	// Storage account names allow only 3–24 lowercase letters and digits: the environment is
	// squeezed into what is left after "st", the prefix and the hash.
	room := storageAccountRule.max - len(abbrStorage) - len(in.Prefix) - hashLen
	envAlnum := strings.ReplaceAll(env, "-", "")
	if len(envAlnum) > room {
		envAlnum = envAlnum[:room]
	}

	n := Names{
		Environment:           env,
		ResourceGroup:         join(abbrResourceGroup, base, in.Location),
		NodeResourceGroup:     join(abbrResourceGroup, base, in.Location, "aksnodes"),
		VirtualNetwork:        join(abbrVirtualNetwork, base, in.Location),
		AKSSubnet:             join(abbrSubnet, base, "aks"),
		PostgresSubnet:        join(abbrSubnet, base, "psql"),
		PostgresDNSZone:       join(abbrPostgres, base) + postgresZoneSuffix,
		PostgresDNSLink:       join(abbrDNSLink, base),
		PrivateEndpointSubnet: join(abbrSubnet, base, abbrPrivateEndpoint),
		BlobPrivateEndpoint:   join(abbrPrivateEndpoint, base, "blob"),
		BlobDNSLink:           join(abbrDNSLink, base, "blob"),
		StorageAccount:        abbrStorage + in.Prefix + envAlnum + hash,
		ContainerRegistry:     abbrRegistry + in.Prefix + envAlnum + hash,
		DatastoreContainer:    app,
		PostgresServer:        join(abbrPostgres, base, hash),
		PostgresDatabase:      app,
		PostgresAdminUser:     "metaflowadmin",
		Cluster:               join(abbrCluster, base),
		ClusterDNSPrefix:      join(abbrCluster, base),
		ClusterIdentity:       join(abbrIdentity, base, "aks"),
		TaskIdentity:          join(abbrIdentity, base, "tasks"),
		UIIdentity:            join(abbrIdentity, base, "ui"),
		SystemPool:            "system",
		TaskPool:              "tasks",
		Application:           fmt.Sprintf("Metaflow %s-%s workloads", in.Prefix, env),
		// A workspace name is unique in its resource group only, so no hash is needed.
		LogAnalyticsWorkspace: join(abbrWorkspace, base, in.Location),
		ActionGroup:           join(abbrActionGroup, base),
		// Unique in its scope (the resource group) only, like the workspace.
		Budget: join(abbrBudget, base),
		// Kept to 8 characters: the short name is shown in notifications and is short by rule.
		ActionGroupShortName: app,
		AlertPrefix:          base,
	}
	return n, n.validate()
}

// Environment turns a stack name into the environment part of names: lower case, letters,
// digits and single hyphens, at most 16 characters (a longer name keeps its first 11 and a hash).
func Environment(stack string) string {
	var b strings.Builder
	lastHyphen := true
	for _, r := range strings.ToLower(stack) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			lastHyphen = false
		case !lastHyphen:
			b.WriteByte('-')
			lastHyphen = true
		}
	}
	env := strings.TrimRight(b.String(), "-")
	if len(env) > maxEnvLen {
		env = strings.TrimRight(env[:maxEnvLen-hashLen+1], "-") + "-" + shortHash(stack)[:hashLen-2]
	}
	return env
}

func join(parts ...string) string { return strings.Join(parts, "-") }

func shortHash(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])[:hashLen]
}

func (n Names) validate() error {
	checks := []struct {
		what  string
		value string
		rule  rule
	}{
		{"resource group", n.ResourceGroup, resourceGroupRule},
		{"node resource group", n.NodeResourceGroup, resourceGroupRule},
		{"virtual network", n.VirtualNetwork, virtualNetworkRule},
		{"AKS subnet", n.AKSSubnet, subnetRule},
		{"Log Analytics workspace", n.LogAnalyticsWorkspace, workspaceRule},
		{"budget", n.Budget, budgetRule},
		{"PostgreSQL subnet", n.PostgresSubnet, subnetRule},
		{"PostgreSQL private DNS zone", n.PostgresDNSZone, dnsZoneRule},
		{"private DNS zone link", n.PostgresDNSLink, dnsLinkRule},
		{"private endpoint subnet", n.PrivateEndpointSubnet, subnetRule},
		{"blob private endpoint", n.BlobPrivateEndpoint, privateEndpointRule},
		{"blob private DNS zone link", n.BlobDNSLink, dnsLinkRule},
		{"storage account", n.StorageAccount, storageAccountRule},
		{"container registry", n.ContainerRegistry, containerRegistryRule},
		{"blob container", n.DatastoreContainer, containerRule},
		{"PostgreSQL server", n.PostgresServer, postgresServerRule},
		{"AKS cluster", n.Cluster, clusterRule},
		{"AKS DNS prefix", n.ClusterDNSPrefix, dnsPrefixRule},
		{"managed identity", n.ClusterIdentity, identityRule},
		{"task managed identity", n.TaskIdentity, identityRule},
		{"UI managed identity", n.UIIdentity, identityRule},
		{"system node pool", n.SystemPool, nodePoolRule},
		{"task node pool", n.TaskPool, nodePoolRule},
	}
	var errs []error
	for _, c := range checks {
		if err := c.rule.check(c.value); err != nil {
			errs = append(errs, fmt.Errorf("%s name %q: %w", c.what, c.value, err))
		}
	}
	return errors.Join(errs...)
}

// FederatedCredential names the federated identity credential that trusts a Kubernetes
// ServiceAccount: readable in the portal as the namespace and the account.
func FederatedCredential(namespace, serviceAccount string) (string, error) {
	name := "k8s-" + namespace + "-" + serviceAccount
	if err := federatedCredentialRule.check(name); err != nil {
		return "", fmt.Errorf("federated identity credential name %q: %w", name, err)
	}
	return name, nil
}

// RoleAssignmentName returns a deterministic GUID for a role assignment, derived from what makes
// the assignment unique (role, principal, scope description). Azure wants a GUID; a stable one
// keeps re-runs idempotent and lets an existing assignment be recognised instead of duplicated.
func RoleAssignmentName(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(append([]string{"role-assignment"}, parts...), "\x00")))
	b := sum[:16]
	b[6] = (b[6] & 0x0f) | 0x50 // version 5 (name-based)
	b[8] = (b[8] & 0x3f) | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
