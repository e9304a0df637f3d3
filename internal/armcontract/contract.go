// Package armcontract is the ARM request contract of the stack's Azure resources: what Azure
// Resource Manager accepts in the PUT of each resource at the exact API version azure-native
// sends it with. The contract is data extracted by tools/armcontract from the Azure SDK for Go
// modules' generated source (Microsoft's published contract per API version), plus the REST-spec
// constraints (patterns, lengths, ranges) in data/spec-constraints.json, which cite the spec.
//
// Check turns a resource's Pulumi inputs into the ARM request azure-native would send (path
// parameters apart, `properties` un-flattened, known shape differences undone) and returns what
// ARM would refuse.
//
// Diff tells, for a change of inputs, whether azure-native updates the resource in place or
// replaces it: a path parameter, a property the REST API spec marks create-only (x-ms-mutability
// without "update", in data/spec-mutability.json, which cites the spec; the SDK does not carry
// it), or one of the inputs azure-native's own forceNewMap lists (data/provider-force-new.json,
// which cites azure-native's source) replaces.
//
// What it cannot check: the resource provider's own rules (which Kubernetes or PostgreSQL minor
// versions, SKUs or zones a region offers, CIDR overlaps, quotas, rules across properties);
// whether an ID names something real (a role definition GUID is just a string here); required
// properties (recorded from the SDK's REQUIRED marks but not enforced: azure-native fills some,
// such as location, from elsewhere); the inside of polymorphic (discriminated) models, typed "any";
// patterns, lengths and ranges other than those in spec-constraints.json. Every enum is treated
// as closed, as the SDK lists it: for an extensible (modelAsString) enum the provider may accept
// a newer value than the API version lists, so such a refusal can be stricter than Azure.
package armcontract

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
)

//go:embed data/*.json
var data embed.FS

// constraintsFile and mutabilityFile are written by hand from the REST API specs; every other
// data file is generated.
const (
	constraintsFile = "spec-constraints.json"
	mutabilityFile  = "spec-mutability.json"
	// forceNewFile is read from azure-native's source, not Microsoft's.
	forceNewFile = "provider-force-new.json"
)

// Violation is one refusal, worded the way ARM words it where possible.
type Violation struct{ Path, Code, Message string }

func (v Violation) String() string { return v.Path + ": " + v.Code + ": " + v.Message }

// Contracts is every loaded contract, by Pulumi type token.
type Contracts struct {
	byToken map[string]*resourceContract
	// apiVersions: tokens whose API version is known but that have no contract (see
	// data/api-versions.json).
	apiVersions map[string]string
}

type resourceContract struct {
	file        *dataFile
	res         *resourceDef
	constraints map[string][]*constraint // ARM path ("{name}", "properties.x[].y") -> constraints
	// createOnly are the body paths ("location", "properties.x[].y") whose x-ms-mutability has
	// no "update" (data/spec-mutability.json); nil until that file names the token.
	createOnly []string
	// mutabilityRead tells that spec-mutability.json has an entry for the token (possibly
	// with no create-only property at all).
	mutabilityRead bool
	// forceNew are the top-level inputs azure-native replaces the resource for besides the
	// spec's create-only ones (data/provider-force-new.json).
	forceNew []string
}

// The data files' format; tools/armcontract writes it.
type dataFile struct {
	Provider   string `json:"provider"`
	APIVersion string `json:"apiVersion"`
	Source     struct {
		Module    string   `json:"module"`
		Version   string   `json:"version"`
		Files     []string `json:"files"`
		Extracted string   `json:"extracted"`
	} `json:"source"`
	Resources []*resourceDef            `json:"resources"`
	Models    map[string]*model         `json:"models"`
	Enums     map[string][]string       `json:"enums"`
	byName    map[string]map[string]int // model -> lower-cased JSON and Go names -> field index
}

type resourceDef struct {
	Token      string            `json:"token"`
	Type       string            `json:"type"`
	Path       string            `json:"path"`
	PathParams []string          `json:"pathParams"`
	PathConsts map[string]string `json:"pathConsts"`
	Body       string            `json:"body"`
	Method     string            `json:"method"`
	Query      []queryParam      `json:"query"`
}

// queryParam is a query parameter (other than api-version) of an invoke such as
// listClusterUserCredential; azure-native names its argument after the SDK's Go name.
type queryParam struct {
	Name string `json:"name"`
	Go   string `json:"go"`
	Type string `json:"type"`
}

