package armcontract

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Integer enums (the spec's "type": "integer" with "enum") go on the wire as numbers: a number
// in the enum passes, one outside fails, and text is not taken for a number.
func TestIntegerEnums(t *testing.T) {
	t.Parallel()
	const rule = "azure-native:insights/v20220801preview:ScheduledQueryRule"
	c := contracts(t)
	for _, tc := range []struct {
		severity any
		want     string
	}{
		{1.0, ""},
		{4.0, ""},
		{7.0, CodeEnum},
		{1.5, CodeType},
	} {
		vs, err := c.Check(rule, resource.NewPropertyMapFromMap(map[string]any{"severity": tc.severity}))
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if len(vs) > 0 {
			got = vs[0].Code
		}
		if got != tc.want {
			t.Errorf("severity %v: %v; want code %q", tc.severity, vs, tc.want)
		}
	}
}

// A model with the spec's additionalProperties (WorkspaceFeatures) takes keys outside its
// schema; its neighbours still refuse unknown keys.
func TestAdditionalProperties(t *testing.T) {
	t.Parallel()
	const ws = "azure-native:operationalinsights/v20210601:Workspace"
	c := contracts(t)
	vs, err := c.Check(ws, resource.NewPropertyMapFromMap(map[string]any{"features": map[string]any{"someFutureFlag": true}}))
	if err != nil || len(vs) != 0 {
		t.Errorf("features with an extra key refused: %v %v", vs, err)
	}
	vs, err = c.Check(ws, resource.NewPropertyMapFromMap(map[string]any{"workspaceCapping": map[string]any{"dailyQuotaGbb": 1}}))
	if err != nil || len(vs) != 1 || vs[0].Code != CodeUnknownProperty {
		t.Errorf("a misspelt key outside an additionalProperties model passed: %v %v", vs, err)
	}
}

// An extensible enum (the spec's modelAsString, recorded in spec-constraints.json) takes values
// beyond those it lists; a closed one in the same request still refuses them.
func TestExtensibleEnums(t *testing.T) {
	t.Parallel()
	const dcr = "azure-native:insights:DataCollectionRule"
	c := contracts(t)
	in := func(stream, kind string) resource.PropertyMap {
		return resource.NewPropertyMapFromMap(map[string]any{
			"kind": kind,
			"dataSources": map[string]any{"extensions": []any{map[string]any{
				"name": "x", "extensionName": "ContainerInsights", "streams": []any{stream},
			}}},
			"dataFlows": []any{map[string]any{"streams": []any{stream}, "destinations": []any{"d"}}},
		})
	}
	if vs, err := c.Check(dcr, in("Microsoft-KubePodInventory", "Linux")); err != nil || len(vs) != 0 {
		t.Errorf("a stream outside the listed ones was refused: %v %v", vs, err)
	}
	vs, err := c.Check(dcr, in("Microsoft-KubePodInventory", "Plan9"))
	if err != nil || len(vs) != 1 || vs[0].Code != CodeEnum || vs[0].Path != "kind" {
		t.Errorf("kind (not recorded as extensible) took an unlisted value: %v %v", vs, err)
	}
}
