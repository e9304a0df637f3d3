package deployerrole_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"metaflow-azure/internal/deployerrole"
)

// generated returns the requirements of dev and prod and the role built from them, in the
// create shape.
func generated(t *testing.T) ([]deployerrole.Requirement, deployerrole.Definition) {
	t.Helper()
	_, reqs := requirements(t, "dev", "prod")
	return reqs, deployerrole.NewDefinition(reqs, deployerrole.Scope{SubscriptionID: subscription}, []string{"dev", "prod"})
}

func parse(t *testing.T, v any) deployerrole.Permissions {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p, err := deployerrole.ParsePermissions(data)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func gapActions(gaps []deployerrole.Gap) []string {
	var out []string
	for _, g := range gaps {
		out = append(out, g.Action)
	}
	return out
}

func TestMissingFindsEveryRemovedAction(t *testing.T) {
	t.Parallel()
	reqs, def := generated(t)
	if gaps := deployerrole.Missing(reqs, parse(t, def)); len(gaps) != 0 {
		t.Fatalf("the generated role lacks %v", gapActions(gaps))
	}
	for i, removed := range def.Actions {
		t.Run(removed, func(t *testing.T) {
			t.Parallel()
			cut := def
			cut.Actions = slices.Delete(slices.Clone(def.Actions), i, i+1)
			gaps := deployerrole.Missing(reqs, parse(t, cut))
			if got := gapActions(gaps); !slices.Equal(got, []string{removed}) {
				t.Fatalf("missing = %v, want [%s]", got, removed)
			}
			if gaps[0].Reason != "not granted" || len(gaps[0].NeededBy) == 0 {
				t.Errorf("gap %+v: want reason \"not granted\" and the types needing it", gaps[0])
			}
		})
	}
}

func TestMissingHonoursWildcardsAndExclusions(t *testing.T) {
	t.Parallel()
	reqs, def := generated(t)
	without := func(prefix string) []string {
		var out []string
		for _, a := range def.Actions {
			if !strings.HasPrefix(a, prefix) {
				out = append(out, a)
			}
		}
		return out
	}
	k8s := []string{"Microsoft.ContainerService/managedClusters/*"}
	tests := []struct {
		name string
		role any
		// wantMissing are the required actions reported, in order; nil means none.
		wantMissing []string
		wantReason  string
	}{
		{
			name: "provider wildcard replaces its actions",
			role: map[string]any{"Actions": append(without("Microsoft.Storage/"), "Microsoft.Storage/*"), "DataActions": k8s},
		},
		{
			name: "*/read replaces every read",
			role: map[string]any{"Actions": append(slices.DeleteFunc(slices.Clone(def.Actions), func(a string) bool { return strings.HasSuffix(a, "/read") }), "*/read"), "DataActions": k8s},
		},
		{
			name: "Contributor-like star, lower-case keys and action case ignored",
			role: map[string]any{"actions": []string{"*"}, "dataActions": []string{"microsoft.containerservice/*"}},
		},
		{
			name: "a middle wildcard",
			role: map[string]any{"Actions": append(without("Microsoft.Network/privateDnsZones/"), "Microsoft.Network/privateDnsZones/*/read",
				"Microsoft.Network/privateDnsZones/read", "Microsoft.Network/privateDnsZones/write", "Microsoft.Network/privateDnsZones/delete",
				"Microsoft.Network/privateDnsZones/join/action", "Microsoft.Network/privateDnsZones/virtualNetworkLinks/write"), "DataActions": k8s},
			wantMissing: []string{"Microsoft.Network/privateDnsZones/virtualNetworkLinks/delete"},
			wantReason:  "not granted",
		},
		{
			name:        "NotActions remove what a wildcard grants",
			role:        map[string]any{"Actions": []string{"*"}, "NotActions": []string{"Microsoft.Storage/*/delete"}, "DataActions": k8s},
			wantMissing: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/delete", "Microsoft.Storage/storageAccounts/delete"},
			wantReason:  `excluded by NotActions "Microsoft.Storage/*/delete"`,
		},
		{
			name:        "a narrower data wildcard does not cover the cluster data action",
			role:        map[string]any{"Actions": def.Actions, "DataActions": []string{"Microsoft.ContainerService/managedClusters/namespaces/*"}},
			wantMissing: []string{"Microsoft.ContainerService/managedClusters/*"},
			wantReason:  "not granted",
		},
		{
			name:        "NotDataActions inside the cluster data action",
			role:        map[string]any{"Actions": def.Actions, "DataActions": k8s, "NotDataActions": []string{"Microsoft.ContainerService/managedClusters/secrets/*"}},
			wantMissing: []string{"Microsoft.ContainerService/managedClusters/*"},
			wantReason:  `excluded by NotDataActions "Microsoft.ContainerService/managedClusters/secrets/*"`,
		},
		{
			name: "az role definition list shape, two roles merged",
			role: []any{
				map[string]any{"roleName": "a", "permissions": []any{map[string]any{"actions": without("Microsoft.Network/"), "dataActions": k8s, "notActions": []string{}}}},
				map[string]any{"roleName": "b", "permissions": []any{map[string]any{"actions": []string{"Microsoft.Network/*"}}}},
			},
		},
		{
			name: "REST shape",
			role: map[string]any{"properties": map[string]any{"permissions": []any{map[string]any{"actions": without("Microsoft.Authorization/")}}}},
			wantMissing: []string{"Microsoft.Authorization/locks/delete", "Microsoft.Authorization/locks/read", "Microsoft.Authorization/locks/write",
				"Microsoft.Authorization/roleAssignments/delete", "Microsoft.Authorization/roleAssignments/read", "Microsoft.Authorization/roleAssignments/write", "Microsoft.ContainerService/managedClusters/*"},
			wantReason: "not granted",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gaps := deployerrole.Missing(reqs, parse(t, tc.role))
			if got := gapActions(gaps); !slices.Equal(got, tc.wantMissing) {
				t.Fatalf("missing = %v, want %v", got, tc.wantMissing)
			}
			for _, g := range gaps {
				if g.Reason != tc.wantReason {
					t.Errorf("%s: reason %q, want %q", g.Action, g.Reason, tc.wantReason)
				}
			}
		})
	}
}

func TestParsePermissionsRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, input, wantErr string
	}{
		{"not JSON", "Actions: [x]", "parsing the role definition"},
		{"no actions", `{"Name": "x", "Actions": []}`, "no actions found"},
		{"list of nothing", `[]`, "no actions found"},
		{"actions not a list", `{"Actions": "Microsoft.Storage/*"}`, "parsing the role definition"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := deployerrole.ParsePermissions([]byte(tc.input))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}
