package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"metaflow-azure/internal/program"
)

// metaflowConfigOutput is the stack output holding ~/.metaflowconfig/config.json as JSON text.
const metaflowConfigOutput = program.OutputMetaflowConfig

// profileName is what Metaflow accepts in METAFLOW_PROFILE and we accept in a file name.
var profileName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func newConfigCommand(o *Options) *cobra.Command {
	var profile string
	var force bool
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Write the stack's Metaflow profile",
		Long: `Writes the stack's metaflowConfig output to $METAFLOW_HOME/config.json (default
~/.metaflowconfig/config.json), or with --profile NAME to config_NAME.json, readable only by you
(mode 0600). An existing file with the same settings is left alone; a different one is only
replaced with --force. Prints the METAFLOW_PROFILE to use. The stack must have been deployed.
` + engineHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if profile != "" && !profileName.MatchString(profile) {
				return fmt.Errorf("--profile: %q must be letters, digits, '_', '.' or '-', starting with a letter or digit", profile)
			}
			ctx := cmd.Context()
			st, outs, err := o.deployedOutputs(ctx)
			if err != nil {
				return err
			}
			out, ok := outs[metaflowConfigOutput]
			if !ok {
				return missingOutput(st, metaflowConfigOutput)
			}
			content, err := metaflowConfigJSON(out.Value)
			if err != nil {
				return fmt.Errorf("stack %q output %s: %w", st.Name(), metaflowConfigOutput, err)
			}
			dir, err := metaflowHome(o.Getenv)
			if err != nil {
				return err
			}
			file := "config.json"
			if profile != "" {
				file = "config_" + profile + ".json"
			}
			path := filepath.Join(dir, file)
			wrote, err := writeProfile(path, content, force)
			if err != nil {
				return err
			}
			if wrote {
				fmt.Fprintf(o.Streams.ErrOut, "wrote the Metaflow config of stack %q to %s\n", st.Name(), path)
			} else {
				fmt.Fprintf(o.Streams.ErrOut, "%s is already the Metaflow config of stack %q\n", path, st.Name())
			}
			if raw, ok := outs[program.OutputTaskPools]; ok {
				text, err := describePools(raw.Value)
				if err != nil {
					return fmt.Errorf("stack %q output %s: %w", st.Name(), program.OutputTaskPools, err)
				}
				fmt.Fprint(o.Streams.ErrOut, text)
			}
			if profile == "" {
				fmt.Fprintln(o.Streams.ErrOut, "it is the default profile: Metaflow uses it when METAFLOW_PROFILE is unset")
				fmt.Fprintln(o.Streams.Out, "unset METAFLOW_PROFILE")
			} else {
				fmt.Fprintln(o.Streams.Out, "export METAFLOW_PROFILE="+profile)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&profile, "profile", "", "write config_NAME.json, the profile METAFLOW_PROFILE=NAME selects")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing profile that has different settings")
	return cmd
}

// taskPool is one element of the taskPools output.
type taskPool struct {
	Name         string `json:"name"`
	NodeSelector string `json:"nodeSelector"`
	VMSize       string `json:"vmSize"`
	Spot         bool   `json:"spot"`
	GPU          bool   `json:"gpu"`
	Default      bool   `json:"default"`
	Decorator    string `json:"decorator"`
}

// describePools turns the taskPools output into the table of pools a step can ask for.
func describePools(v any) (string, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encoding: %w", err)
	}
	var pools []taskPool
	if err := json.Unmarshal(raw, &pools); err != nil {
		return "", fmt.Errorf("is not a list of pools: %w", err)
	}
	var b bytes.Buffer
	b.WriteString("task pools (a step selects one with its node selector):\n")
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "  POOL\tNODE SELECTOR\tVM SIZE\tSPOT\tGPU\tSTEP DECORATOR")
	for _, p := range pools {
		name := p.Name
		if p.Default {
			name += " (default)"
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\t%t\t%t\t%s\n", name, p.NodeSelector, p.VMSize, p.Spot, p.GPU, p.Decorator)
	}
	if err := w.Flush(); err != nil {
		return "", err
	}
	return b.String(), nil
}

// metaflowConfigJSON turns the output (JSON text, or an object if a program exports it
// structured) into the indented JSON file content.
func metaflowConfigJSON(v any) ([]byte, error) {
	var obj map[string]any
	switch v := v.(type) {
	case string:
		if err := json.Unmarshal([]byte(v), &obj); err != nil {
			return nil, fmt.Errorf("is not a JSON object: %w", err)
		}
	case map[string]any:
		obj = v
	default:
		return nil, fmt.Errorf("is a %T, want JSON text of an object", v)
	}
	if len(obj) == 0 {
		return nil, errors.New("is empty")
	}
	b, err := json.MarshalIndent(obj, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}
	return append(b, '\n'), nil
}

// metaflowHome is where Metaflow reads its profiles: $METAFLOW_HOME, else ~/.metaflowconfig.
func metaflowHome(getenv func(string) string) (string, error) {
	if d := getenv("METAFLOW_HOME"); d != "" {
		return d, nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", fmt.Errorf("finding the home directory (set METAFLOW_HOME instead): %w", err)
		}
	}
	return filepath.Join(home, ".metaflowconfig"), nil
}

// writeProfile writes content to path (mode 0600, directory 0700) unless a file with the same
// settings is there. A file with other settings is replaced only with force. It reports whether
// it wrote.
func writeProfile(path string, content []byte, force bool) (bool, error) {
	old, err := os.ReadFile(path)
	switch {
	case err == nil:
		if sameJSON(old, content) {
			// Same settings: keep the file, but it holds credentials, so tighten its mode.
			if err := os.Chmod(path, 0o600); err != nil {
				return false, fmt.Errorf("restricting %s to its owner: %w", path, err)
			}
			return false, nil
		}
		if !force {
			return false, fmt.Errorf("%s exists with different settings; keep it and pass --profile NAME to write another profile, or pass --force to replace it", path)
		}
	case !errors.Is(err, os.ErrNotExist):
		return false, fmt.Errorf("reading the existing profile: %w", err)
	}

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("creating %s: %w", dir, err)
	}
	// Write a temporary file and rename it, so a reader never sees half a profile and an
	// interrupted write leaves the old one.
	tmp, err := os.CreateTemp(dir, ".config-*.json")
	if err != nil {
		return false, fmt.Errorf("writing the profile: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return false, fmt.Errorf("restricting the profile to its owner: %w", err)
	}
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return false, fmt.Errorf("writing the profile: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("writing the profile: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return false, fmt.Errorf("writing the profile: %w", err)
	}
	return true, nil
}

// sameJSON compares two profiles by their settings, so formatting differences do not count.
func sameJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
