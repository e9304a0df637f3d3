package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newPreviewCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "preview",
		Short: "Show what up would change, without changing anything",
		Long: `Runs the stack's program against the engine and shows the changes an update would make.
Creates the stack in the backend if it does not exist yet.
` + engineHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, err := o.openStack(ctx, true)
			if err != nil {
				return err
			}
			sum, err := st.Preview(ctx)
			if err != nil {
				return engineError(ctx, err)
			}
			fmt.Fprintf(o.Streams.ErrOut, "preview of stack %q: %s\n", st.Name(), sum.Planned())
			return nil
		},
	}
}
