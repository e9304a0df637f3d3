package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestExtractFakeSDK(t *testing.T) {
	p, err := parsePkg("testdata/fakesdk")
	if err != nil {
		t.Fatal(err)
	}
	req, err := p.request("WidgetsClient", "createOrUpdateCreateRequest")
	if err != nil {
		t.Fatal(err)
	}
	if req.APIVersion != "2030-01-01" || req.APIVersionLine != 11 || req.Body != "Widget" || req.PathConsts["partName"] != "default" ||
		!strings.HasSuffix(req.PathTemplate, "/widgets/{widgetName}/parts/{partName}") {
		t.Errorf("request: %+v", req)
	}
	e := entry{"azure-native:fake/v20300101:Widget", "example.com/armfake", "v1.0.0", "WidgetsClient", "createOrUpdateCreateRequest"}
	if err := sameAPIVersion(e, "2030-01-01", "token", req); err != nil {
		t.Error(err)
	}
	if err := sameAPIVersion(e, "2029-12-01", "token", req); err == nil || !strings.Contains(err.Error(), "sends 2030-01-01 (widgets_client.go:11)") {
		t.Errorf("a different API version must fail the generator, got %v", err)
	}

	// A named constant (TypeSpec-generated modules) is resolved to its value.
	gadget, err := p.request("GadgetsClient", "createOrUpdateCreateRequest")
	if err != nil {
		t.Fatal(err)
	}
	if gadget.APIVersion != "2030-01-01" || gadget.APIVersionLine != 24 {
		t.Errorf("API version from a constant: %q at line %d; want 2030-01-01 at 24", gadget.APIVersion, gadget.APIVersionLine)
	}

	models, enums := map[string]Model{}, map[string][]string{}
	if err := p.models("Widget", models, enums); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(models)
	for _, want := range []string{
		`"Widget":{"fields":[{"json":"id","go":"ID","type":"string","readOnly":true},{"json":"location","go":"Location","type":"string","required":true},{"json":"properties","go":"Properties","type":"object:WidgetProperties"},{"json":"tags","go":"Tags","type":"map:string"}]}`,
		`{"json":"supportsHttps","go":"EnableHTTPS","type":"bool"}`,
		`{"json":"size","go":"Size","type":"enum:Size"}`,
		`{"json":"count","go":"Count","type":"int"}`,
		`{"json":"ratio","go":"Ratio","type":"float"}`,
		`{"json":"created","go":"Created","type":"time"}`,
		`{"json":"parts","go":"Parts","type":"[]object:Part"}`,
		`{"json":"identities","go":"Identities","type":"map:object:Part"}`,
		`{"json":"blob","go":"Blob","type":"string"}`,
		`{"json":"anything","go":"Anything","type":"any"}`,
		`{"json":"shape","go":"Shape","type":"any"}`,
		`{"json":"provisioningState","go":"State","type":"string","readOnly":true}`,
		`"Part":{"fields":[{"json":"name","go":"Name","type":"string"}]}`,
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("models lack %s\n%s", want, got)
		}
	}
	if strings.Join(enums["Size"], ",") != "Small,Large" {
		t.Errorf("enum Size = %v", enums["Size"])
	}
}

func TestTokenAPIVersionOfVersionedToken(t *testing.T) {
	v, src, err := tokenAPIVersion("azure-native:network/v20240101preview:VirtualNetwork", "")
	if err != nil || v != "2024-01-01-preview" || src != "the token's version" {
		t.Errorf("got %s %s %v", v, src, err)
	}
	if _, _, err := tokenAPIVersion("aws:s3:Bucket", ""); err == nil {
		t.Error("a non-azure-native token must fail")
	}
}
