package settings

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// FieldError is one problem with one setting. Path is the key as `pulumi config set --path`
// takes it (without the project prefix), e.g. "aks.systemPool.maxCount".
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Msg }

// Load decodes the project's keys of a stack config over Defaults and validates the result.
// config maps full keys ("metaflow-azure:aks") to the raw values Pulumi stores: scalars as text,
// structured values as JSON; project is the namespace (the Pulumi project name). Keys of other
// namespaces (providers) are ignored. Every problem is reported, joined into one error whose
// parts are *FieldError with the full key path ("metaflow-azure:aks.systemPool.maxCount").
func Load(project string, config map[string]string) (*Settings, error) {
	return LoadOn(project, config, time.Now().UTC())
}

// LoadOn is Load on a given day: versions are checked against Microsoft's support calendars
// (internal/azurefacts) as of today, for a stack not deployed yet.
func LoadOn(project string, config map[string]string, today time.Time) (*Settings, error) {
	s, errs := loadSettings(project, config, today)
	errs = append(errs, s.supportErrors(Deployed{})...)
	if len(errs) > 0 {
		return nil, errors.Join(prefixed(project, errs)...)
	}
	return s, nil
}

// LoadForDeployment checks everything but one rule: whether a version that has left standard
// support may be used depends on what the stack runs, which the program learns from its last
// deployment; CheckSupport applies it.
func LoadForDeployment(project string, config map[string]string, today time.Time) (*Settings, error) {
	s, errs := loadSettings(project, config, today)
	if len(errs) > 0 {
		return nil, errors.Join(prefixed(project, errs)...)
	}
	return s, nil
}

func loadSettings(project string, config map[string]string, today time.Time) (*Settings, []error) {
	s := Defaults()
	s.today = today.UTC()
	s.project = project
	errs := decodeConfig(project, config, &s)
	if len(errs) == 0 {
		errs, s.warnings, s.supportEnded = s.validate(today)
	}
	return &s, errs
}

// Deployed is what the stack's last deployment runs (zero: nothing yet).
type Deployed struct {
	KubernetesMinor, PostgresMajor int
}

// CheckSupport refuses a Kubernetes minor or PostgreSQL major that has left standard support for
// a stack that does not run it yet (a new stack, or a change of version), and only warns while
// the stack runs it: refusing then would block every update of an unchanged stack from the day
// its support ends, the fixes the runbook prescribes included.
func (s *Settings) CheckSupport(d Deployed) error {
	return errors.Join(prefixed(s.project, s.supportErrors(d))...)
}

func (s *Settings) supportErrors(d Deployed) []error {
	var errs []error
	for _, e := range s.supportEnded {
		deployed := d.KubernetesMinor
		if e.path == "postgres.version" {
			deployed = d.PostgresMajor
		}
		if e.version == deployed {
			s.warnings = append(s.warnings, e.path+": "+e.warning)
			continue
		}
		errs = append(errs, &FieldError{Path: e.path, Msg: e.refusal})
	}
	return errs
}

// prefixed gives each field error its full config key.
func prefixed(project string, errs []error) []error {
	for _, err := range errs {
		var fe *FieldError
		if errors.As(err, &fe) {
			fe.Path = project + ":" + fe.Path
		}
	}
	return errs
}

func decodeConfig(project string, config map[string]string, s *Settings) []error {
	keys := make([]string, 0, len(config))
	for k := range config {
		if strings.HasPrefix(k, project+":") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)

	var errs []error
	root := reflect.ValueOf(s).Elem()
	for _, full := range keys {
		key := strings.TrimPrefix(full, project+":")
		field, ok := fieldByTag(root, key)
		if !ok {
			errs = append(errs, unknownTopLevel(root.Type(), key))
			continue
		}
		raw := config[full]
		var value any = raw
		if k := field.Kind(); k == reflect.Struct || k == reflect.Map || k == reflect.Slice {
			if err := json.Unmarshal([]byte(raw), &value); err != nil {
				errs = append(errs, &FieldError{key, fmt.Sprintf("must be %s, got %q", describeKind(field.Type()), raw)})
				continue
			}
		}
		errs = append(errs, decodeValue(key, value, field)...)
	}
	return errs
}

// unknownTopLevel explains an unknown top-level key: a dotted key set without --path, or a typo.
func unknownTopLevel(t reflect.Type, key string) error {
	if head, _, dotted := strings.Cut(key, "."); dotted {
		if _, ok := tagIndex(t)[head]; ok {
			return &FieldError{key, fmt.Sprintf("is a flat key with a dot in its name; set nested settings with --path: pulumi config set --path %s <value>", key)}
		}
	}
	return unknownKey(t, key, key)
}

