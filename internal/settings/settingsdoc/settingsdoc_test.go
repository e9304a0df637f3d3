package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"metaflow-azure/internal/settings"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := findRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestGeneratedFilesAreCurrent: README.md's settings table and Pulumi.yaml's key list are what
// the generator makes of package settings now.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	outs, err := generate(repoRoot(t))
	if err != nil {
		t.Fatalf("%v\nfix that, then run: %s", err, command)
	}
	for _, o := range outs {
		if o.old != o.new {
			t.Errorf("%s is out of date with internal/settings (- now, + generated):\n%s\nrun: %s", o.name, diff(o.old, o.new), command)
		}
	}
}

// TestEverySettingHasADocComment: every exported field of Settings, at any depth (sections,
// grouped settings, list items), has a doc comment that starts with its name and states no
// default. Unexported fields are not settings.
func TestEverySettingHasADocComment(t *testing.T) {
	src, err := parseSource(filepath.Join(repoRoot(t), "internal", "settings"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map || typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] || typ.PkgPath() != reflect.TypeFor[settings.Settings]().PkgPath() {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			if !f.IsExported() {
				continue
			}
			if _, _, err := src.describe(typ.Name(), f.Name); err != nil {
				t.Error(err)
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeFor[settings.Settings]())
	if len(seen) < 10 {
		t.Errorf("walked only %d types of Settings", len(seen))
	}
}

// TestTableDefaultsAreDefaults reads a settings table back, the one rendered now and the one in
// README.md, and checks it against package settings without the generator's walk: its keys are
// exactly the keys of settings.Defaults() as JSON, each default shown is that JSON value, a list
// of objects shows its items' keys with settings.ItemDefaults, and "required" is shown for
// exactly the keys settings.Load refuses to leave out.
func TestTableDefaultsAreDefaults(t *testing.T) {
	root := repoRoot(t)
	src, err := parseSource(filepath.Join(root, "internal", "settings"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := buildRows(src)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("rendered", func(t *testing.T) { checkTable(t, renderTable(rows)) })
	t.Run("README.md", func(t *testing.T) {
		readme, err := os.ReadFile(filepath.Join(root, "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		table, err := region(string(readme), tableBegin, tableEnd)
		if err != nil {
			t.Fatal(err)
		}
		checkTable(t, table)
	})
}

var itemRe = regexp.MustCompile("(?:^|<br>)`(\\w+)` \\((required|default [^)]*)\\): ")

func checkTable(t *testing.T, table string) {
	t.Helper()
	leaves := map[string]any{}
	flatten(jsonOf(t, settings.Defaults()), "", leaves)

	// Load refuses to leave out exactly the required keys: the top-level ones with no config,
	// an item's in a list with one empty item.
	const project = "metaflow-azure"
	wantRequired := refused(settings.Load(project, map[string]string{}))
	listed := refused(settings.Load(project, map[string]string{
		project + ":location":   "westeurope",
		project + ":namePrefix": "mfdoc",
		project + ":aks":        `{"azureRbac": true, "extraPools": [{}]}`,
		project + ":access":     `{"flowRunners": [{}]}`,
	}))

	shown := map[string]bool{}
	var required []string
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := splitRow(line)
		if len(cells) != 3 {
			t.Errorf("a row without 3 cells: %s", line)
			continue
		}
		key, def, allowed := strings.Trim(cells[0], "`"), cells[1], cells[2]
		keys, defs := []string{key}, []string{def}
		if prefix, group, ok := strings.Cut(key, ".{"); ok {
			keys = nil
			for _, k := range strings.Split(strings.TrimSuffix(group, "}"), ",") {
				keys = append(keys, prefix+"."+k)
			}
			defs = strings.Split(def, ", ")
			if len(defs) != len(keys) {
				t.Errorf("%s: %d keys, %d defaults: %s", key, len(keys), len(defs), def)
				continue
			}
		}
		for i, k := range keys {
			want, ok := leaves[k]
			if !ok {
				t.Errorf("%s is in the table but not a setting", k)
				continue
			}
			if shown[k] {
				t.Errorf("%s is in the table twice", k)
			}
			shown[k] = true
			if defs[i] == "required" {
				required = append(required, k)
				if !reflect.ValueOf(want).IsZero() {
					t.Errorf("%s: the table says required, Defaults() gives %v", k, want)
				}
				continue
			}
			if !defaultShows(defs[i], want) {
				t.Errorf("%s: the table shows default %s, Defaults() gives %s", k, defs[i], show(want))
			}
		}
		if typ := typeAt(key); typ != nil && typ.Kind() == reflect.Slice && typ.Elem().Kind() == reflect.Struct {
			checkItems(t, key, allowed, typ.Elem(), listed)
		}
	}
	for k := range leaves {
		if !shown[k] {
			t.Errorf("%s is a setting the table does not show", k)
		}
	}
	sort.Strings(required)
	if !slices.Equal(required, wantRequired) {
		t.Errorf("the table says %v are required; settings.Load without config refuses %v", required, wantRequired)
	}
}

// checkItems checks the item keys a list row describes: all of them, each with its default from
// settings.ItemDefaults or "required" where Load refuses an empty item without it.
func checkItems(t *testing.T, key, allowed string, item reflect.Type, refusedKeys []string) {
	t.Helper()
	defaults := jsonOf(t, settings.ItemDefaults(item).Interface()).(map[string]any)
	var keys, required, wantRequired []string
	for _, m := range itemRe.FindAllStringSubmatch(allowed, -1) {
		k, def := m[1], m[2]
		keys = append(keys, k)
		want, ok := defaults[k]
		switch {
		case !ok:
			t.Errorf("%s: items have no key %s", key, k)
		case def == "required":
			required = append(required, k)
		case !defaultShows(strings.TrimPrefix(def, "default "), want):
			t.Errorf("%s: the table shows %s for items' %s, settings.ItemDefaults gives %s", key, def, k, show(want))
		}
	}
	var all []string
	for k := range defaults {
		all = append(all, k)
	}
	sort.Strings(all)
	sort.Strings(keys)
	if !slices.Equal(keys, all) {
		t.Errorf("%s: the table describes item keys %v; items have %v", key, keys, all)
	}
	for _, r := range refusedKeys {
		if k, ok := strings.CutPrefix(r, key+"[0]."); ok {
			wantRequired = append(wantRequired, k)
		}
	}
	sort.Strings(required)
	if !slices.Equal(required, wantRequired) {
		t.Errorf("%s: the table says items need %v; settings.Load refuses an empty item without %v", key, required, wantRequired)
	}
}

// defaultShows reports whether a default cell shows v (a JSON value), with an optional note.
func defaultShows(cell string, v any) bool {
	for _, want := range showAll(v) {
		if cell == want || (strings.HasPrefix(cell, want+" (") && strings.HasSuffix(cell, ")")) {
			return true
		}
	}
	return false
}

func show(v any) string { return strings.Join(showAll(v), " or ") }

// showAll is how a default may appear: JSON's null is an empty list or map.
func showAll(v any) []string {
	switch x := v.(type) {
	case nil:
		return []string{"`[]`", "`{}`"}
	case string:
		if x == "" {
			return []string{"empty"}
		}
		return []string{"`" + x + "`"}
	case float64:
		return []string{"`" + strconv.FormatFloat(x, 'f', -1, 64) + "`"}
	default:
		b, _ := json.Marshal(x)
		return []string{"`" + string(b) + "`"}
	}
}

func jsonOf(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// flatten records the leaves of a JSON value by dotted key; objects are not leaves.
func flatten(v any, prefix string, out map[string]any) {
	obj, ok := v.(map[string]any)
	if !ok {
		out[prefix] = v
		return
	}
	for k, child := range obj {
		flatten(child, join(prefix, k), out)
	}
}

// typeAt is the Go type of a dotted key of Settings, or nil.
func typeAt(key string) reflect.Type {
	typ := reflect.TypeFor[settings.Settings]()
	for _, part := range strings.Split(key, ".") {
		if typ.Kind() != reflect.Struct {
			return nil
		}
		found := false
		for i := range typ.NumField() {
			if f := typ.Field(i); f.IsExported() && jsonKey(f) == part {
				typ, found = f.Type, true
				break
			}
		}
		if !found {
			return nil
		}
	}
	return typ
}

// refused are the keys Load's errors name, without the project, sorted.
func refused(_ *settings.Settings, err error) []string {
	var keys []string
	var walk func(error)
	walk = func(err error) {
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range joined.Unwrap() {
				walk(e)
			}
			return
		}
		var fe *settings.FieldError
		if errors.As(err, &fe) {
			_, k, _ := strings.Cut(fe.Path, ":")
			keys = append(keys, k)
		}
	}
	if err != nil {
		walk(err)
	}
	sort.Strings(keys)
	return keys
}

// splitRow splits a table row into its cells at the pipes that are not escaped.
func splitRow(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(strings.TrimSuffix(line, "|"), "|")
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			cur.WriteByte('|')
			i++
		case line[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(line[i])
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

func TestSplice(t *testing.T) {
	doc := "a\nBEGIN\nold\nEND\nb\n"
	got, err := splice(doc, "BEGIN", "END", "new\n")
	if err != nil || got != "a\nBEGIN\nnew\nEND\nb\n" {
		t.Errorf("splice: %q, %v", got, err)
	}
	if _, err := splice("a\nb\n", "BEGIN", "END", "x\n"); err == nil {
		t.Error("splice without markers: no error")
	}
	if r, err := region(got, "BEGIN", "END"); err != nil || r != "new\n" {
		t.Errorf("region: %q, %v", r, err)
	}
	row := "| " + cell("`a|b`") + " | " + cell("x | y") + " | z |"
	if got := splitRow(row); !slices.Equal(got, []string{"`a|b`", "x | y", "z"}) || !strings.Contains(row, `a\|b`) {
		t.Errorf("escaped pipes: %q read back as %q", row, got)
	}
}

func TestDescribe(t *testing.T) {
	src := &source{docs: map[string]map[string]string{"T": {
		"A": "A is `x` or `y`.\n",
		"B": "B are things. Required.\n",
		"C": "The C.\n",
		"D": "D is a <name>.\n",
		"E": "E is x. Default: 3.\n",
		"F": "",
	}}}
	for field, want := range map[string]string{"A": "`x` or `y`", "B": "things"} {
		if got, _, err := src.describe("T", field); err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", field, got, err, want)
		}
	}
	if _, req, _ := src.describe("T", "B"); !req {
		t.Error(`B: "Required." not seen`)
	}
	for _, field := range []string{"C", "D", "E", "F"} {
		if _, _, err := src.describe("T", field); err == nil {
			t.Errorf("%s: no error", field)
		}
	}
}
