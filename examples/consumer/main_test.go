package main

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const subscription = "11111111-2222-3333-4444-555555555555"

// mocks answers the StackReference with the metaflow-azure stack's outputs and records the
// resources the program registers.
type mocks struct {
	outputs map[string]any

	mu        sync.Mutex
	resources map[string]resource.PropertyMap // by type token
	stackRef  string
}

func (m *mocks) NewResource(a pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.resources[a.TypeToken] = a.Inputs
	outs := a.Inputs.Copy()
	if a.TypeToken == "pulumi:pulumi:StackReference" {
		m.stackRef = a.Inputs["name"].StringValue()
		outs["outputs"] = resource.NewObjectProperty(resource.NewPropertyMapFromMap(m.outputs))
		outs["secretOutputNames"] = resource.NewArrayProperty(nil)
	}
	return a.Name + "-id", outs, nil
}

func (m *mocks) Call(a pulumi.MockCallArgs) (resource.PropertyMap, error) {
	if a.Token == "azure-native:authorization:getClientConfig" {
		return resource.NewPropertyMapFromMap(map[string]any{
			"subscriptionId": subscription, "tenantId": "t", "clientId": "c", "objectId": "o",
		}), nil
	}
	return a.Args, nil
}

func setConfig(t *testing.T, cfg map[string]string) {
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PULUMI_CONFIG", string(b))
}

func metaflowOutputs() map[string]any {
	return map[string]any{
		"resourceGroupName":  "rg-mf-dev",
		"storageAccountName": "stmfdev",
		"containerName":      "metaflow",
		"datastoreRoot":      "az://metaflow/metaflow",
		"portForwards":       []any{},
	}
}

func TestGrantsDatastoreReader(t *testing.T) {
	setConfig(t, map[string]string{
		"metaflow-consumer:metaflowStack": "organization/metaflow-azure/dev",
		"metaflow-consumer:principalId":   "99999999-0000-0000-0000-000000000001",
	})
	m := &mocks{outputs: metaflowOutputs(), resources: map[string]resource.PropertyMap{}}
	if err := pulumi.RunErr(run, pulumi.WithMocks("metaflow-consumer", "test", m)); err != nil {
		t.Fatal(err)
	}
	if m.stackRef != "organization/metaflow-azure/dev" {
		t.Errorf("stack reference name: %q", m.stackRef)
	}
	ra, ok := m.resources["azure-native:authorization:RoleAssignment"]
	if !ok {
		t.Fatalf("no role assignment; registered %v", m.resources)
	}
	want := map[string]string{
		"scope":            "/subscriptions/" + subscription + "/resourceGroups/rg-mf-dev/providers/Microsoft.Storage/storageAccounts/stmfdev/blobServices/default/containers/metaflow",
		"roleDefinitionId": "/subscriptions/" + subscription + "/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
		"principalType":    "ServicePrincipal",
		"principalId":      "99999999-0000-0000-0000-000000000001",
	}
	for k, v := range want {
		if got := ra[resource.PropertyKey(k)]; !got.IsString() || got.StringValue() != v {
			t.Errorf("role assignment %s = %v, want %q", k, got, v)
		}
	}
}

func TestPrincipalTypeAndMissingOutputs(t *testing.T) {
	setConfig(t, map[string]string{
		"metaflow-consumer:metaflowStack": "organization/metaflow-azure/dev",
		"metaflow-consumer:principalId":   "99999999-0000-0000-0000-000000000001",
		"metaflow-consumer:principalType": "Group",
	})
	m := &mocks{outputs: metaflowOutputs(), resources: map[string]resource.PropertyMap{}}
	if err := pulumi.RunErr(run, pulumi.WithMocks("metaflow-consumer", "test", m)); err != nil {
		t.Fatal(err)
	}
	if got := m.resources["azure-native:authorization:RoleAssignment"]["principalType"]; got.StringValue() != "Group" {
		t.Errorf("principalType = %v, want Group", got)
	}

	setConfig(t, map[string]string{
		"metaflow-consumer:metaflowStack": "organization/metaflow-azure/dev",
		"metaflow-consumer:principalId":   "99999999-0000-0000-0000-000000000001",
		"metaflow-consumer:principalType": "Robot",
	})
	err := pulumi.RunErr(run, pulumi.WithMocks("metaflow-consumer", "test", &mocks{outputs: metaflowOutputs(), resources: map[string]resource.PropertyMap{}}))
	if err == nil || !strings.Contains(err.Error(), `metaflow-consumer:principalType: "Robot" must be one of`) {
		t.Errorf("invalid principalType: %v", err)
	}

	// A stack that was never deployed has no outputs: the error names the missing one.
	setConfig(t, map[string]string{
		"metaflow-consumer:metaflowStack": "organization/metaflow-azure/dev",
		"metaflow-consumer:principalId":   "99999999-0000-0000-0000-000000000001",
	})
	err = pulumi.RunErr(run, pulumi.WithMocks("metaflow-consumer", "test", &mocks{outputs: map[string]any{}, resources: map[string]resource.PropertyMap{}}))
	if err == nil || !strings.Contains(err.Error(), `has no output "`) {
		t.Errorf("missing outputs: %v", err)
	}
}
