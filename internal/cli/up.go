package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newUpCommand(o *Options) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Deploy the stack",
		Long: `Creates or updates the stack's resources. Without --yes it first shows a preview and asks
for confirmation on the terminal; with no terminal (CI) pass --yes. Creates the stack in the
backend if it does not exist yet.
` + engineHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if !yes {
				if err := o.requireTerminal("up"); err != nil {
					return err
				}
			}
			st, err := o.openStack(ctx, true)
			if err != nil {
				return err
			}
			if err := recoverInterrupted(ctx, st, o.Streams.ErrOut); err != nil {
				return engineError(ctx, err)
			}
			if !yes {
				planned, err := st.Preview(ctx)
				if err != nil {
					return engineError(ctx, err)
				}
				fmt.Fprintf(o.Streams.ErrOut, "preview of stack %q: %s\n", st.Name(), planned.Planned())
				ok, err := o.confirm(ctx, fmt.Sprintf("deploy these changes to stack %q?", st.Name()))
				if err != nil {
					return err
				}
				if !ok {
					return &ExitError{Code: 1, Err: fmt.Errorf("update of stack %q not confirmed; nothing changed", st.Name())}
				}
			}
			done, err := st.Up(ctx)
			if err != nil {
				return engineError(ctx, err)
			}
			fmt.Fprintf(o.Streams.ErrOut, "update of stack %q: %s\n", st.Name(), done.Done())
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "deploy without a preview and confirmation (needed without a terminal)")
	return cmd
}
