// Command armcontract extracts the ARM request contract of the stack's Azure resources from the
// Azure SDK for Go resource-manager modules pinned in this folder's go.mod, and writes one JSON
// file per (resource provider, API version) for internal/armcontract.
//
// It parses the modules' generated Go source with go/parser (it never compiles or imports them):
// the API version the client sends, the PUT path template, the request body's model tree with
// JSON names, types and READ-ONLY marks, and enum values.
//
//	cd tools/armcontract && go run . -out ../../internal/armcontract/data
//	cd tools/armcontract && go run . -out "$tmp" -date-from ../../internal/armcontract/data   # the check
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// File is one data file: everything extracted for one resource provider at one API version.
type File struct {
	Provider   string              `json:"provider"`
	APIVersion string              `json:"apiVersion"`
	Source     Source              `json:"source"`
	Resources  []Resource          `json:"resources"`
	Models     map[string]Model    `json:"models"`
	Enums      map[string][]string `json:"enums"`
}

type Source struct {
	Module    string   `json:"module"`
	Version   string   `json:"version"`
	Files     []string `json:"files"`
	Extracted string   `json:"extracted"`
	Generator string   `json:"generator"`
}

type Resource struct {
	Token string `json:"token"`
	// TokenAPIVersion says where the API version the token is sent with comes from: the token's
	// own version, or the azure-native SDK source comment for a default token.
	TokenAPIVersion string `json:"tokenApiVersionSource"`
	Type            string `json:"type"`
	Client          string `json:"client"`
	Request         string `json:"request"`
	// APIVersionAt is file:line of the reqQP.Set("api-version", ...) in the request builder.
	APIVersionAt string            `json:"apiVersionAt"`
	Path         string            `json:"path"`
	PathParams   []string          `json:"pathParams"`
	PathConsts   map[string]string `json:"pathConsts,omitempty"`
	Body         string            `json:"body,omitempty"`
	Method       string            `json:"method"`
	Query        []QueryParam      `json:"query,omitempty"`
}

func main() {
	out := flag.String("out", "", "directory to write the data files into (required)")
	date := flag.String("date", time.Now().UTC().Format("2006-01-02"), "extraction date recorded in the files")
	dateFrom := flag.String("date-from", "", "take each file's extraction date from the same file in this directory (for the freshness check)")
	repo := flag.String("repo", mainModDir, "the main module's directory (its go.mod pins the azure-native SDK modules)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "armcontract: -out is required")
		os.Exit(2)
	}
	if err := run(*out, *date, *dateFrom, *repo); err != nil {
		fmt.Fprintln(os.Stderr, "armcontract:", err)
		os.Exit(1)
	}
}

var (
	versionedToken = regexp.MustCompile(`^azure-native:([a-z0-9]+)/v(\d{4})(\d{2})(\d{2})(preview|privatepreview)?:([A-Za-z0-9]+)$`)
	defaultToken   = regexp.MustCompile(`^azure-native:([a-z0-9]+):([A-Za-z0-9]+)$`)
	// The azure-native SDK states the default API version in the resource's doc comment, in
	// one of two wordings depending on the SDK release.
	nativeComment     = regexp.MustCompile(`(?m)^// (?:Uses Azure REST API version |Azure REST API version: )(\d{4}-\d{2}-\d{2}(?:-preview)?)`)
	providerType      = regexp.MustCompile(`/providers/(Microsoft\.[A-Za-z]+)/(.+)$`)
	pathParam         = regexp.MustCompile(`\{([^}]+)\}`)
	resourceGroupPath = regexp.MustCompile(`(?i)^/subscriptions/\{subscriptionId\}/resourcegroups/\{resourceGroupName\}$`)
)

