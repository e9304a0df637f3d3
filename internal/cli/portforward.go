package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"metaflow-azure/internal/portforward"
	"metaflow-azure/internal/program"
)

func newPortForwardCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "port-forward",
		Short: "Forward the Metaflow services of the stack to localhost",
		Long: `Forwards the services the stack's portForwards output lists (metadata service, UI backend,
UI, Argo server and, when deployed, the Argo Events webhook) to the local ports the Metaflow
config names, and prints their URLs on stdout. Uses the stack's kubeconfig output in memory
(nothing is written to disk) and the Kubernetes API directly: no kubectl needed.

Each Service is resolved to a ready pod; when that pod goes away or the connection drops, the
Service is resolved again and the same local port reconnects. Runs until Ctrl-C.
` + engineHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, outs, err := o.deployedOutputs(ctx)
			if err != nil {
				return err
			}
			kc, ok := outs[program.OutputKubeconfig].Value.(string)
			if !ok || kc == "" {
				return missingOutput(st, program.OutputKubeconfig)
			}
			raw, ok := outs[program.OutputPortForwards]
			if !ok {
				return missingOutput(st, program.OutputPortForwards)
			}
			var targets []portforward.Target
			b, err := json.Marshal(raw.Value)
			if err == nil {
				err = json.Unmarshal(b, &targets)
			}
			if err != nil {
				return fmt.Errorf("stack %q output %s: %w", st.Name(), program.OutputPortForwards, err)
			}
			cfg, err := portforward.RESTConfigFromKubeconfig([]byte(kc))
			if err != nil {
				return fmt.Errorf("stack %q output %s: %w", st.Name(), program.OutputKubeconfig, err)
			}
			f := &portforward.Forwarder{Config: cfg, Out: o.Streams.Out, Log: o.Streams.ErrOut}
			fmt.Fprintf(o.Streams.ErrOut, "forwarding %d services of stack %q; Ctrl-C stops\n", len(targets), st.Name())
			if err := f.Run(ctx, targets); err != nil {
				return err
			}
			fmt.Fprintln(o.Streams.ErrOut, "port forwarding stopped")
			return nil
		},
	}
}
