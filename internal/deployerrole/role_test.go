package deployerrole_test

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"metaflow-azure/internal/deployerrole"
	"metaflow-azure/internal/plan"
	"metaflow-azure/internal/program"
	"metaflow-azure/internal/stackconfig"
)

const (
	projectDir   = "../.."
	subscription = "00000000-0000-4000-8000-00000000cafe"
)

func loadConfigs(t *testing.T, stacks ...string) []*stackconfig.Config {
	t.Helper()
	var configs []*stackconfig.Config
	for _, s := range stacks {
		cfg, err := stackconfig.Load(projectDir, s)
		if err != nil {
			t.Fatal(err)
		}
		configs = append(configs, cfg)
	}
	return configs
}

func requirements(t *testing.T, stacks ...string) (*deployerrole.Declared, []deployerrole.Requirement) {
	t.Helper()
	declared, err := deployerrole.Collect(loadConfigs(t, stacks...), program.Declare)
	if err != nil {
		t.Fatal(err)
	}
	reqs, err := deployerrole.Requirements(declared)
	if err != nil {
		t.Fatal(err)
	}
	return declared, reqs
}

// TestRequirementsCoverEveryAzureType reads the types from the plan (not from Collect), so a
// type the plan shows but the role misses fails here.
func TestRequirementsCoverEveryAzureType(t *testing.T) {
	t.Parallel()
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			t.Parallel()
			p, err := plan.Build(plan.Options{Config: loadConfigs(t, stack)[0], Program: program.Declare})
			if err != nil {
				t.Fatal(err)
			}
			_, reqs := requirements(t, stack)
			azureTypes := 0
			for _, r := range p.Resources {
				if !strings.HasPrefix(r.Type, "azure-native:") {
					continue
				}
				azureTypes++
				for _, verb := range []string{"/read", "/write"} {
					if !slices.ContainsFunc(reqs, func(q deployerrole.Requirement) bool {
						return !q.Data && strings.HasSuffix(q.Action, verb) && slices.Contains(q.NeededBy, r.Type)
					}) {
						t.Errorf("%s (%s): no %s action in the role", r.Type, r.Name, verb)
					}
				}
			}
			if azureTypes < 15 {
				t.Fatalf("the %s plan holds only %d Azure resources; is the plan empty?", stack, azureTypes)
			}
		})
	}
}

// TestRequirementsHoldTheLinkedAccessActions pins the actions ARM checks beyond each type's
// own read/write/delete, and that the Kubernetes data action follows aks.azureRbac.
func TestRequirementsHoldTheLinkedAccessActions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		stacks   []string
		want     []string
		wantData []string
	}{
		{
			name:   "dev: no Azure RBAC for Kubernetes, no data action",
			stacks: []string{"dev"},
			want: []string{
				"Microsoft.Network/virtualNetworks/subnets/join/action",
				"Microsoft.Network/privateDnsZones/join/action",
				"Microsoft.Network/virtualNetworks/join/action",
				"Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
				"Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
				"Microsoft.Authorization/roleAssignments/write",
				"Microsoft.Authorization/roleAssignments/delete",
				"Microsoft.Authorization/roleAssignments/read",
				"Microsoft.Resources/subscriptions/resourceGroups/write",
			},
		},
		{
			name:     "prod: Azure RBAC for Kubernetes needs the cluster data action",
			stacks:   []string{"prod"},
			want:     []string{"Microsoft.ContainerService/managedClusters/agentPools/delete"},
			wantData: []string{"Microsoft.ContainerService/managedClusters/*"},
		},
		{
			name:     "dev and prod: the union",
			stacks:   []string{"dev", "prod"},
			want:     []string{"Microsoft.Storage/storageAccounts/blobServices/containers/delete"},
			wantData: []string{"Microsoft.ContainerService/managedClusters/*"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, reqs := requirements(t, tc.stacks...)
			var actions, data []string
			for _, r := range reqs {
				if r.Data {
					data = append(data, r.Action)
				} else {
					actions = append(actions, r.Action)
				}
				if strings.HasSuffix(r.Action, "/action") && r.Why == "" {
					t.Errorf("%s has no reason", r.Action)
				}
			}
			for _, a := range tc.want {
				if !slices.Contains(actions, a) {
					t.Errorf("Actions lack %s", a)
				}
			}
			if !slices.Equal(data, tc.wantData) {
				t.Errorf("DataActions = %v, want %v", data, tc.wantData)
			}
			for _, a := range actions {
				if strings.Contains(a, "*") || strings.HasPrefix(a, "Microsoft.Resources/deployments") {
					t.Errorf("Actions hold %s: wildcards and template deployments are wider than the stack needs", a)
				}
			}
		})
	}
}

func TestRequirementsRejectUnmappedTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		token string
	}{
		{"new azure-native resource", "azure-native:cache:Redis"},
		{"new azure-native function", "azure-native:storage:listStorageAccountKeys"},
		{"unclassified package", "tls:index/privateKey:PrivateKey"},
		{"classic azure provider", "azure:core/resourceGroup:ResourceGroup"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := deployerrole.Requirements(&deployerrole.Declared{Tokens: map[string][]string{
				tc.token:                              {"dev"},
				"azure-native:network:VirtualNetwork": {"dev"},
				"kubernetes:core/v1:Namespace":        {"dev"},
			}})
			if err == nil || !strings.Contains(err.Error(), tc.token) || !strings.Contains(err.Error(), "internal/deployerrole/actions.go") {
				t.Fatalf("err = %v, want one naming %s and the table to extend", err, tc.token)
			}
		})
	}
}

