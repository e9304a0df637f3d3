// Package stackconfig reads a Pulumi project's stack config from Pulumi.yaml and
// Pulumi.<stack>.yaml without the Pulumi CLI, in the form the Go SDK hands to a program: full
// keys ("project:key") mapped to raw values, structured values as JSON. Secure values cannot be
// decrypted offline and get a clearly fake stand-in.
package stackconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// SecretStandIn prefixes the stand-in for a secure value.
const SecretStandIn = "fake-secret-config-"

// Config is a stack's configuration.
type Config struct {
	Project string
	Stack   string
	// Values maps full keys to raw values.
	Values map[string]string
	// SecretKeys are the full keys whose values were secure (and are stand-ins).
	SecretKeys []string
}

type projectFile struct {
	Name   string                    `yaml:"name"`
	Config map[string]projectSetting `yaml:"config"`
}

type projectSetting struct {
	Default any `yaml:"default"`
	Value   any `yaml:"value"`
}

type stackFile struct {
	Config map[string]any `yaml:"config"`
}

// Load reads dir/Pulumi.yaml and dir/Pulumi.<stack>.yaml.
func Load(dir, stack string) (*Config, error) {
	if stack == "" {
		return nil, errors.New("a stack name is required")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "Pulumi.yaml"))
	if err != nil {
		return nil, fmt.Errorf("reading the project file: %w", err)
	}
	var project projectFile
	if err := yaml.Unmarshal(raw, &project); err != nil {
		return nil, fmt.Errorf("parsing Pulumi.yaml: %w", err)
	}
	if project.Name == "" {
		return nil, errors.New("Pulumi.yaml has no project name")
	}
	c := &Config{Project: project.Name, Stack: stack, Values: map[string]string{}}

	// Project-level defaults first, so the stack file overrides them.
	for key, setting := range project.Config {
		v := setting.Value
		if v == nil {
			v = setting.Default
		}
		if v != nil {
			if err := c.set(c.fullKey(key), v); err != nil {
				return nil, fmt.Errorf("Pulumi.yaml: %w", err)
			}
		}
	}

	stackPath := filepath.Join(dir, "Pulumi."+stack+".yaml")
	raw, err = os.ReadFile(stackPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("stack %q has no config file %s", stack, stackPath)
		}
		return nil, fmt.Errorf("reading the stack file: %w", err)
	}
	var sf stackFile
	if err := yaml.Unmarshal(raw, &sf); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", filepath.Base(stackPath), err)
	}
	for key, v := range sf.Config {
		if err := c.set(c.fullKey(key), v); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(stackPath), err)
		}
	}
	slices.Sort(c.SecretKeys)
	return c, nil
}

// fullKey puts a bare key into the project's namespace, as Pulumi does.
func (c *Config) fullKey(key string) string {
	if strings.Contains(key, ":") {
		return key
	}
	return c.Project + ":" + key
}

func (c *Config) set(key string, v any) error {
	v, secret := replaceSecure(key, v)
	if secret && !slices.Contains(c.SecretKeys, key) {
		c.SecretKeys = append(c.SecretKeys, key)
	}
	s, err := raw(v)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	c.Values[key] = s
	return nil
}

// replaceSecure swaps every {secure: ...} in a value for a stand-in and reports whether any was.
func replaceSecure(key string, v any) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["secure"]; ok && len(x) == 1 {
			return SecretStandIn + strings.NewReplacer(":", "-", ".", "-").Replace(key), true
		}
		out := make(map[string]any, len(x))
		found := false
		for k, item := range x {
			var s bool
			out[k], s = replaceSecure(key+"."+k, item)
			found = found || s
		}
		return out, found
	case []any:
		out := make([]any, len(x))
		found := false
		for i, item := range x {
			var s bool
			out[i], s = replaceSecure(fmt.Sprintf("%s[%d]", key, i), item)
			found = found || s
		}
		return out, found
	}
	return v, false
}

// raw renders a YAML value the way Pulumi stores it: scalars as text, objects and lists as JSON.
func raw(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case map[string]any, []any:
		b, err := json.Marshal(x)
		if err != nil {
			return "", fmt.Errorf("encoding a structured value: %w", err)
		}
		return string(b), nil
	default:
		return fmt.Sprint(x), nil
	}
}

// Override sets one value by path, as `pulumi config set --path PATH VALUE` does, with VALUE
// parsed as YAML (so `["1.2.3.0/24"]` is a list and `3` a number). PATH has no project prefix.
func (c *Config) Override(path, value string) error {
	var v any
	if err := yaml.Unmarshal([]byte(value), &v); err != nil {
		return fmt.Errorf("--config %s: value %q is not valid YAML: %w", path, value, err)
	}
	switch v.(type) {
	case nil, float64:
		// Keep the exact text: "1.30" is a version, not the number 1.3.
		v = value
	}
	segments := strings.Split(path, ".")
	for _, s := range segments {
		if s == "" || strings.ContainsAny(s, "[]") {
			return fmt.Errorf("--config %s: use dotted keys (aks.systemPool.maxCount); list elements are set as a whole list", path)
		}
	}
	key := c.Project + ":" + segments[0]
	if len(segments) == 1 {
		return c.set(key, v)
	}
	root := map[string]any{}
	if existing, ok := c.Values[key]; ok && existing != "" {
		if err := json.Unmarshal([]byte(existing), &root); err != nil {
			return fmt.Errorf("--config %s: %s is not an object", path, segments[0])
		}
	}
	node := root
	for _, s := range segments[1 : len(segments)-1] {
		child, ok := node[s].(map[string]any)
		if !ok {
			child = map[string]any{}
			node[s] = child
		}
		node = child
	}
	node[segments[len(segments)-1]] = v
	return c.set(key, root)
}
