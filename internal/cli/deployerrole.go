package cli

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"metaflow-azure/internal/deployerrole"
	"metaflow-azure/internal/program"
	"metaflow-azure/internal/stackconfig"
)

// defaultRoleStacks are planned when --stack is not given: dev and prod together switch on
// every optional feature (prod: flow runners, Azure RBAC for Kubernetes), so their union is
// what any stack of this project may need.
var defaultRoleStacks = []string{"dev", "prod"}

type deployerRoleFlags struct {
	subscription  string
	resourceGroup string
	out           string
	check         string
}

func newDeployerRoleCommand(o *Options) *cobra.Command {
	f := &deployerRoleFlags{}
	cmd := &cobra.Command{
		Use:   "deployer-role --subscription ID [--resource-group NAME] [--out FILE] | --check FILE",
		Short: "Print the least Azure custom role that deploys the stack, or check a role against it",
		Long: `deployer-role plans the stack(s) offline — --stack NAME, or dev and prod by default so that every
optional feature is covered; several as --stack dev,prod — and prints an Azure custom role
definition holding exactly the actions needed to create, read, update and delete everything
they declare, for 'az role definition create --role-definition @FILE'.

Scope: the role is assignable at /subscriptions/ID, or with --resource-group at that resource
group only. A resource-group-scoped role cannot create the resource group itself, so the first
'pulumi up' (which creates it) needs the role at subscription scope, or someone who has it; later
runs work with the role at the group (docs/deployer-role.md).
The AKS node resource group (aks.nodeResourceGroup) is created and deleted by the AKS resource
provider itself, so the role needs no right on it at either scope; its name must be unused.

With Azure RBAC for Kubernetes (aks.azureRbac) the role also holds the data action
Microsoft.ContainerService/managedClusters/*: local accounts are off, so the deployer's own
identity applies the stack's Kubernetes objects and Helm charts.

Microsoft Entra rights (the stack creates an application, a service principal and a password)
are not Azure RBAC; docs/deployer-role.md says which Entra role is enough.

--check FILE reads a role definition (the create shape, or 'az role definition list' output)
and lists the actions it lacks, honouring wildcards and NotActions; it exits 1 if any lack.`,
		Example: `  metaflow-azure deployer-role --subscription 00000000-0000-0000-0000-000000000000 --out deployer-role.json
  az role definition create --role-definition @deployer-role.json
  metaflow-azure deployer-role --stack prod --subscription $SUB --resource-group rg-acme-metaflow-prod-westeurope
  az role definition list --name "Metaflow deployer ($SUB)" > current.json
  metaflow-azure deployer-role --check current.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDeployerRole(o, f)
		},
	}
	cmd.Flags().StringVar(&f.subscription, "subscription", "", "subscription id the role is assignable in (required unless --check)")
	cmd.Flags().StringVar(&f.resourceGroup, "resource-group", "", "make the role assignable at this resource group only")
	cmd.Flags().StringVar(&f.out, "out", "", "write the role definition to FILE instead of stdout")
	cmd.Flags().StringVar(&f.check, "check", "", "list the actions the role definition in FILE lacks; exit 1 if any")
	cmd.MarkFlagsMutuallyExclusive("check", "out")
	cmd.MarkFlagsMutuallyExclusive("check", "resource-group")
	return cmd
}

func runDeployerRole(o *Options, f *deployerRoleFlags) error {
	scope := deployerrole.Scope{SubscriptionID: f.subscription, ResourceGroup: f.resourceGroup}
	if f.check == "" {
		if f.subscription == "" {
			return fmt.Errorf("--subscription is required (az account show --query id -o tsv), or --check FILE")
		}
		if err := scope.Validate(); err != nil {
			return err
		}
	}
	stacks := defaultRoleStacks
	if o.Stack != "" {
		stacks = strings.Split(o.Stack, ",")
	}
	var configs []*stackconfig.Config
	for _, s := range stacks {
		cfg, err := stackconfig.Load(o.Cwd, strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("loading stack %q: %w", s, err)
		}
		configs = append(configs, cfg)
	}
	declared, err := deployerrole.Collect(configs, program.Declare)
	if err != nil {
		return err
	}
	reqs, err := deployerrole.Requirements(declared)
	if err != nil {
		return fmt.Errorf("deriving the deployer role: %w", err)
	}
	if f.check != "" {
		return checkDeployerRole(o, f.check, reqs, declared.Stacks)
	}

	if f.resourceGroup != "" && !slices.Contains(declared.ResourceGroups, f.resourceGroup) {
		fmt.Fprintf(o.Streams.ErrOut, "note: --resource-group %s is not the group the stack(s) %s deploy into (%s); a role assignable only there covers none of it\n",
			f.resourceGroup, strings.Join(declared.Stacks, ", "), strings.Join(declared.ResourceGroups, ", "))
	}
	def := deployerrole.NewDefinition(reqs, scope, declared.Stacks)
	if f.out == "" {
		return def.WriteJSON(o.Streams.Out)
	}
	var buf bytes.Buffer
	if err := def.WriteJSON(&buf); err != nil {
		return err
	}
	if err := os.WriteFile(f.out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing the role definition: %w", err)
	}
	fmt.Fprintf(o.Streams.ErrOut, "wrote %q (%d actions, data actions: %d) to %s\nnext: az role definition create --role-definition @%s, then assign it (docs/deployer-role.md)\n",
		def.Name, len(def.Actions), len(def.DataActions), f.out, f.out)
	return nil
}

// checkDeployerRole prints the requirements the role in file lacks, one a line with the types
// needing each, and fails when there is any.
func checkDeployerRole(o *Options, file string, reqs []deployerrole.Requirement, stacks []string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading the role definition: %w", err)
	}
	perms, err := deployerrole.ParsePermissions(data)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	gaps := deployerrole.Missing(reqs, perms)
	if len(gaps) == 0 {
		fmt.Fprintf(o.Streams.ErrOut, "%s grants all %d permissions the stack(s) %s need\n", file, len(reqs), strings.Join(stacks, ", "))
		return nil
	}
	tw := tabwriter.NewWriter(o.Streams.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tACTION\tREASON\tNEEDED BY")
	for _, g := range gaps {
		kind := "Actions"
		if g.Data {
			kind = "DataActions"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", kind, g.Action, g.Reason, strings.Join(g.NeededBy, ", "))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the missing actions: %w", err)
	}
	return &ExitError{Code: 1, Err: fmt.Errorf("%s lacks %d of the %d permissions the stack(s) %s need", file, len(gaps), len(reqs), strings.Join(stacks, ", "))}
}
