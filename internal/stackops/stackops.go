// Package stackops runs Pulumi operations (preview, up, refresh, destroy, outputs, config) on one
// stack of the project in a directory, through the Automation API with an inline program. It
// does not know which program it runs: the metaflow-azure commands pass the real stack, the
// engine tests a small program, and both go through the same code against the real engine.
//
// Only the `pulumi` CLI is needed on PATH: an inline program is served by this process, so no
// language plugin is involved. The workspace's directory is the project directory, so
// Pulumi.yaml and Pulumi.<stack>.yaml are the same files `pulumi up` would use there.
package stackops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"
)

// Environment variables read by Open. The same names the pulumi CLI reads, so a shell set up for
// `pulumi` works unchanged.
const (
	EnvBackendURL     = "PULUMI_BACKEND_URL"
	EnvPassphrase     = "PULUMI_CONFIG_PASSPHRASE"
	EnvPassphraseFile = "PULUMI_CONFIG_PASSPHRASE_FILE"
	EnvPulumiHome     = "PULUMI_HOME"
)

// Options says which stack to open and how.
type Options struct {
	// Dir is the project directory holding Pulumi.yaml. Default: the current directory.
	Dir string
	// Stack is the stack name, e.g. "dev" (config in Pulumi.dev.yaml).
	Stack string
	// Program is the Pulumi program that preview, up and refresh run.
	Program pulumi.RunFunc
	// Getenv reads the environment. Default: os.Getenv.
	Getenv func(string) string
	// Progress receives the engine's progress and diagnostics (stderr in the CLI).
	Progress io.Writer
	// Create creates the stack when it does not exist (preview and up); otherwise an unknown stack
	// is an *UnknownStackError.
	Create bool
}

// Stack is an opened stack of the project.
type Stack struct {
	stack    auto.Stack
	name     string
	project  string
	backend  string
	progress io.Writer
}

// UnknownStackError says the stack does not exist in the backend.
type UnknownStackError struct {
	Stack   string
	Backend string
}

func (e *UnknownStackError) Error() string {
	return fmt.Sprintf("stack %q does not exist in backend %s; `metaflow-azure up --stack %s` creates it (with the config in Pulumi.%s.yaml)",
		e.Stack, e.Backend, e.Stack, e.Stack)
}

// DefaultBackendURL is the local file backend used when neither PULUMI_BACKEND_URL nor the
// project's backend.url is set: $XDG_STATE_HOME/metaflow-azure/pulumi, or
// ~/.local/state/metaflow-azure/pulumi. State is per user and needs no Pulumi Cloud account.
func DefaultBackendURL(getenv func(string) string) (string, error) {
	dir, err := defaultStateDir(getenv)
	if err != nil {
		return "", err
	}
	return "file://" + filepath.ToSlash(dir), nil
}

func defaultStateDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "metaflow-azure", "pulumi"), nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", fmt.Errorf("finding the home directory for the default state backend (set %s instead): %w", EnvBackendURL, err)
		}
	}
	return filepath.Join(home, ".local", "state", "metaflow-azure", "pulumi"), nil
}

// Open opens (and with Options.Create, creates) the stack.
func Open(ctx context.Context, o Options) (*Stack, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if o.Stack == "" {
		return nil, errors.New("internal-error: stackops.Open without a stack name")
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("resolving project directory %q: %w", o.Dir, err)
	}
	proj, err := loadProject(dir)
	if err != nil {
		return nil, err
	}

	backend, err := backendURL(getenv, proj)
	if err != nil {
		return nil, err
	}
	if err := repairFileBackend(backend, progress); err != nil {
		return nil, err
	}
	env := map[string]string{
		EnvBackendURL: backend,
		// The update check calls out to the internet; it only slows every command down here.
		"PULUMI_SKIP_UPDATE_CHECK": "true",
	}
	if h := getenv(EnvPulumiHome); h != "" {
		env[EnvPulumiHome] = h
	}

	provider, err := secretsProvider(dir, o.Stack)
	if err != nil {
		return nil, err
	}
	if provider == "" || provider == "passphrase" {
		pass, passFile := getenv(EnvPassphrase), getenv(EnvPassphraseFile)
		if pass == "" && passFile == "" {
			return nil, fmt.Errorf("stack %q keeps its secrets with a passphrase, and neither %s nor %s is set: export one of them (or set secretsprovider in Pulumi.%s.yaml to use another secrets provider)",
				o.Stack, EnvPassphrase, EnvPassphraseFile, o.Stack)
		}
		if pass != "" {
			env[EnvPassphrase] = pass
		}
		if passFile != "" {
			env[EnvPassphraseFile] = passFile
		}
		provider = "passphrase"
	}

	// No auto.Project option: with one, the workspace would rewrite the user's Pulumi.yaml.
	ws, err := auto.NewLocalWorkspace(ctx,
		auto.WorkDir(dir),
		auto.Program(o.Program),
		auto.EnvVars(env),
		auto.SecretsProvider(provider),
	)
	if err != nil {
		return nil, fmt.Errorf("opening the Pulumi workspace in %s: %w", dir, err)
	}

	var st auto.Stack
	if o.Create {
		st, err = auto.UpsertStack(ctx, o.Stack, ws)
		if err != nil {
			return nil, fmt.Errorf("selecting or creating stack %q in %s: %w", o.Stack, backend, cliError(err))
		}
	} else {
		st, err = auto.SelectStack(ctx, o.Stack, ws)
		if auto.IsSelectStack404Error(err) {
			return nil, &UnknownStackError{Stack: o.Stack, Backend: backend}
		}
		if err != nil {
			return nil, fmt.Errorf("selecting stack %q in %s: %w", o.Stack, backend, cliError(err))
		}
	}
	return &Stack{stack: st, name: o.Stack, project: string(proj.Name), backend: backend, progress: progress}, nil
}

