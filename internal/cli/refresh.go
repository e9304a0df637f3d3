package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newRefreshCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "refresh",
		Short: "Read the real state of the stack's resources into its state",
		Long: `Reads every resource of the stack from the cloud and records drift in the stack's state.
Resources themselves are not changed; run up afterwards to bring them back to the program.
The stack must exist.
` + engineHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, err := o.openStack(ctx, false)
			if err != nil {
				return err
			}
			done, err := st.Refresh(ctx)
			if err != nil {
				return engineError(ctx, err)
			}
			fmt.Fprintf(o.Streams.ErrOut, "refresh of stack %q: %s\n", st.Name(), done.Done())
			return nil
		},
	}
}
