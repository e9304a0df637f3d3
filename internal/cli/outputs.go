package cli

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/spf13/cobra"
)

// secretMask stands for a secret output that was not asked for, as pulumi prints it.
const secretMask = "[secret]"

func newOutputsCommand(o *Options) *cobra.Command {
	var asJSON, showSecrets bool
	cmd := &cobra.Command{
		Use:   "outputs",
		Short: "Print the stack's outputs",
		Long: `Prints the outputs of the stack's last update to stdout: one "name  value" line each, or
with --json one JSON object. Secret outputs (metaflowConfig, kubeconfig) print as [secret]
unless --show-secrets is given. The stack must exist.
` + engineHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			_, outs, err := o.deployedOutputs(ctx)
			if err != nil {
				return err
			}
			values := maskOutputs(outs, showSecrets)
			if asJSON {
				b, err := json.MarshalIndent(values, "", "  ")
				if err != nil {
					return fmt.Errorf("encoding outputs: %w", err)
				}
				_, err = fmt.Fprintf(o.Streams.Out, "%s\n", b)
				return err
			}
			return printOutputs(o, values)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false, "print secret outputs in plain text")
	return cmd
}

func maskOutputs(outs auto.OutputMap, showSecrets bool) map[string]any {
	values := make(map[string]any, len(outs))
	for k, v := range outs {
		if v.Secret && !showSecrets {
			values[k] = secretMask
			continue
		}
		values[k] = v.Value
	}
	return values
}

func printOutputs(o *Options, values map[string]any) error {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	w := tabwriter.NewWriter(o.Streams.Out, 0, 4, 2, ' ', 0)
	for _, k := range keys {
		// Multi-line strings (a kubeconfig) would break the table: print them JSON-quoted.
		v, ok := values[k].(string)
		if !ok || strings.ContainsAny(v, "\n\t") {
			b, err := json.Marshal(values[k])
			if err != nil {
				return fmt.Errorf("encoding output %q: %w", k, err)
			}
			v = string(b)
		}
		fmt.Fprintf(w, "%s\t%s\n", k, v)
	}
	return w.Flush()
}