var (
	actionShape     = regexp.MustCompile(`^[A-Za-z.]+/([A-Za-z0-9.]+/)*(read|write|delete|action)$`)
	dataActionShape = regexp.MustCompile(`^[A-Za-z.]+/([A-Za-z0-9.]+/)*(read|write|delete|action|\*)$`)
	scopeShape      = regexp.MustCompile(`^/subscriptions/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(/resourceGroups/[-\w.()]+)?$`)
)

// TestDefinitionMatchesAzureSchema checks the JSON against the role definition format of
// `az role definition create`: exactly its keys, no nulls, well-formed actions and scopes.
func TestDefinitionMatchesAzureSchema(t *testing.T) {
	t.Parallel()
	_, reqs := requirements(t, "dev", "prod")
	tests := []struct {
		name      string
		scope     deployerrole.Scope
		wantScope string
	}{
		{"subscription", deployerrole.Scope{SubscriptionID: subscription}, "/subscriptions/" + subscription},
		{"resource group", deployerrole.Scope{SubscriptionID: subscription, ResourceGroup: "rg-acme-metaflow-prod-westeurope"},
			"/subscriptions/" + subscription + "/resourceGroups/rg-acme-metaflow-prod-westeurope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := deployerrole.NewDefinition(reqs, tc.scope, []string{"dev", "prod"}).WriteJSON(&buf); err != nil {
				t.Fatal(err)
			}
			var raw map[string]any
			if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
				t.Fatal(err)
			}
			keys := slices.Sorted(func(yield func(string) bool) {
				for k := range raw {
					if !yield(k) {
						return
					}
				}
			})
			wantKeys := []string{"Actions", "AssignableScopes", "DataActions", "Description", "IsCustom", "Name", "NotActions", "NotDataActions"}
			if !slices.Equal(keys, wantKeys) {
				t.Fatalf("keys = %v, want %v", keys, wantKeys)
			}
			if raw["IsCustom"] != true {
				t.Errorf("IsCustom = %v, want true", raw["IsCustom"])
			}
			if name, _ := raw["Name"].(string); name == "" || len(name) > 128 {
				t.Errorf("Name %q: want 1–128 characters", name)
			}
			if d, _ := raw["Description"].(string); d == "" {
				t.Error("Description is empty")
			}
			lists := map[string]*regexp.Regexp{"Actions": actionShape, "NotActions": actionShape, "DataActions": dataActionShape, "NotDataActions": dataActionShape, "AssignableScopes": scopeShape}
			for key, shape := range lists {
				list, ok := raw[key].([]any)
				if !ok {
					t.Errorf("%s is %T, want a list (empty, not null)", key, raw[key])
					continue
				}
				seen := map[string]bool{}
				for _, item := range list {
					s, _ := item.(string)
					if !shape.MatchString(s) {
						t.Errorf("%s: %q does not match %s", key, s, shape)
					}
					if seen[strings.ToLower(s)] {
						t.Errorf("%s: %q twice", key, s)
					}
					seen[strings.ToLower(s)] = true
				}
			}
			if got := raw["AssignableScopes"].([]any); len(got) != 1 || got[0] != tc.wantScope {
				t.Errorf("AssignableScopes = %v, want [%s]", got, tc.wantScope)
			}
			if len(raw["Actions"].([]any)) < 40 {
				t.Errorf("only %d actions", len(raw["Actions"].([]any)))
			}
		})
	}
}

func TestScopeValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		scope   deployerrole.Scope
		wantErr string
	}{
		{"subscription", deployerrole.Scope{SubscriptionID: subscription}, ""},
		{"resource group at 90 characters", deployerrole.Scope{SubscriptionID: subscription, ResourceGroup: strings.Repeat("r", 90)}, ""},
		{"resource group with periods and parentheses", deployerrole.Scope{SubscriptionID: subscription, ResourceGroup: "rg.(x)_y-z"}, ""},
		{"subscription name instead of id", deployerrole.Scope{SubscriptionID: "my-subscription"}, `--subscription "my-subscription"`},
		{"resource group at 91 characters", deployerrole.Scope{SubscriptionID: subscription, ResourceGroup: strings.Repeat("r", 91)}, "--resource-group"},
		{"resource group ending in a period", deployerrole.Scope{SubscriptionID: subscription, ResourceGroup: "rg."}, `--resource-group "rg."`},
		{"resource group with a slash", deployerrole.Scope{SubscriptionID: subscription, ResourceGroup: "rg/x"}, `--resource-group "rg/x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.scope.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// TestDocListsTheAssignedRoles keeps the role-assignment condition in docs/deployer-role.md in
// step with the roles the stacks assign: a role missing there would make the condition refuse
// a deploy, an extra one would allow more than needed.
func TestDocListsTheAssignedRoles(t *testing.T) {
	t.Parallel()
	declared, _ := requirements(t, "dev", "prod")
	doc, err := os.ReadFile(projectDir + "/docs/deployer-role.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ROLES='([^']*)'$`).FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/deployer-role.md has no ROLES='…' line")
	}
	var listed []string
	for _, g := range strings.Split(string(m[1]), ",") {
		listed = append(listed, strings.TrimSpace(g))
	}
	slices.Sort(listed)
	if !slices.Equal(listed, declared.AssignedRoles) {
		t.Errorf("the doc's ROLES = %v, the plans assign %v", listed, declared.AssignedRoles)
	}
}