func run(out, date, dateFrom, repo string) error {
	files := map[string]*File{}
	pkgs := map[string]*pkg{}
	for _, e := range entries {
		want, wantSrc, err := tokenAPIVersion(e.Token, repo)
		if err != nil {
			return err
		}
		p, ok := pkgs[e.Module]
		if !ok {
			dir, err := moduleDir(".", e.Module, e.Version)
			if err != nil {
				return err
			}
			if p, err = parsePkg(dir); err != nil {
				return err
			}
			pkgs[e.Module] = p
		}
		req, err := p.request(e.Client, e.Request)
		if err != nil {
			return err
		}
		if err := sameAPIVersion(e, want, wantSrc, req); err != nil {
			return err
		}
		m := providerType.FindStringSubmatch(strings.TrimSuffix(req.PathTemplate, "/"+lastSegment(req.PathTemplate, req.Method)))
		if m == nil && resourceGroupPath.MatchString(req.PathTemplate) {
			// Resource groups are the one type whose path names no provider.
			m = []string{"", "Microsoft.Resources", "resourceGroups/{resourceGroupName}"}
		}
		if m == nil {
			return fmt.Errorf("%s: no provider in path %s", e.Token, req.PathTemplate)
		}
		var segs []string
		for i, s := range strings.Split(m[2], "/") {
			if i%2 == 0 {
				segs = append(segs, s)
			}
		}
		key := m[1] + "_" + want
		f := files[key]
		if f == nil {
			f = &File{Provider: m[1], APIVersion: want, Models: map[string]Model{}, Enums: map[string][]string{},
				Source: Source{Module: e.Module, Version: e.Version, Extracted: date, Generator: generatorRef}}
			files[key] = f
		}
		if f.Source.Module != e.Module || f.Source.Version != e.Version {
			return fmt.Errorf("%s %s comes from two modules: %s@%s and %s@%s", m[1], want, f.Source.Module, f.Source.Version, e.Module, e.Version)
		}
		var params []string
		for _, pm := range pathParam.FindAllStringSubmatch(req.PathTemplate, -1) {
			params = append(params, pm[1])
		}
		r := Resource{Token: e.Token, TokenAPIVersion: wantSrc, Type: strings.Join(segs, "/"), Client: e.Client,
			Request: e.Request, APIVersionAt: fmt.Sprintf("%s:%d", req.File, req.APIVersionLine),
			Path: req.PathTemplate, PathParams: params, Body: req.Body, Method: req.Method, Query: req.Query}
		if len(req.PathConsts) > 0 {
			r.PathConsts = req.PathConsts
		}
		f.Resources = append(f.Resources, r)
		if req.Body != "" {
			if err := p.models(req.Body, f.Models, f.Enums); err != nil {
				return fmt.Errorf("%s: %v", e.Token, err)
			}
		}
		for _, q := range req.Query {
			if e, ok := strings.CutPrefix(q.Type, "enum:"); ok {
				f.Enums[e] = p.enums[e]
			}
		}
	}
	versions := map[string]any{}
	for _, v := range versionOnly {
		api, src, err := tokenAPIVersion(v.Token, repo)
		if err != nil {
			return err
		}
		versions[v.Token] = map[string]string{"apiVersion": api, "source": src, "noContract": v.Why}
	}
	if err := writeJSON(out, "api-versions.json", map[string]any{"extracted": dateOf(dateFrom, "api-versions.json", date), "tokens": versions}); err != nil {
		return err
	}
	for key, f := range files {
		p := pkgs[f.Source.Module]
		f.Source.Files = []string{"constants.go", "models.go", "models_serde.go"}
		for _, r := range f.Resources {
			f.Source.Files = append(f.Source.Files, strings.Split(r.APIVersionAt, ":")[0])
		}
		f.Source.Files = uniqSorted(f.Source.Files)
		for _, name := range f.Source.Files {
			if _, ok := p.files[name]; !ok {
				return fmt.Errorf("%s: %s not in %s", key, name, p.dir)
			}
		}
		f.Source.Extracted = dateOf(dateFrom, key+".json", date)
		if err := writeJSON(out, key+".json", f); err != nil {
			return err
		}
	}
	return nil
}

