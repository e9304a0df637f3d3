package naming

import (
	"strings"
	"testing"
)

func input(stack string) Input {
	return Input{Prefix: "acme", Stack: stack, Location: "westeurope", SubscriptionID: "00000000-0000-0000-0000-000000000000"}
}

func TestForDev(t *testing.T) {
	t.Parallel()
	n, err := For(input("dev"))
	if err != nil {
		t.Fatal(err)
	}
	for got, want := range map[string]string{
		n.ResourceGroup:   "rg-acme-metaflow-dev-westeurope",
		n.VirtualNetwork:  "vnet-acme-metaflow-dev-westeurope",
		n.AKSSubnet:       "snet-acme-metaflow-dev-aks",
		n.Cluster:         "aks-acme-metaflow-dev",
		n.PostgresDNSZone: "psql-acme-metaflow-dev.private.postgres.database.azure.com",
		n.Budget:          "budget-acme-metaflow-dev",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if !strings.HasPrefix(n.StorageAccount, "stacmedev") || len(n.StorageAccount) != len("stacmedev")+hashLen {
		t.Errorf("storage account %q: want st+prefix+env+6-char hash", n.StorageAccount)
	}
	if n.ContainerRegistry != "cr"+strings.TrimPrefix(n.StorageAccount, "st") {
		t.Errorf("container registry %q: want cr+prefix+env+hash, globally unique like the storage account", n.ContainerRegistry)
	}
	if !strings.HasPrefix(n.PostgresServer, "psql-acme-metaflow-dev-") {
		t.Errorf("postgres server %q", n.PostgresServer)
	}
}

func TestGlobalNamesDependOnSubscriptionAndStack(t *testing.T) {
	t.Parallel()
	a, _ := For(input("dev"))
	b, _ := For(input("prod"))
	other := input("dev")
	other.SubscriptionID = "11111111-1111-1111-1111-111111111111"
	c, _ := For(other)
	again, _ := For(input("dev"))
	if a.StorageAccount == c.StorageAccount || a.PostgresServer == c.PostgresServer {
		t.Error("global names must differ between subscriptions")
	}
	if a.PostgresServer == b.PostgresServer {
		t.Error("global names must differ between stacks")
	}
	if a != again {
		t.Error("names must be stable across runs")
	}
}

func TestEnvironment(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ stack, want string }{
		{"dev", "dev"},
		{"Prod_EU.1", "prod-eu-1"},
		{"--x--", "x"},
		{"___", ""},
		{"sixteen-chars-ok", "sixteen-chars-ok"},
	} {
		if got := Environment(tt.stack); got != tt.want {
			t.Errorf("Environment(%q) = %q, want %q", tt.stack, got, tt.want)
		}
	}
	long1, long2 := Environment("production-europe-1"), Environment("production-europe-2")
	if len(long1) > maxEnvLen || long1 == long2 {
		t.Errorf("long stack names must be shortened and stay distinct: %q %q", long1, long2)
	}
}

func TestForRejectsStackWithoutLetters(t *testing.T) {
	t.Parallel()
	if _, err := For(input("___")); err == nil || !strings.Contains(err.Error(), "no letters or digits") {
		t.Errorf("want a clear error, got %v", err)
	}
}

func TestRulesAtTheirLimits(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		rule  rule
		value string
		ok    bool
	}{
		{"storage at 24", storageAccountRule, strings.Repeat("a", 24), true},
		{"storage at 25", storageAccountRule, strings.Repeat("a", 25), false},
		{"storage at 2", storageAccountRule, "ab", false},
		{"storage upper case", storageAccountRule, "stAcme", false},
		{"node pool at 12", nodePoolRule, strings.Repeat("a", 12), true},
		{"node pool at 13", nodePoolRule, strings.Repeat("a", 13), false},
		{"node pool digit first", nodePoolRule, "1pool", false},
		{"postgres at 63", postgresServerRule, strings.Repeat("a", 63), true},
		{"postgres at 64", postgresServerRule, strings.Repeat("a", 64), false},
		{"postgres trailing hyphen", postgresServerRule, "psql-", false},
		{"dns prefix at 54", dnsPrefixRule, strings.Repeat("a", 54), true},
		{"dns prefix at 55", dnsPrefixRule, strings.Repeat("a", 55), false},
		{"container double hyphen", containerRule, "meta--flow", false},
		{"resource group trailing dot", resourceGroupRule, "rg-x.", false},
		{"zone must end in postgres domain", dnsZoneRule, "x.private.example.com", false},
		{"budget at 63", budgetRule, strings.Repeat("a", 62) + "_", true},
		{"budget at 64", budgetRule, strings.Repeat("a", 64), false},
		{"budget with a dot", budgetRule, "budget.dev", false},
	} {
		if err := tt.rule.check(tt.value); (err == nil) != tt.ok {
			t.Errorf("%s: check(%q) = %v, want ok=%v", tt.name, tt.value, err, tt.ok)
		}
	}
}

// FuzzFor: any valid prefix with any stack name and region yields names Azure accepts, or a
// clear error when the stack name has nothing to name resources with.
func FuzzFor(f *testing.F) {
	f.Add("acme", "dev", "westeurope", "00000000-0000-0000-0000-000000000000")
	f.Add("abcdefgh", "a-very-long-stack-name-for-production", "australiasoutheast", "x")
	f.Add("ab", "Prod_EU.1", "germanywestcentral", "sub")
	f.Fuzz(func(t *testing.T, prefix, stack, location, sub string) {
		if !validPrefix(prefix) || location == "" || sub == "" || len(location) > 20 || !lowerAlnum(location) {
			t.Skip()
		}
		n, err := For(Input{Prefix: prefix, Stack: stack, Location: location, SubscriptionID: sub})
		if Environment(stack) == "" {
			if err == nil {
				t.Fatalf("stack %q: want an error", stack)
			}
			return
		}
		if err != nil {
			t.Fatalf("For(%q, %q, %q): %v", prefix, stack, location, err)
		}
		if !strings.HasPrefix(n.StorageAccount, "st"+prefix) {
			t.Fatalf("storage account %q lost its prefix", n.StorageAccount)
		}
	})
}

func validPrefix(p string) bool {
	return len(p) >= 2 && len(p) <= 8 && p[0] >= 'a' && p[0] <= 'z' && lowerAlnum(p)
}

func lowerAlnum(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func TestRoleAssignmentName(t *testing.T) {
	t.Parallel()
	a := RoleAssignmentName("blob-contributor", "sp", "container")
	if a != RoleAssignmentName("blob-contributor", "sp", "container") {
		t.Error("must be deterministic")
	}
	if a == RoleAssignmentName("blob-contributor", "sp", "account") {
		t.Error("must differ by scope")
	}
	if len(a) != 36 || a[14] != '5' || strings.Count(a, "-") != 4 {
		t.Errorf("%q is not a version-5 GUID", a)
	}
}
