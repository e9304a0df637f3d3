package fakeprovider

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"

	"metaflow-azure/internal/azurefacts"
	"metaflow-azure/internal/fakeazure"
)

const (
	project = "metaflow-azure"
	stack   = "dev"
	rgType  = "azure-native:resources/v20241101:ResourceGroup"
	saType  = "azure-native:storage:StorageAccount"
	pgType  = "azure-native:dbforpostgresql/v20240801:Server"
)

func urn(typ, name string) resource.URN {
	return resource.NewURN(tokens.QName(stack), tokens.PackageName(project), "", tokens.Type(typ), name)
}

func newCloud(t *testing.T) *Cloud {
	t.Helper()
	c, err := New(project, stack)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func providerFor(c *Cloud, typ string) *provider {
	return &provider{pkg: typ[:strings.Index(typ, ":")], cloud: c}
}

func create(t *testing.T, c *Cloud, typ, name string, in map[string]any) (string, resource.PropertyMap) {
	t.Helper()
	res, err := providerFor(c, typ).Create(context.Background(), plugin.CreateRequest{
		URN: urn(typ, name), Name: name, Type: tokens.Type(typ), Properties: resource.NewPropertyMapFromMap(in),
	})
	if err != nil {
		t.Fatalf("create %s %s: %v", typ, name, err)
	}
	return string(res.ID), res.Properties
}

func deleteIt(c *Cloud, typ, name, id string) error {
	_, err := providerFor(c, typ).Delete(context.Background(), plugin.DeleteRequest{URN: urn(typ, name), Type: tokens.Type(typ), ID: resource.ID(id)})
	return err
}

func group() map[string]any {
	return map[string]any{"resourceGroupName": "rg-a", "location": "westeurope"}
}

func account() map[string]any {
	return map[string]any{"resourceGroupName": "rg-a", "accountName": "sta", "location": "westeurope",
		"kind": "StorageV2", "sku": map[string]any{"name": "Standard_LRS"}}
}

func TestCreateReadUpdateDeleteKeepState(t *testing.T) {
	c := newCloud(t)
	ctx := context.Background()
	rgID, _ := create(t, c, rgType, "rg", group())
	id, outs := create(t, c, saType, "sa", account())
	if want := rgID + "/providers/Microsoft.Storage/storageAccounts/sta"; id != want {
		t.Fatalf("id %s, want %s", id, want)
	}
	if outs["primaryEndpoints"].ObjectValue()["blob"].StringValue() != "https://sta.blob.core.windows.net/" {
		t.Errorf("outputs %v", outs)
	}
	p := providerFor(c, saType)
	read, err := p.Read(ctx, plugin.ReadRequest{URN: urn(saType, "sa"), Type: saType, ID: resource.ID(id)})
	if err != nil || string(read.ID) != id || !read.Inputs.DeepEquals(resource.NewPropertyMapFromMap(account())) {
		t.Fatalf("read %+v %v", read, err)
	}
	news := resource.NewPropertyMapFromMap(account())
	news["tags"] = resource.NewObjectProperty(resource.PropertyMap{"team": resource.NewStringProperty("x")})
	if _, err := p.Update(ctx, plugin.UpdateRequest{URN: urn(saType, "sa"), Type: saType, ID: resource.ID(id),
		OldInputs: resource.NewPropertyMapFromMap(account()), OldOutputs: outs, NewInputs: news}); err != nil {
		t.Fatal(err)
	}
	if r, _ := c.Get(urn(saType, "sa"), saType, id); !r.Inputs.DeepEquals(news) {
		t.Errorf("the update was not kept: %v", r.Inputs)
	}
	if err := deleteIt(c, saType, "sa", id); err != nil {
		t.Fatal(err)
	}
	read, err = p.Read(ctx, plugin.ReadRequest{URN: urn(saType, "sa"), Type: saType, ID: resource.ID(id)})
	if err != nil || read.ID != "" {
		t.Fatalf("a deleted resource must read as gone: %+v %v", read, err)
	}
	if err := deleteIt(c, saType, "sa", id); err != nil {
		t.Errorf("deleting what is gone is done, as azure-native takes a 404: %v", err)
	}
}

func TestCreatingWhatExistsIsRefused(t *testing.T) {
	c := newCloud(t)
	create(t, c, rgType, "rg", group())
	_, err := providerFor(c, rgType).Create(context.Background(), plugin.CreateRequest{
		URN: urn(rgType, "rg2"), Type: rgType, Properties: resource.NewPropertyMapFromMap(map[string]any{"resourceGroupName": "RG-A", "location": "westeurope"}),
	})
	if err == nil || !strings.Contains(err.Error(), "cannot create already existing resource") {
		t.Fatalf("got %v", err)
	}
}

func TestCheckRefusesWhatTheContractRefuses(t *testing.T) {
	c := newCloud(t)
	in := account()
	in["kind"] = "StorageV3"
	res, err := providerFor(c, saType).Check(context.Background(), plugin.CheckRequest{URN: urn(saType, "sa"), Type: saType, News: resource.NewPropertyMapFromMap(in)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) != 1 || res.Failures[0].Property != "kind" || !strings.Contains(res.Failures[0].Reason, "ENUM_MISMATCH") {
		t.Fatalf("failures %+v", res.Failures)
	}
	in["kind"] = resource.MakeComputed(resource.NewStringProperty(""))
	res, err = providerFor(c, saType).Check(context.Background(), plugin.CheckRequest{URN: urn(saType, "sa"), Type: saType, News: resource.PropertyMap{
		"resourceGroupName": resource.NewStringProperty("rg-a"), "accountName": resource.NewStringProperty("sta"),
		"kind": resource.MakeComputed(resource.NewStringProperty("")),
	}})
	if err != nil || len(res.Failures) != 0 {
		t.Fatalf("an unknown value is left alone in a preview: %+v %v", res.Failures, err)
	}
}

func TestDiffReplacesDeleteFirstOnlyWhereAzureCannotUpdate(t *testing.T) {
	c := newCloud(t)
	p := providerFor(c, pgType)
	old := resource.NewPropertyMapFromMap(map[string]any{"resourceGroupName": "rg-a", "serverName": "psql", "location": "westeurope",
		"administratorLogin": "admin", "version": "16", "sku": map[string]any{"name": "Standard_B1ms", "tier": "Burstable"}})
	diff := func(change map[string]any) plugin.DiffResponse {
		news := old.Copy()
		for k, v := range change {
			news[resource.PropertyKey(k)] = resource.NewPropertyValue(v)
		}
		res, err := p.Diff(context.Background(), plugin.DiffRequest{URN: urn(pgType, "db"), Type: pgType, OldInputs: old, NewInputs: news})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if d := diff(nil); d.Changes != plugin.DiffNone {
		t.Errorf("no change: %+v", d)
	}
	if d := diff(map[string]any{"version": "17"}); d.Changes != plugin.DiffSome || len(d.ReplaceKeys) != 0 || d.DetailedDiff["version"].Kind != plugin.DiffUpdate {
		t.Errorf("a major upgrade is an update: %+v", d)
	}
	d := diff(map[string]any{"administratorLogin": "other"})
	if len(d.ReplaceKeys) != 1 || d.ReplaceKeys[0] != "administratorLogin" || !d.DeleteBeforeReplace {
		t.Errorf("a new login replaces the server, delete-first as it keeps its name: %+v", d)
	}
	ignored, err := p.Diff(context.Background(), plugin.DiffRequest{URN: urn(pgType, "db"), Type: pgType, OldInputs: old,
		NewInputs: func() resource.PropertyMap {
			n := old.Copy()
			n["version"] = resource.NewStringProperty("17")
			return n
		}(), IgnoreChanges: []string{"version"}})
	if err != nil || ignored.Changes != plugin.DiffNone {
		t.Errorf("an ignored change is no change: %+v %v", ignored, err)
	}
}

func TestBridgedDiff(t *testing.T) {
	c := newCloud(t)
	p := providerFor(c, "random:index/randomPassword:RandomPassword")
	old := resource.NewPropertyMapFromMap(map[string]any{"length": 32, "special": true})
	news := resource.NewPropertyMapFromMap(map[string]any{"length": 40, "special": true})
	d, err := p.Diff(context.Background(), plugin.DiffRequest{Type: "random:index/randomPassword:RandomPassword", OldInputs: old, NewInputs: news})
	if err != nil || len(d.ReplaceKeys) != 1 || d.DeleteBeforeReplace {
		t.Fatalf("a new length replaces the password, create-first: %+v %v", d, err)
	}
	secret := old.Copy()
	secret["length"] = resource.MakeSecret(secret["length"])
	if d, err := p.Diff(context.Background(), plugin.DiffRequest{Type: "random:index/randomPassword:RandomPassword", OldInputs: old, NewInputs: secret}); err != nil || d.Changes != plugin.DiffNone {
		t.Fatalf("a value made secret is no change: %+v %v", d, err)
	}
	sp := providerFor(c, "azuread:index/servicePrincipal:ServicePrincipal")
	d, err = sp.Diff(context.Background(), plugin.DiffRequest{Type: "azuread:index/servicePrincipal:ServicePrincipal",
		OldInputs: resource.NewPropertyMapFromMap(map[string]any{"clientId": "a", "owners": []any{"o1"}}),
		NewInputs: resource.NewPropertyMapFromMap(map[string]any{"clientId": "a", "owners": []any{"o2"}})})
	if err != nil || d.Changes != plugin.DiffSome || len(d.ReplaceKeys) != 0 {
		t.Fatalf("new owners update a service principal: %+v %v", d, err)
	}
}

func TestUpdatePreviewKnowsOnlyNameAndLocation(t *testing.T) {
	c := newCloud(t)
	p := providerFor(c, "azure-native:containerservice/v20241001:ManagedCluster")
	old := resource.NewPropertyMapFromMap(map[string]any{"resourceName": "aks", "kubernetesVersion": "1.35"})
	outs := resource.NewPropertyMapFromMap(map[string]any{"resourceName": "aks", "kubernetesVersion": "1.35", "name": "aks", "location": "westeurope", "fqdn": "x",
		"oidcIssuerProfile": map[string]any{"enabled": true, "issuerURL": "https://issuer/"}})
	news := resource.NewPropertyMapFromMap(map[string]any{"resourceName": "aks", "kubernetesVersion": "1.36",
		"oidcIssuerProfile": map[string]any{"enabled": true}})
	res, err := p.Update(context.Background(), plugin.UpdateRequest{Type: "azure-native:containerservice/v20241001:ManagedCluster", OldInputs: old, OldOutputs: outs, NewInputs: news, Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Properties["name"].StringValue() != "aks" || res.Properties["kubernetesVersion"].StringValue() != "1.36" || !res.Properties["fqdn"].IsComputed() {
		t.Fatalf("preview outputs %v", res.Properties)
	}
	// A read-only property inside an object the inputs give is unknown too, not absent (which the
	// SDK would read as a known empty value).
	oidc := res.Properties["oidcIssuerProfile"].ObjectValue()
	if !oidc["enabled"].BoolValue() || !oidc["issuerURL"].IsComputed() {
		t.Errorf("oidcIssuerProfile in the preview: %v", oidc)
	}
	if len(c.Ops()) != 0 {
		t.Errorf("a preview changed the cloud: %v", c.Ops())
	}
}

// A CanNotDelete lock on a scope refuses deleting it and everything inside it, the group too,
// until the lock itself is deleted.
func TestDeleteLocksAreInheritedAndGroupsTakeTheirContents(t *testing.T) {
	c := newCloud(t)
	rgID, _ := create(t, c, rgType, "rg", group())
	saID, _ := create(t, c, saType, "sa", account())
	const raType = "azure-native:authorization:RoleAssignment"
	raID, _ := create(t, c, raType, "ra", map[string]any{
		"scope": saID, "roleAssignmentName": "00000000-0000-4000-8000-000000000001", "principalId": fakeazure.DeployerObjectID,
		"principalType":    "User",
		"roleDefinitionId": "/subscriptions/" + fakeazure.SubscriptionID + "/providers/Microsoft.Authorization/roleDefinitions/" + azurefacts.RoleStorageBlobDataContributor,
	})
	lockID, _ := create(t, c, lockType, "lock", map[string]any{"scope": saID, "lockName": "protect", "level": "CanNotDelete"})
	for _, tc := range []struct{ typ, name, id string }{{raType, "ra", raID}, {saType, "sa", saID}, {rgType, "rg", rgID}} {
		if err := deleteIt(c, tc.typ, tc.name, tc.id); err == nil || !strings.Contains(err.Error(), "ScopeLocked") {
			t.Errorf("delete %s under a lock: %v", tc.name, err)
		}
	}
	if err := deleteIt(c, lockType, "lock", lockID); err != nil {
		t.Fatal(err)
	}
	if err := deleteIt(c, rgType, "rg", rgID); err != nil {
		t.Fatal(err)
	}
	if left := c.Resources(); len(left) != 0 {
		t.Errorf("the group's deletion left %d resources", len(left))
	}
}

// The engine calls providers concurrently; run under -race.
func TestConcurrentCreates(t *testing.T) {
	c := newCloud(t)
	var events sync.Map
	c.Watch(func(e Event) { events.Store(e.URN, e.Kind) })
	create(t, c, rgType, "rg", group())
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := "id" + string(rune('a'+i%26)) + string(rune('a'+i/26))
			create(t, c, "azure-native:managedidentity:UserAssignedIdentity", name, map[string]any{
				"resourceGroupName": "rg-a", "resourceName": name, "location": "westeurope"})
		}()
	}
	wg.Wait()
	if n := len(c.Resources()); n != 41 {
		t.Errorf("%d resources, want 41", n)
	}
	n := 0
	events.Range(func(any, any) bool { n++; return true })
	if n != 41 {
		t.Errorf("%d events, want 41", n)
	}
}
