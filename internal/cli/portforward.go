package cli

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"metaflow-azure/internal/portforward"
	"metaflow-azure/internal/program"
	"metaflow-azure/internal/stackops"
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
			cfg, err := clusterConfig(st, outs)
			if err != nil {
				return err
			}
			if _, ok := outs[program.OutputPortForwards]; !ok {
				return missingOutput(st, program.OutputPortForwards)
			}
			targets, err := portForwardTargets(st, outs)
			if err != nil {
				return err
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

// clusterConfig reaches the stack's cluster with its kubeconfig output, kept in memory.
func clusterConfig(st *stackops.Stack, outs auto.OutputMap) (*rest.Config, error) {
	kc, ok := outs[program.OutputKubeconfig].Value.(string)
	if !ok || kc == "" {
		return nil, missingOutput(st, program.OutputKubeconfig)
	}
	cfg, err := portforward.RESTConfigFromKubeconfig([]byte(kc))
	if err != nil {
		return nil, fmt.Errorf("stack %q output %s: %w", st.Name(), program.OutputKubeconfig, err)
	}
	return cfg, nil
}

// portForwardTargets decodes the portForwards output; none when the stack has no such output.
func portForwardTargets(st *stackops.Stack, outs auto.OutputMap) ([]portforward.Target, error) {
	raw, ok := outs[program.OutputPortForwards]
	if !ok {
		return nil, nil
	}
	var targets []portforward.Target
	b, err := json.Marshal(raw.Value)
	if err == nil {
		err = json.Unmarshal(b, &targets)
	}
	if err != nil {
		return nil, fmt.Errorf("stack %q output %s: %w", st.Name(), program.OutputPortForwards, err)
	}
	return targets, nil
}
