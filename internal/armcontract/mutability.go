package armcontract

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// mutabilityData is data/spec-mutability.json: per token, the body paths the REST API spec marks
// create-only (x-ms-mutability without "update"), each with its source.
type mutabilityData struct {
	Resources []struct {
		Token      string `json:"token"`
		APIVersion string `json:"apiVersion"`
		CreateOnly []struct {
			Path       string   `json:"path"`
			Mutability []string `json:"mutability"`
			Source     string   `json:"source"`
		} `json:"createOnly"`
	} `json:"resources"`
}

// forceNewData is data/provider-force-new.json: the inputs azure-native itself adds to the
// spec's create-only properties (its forceNewMap), with the source read.
type forceNewData struct {
	Source    string `json:"source"`
	Resources []struct {
		Token  string   `json:"token"`
		Inputs []string `json:"inputs"`
	} `json:"resources"`
}

func (c *Contracts) addForceNew(b []byte) error {
	var f forceNewData
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	if f.Source == "" {
		return fmt.Errorf("no source")
	}
	for _, r := range f.Resources {
		rc, ok := c.byToken[r.Token]
		if !ok {
			return fmt.Errorf("%s: no contract for the token", r.Token)
		}
		rc.forceNew = append(rc.forceNew, r.Inputs...)
	}
	return nil
}

func (c *Contracts) addMutability(b []byte) error {
	var m mutabilityData
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for _, r := range m.Resources {
		rc, ok := c.byToken[r.Token]
		if !ok {
			return fmt.Errorf("%s: no contract for the token", r.Token)
		}
		if rc.file.APIVersion != r.APIVersion {
			return fmt.Errorf("%s: read at API version %s, but the contract is %s", r.Token, r.APIVersion, rc.file.APIVersion)
		}
		rc.mutabilityRead = true
		for _, p := range r.CreateOnly {
			if p.Source == "" {
				return fmt.Errorf("%s %s: no source", r.Token, p.Path)
			}
			for _, m := range p.Mutability {
				if m == "update" {
					return fmt.Errorf("%s %s: %v allows update, so it is not create-only", r.Token, p.Path, p.Mutability)
				}
			}
			rc.createOnly = append(rc.createOnly, p.Path)
		}
	}
	return nil
}

// HasMutability tells whether the token's create-only properties were read from the spec.
func (c *Contracts) HasMutability(typeToken string) bool {
	rc, ok := c.byToken[typeToken]
	return ok && rc.mutabilityRead
}

// Change is one difference between a resource's old and new inputs, as ARM sees it.
type Change struct {
	// Input is the top-level Pulumi input the difference is under.
	Input string
	// Path is the ARM request path ("properties.version", "{serverName}").
	Path string
	// Replace: ARM cannot apply the change to the existing resource, because it is a path
	// parameter (the resource's identity) or a property the spec marks create-only.
	Replace bool
	// Why says which rule made it a replacement.
	Why string
}

