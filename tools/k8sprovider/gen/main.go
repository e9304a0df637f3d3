// Command gen writes the two files cmd/pulumi-resource-kubernetes embeds, from the schema.json
// and terraform-mapping.json shipped in the pinned provider module:
//
//	go run ./gen [-version 4.25.0]
//
// schema-embed.json is schema.json with its top-level "version" set (upstream's generator does
// the same); terraform-mapping-embed.json is terraform-mapping.json compacted. Only the standard
// library is used, so running it compiles nothing of the provider. Run it from this module; the
// module directory comes from `go list -m`, which reads go.mod and the module cache and
// compiles nothing.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const providerModule = "github.com/pulumi/pulumi-kubernetes/provider/v4"

func main() {
	version := flag.String("version", envOr("VERSION", "4.25.0"), "version written into the schema (without a leading v)")
	flag.Parse()
	if err := run(strings.TrimPrefix(*version, "v")); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func run(version string) error {
	if version == "" {
		return fmt.Errorf("empty -version")
	}
	src, err := goList("-m", "-f", "{{.Dir}}", providerModule)
	if err != nil {
		return err
	}
	if src == "" {
		return fmt.Errorf("%s is not downloaded; run `go mod download` in this module", providerModule)
	}
	root, err := goList("-m", "-f", "{{.Dir}}")
	if err != nil {
		return err
	}
	// The module's files sit at its root (the repository's provider/ folder).
	in := filepath.Join(src, "cmd", "pulumi-resource-kubernetes")
	out := filepath.Join(root, "cmd", "pulumi-resource-kubernetes")

	schema, err := versionedSchema(filepath.Join(in, "schema.json"), version)
	if err != nil {
		return err
	}
	mapping, err := compact(filepath.Join(in, "terraform-mapping.json"))
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(out, "schema-embed.json"), schema); err != nil {
		return err
	}
	return writeFile(filepath.Join(out, "terraform-mapping-embed.json"), mapping)
}

// versionedSchema returns the schema with "version" set. The other top-level members are kept
// as raw JSON, so nothing of the schema is reinterpreted.
func versionedSchema(path, version string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, ok := doc["name"]; !ok {
		return nil, fmt.Errorf("%s: not a Pulumi package schema (no name)", path)
	}
	v, err := json.Marshal(version)
	if err != nil {
		return nil, err
	}
	doc["version"] = v
	return json.Marshal(doc)
}

func compact(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return buf.Bytes(), nil
}

// writeFile replaces path atomically, so an interrupted run never leaves a truncated file that
// a later build would embed.
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func goList(args ...string) (string, error) {
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}