// dateOf is the extraction date to record in a file: today's, or for the freshness check the one
// already recorded in the committed file, so only a change of content makes a difference.
func dateOf(dir, name, date string) string {
	if dir == "" {
		return date
	}
	var old struct {
		Extracted string `json:"extracted"`
		Source    struct {
			Extracted string `json:"extracted"`
		} `json:"source"`
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil || json.Unmarshal(b, &old) != nil {
		return date
	}
	for _, d := range []string{old.Extracted, old.Source.Extracted} {
		if d != "" {
			return d
		}
	}
	return date
}

func writeJSON(dir, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name), append(b, '\n'), 0o644)
}

// lastSegment is the action of a POST ("listClusterUserCredential"), which is not a resource type.
func lastSegment(path, method string) string {
	if method != "POST" {
		return "\x00"
	}
	return path[strings.LastIndex(path, "/")+1:]
}

// sameAPIVersion fails unless the SDK client sends the API version the token is sent with.
func sameAPIVersion(e entry, want, wantSrc string, req *request) error {
	if req.APIVersion != want {
		return fmt.Errorf("%s is sent with API version %s (%s), but %s@%s %s.%s sends %s (%s:%d)",
			e.Token, want, wantSrc, e.Module, e.Version, e.Client, e.Request, req.APIVersion, req.File, req.APIVersionLine)
	}
	return nil
}

func uniqSorted(s []string) []string {
	sort.Strings(s)
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// tokenAPIVersion returns the API version azure-native sends a resource of this token with, and
// where that fact comes from.
func tokenAPIVersion(tok, repo string) (string, string, error) {
	if m := versionedToken.FindStringSubmatch(tok); m != nil {
		v := m[2] + "-" + m[3] + "-" + m[4]
		if m[5] != "" {
			v += "-" + m[5]
		}
		return v, "the token's version", nil
	}
	m := defaultToken.FindStringSubmatch(tok)
	if m == nil {
		return "", "", fmt.Errorf("token %s: not an azure-native resource token", tok)
	}
	mod := azureNative + m[1] + "/v2"
	dir, version, err := mainModule(repo, mod)
	if err != nil {
		return "", "", err
	}
	base := strings.ToLower(m[2][:1]) + m[2][1:] + ".go"
	src, err := readFile(filepath.Join(dir, base))
	if err != nil {
		return "", "", err
	}
	c := nativeComment.FindStringSubmatch(src)
	if c == nil {
		return "", "", fmt.Errorf("%s: no API version comment in %s@%s/%s", tok, mod, version, base)
	}
	line := 1 + strings.Count(src[:strings.Index(src, c[0])], "\n")
	return c[1], fmt.Sprintf("%s@%s/%s:%d", mod, version, base, line), nil
}

// moduleDir downloads module@version (pinned in this folder's go.mod) and returns its directory.
func moduleDir(dir, module, version string) (string, error) {
	if _, err := goCmd(dir, "mod", "download", module); err != nil {
		return "", err
	}
	got, err := goCmd(dir, "list", "-m", "-f", "{{.Version}} {{.Dir}}", module)
	if err != nil {
		return "", err
	}
	v, d, _ := strings.Cut(got, " ")
	if v != version {
		return "", fmt.Errorf("go.mod pins %s %s, config says %s", module, v, version)
	}
	return d, nil
}

// mainModule returns the directory and version of a module the main module requires.
func mainModule(repo, module string) (string, string, error) {
	got, err := goCmd(repo, "list", "-m", "-f", "{{.Version}} {{.Dir}}", module)
	if err != nil {
		return "", "", err
	}
	v, d, _ := strings.Cut(got, " ")
	if d == "" {
		if _, err := goCmd(repo, "mod", "download", module); err != nil {
			return "", "", err
		}
		if got, err = goCmd(repo, "list", "-m", "-f", "{{.Version}} {{.Dir}}", module); err != nil {
			return "", "", err
		}
		v, d, _ = strings.Cut(got, " ")
	}
	return d, v, nil
}

func goCmd(dir string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s (in %s): %v: %s", strings.Join(args, " "), dir, err, stderr.String())
	}
	return strings.TrimSpace(string(b)), nil
}