func unknownKey(t reflect.Type, path, name string) error {
	known := make([]string, 0)
	for tag := range tagIndex(t) {
		known = append(known, tag)
	}
	sort.Strings(known)
	msg := "is not a setting"
	if s := suggest(name, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return &FieldError{path, msg + "; allowed here: " + strings.Join(known, ", ")}
}

func decodeValue(path string, v any, dst reflect.Value) []error {
	switch dst.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return []error{&FieldError{path, fmt.Sprintf("must be an object with keys %s, got %s", strings.Join(sortedTags(dst.Type()), ", "), describeValue(v))}}
		}
		var errs []error
		for _, k := range sortedKeys(obj) {
			child := path + "." + k
			f, ok := fieldByTag(dst, k)
			if !ok {
				errs = append(errs, unknownKey(dst.Type(), child, k))
				continue
			}
			errs = append(errs, decodeValue(child, obj[k], f)...)
		}
		return errs
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return []error{&FieldError{path, "must be a map of strings, got " + describeValue(v)}}
		}
		m := reflect.MakeMapWithSize(dst.Type(), len(obj))
		var errs []error
		for _, k := range sortedKeys(obj) {
			str, err := scalarString(obj[k])
			if err != nil {
				errs = append(errs, &FieldError{path + "." + k, err.Error()})
				continue
			}
			m.SetMapIndex(reflect.ValueOf(k), reflect.ValueOf(str))
		}
		dst.Set(m)
		return errs
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			return []error{&FieldError{path, "must be a list, got " + describeValue(v)}}
		}
		out := reflect.MakeSlice(dst.Type(), len(list), len(list))
		var errs []error
		for i, item := range list {
			out.Index(i).Set(ItemDefaults(dst.Type().Elem()))
			errs = append(errs, decodeValue(fmt.Sprintf("%s[%d]", path, i), item, out.Index(i))...)
		}
		dst.Set(out)
		return errs
	case reflect.String:
		str, err := scalarString(v)
		if err != nil {
			return []error{&FieldError{path, err.Error()}}
		}
		dst.SetString(str)
	case reflect.Bool:
		switch b := v.(type) {
		case bool:
			dst.SetBool(b)
		case string:
			parsed, err := strconv.ParseBool(b)
			if err != nil || (b != "true" && b != "false") {
				return []error{&FieldError{path, fmt.Sprintf("must be true or false, got %q", b)}}
			}
			dst.SetBool(parsed)
		default:
			return []error{&FieldError{path, "must be true or false, got " + describeValue(v)}}
		}
	case reflect.Int:
		switch n := v.(type) {
		case float64:
			if n != math.Trunc(n) || math.Abs(n) > math.MaxInt32 {
				return []error{&FieldError{path, fmt.Sprintf("must be a whole number, got %v", n)}}
			}
			dst.SetInt(int64(n))
		case string:
			i, err := strconv.Atoi(strings.TrimSpace(n))
			if err != nil {
				return []error{&FieldError{path, fmt.Sprintf("must be a whole number, got %q", n)}}
			}
			dst.SetInt(int64(i))
		default:
			return []error{&FieldError{path, "must be a whole number, got " + describeValue(v)}}
		}
	case reflect.Float64:
		switch n := v.(type) {
		case float64:
			dst.SetFloat(n)
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
			if err != nil {
				return []error{&FieldError{path, fmt.Sprintf("must be a number, got %q", n)}}
			}
			dst.SetFloat(f)
		default:
			return []error{&FieldError{path, "must be a number, got " + describeValue(v)}}
		}
	default:
		return []error{fmt.Errorf("internal-error: %s: unsupported settings kind %s", path, dst.Kind())}
	}
	return nil
}

// ItemDefaults returns a new item of a list setting (an element of aks.extraPools, say) as
// decoding starts it: the zero value with the item's own defaults set, which the keys an item
// gives are decoded over. The settings documentation shows these as the items' defaults.
func ItemDefaults(t reflect.Type) reflect.Value {
	v := reflect.New(t)
	if d, ok := v.Interface().(interface{ setDefaults() }); ok {
		d.setDefaults()
	}
	return v.Elem()
}

// scalarString accepts text and whole numbers (YAML turns `version: 16` into a number). A
// fractional number is refused rather than reformatted: 1.30 would silently become "1.3".
func scalarString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case float64:
		if x == math.Trunc(x) {
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		}
		return "", fmt.Errorf("must be a string; quote the value (\"%v\") so YAML does not read it as a number", x)
	case bool:
		return strconv.FormatBool(x), nil
	default:
		return "", fmt.Errorf("must be a string, got %s", describeValue(v))
	}
}

func describeKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct:
		return "an object"
	case reflect.Map:
		return "a map of strings"
	case reflect.Slice:
		return "a list"
	default:
		return "a " + t.Kind().String()
	}
}

func describeValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return fmt.Sprintf("%q", x)
	default:
		return fmt.Sprintf("%v", x)
	}
}

func tagIndex(t reflect.Type) map[string]int {
	idx := make(map[string]int, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); tag != "" && tag != "-" {
			idx[tag] = i
		}
	}
	return idx
}

func sortedTags(t reflect.Type) []string {
	var tags []string
	for tag := range tagIndex(t) {
		tags = append(tags, tag)
	}
	sort.Strings(tags)
	return tags
}

func fieldByTag(v reflect.Value, tag string) (reflect.Value, bool) {
	i, ok := tagIndex(v.Type())[tag]
	if !ok {
		return reflect.Value{}, false
	}
	return v.Field(i), true
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// suggest returns the known key closest to name (case-insensitive edit distance), if close enough
// to be a typo.
func suggest(name string, known []string) string {
	best, bestDist := "", len(name)/2+2
	for _, k := range known {
		if d := editDistance(strings.ToLower(name), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions, deletions, substitutions and
// transpositions of neighbours (so "maxCuont" is one step from "maxCount").
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// TopLevelKeys are the settings' top-level config keys (without the project prefix), for
// callers that can only ask for config key by key.
func TopLevelKeys() []string { return sortedTags(reflect.TypeOf(Settings{})) }
