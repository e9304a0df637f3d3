package fakeprovider

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// replaceRule says which inputs of a Terraform-bridged resource force a new resource: the
// Terraform schema's ForceNew / RequiresReplace, which the Pulumi bridge turns into replacements.
// The bridge's replacement order (create before delete) is its default; not checked here.
type replaceRule struct {
	// all: every input replaces.
	all bool
	// inputs replace; every other input updates in place.
	inputs []string
	source string
}

// replaceRules are the bridged resources the program declares, read from the Terraform providers
// the pinned Pulumi providers wrap (pulumi-azuread v5.53.7 pins terraform-provider-azuread
// v2.53.1 in provider/shim/go.mod; pulumi-random v4.21.1, the newest commit readable here, pins
// terraform-provider-random v3.9.0, taken to hold for v4.21.2). Neither Pulumi provider adds
// replacement overrides (provider/resources.go).
var replaceRules = map[string]replaceRule{
	"random:index/randomPassword:RandomPassword": {all: true,
		source: "terraform-provider-random v3.9.0 internal/provider/resource_password.go passwordSchemaV3 (lines 557-751): every configurable attribute has RequiresReplace (override_special and keepers conditionally)"},
	"azuread:index/applicationPassword:ApplicationPassword": {all: true,
		source: "terraform-provider-azuread v2.53.1 internal/services/applications/application_password_resource.go: no UpdateContext, every argument ForceNew (docs/resources/application_password.md:56-61)"},
	"azuread:index/servicePrincipal:ServicePrincipal": {inputs: []string{"clientId", "applicationId"},
		source: "terraform-provider-azuread v2.53.1 internal/services/serviceprincipals/service_principal_resource.go:50-69: client_id and application_id are the only ForceNew arguments"},
	"azuread:index/application:Application": {inputs: []string{"templateId"},
		source: "terraform-provider-azuread v2.53.1 internal/services/applications/application_resource.go:588-595: template_id is the only ForceNew argument"},
}

// bridgedDiff compares the inputs of an azuread or random resource.
func bridgedDiff(typ string, olds, news resource.PropertyMap) ([]change, error) {
	rule, ok := replaceRules[typ]
	if !ok {
		return nil, fmt.Errorf("fakeprovider: no replacement rule for %s", typ)
	}
	d := olds.Diff(news, func(resource.PropertyKey) bool { return false })
	if d == nil {
		return nil, nil
	}
	var keys []resource.PropertyKey
	keys = append(keys, d.ChangedKeys()...)
	var out []change
	for _, k := range keys {
		if o, n := olds[k], news[k]; plain(o).DeepEquals(plain(n)) && !n.ContainsUnknowns() {
			continue // only wrapped differently (a secret)
		}
		out = append(out, change{input: string(k), replace: rule.all || slices.Contains(rule.inputs, string(k))})
	}
	return out, nil
}

// plain strips secret wrappers, so a value made secret is not a change.
func plain(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}