// Name is the stack name.
func (s *Stack) Name() string { return s.name }

// Project is the project name from Pulumi.yaml.
func (s *Stack) Project() string { return s.project }

// Backend is the backend URL the stack lives in.
func (s *Stack) Backend() string { return s.backend }

func loadProject(dir string) (*workspace.Project, error) {
	for _, name := range []string{"Pulumi.yaml", "Pulumi.yml"} {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		proj, err := workspace.LoadProject(path)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		return proj, nil
	}
	return nil, fmt.Errorf("no Pulumi.yaml in %s: run from the project directory or point --cwd at it", dir)
}

// backendURL follows the pulumi CLI's order: the environment, then the project's backend.url,
// then (instead of a login) the per-user file backend.
func backendURL(getenv func(string) string, proj *workspace.Project) (string, error) {
	if u := getenv(EnvBackendURL); u != "" {
		return u, nil
	}
	if proj.Backend != nil && proj.Backend.URL != "" {
		return proj.Backend.URL, nil
	}
	dir, err := defaultStateDir(getenv)
	if err != nil {
		return "", err
	}
	// The file backend does not create its root directory.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating the state directory: %w", err)
	}
	return "file://" + filepath.ToSlash(dir), nil
}

// secretsProvider reads the secretsprovider of Pulumi.<stack>.yaml ("" when the file or the key
// is missing, which for a new stack means the passphrase provider).
func secretsProvider(dir, stack string) (string, error) {
	for _, ext := range []string{".yaml", ".yml"} {
		path := filepath.Join(dir, "Pulumi."+stack+ext)
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("reading stack settings: %w", err)
		}
		var f struct {
			SecretsProvider string `yaml:"secretsprovider"`
		}
		if err := yaml.Unmarshal(b, &f); err != nil {
			return "", fmt.Errorf("reading %s: %w", path, err)
		}
		return f.SecretsProvider, nil
	}
	return "", nil
}

// Summary counts the resources per kind of change ("create", "update", "same", ...).
type Summary map[string]int

// pastTense and futureTense name the engine's operations for the summary line.
var (
	pastTense = map[string]string{
		"create": "created", "update": "updated", "delete": "deleted", "replace": "replaced",
		"same": "unchanged", "read": "read", "refresh": "refreshed", "import": "imported",
		"create-replacement": "created as replacement", "delete-replaced": "deleted after replacement",
		"discard": "discarded", "remove-pending-replace": "pending replacements removed",
	}
	futureTense = map[string]string{
		"create": "to create", "update": "to update", "delete": "to delete", "replace": "to replace",
		"same": "unchanged", "read": "to read", "refresh": "to refresh", "import": "to import",
		"create-replacement": "to create as replacement", "delete-replaced": "to delete after replacement",
		"discard": "to discard", "remove-pending-replace": "pending replacements to remove",
	}
	// opOrder lists the interesting changes first.
	opOrder = []string{"create", "update", "replace", "create-replacement", "delete-replaced", "delete",
		"import", "read", "refresh", "discard", "remove-pending-replace", "same"}
)

func (s Summary) format(names map[string]string) string {
	var parts []string
	seen := map[string]bool{}
	add := func(op string) {
		if n := s[op]; n > 0 && !seen[op] {
			name := names[op]
			if name == "" {
				name = op
			}
			parts = append(parts, fmt.Sprintf("%d %s", n, name))
		}
		seen[op] = true
	}
	for _, op := range opOrder {
		add(op)
	}
	for op := range s {
		add(op)
	}
	if len(parts) == 0 {
		return "no resources"
	}
	return strings.Join(parts, ", ")
}

// Done describes a finished operation: "2 created, 1 unchanged".
func (s Summary) Done() string { return s.format(pastTense) }

// Planned describes a preview: "2 to create, 1 unchanged".
func (s Summary) Planned() string { return s.format(futureTense) }

// Changes reports whether anything other than "same" is counted.
func (s Summary) Changes() bool {
	for op, n := range s {
		if op != "same" && n > 0 {
			return true
		}
	}
	return false
}
