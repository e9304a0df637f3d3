package cli

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"metaflow-azure/infra"
	"metaflow-azure/internal/settings"
)

func newDestroyCommand(o *Options) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "destroy",
		Short: "Delete every resource of the stack",
		Long: `Deletes the stack's resources; the stack itself (config, history) stays in the backend.

Refuses while the stack's protectData setting is on (the default), because that protects the
datastore and the database: Pulumi's protect and retainOnDelete, and Azure delete locks
(CanNotDelete, named ` + infra.DeleteLockName + `) on the storage account and the PostgreSQL
server, which stop the portal, the Azure CLI and every other tool from deleting them. To destroy
such a stack on purpose, turn the protection off and deploy that first; that up lifts the
locks and the protection:
  pulumi config set protectData false --stack <stack>
  metaflow-azure up --stack <stack>
  metaflow-azure destroy --stack <stack>
To lift a lock by hand instead (for example to delete the server from the portal), someone with
Microsoft.Authorization/locks/delete (Owner, User Access Administrator or the deployer role) runs:
  az lock delete --ids "$(az lock show --name ` + infra.DeleteLockName + ` --resource-group <group> \
    --resource-type Microsoft.Storage/storageAccounts --resource-name <account> --output tsv --query id)"
  (for the server: --resource-type Microsoft.DBforPostgreSQL/flexibleServers --resource-name <server>)
and the next up with protectData on sets it again (docs/operations.md, "Delete locks").

Without --yes it shows what would be deleted and asks for confirmation on the terminal.
` + engineHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if !yes {
				if err := o.requireTerminal("destroy"); err != nil {
					return err
				}
			}
			st, err := o.openStack(ctx, false)
			if err != nil {
				return err
			}
			cfg, err := st.Config(ctx)
			if err != nil {
				return err
			}
			protect, err := protectData(st.Project(), cfg)
			if err != nil {
				return err
			}
			if protect {
				return fmt.Errorf("stack %q has protectData on, which keeps its datastore and database from being deleted: Pulumi protects them and "+
					"Azure delete locks (CanNotDelete, %q) refuse their deletion by any tool; to destroy the stack, turn it off and deploy that first "+
					"(that up lifts the locks):\n"+
					"  pulumi config set protectData false --stack %s\n  metaflow-azure up --stack %s\n  metaflow-azure destroy --stack %s\n"+
					"(docs/operations.md, \"Delete locks\", has how to lift one lock by hand)",
					st.Name(), infra.DeleteLockName, st.Name(), st.Name(), st.Name())
			}
			if !yes {
				planned, err := st.PreviewDestroy(ctx)
				if err != nil {
					return engineError(ctx, err)
				}
				fmt.Fprintf(o.Streams.ErrOut, "destroy preview of stack %q: %s\n", st.Name(), planned.Planned())
				ok, err := o.confirm(ctx, fmt.Sprintf("delete these resources of stack %q?", st.Name()))
				if err != nil {
					return err
				}
				if !ok {
					return &ExitError{Code: 1, Err: fmt.Errorf("destroy of stack %q not confirmed; nothing deleted", st.Name())}
				}
			}
			done, err := st.Destroy(ctx)
			if err != nil {
				return engineError(ctx, err)
			}
			fmt.Fprintf(o.Streams.ErrOut, "destroy of stack %q: %s\n", st.Name(), done.Done())
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "destroy without a preview and confirmation (needed without a terminal)")
	return cmd
}

// protectData reads the protectData setting of a stack's config. The whole settings are loaded
// so the default and the parsing are the program's own; if they do not load (a stack whose
// settings were broken after its last up must still be destroyable once protection is off), the
// single key decides, with the program's default when it is unset.
func protectData(project string, cfg map[string]string) (bool, error) {
	if s, err := settings.Load(project, cfg); err == nil {
		return s.ProtectData, nil
	}
	raw, ok := cfg[project+":protectData"]
	if !ok {
		return settings.Defaults().ProtectData, nil
	}
	v, err := strconv.ParseBool(raw)
	if err != nil {
		return false, fmt.Errorf("%s:protectData: %q must be true or false", project, raw)
	}
	return v, nil
}
