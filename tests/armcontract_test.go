package tests

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"metaflow-azure/internal/armcontract"
)

// TestARMContractReport checks every Azure resource today's dev and prod stacks declare against
// the ARM contract of the API version it is sent with, and logs what ARM would refuse. Report
// only (ARMCONTRACT_REPORT=1) until the fake Azure enforces the contract itself. Resources on
// tokens without a contract -- azure-native's default dbforpostgresql (2022-12-01) and
// resources:ResourceGroup (2022-09-01) -- are checked, as a preview, against the versioned
// contracts of the API versions the stack moves to / the nearest one.
func TestARMContractReport(t *testing.T) {
	if os.Getenv("ARMCONTRACT_REPORT") == "" {
		t.Skip("set ARMCONTRACT_REPORT=1 to report contract violations of the dev and prod plans")
	}
	c, err := armcontract.Load()
	if err != nil {
		t.Fatal(err)
	}
	preview := map[string]string{
		"azure-native:dbforpostgresql:Server":        "azure-native:dbforpostgresql/v20240801:Server",
		"azure-native:dbforpostgresql:Configuration": "azure-native:dbforpostgresql/v20240801:Configuration",
		"azure-native:dbforpostgresql:Database":      "azure-native:dbforpostgresql/v20240801:Database",
		"azure-native:resources:ResourceGroup":       "azure-native:resources/v20241101:ResourceGroup",
	}
	dump := map[string]any{}
	for _, name := range []string{"dev", "prod"} {
		// ARMCONTRACT_OVERRIDES="postgres.version=17 ..." corrupts facts to see them refused.
		s := runStack(t, name, strings.Fields(os.Getenv("ARMCONTRACT_OVERRIDES"))...)
		unchecked := map[string]bool{}
		checked := map[string]int{}
		for _, r := range s.fake.Resources() {
			if !r.Custom || !strings.HasPrefix(r.Type, "azure-native:") {
				continue
			}
			tok, note := r.Type, ""
			if p, ok := preview[tok]; ok {
				tok, note = p, " (preview against "+p+")"
			}
			dump[name+" "+r.Type+" "+r.Name] = plain(resource.NewObjectProperty(r.Inputs))
			vs, err := c.Check(tok, r.Inputs)
			if err != nil {
				unchecked[r.Type] = true
				continue
			}
			checked[r.Type]++
			for _, v := range vs {
				t.Logf("%s %s %s%s: %s", name, r.Type, r.Name, note, v)
			}
		}
		for _, inv := range s.fake.Invokes() {
			if !strings.HasPrefix(inv.Token, "azure-native:") {
				continue
			}
			vs, err := c.Check(inv.Token, inv.Args)
			if err != nil {
				unchecked[inv.Token] = true
				continue
			}
			checked[inv.Token]++
			for _, v := range vs {
				t.Logf("%s invoke %s: %s", name, inv.Token, v)
			}
		}
		var u []string
		for k := range unchecked {
			u = append(u, k)
		}
		sort.Strings(u)
		t.Logf("%s: checked %v; no contract for %s", name, checked, strings.Join(u, ", "))
	}
	if p := os.Getenv("ARMCONTRACT_DUMP"); p != "" {
		b, _ := json.MarshalIndent(dump, "", "  ")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// plain is a property value as JSON (secrets unwrapped, unknowns as "<unknown>").
func plain(v resource.PropertyValue) any {
	v = unsecret(v)
	switch {
	case v.IsComputed(), v.IsOutput() && !v.OutputValue().Known:
		return "<unknown>"
	case v.IsOutput():
		return plain(v.OutputValue().Element)
	case v.IsObject():
		m := map[string]any{}
		for k, e := range v.ObjectValue() {
			m[string(k)] = plain(e)
		}
		return m
	case v.IsArray():
		var a []any
		for _, e := range v.ArrayValue() {
			a = append(a, plain(e))
		}
		return a
	}
	return v.V
}
