package armcontract

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Violation codes: those of ARM's OpenAPI request validation, which names the failing JSON path.
const (
	CodeUnknownProperty = "OBJECT_ADDITIONAL_PROPERTIES"
	CodeType            = "INVALID_TYPE"
	CodeEnum            = "ENUM_MISMATCH"
	CodeReadOnly        = "READONLY_PROPERTY_NOT_ALLOWED_IN_REQUEST"
	CodeFormat          = "INVALID_FORMAT"
	CodePathConstant    = "INVALID_PATH_PARAMETER"
)

// Check converts a resource's Pulumi inputs into the ARM PUT request azure-native would send
// and returns every part of it ARM would refuse under this token's contract. Paths are ARM JSON
// paths ("properties.agentPoolProfiles[0].vmSize"), or "{name}" for a path parameter. Secret
// values are checked as their plaintext; unknown (computed) values are skipped. The error is for
// a type token with no contract.
func (c *Contracts) Check(typeToken string, inputs resource.PropertyMap) ([]Violation, error) {
	rc, ok := c.byToken[typeToken]
	if !ok {
		return nil, fmt.Errorf("armcontract: no contract for %s", typeToken)
	}
	var out []Violation
	body := resource.PropertyMap{}
	for k, v := range inputs {
		if pp, ok := rc.pathParam(string(k)); ok {
			rc.checkPathParam(pp, v, &out)
			continue
		}
		body[k] = v
	}
	if rc.res.Body == "" {
		rc.query(body, &out)
	} else {
		rc.object("", rc.res.Body, body, &out)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// pathParam matches a Pulumi input to a path parameter of the PUT path template. azure-native
// names path-parameter inputs after the spec's parameter (sometimes in another case:
// blobServicesName for {BlobServicesName}).
func (rc *resourceContract) pathParam(input string) (string, bool) {
	for _, pp := range rc.res.PathParams {
		if pp != "subscriptionId" && strings.EqualFold(pp, input) {
			return pp, true
		}
	}
	return "", false
}

func (rc *resourceContract) checkPathParam(pp string, v resource.PropertyValue, out *[]Violation) {
	v, known := unwrap(v)
	if !known || v.IsNull() {
		return
	}
	p := "{" + pp + "}"
	if !v.IsString() {
		*out = append(*out, Violation{p, CodeType, fmt.Sprintf("Expected type string but found type %s", jsonType(v))})
		return
	}
	if want, ok := rc.res.PathConsts[pp]; ok && v.StringValue() != want {
		*out = append(*out, Violation{p, CodePathConstant, fmt.Sprintf("The path segment %s is always %q in %s, not %q", p, want, rc.res.Path, v.StringValue())})
	}
	rc.apply(p, v.StringValue(), out)
}

// query checks an invoke's arguments: each is a query parameter of the request.
func (rc *resourceContract) query(in resource.PropertyMap, out *[]Violation) {
	for _, k := range in.StableKeys() {
		v, known := unwrap(in[k])
		if !known {
			continue
		}
		var q *queryParam
		for i := range rc.res.Query {
			if strings.EqualFold(rc.res.Query[i].Go, string(k)) || rc.res.Query[i].Name == string(k) {
				q = &rc.res.Query[i]
			}
		}
		if q == nil {
			var names []string
			for _, q := range rc.res.Query {
				names = append(names, q.Name)
			}
			*out = append(*out, Violation{"?" + string(k), CodeUnknownProperty, fmt.Sprintf("%s %s takes no parameter '%s' (query parameters: %s)", rc.res.Method, rc.res.Path, k, strings.Join(names, ", "))})
			continue
		}
		rc.value("?"+q.Name, q.Type, v, out)
	}
}

// unwrap returns the plain value under secrets and known outputs, and whether it is known.
func unwrap(v resource.PropertyValue) (resource.PropertyValue, bool) {
	for {
		switch {
		case v.IsSecret():
			v = v.SecretValue().Element
		case v.IsComputed():
			return v, false
		case v.IsOutput():
			o := v.OutputValue()
			if !o.Known {
				return v, false
			}
			v = o.Element
		default:
			return v, true
		}
	}
}

// field finds a Pulumi input key in a model, the way azure-native maps its inputs: by JSON name,
// else by the SDK's Go name (both come from the spec's x-ms-client-name, e.g. input
// enableHttpsTrafficOnly is JSON supportsHttpsTrafficOnly), else -- azure-native flattens every
// x-ms-client-flatten "properties" object into its parent -- as a field of the model's
// "properties" sub-model. It returns the model holding the field and the JSON path prefix.
func (rc *resourceContract) field(modelName, key string) (*field, string, string, bool) {
	direct, hasDirect := rc.file.byName[modelName][strings.ToLower(key)]
	if hasDirect && !rc.file.Models[modelName].Fields[direct].ReadOnly {
		return &rc.file.Models[modelName].Fields[direct], modelName, "", true
	}
	// A read-only top-level name (an agent pool's resource "type") does not shadow a writable
	// flattened one (its properties.type, the pool type): azure-native's inputs are only the
	// writable properties.
	if i, ok := rc.file.byName[modelName]["properties"]; ok {
		props := rc.file.Models[modelName].Fields[i]
		if sub, isObj := strings.CutPrefix(props.Type, "object:"); isObj && !props.ReadOnly {
			if j, ok := rc.file.byName[sub][strings.ToLower(key)]; ok && (!hasDirect || !rc.file.Models[sub].Fields[j].ReadOnly) {
				return &rc.file.Models[sub].Fields[j], sub, "properties.", true
			}
		}
	}
	if hasDirect {
		return &rc.file.Models[modelName].Fields[direct], modelName, "", true
	}
	return nil, "", "", false
}

func (rc *resourceContract) object(prefix, modelName string, in resource.PropertyMap, out *[]Violation) {
	for _, k := range in.StableKeys() {
		v, known := unwrap(in[k])
		if !known {
			continue
		}
		f, holder, flat, ok := rc.field(modelName, string(k))
		if !ok && rc.file.Models[modelName].AdditionalProperties {
			continue
		}
		if !ok {
			msg := fmt.Sprintf("Could not find member '%s' on object of type '%s'", k, modelName)
			if near := rc.nearest(modelName, string(k)); near != "" {
				msg += fmt.Sprintf("; did you mean '%s'?", near)
			}
			*out = append(*out, Violation{prefix + string(k), CodeUnknownProperty, msg})
			continue
		}
		if v.IsNull() {
			continue
		}
		p := prefix + flat + f.JSON
		if f.ReadOnly {
			*out = append(*out, Violation{p, CodeReadOnly, fmt.Sprintf("The property '%s' of '%s' is read-only and cannot be set in a request", f.JSON, holder)})
			continue
		}
		rc.value(p, f.Type, v, out)
	}
}

func (rc *resourceContract) value(p, typ string, v resource.PropertyValue, out *[]Violation) {
	v, known := unwrap(v)
	if !known || v.IsNull() {
		return
	}
	bad := func(want string) {
		*out = append(*out, Violation{p, CodeType, fmt.Sprintf("Expected type %s but found type %s", want, jsonType(v))})
	}
	switch {
	case typ == "any":
	case typ == "string":
		if !v.IsString() {
			bad("string")
			return
		}
		rc.apply(p, v.StringValue(), out)
	case typ == "time":
		if !v.IsString() {
			bad("string")
			return
		}
		if _, err := time.Parse(time.RFC3339Nano, v.StringValue()); err != nil {
			*out = append(*out, Violation{p, CodeFormat, fmt.Sprintf("Object didn't pass validation for format date-time: %s", v.StringValue())})
		}
	case typ == "int":
		if !v.IsNumber() {
			bad("integer")
			return
		}
		if n := v.NumberValue(); n != math.Trunc(n) {
			bad("integer")
			return
		}
		rc.apply(p, v.NumberValue(), out)
	case typ == "float":
		if !v.IsNumber() {
			bad("number")
			return
		}
		rc.apply(p, v.NumberValue(), out)
	case typ == "bool":
		if !v.IsBool() {
			bad("boolean")
		}
	case strings.HasPrefix(typ, "enum:"):
		name := strings.TrimPrefix(typ, "enum:")
		allowed := rc.file.Enums[name]
		// The SDK's integer enums (AlertSeverity 0–4, CapacityReservationLevel) are integers on
		// the wire; the data records every enum's values as text.
		if v.IsNumber() && integerEnum(allowed) {
			n := v.NumberValue()
			if n != math.Trunc(n) {
				bad("integer")
				return
			}
			v = resource.NewStringProperty(strconv.FormatFloat(n, 'f', -1, 64))
		} else if !v.IsString() {
			bad("string")
			return
		}
		s := v.StringValue()
		found := len(allowed) == 0 || rc.openEnum(p)
		for _, a := range allowed {
			if strings.EqualFold(a, s) { // ARM compares enum values case-insensitively
				found = true
			}
		}
		if !found {
			sorted := append([]string(nil), allowed...)
			sort.Strings(sorted)
			*out = append(*out, Violation{p, CodeEnum, fmt.Sprintf("No enum match for: %q; %s allows %s", s, name, strings.Join(quoteAll(sorted), ", "))})
			return
		}
		rc.apply(p, s, out)
	case strings.HasPrefix(typ, "object:"):
		if !v.IsObject() {
			bad("object")
			return
		}
		rc.object(p+".", strings.TrimPrefix(typ, "object:"), v.ObjectValue(), out)
	case strings.HasPrefix(typ, "[]"):
		if !v.IsArray() {
			bad("array")
			return
		}
		for i, el := range v.ArrayValue() {
			rc.value(fmt.Sprintf("%s[%d]", p, i), strings.TrimPrefix(typ, "[]"), el, out)
		}
	case strings.HasPrefix(typ, "map:"):
		el := strings.TrimPrefix(typ, "map:")
		if v.IsArray() && strings.HasPrefix(el, "object:") {
			// azure-native's one known shape difference for maps: a managed identity's
			// userAssignedIdentities is a list of identity resource IDs in Pulumi
			// (containerservice/v20241001 ManagedClusterIdentity.UserAssignedIdentities
			// pulumi.StringArrayInput; storage Identity.UserAssignedIdentities likewise) and a map
			// from those IDs to {} objects in ARM. Each element must be a string.
			for i, id := range v.ArrayValue() {
				id, known := unwrap(id)
				if known && !id.IsString() {
					*out = append(*out, Violation{fmt.Sprintf("%s[%d]", p, i), CodeType, fmt.Sprintf("Expected a resource ID string but found type %s", jsonType(id))})
				}
			}
			return
		}
		if !v.IsObject() {
			bad("object")
			return
		}
		obj := v.ObjectValue()
		for _, k := range obj.StableKeys() {
			rc.value(p+"."+string(k), el, obj[k], out)
		}
	default:
		*out = append(*out, Violation{p, "CONTRACT", "unknown contract type " + typ})
	}
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strconv.Quote(v)
	}
	return out
}

func jsonType(v resource.PropertyValue) string {
	switch {
	case v.IsString():
		return "string"
	case v.IsNumber():
		if v.NumberValue() == math.Trunc(v.NumberValue()) {
			return "integer"
		}
		return "number"
	case v.IsBool():
		return "boolean"
	case v.IsArray():
		return "array"
	case v.IsObject():
		return "object"
	case v.IsNull():
		return "null"
	}
	return string(v.TypeString())
}

// nearest is the known input name closest to an unknown one (the model's writable properties and
// those of its flattened "properties"), or "" if none is close.
func (rc *resourceContract) nearest(modelName, key string) string {
	var names []string
	add := func(m string) {
		for _, f := range rc.file.Models[m].Fields {
			if !f.ReadOnly {
				names = append(names, f.JSON)
			}
		}
	}
	add(modelName)
	if i, ok := rc.file.byName[modelName]["properties"]; ok {
		if sub, ok := strings.CutPrefix(rc.file.Models[modelName].Fields[i].Type, "object:"); ok {
			add(sub)
		}
	}
	best, bestD := "", len(key)/2+1
	if bestD < 3 {
		bestD = 3
	}
	for _, n := range names {
		if d := distance(strings.ToLower(key), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// distance is the Levenshtein edit distance.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// integerEnum tells an enum whose values are all whole numbers (an integer enum in the spec).
func integerEnum(values []string) bool {
	for _, v := range values {
		if _, err := strconv.Atoi(v); err != nil {
			return false
		}
	}
	return len(values) > 0
}