type model struct {
	Fields []field `json:"fields"`
	// AdditionalProperties: keys outside the schema are accepted (spec additionalProperties).
	AdditionalProperties bool `json:"additionalProperties"`
}

type field struct {
	JSON     string `json:"json"`
	Go       string `json:"go"`
	Type     string `json:"type"`
	ReadOnly bool   `json:"readOnly"`
	Required bool   `json:"required"`
}

type apiVersionsFile struct {
	Tokens map[string]struct {
		APIVersion string `json:"apiVersion"`
	} `json:"tokens"`
}

// Load reads the embedded contracts and spec constraints.
func Load() (*Contracts, error) { return load(data, "data") }

func load(fsys fs.FS, dir string) (*Contracts, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	c := &Contracts{byToken: map[string]*resourceContract{}, apiVersions: map[string]string{}}
	var constraints, mutability, forceNew []byte
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		switch name {
		case constraintsFile:
			constraints = b
			continue
		case mutabilityFile:
			mutability = b
			continue
		case forceNewFile:
			forceNew = b
			continue
		case apiVersionsName:
			var av apiVersionsFile
			if err := json.Unmarshal(b, &av); err != nil {
				return nil, fmt.Errorf("%s: %v", name, err)
			}
			for tok, v := range av.Tokens {
				c.apiVersions[tok] = v.APIVersion
			}
			continue
		}
		var f dataFile
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		if err := f.index(); err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		for _, r := range f.Resources {
			if _, dup := c.byToken[r.Token]; dup {
				return nil, fmt.Errorf("%s: token %s has two contracts", name, r.Token)
			}
			c.byToken[r.Token] = &resourceContract{file: &f, res: r, constraints: map[string][]*constraint{}}
		}
	}
	if constraints != nil {
		if err := c.addConstraints(constraints); err != nil {
			return nil, fmt.Errorf("%s: %v", constraintsFile, err)
		}
	}
	if mutability != nil {
		if err := c.addMutability(mutability); err != nil {
			return nil, fmt.Errorf("%s: %v", mutabilityFile, err)
		}
	}
	if forceNew != nil {
		if err := c.addForceNew(forceNew); err != nil {
			return nil, fmt.Errorf("%s: %v", forceNewFile, err)
		}
	}
	return c, nil
}

const apiVersionsName = "api-versions.json"

func (f *dataFile) index() error {
	f.byName = map[string]map[string]int{}
	for name, m := range f.Models {
		idx := map[string]int{}
		for i, fl := range m.Fields {
			idx[strings.ToLower(fl.JSON)] = i
		}
		// The Go name (Microsoft's x-ms-client-name, which azure-native also uses for its input
		// names) is a second key only where it does not collide with a JSON name.
		for i, fl := range m.Fields {
			if _, taken := idx[strings.ToLower(fl.Go)]; !taken {
				idx[strings.ToLower(fl.Go)] = i
			}
		}
		f.byName[name] = idx
	}
	for _, r := range f.Resources {
		if _, ok := f.Models[r.Body]; r.Body != "" && !ok {
			return fmt.Errorf("%s: body model %s missing", r.Token, r.Body)
		}
	}
	return nil
}

// APIVersion is the API version azure-native sends a resource of this type token with.
func (c *Contracts) APIVersion(typeToken string) (string, bool) {
	if rc, ok := c.byToken[typeToken]; ok {
		return rc.file.APIVersion, true
	}
	if v, ok := c.apiVersions[typeToken]; ok {
		return v, true
	}
	if m := versionedToken.FindStringSubmatch(typeToken); m != nil {
		v := m[1] + "-" + m[2] + "-" + m[3]
		if m[4] != "" {
			v += "-" + m[4]
		}
		return v, true
	}
	return "", false
}

var versionedToken = regexp.MustCompile(`^azure-native:[a-z0-9]+/v(\d{4})(\d{2})(\d{2})(preview|privatepreview)?:[A-Za-z0-9]+$`)

// Tokens lists the type tokens that have a contract.
func (c *Contracts) Tokens() []string {
	var out []string
	for t := range c.byToken {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Source describes where a token's contract comes from: module@version, API version, resource type.
func (c *Contracts) Source(typeToken string) (string, bool) {
	rc, ok := c.byToken[typeToken]
	if !ok {
		return "", false
	}
	f := rc.file
	return fmt.Sprintf("%s/%s@%s (%s@%s, extracted %s)", f.Provider, rc.res.Type, f.APIVersion, f.Source.Module, f.Source.Version, f.Source.Extracted), true
}
