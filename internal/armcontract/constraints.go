package armcontract

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// The format of data/spec-constraints.json (written by hand from the REST API specs, each entry
// citing its spec file and line).
type constraintsDoc struct {
	Source      string        `json:"source"`
	Constraints []*constraint `json:"constraints"`
}

type constraint struct {
	Provider     string   `json:"provider"`
	ResourceType string   `json:"resourceType"`
	APIVersion   string   `json:"apiVersion"`
	Path         string   `json:"path"`
	Pattern      *string  `json:"pattern"`
	MinLength    *int     `json:"minLength"`
	MaxLength    *int     `json:"maxLength"`
	Minimum      *float64 `json:"minimum"`
	Maximum      *float64 `json:"maximum"`
	// ModelAsString is the spec's x-ms-enum modelAsString: true: the enum lists the values
	// known when the spec was written and the service takes others (the SDK cannot tell).
	ModelAsString bool   `json:"modelAsString,omitempty"`
	Source        string `json:"source"`

	re *regexp.Regexp
}

// addConstraints loads constraints and attaches each to the contract of its (provider, resource
// type, API version). A constraint for a resource type or API version with no contract is kept
// out (nothing sends it); one whose path the contract does not have is an error, as is a
// pattern that cannot be translated.
func (c *Contracts) addConstraints(b []byte) error {
	var doc constraintsDoc
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	for i, k := range doc.Constraints {
		where := fmt.Sprintf("constraint %d (%s %s %s %s)", i, k.Provider, k.ResourceType, k.APIVersion, k.Path)
		if k.Pattern != nil {
			re, err := translatePattern(*k.Pattern)
			if err != nil {
				return fmt.Errorf("%s: %v", where, err)
			}
			k.re = re
		}
		if k.Pattern == nil && k.MinLength == nil && k.MaxLength == nil && k.Minimum == nil && k.Maximum == nil && !k.ModelAsString {
			return fmt.Errorf("%s: constrains nothing", where)
		}
		for _, rc := range c.byToken {
			if !strings.EqualFold(rc.file.Provider, k.Provider) || rc.file.APIVersion != k.APIVersion || !strings.EqualFold(rc.res.Type, k.ResourceType) {
				continue
			}
			if rc.res.Body == "" && !strings.HasPrefix(k.Path, "{") {
				continue // an invoke of this resource type (no body) shares only its path parameters
			}
			if err := rc.resolves(k.Path); err != nil {
				return fmt.Errorf("%s: %v", where, err)
			}
			rc.constraints[k.Path] = append(rc.constraints[k.Path], k)
		}
	}
	return nil
}

// resolves reports whether an ARM request path exists in this contract.
func (rc *resourceContract) resolves(p string) error {
	if strings.HasPrefix(p, "{") {
		name := strings.Trim(p, "{}")
		for _, pp := range rc.res.PathParams {
			if pp == name {
				return nil
			}
		}
		return fmt.Errorf("path parameter %s is not in %s", p, rc.res.Path)
	}
	typ := "object:" + rc.res.Body
	for _, part := range strings.Split(p, ".") {
		arrays := 0
		for strings.HasSuffix(part, "[]") {
			part = strings.TrimSuffix(part, "[]")
			arrays++
		}
		m, ok := strings.CutPrefix(typ, "object:")
		if !ok {
			return fmt.Errorf("%s: %s is not an object", p, part)
		}
		i, ok := rc.file.byName[m][strings.ToLower(part)]
		if !ok || rc.file.Models[m].Fields[i].JSON != part {
			return fmt.Errorf("%s: %s has no property %q", p, m, part)
		}
		typ = rc.file.Models[m].Fields[i].Type
		for ; arrays > 0; arrays-- {
			el, ok := strings.CutPrefix(typ, "[]")
			if !ok {
				return fmt.Errorf("%s: %s is not an array", p, part)
			}
			typ = el
		}
	}
	return nil
}

// translatePattern turns an ECMA-262 regular expression from the specs into Go's RE2 syntax. The
// two agree on everything the specs use except \uXXXX (RE2: \x{XXXX}); what RE2 cannot express
// (lookaround, backreferences) is an error, never silently dropped. Like JSON Schema's
// "pattern", the expression is unanchored unless it anchors itself.
func translatePattern(p string) (*regexp.Regexp, error) {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		ch := p[i]
		if ch != '\\' || i+1 >= len(p) {
			if rest := p[i:]; strings.HasPrefix(rest, "(?=") || strings.HasPrefix(rest, "(?!") || strings.HasPrefix(rest, "(?<=") || strings.HasPrefix(rest, "(?<!") {
				return nil, fmt.Errorf("pattern %q: lookaround has no RE2 equivalent", p)
			}
			b.WriteByte(ch)
			continue
		}
		next := p[i+1]
		switch {
		case next == 'u' && i+5 < len(p):
			b.WriteString(`\x{` + p[i+2:i+6] + `}`)
			i += 5
		case next >= '1' && next <= '9':
			return nil, fmt.Errorf("pattern %q: backreference \\%c has no RE2 equivalent", p, next)
		case next == 'c':
			return nil, fmt.Errorf("pattern %q: control escape \\c not translated", p)
		default:
			b.WriteByte(ch)
			b.WriteByte(next)
			i++
		}
	}
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("pattern %q (as RE2 %q): %v", p, b.String(), err)
	}
	return re, nil
}

// apply checks one value against the constraints of its ARM path.
func (rc *resourceContract) apply(armPath string, v any, out *[]Violation) {
	for _, k := range rc.constraints[shapePath(armPath)] {
		switch v := v.(type) {
		case string:
			n := len([]rune(v))
			if k.re != nil && !k.re.MatchString(v) {
				*out = append(*out, Violation{armPath, "PATTERN", fmt.Sprintf("String does not match pattern %s: %s (%s)", *k.Pattern, v, k.Source)})
			}
			if k.MinLength != nil && n < *k.MinLength {
				*out = append(*out, Violation{armPath, "MIN_LENGTH", fmt.Sprintf("String is too short (%d chars), minimum %d (%s)", n, *k.MinLength, k.Source)})
			}
			if k.MaxLength != nil && n > *k.MaxLength {
				*out = append(*out, Violation{armPath, "MAX_LENGTH", fmt.Sprintf("String is too long (%d chars), maximum %d (%s)", n, *k.MaxLength, k.Source)})
			}
		case float64:
			if k.Minimum != nil && v < *k.Minimum {
				*out = append(*out, Violation{armPath, "MINIMUM", fmt.Sprintf("Value %v is less than minimum %v (%s)", v, *k.Minimum, k.Source)})
			}
			if k.Maximum != nil && v > *k.Maximum {
				*out = append(*out, Violation{armPath, "MAXIMUM", fmt.Sprintf("Value %v is greater than maximum %v (%s)", v, *k.Maximum, k.Source)})
			}
		}
	}
}

var index = regexp.MustCompile(`\[\d+\]`)

// shapePath turns "properties.agentPoolProfiles[0].name" into "properties.agentPoolProfiles[].name".
func shapePath(p string) string { return index.ReplaceAllString(p, "[]") }

// openEnum reports whether the spec marks the enum at this ARM path modelAsString (extensible).
func (rc *resourceContract) openEnum(armPath string) bool {
	for _, k := range rc.constraints[shapePath(armPath)] {
		if k.ModelAsString {
			return true
		}
	}
	return false
}