// Diff compares a resource's old and new Pulumi inputs as the ARM requests azure-native would send
// and tells, for every difference, whether the resource is updated in place or replaced, as
// azure-native decides (its diff.go calculateDetailedDiff): a changed path parameter, a property
// the REST API spec marks create-only, or an input in azure-native's own forceNewMap replaces;
// everything else is an update with the same PUT.
// Tokens without a mutability record in spec-mutability.json are an error: a guess would let
// a test pass that Azure fails.
func (c *Contracts) Diff(typeToken string, olds, news resource.PropertyMap) ([]Change, error) {
	rc, ok := c.byToken[typeToken]
	if !ok {
		return nil, fmt.Errorf("armcontract: no contract for %s", typeToken)
	}
	if !rc.mutabilityRead {
		return nil, fmt.Errorf("armcontract: %s has no entry in %s", typeToken, mutabilityFile)
	}
	before, after := rc.leaves(olds), rc.leaves(news)
	var out []Change
	for p := range union(before, after) {
		o, inOld := before[p]
		n, inNew := after[p]
		if inOld && inNew && (!n.known || o.value.DeepEquals(n.value)) {
			// An unknown new value counts as the same, as azure-native's diff does (diff.go
			// objectDiff: "for output properties, however, ignore differences"); the update
			// runs the program again and diffs the known value.
			continue
		}
		input := n.input
		if !inNew {
			input = o.input
		}
		ch := Change{Input: input, Path: p}
		switch {
		case strings.HasPrefix(p, "{"):
			ch.Replace, ch.Why = true, "path parameter: the resource's identity in ARM ("+rc.res.Path+")"
		case slices.Contains(rc.forceNew, input):
			ch.Replace, ch.Why = true, "azure-native replaces on a change of "+input+" ("+forceNewFile+")"
		default:
			if co := rc.createOnlyAt(p); co != "" {
				ch.Replace, ch.Why = true, "create-only in the REST API spec (x-ms-mutability of "+co+", "+mutabilityFile+")"
			}
		}
		out = append(out, ch)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

var arrayIndex = regexp.MustCompile(`\[\d+\]`)

// createOnlyAt returns the create-only path that p is, or is inside of ("" if none).
func (rc *resourceContract) createOnlyAt(p string) string {
	generic := arrayIndex.ReplaceAllString(p, "[]")
	for _, co := range rc.createOnly {
		if generic == co || strings.HasPrefix(generic, co+".") || strings.HasPrefix(generic, co+"[") {
			return co
		}
		// A change above a create-only property (a whole "backup" object replaced) reaches it.
		if strings.HasPrefix(co, generic+".") || strings.HasPrefix(co, generic+"[") {
			return co
		}
	}
	return ""
}

// leaf is one scalar (or opaque) value of the ARM request, with the Pulumi input it came from.
type leaf struct {
	input string
	value resource.PropertyValue
	known bool
}

// leaves flattens a resource's inputs into the ARM request's leaf paths: path parameters as
// "{name}", body properties by their ARM JSON path (properties un-flattened, arrays indexed).
// Values of a type the contract does not describe ("any", additional properties) are kept whole.
func (rc *resourceContract) leaves(in resource.PropertyMap) map[string]leaf {
	out := map[string]leaf{}
	for _, k := range in.StableKeys() {
		input := string(k)
		if pp, ok := rc.pathParam(input); ok {
			v, known := unwrap(in[k])
			out["{"+pp+"}"] = leaf{input: input, value: v, known: known}
			continue
		}
		if rc.res.Body == "" {
			v, known := unwrap(in[k])
			out["?"+input] = leaf{input: input, value: v, known: known}
			continue
		}
		f, _, flat, ok := rc.field(rc.res.Body, input)
		if !ok {
			v, known := unwrap(in[k])
			out[input] = leaf{input: input, value: v, known: known}
			continue
		}
		rc.collect(out, input, flat+f.JSON, f.Type, in[k])
	}
	return out
}

func (rc *resourceContract) collect(out map[string]leaf, input, p, typ string, v resource.PropertyValue) {
	v, known := unwrap(v)
	if !known || v.IsNull() {
		out[p] = leaf{input: input, value: v, known: known}
		return
	}
	switch {
	case strings.HasPrefix(typ, "object:") && v.IsObject():
		model := strings.TrimPrefix(typ, "object:")
		obj := v.ObjectValue()
		if len(obj) == 0 {
			out[p] = leaf{input: input, value: v, known: true}
		}
		for _, k := range obj.StableKeys() {
			f, _, flat, ok := rc.field(model, string(k))
			if !ok {
				out[p+"."+string(k)] = leaf{input: input, value: obj[k], known: true}
				continue
			}
			rc.collect(out, input, p+"."+flat+f.JSON, f.Type, obj[k])
		}
	case strings.HasPrefix(typ, "[]") && v.IsArray():
		arr := v.ArrayValue()
		if len(arr) == 0 {
			out[p] = leaf{input: input, value: v, known: true}
		}
		for i, el := range arr {
			rc.collect(out, input, fmt.Sprintf("%s[%d]", p, i), strings.TrimPrefix(typ, "[]"), el)
		}
	case strings.HasPrefix(typ, "map:") && v.IsObject():
		obj := v.ObjectValue()
		if len(obj) == 0 {
			out[p] = leaf{input: input, value: v, known: true}
		}
		for _, k := range obj.StableKeys() {
			rc.collect(out, input, p+"."+string(k), strings.TrimPrefix(typ, "map:"), obj[k])
		}
	default:
		out[p] = leaf{input: input, value: v, known: true}
	}
}

func union(a, b map[string]leaf) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// ResourceID is the ARM ID a resource of this token gets from its inputs: the PUT path of its
// contract with every path parameter filled in (the subscription given, constant segments as the
// contract has them). It is what azure-native records as the resource's ID, so a resource whose
// create was interrupted can be found again by it. Inputs must be known.
func (c *Contracts) ResourceID(typeToken string, inputs resource.PropertyMap, subscriptionID string) (string, error) {
	rc, ok := c.byToken[typeToken]
	if !ok {
		return "", fmt.Errorf("armcontract: no contract for %s", typeToken)
	}
	id := rc.res.Path
	for _, pp := range rc.res.PathParams {
		var value string
		switch {
		case pp == "subscriptionId":
			value = subscriptionID
		case rc.res.PathConsts[pp] != "":
			value = rc.res.PathConsts[pp]
		default:
			for k, v := range inputs {
				if !strings.EqualFold(string(k), pp) {
					continue
				}
				if v, known := unwrap(v); known && v.IsString() {
					value = v.StringValue()
				}
			}
		}
		if value == "" {
			return "", fmt.Errorf("armcontract: %s: the path parameter %s is not among the inputs", typeToken, pp)
		}
		// Scopes are IDs themselves and begin with a slash, as the template's own does.
		id = strings.Replace(id, "/{"+pp+"}", "/"+strings.TrimPrefix(value, "/"), 1)
	}
	if strings.Contains(id, "{") {
		return "", fmt.Errorf("armcontract: %s: %s is not filled in", typeToken, id)
	}
	return id, nil
}
