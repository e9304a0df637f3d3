package cli

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"metaflow-azure/internal/plan"
	"metaflow-azure/internal/program"
	"metaflow-azure/internal/settings"
	"metaflow-azure/internal/stackconfig"
)

type planFlags struct {
	json        bool
	showSecrets bool
	config      []string
	manifests   string
}

func newPlanCommand(o *Options) *cobra.Command {
	f := &planFlags{}
	cmd := &cobra.Command{
		Use:   "plan --stack NAME",
		Short: "Show everything a stack would deploy, offline: no Azure, no Pulumi CLI",
		Long: `plan runs the stack program — the same one 'pulumi up' runs — against a fake Azure and
prints every resource it declares with its properties, dependencies and the stack outputs.

Config comes from Pulumi.yaml and Pulumi.<stack>.yaml in --cwd; --config PATH=VALUE overrides one
setting (PATH as for 'pulumi config set --path', without the project prefix; VALUE is YAML).
Secure values cannot be decrypted offline and get a fake stand-in. Secret values print as
"[secret]" unless --show-secrets is given (they are fakes either way).`,
		Example: `  metaflow-azure plan --stack dev
  metaflow-azure plan --stack dev --json > plan.json
  metaflow-azure plan --stack dev --config 'aks.authorizedIpRanges=["203.0.113.0/24"]'
  metaflow-azure plan --stack dev --manifests rendered/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			stack, err := o.requireStack()
			if err != nil {
				return err
			}
			return runPlan(o, stack, f)
		},
	}
	cmd.Flags().BoolVar(&f.json, "json", false, "print one JSON object instead of the tree")
	cmd.Flags().BoolVar(&f.showSecrets, "show-secrets", false, "print secret values instead of [secret]")
	cmd.Flags().StringArrayVar(&f.config, "config", nil, "override a setting: PATH=VALUE (repeatable)")
	cmd.Flags().StringVar(&f.manifests, "manifests", "", "also write every Kubernetes object to this directory, one YAML file each")
	return cmd
}

func runPlan(o *Options, stack string, f *planFlags) error {
	cfg, err := stackconfig.Load(o.Cwd, stack)
	if err != nil {
		return err
	}
	for _, kv := range f.config {
		path, value, ok := strings.Cut(kv, "=")
		if !ok || path == "" {
			return fmt.Errorf("--config %q: want PATH=VALUE", kv)
		}
		if err := cfg.Override(path, value); err != nil {
			return err
		}
	}
	p, err := plan.Build(plan.Options{Config: cfg, Program: program.Declare, ShowSecrets: f.showSecrets})
	if err != nil {
		return err
	}
	// The program logs these as Pulumi warnings under preview and up; offline there is no engine
	// to show them, so the plan says them itself.
	if s, err := settings.Load(cfg.Project, cfg.Values); err == nil {
		for _, w := range s.Warnings() {
			fmt.Fprintf(o.Streams.ErrOut, "warning: %s:%s\n", cfg.Project, w)
		}
	}
	if f.manifests != "" {
		skipped, err := p.WriteManifests(f.manifests)
		if err != nil {
			return err
		}
		abs, _ := filepath.Abs(f.manifests)
		fmt.Fprintf(o.Streams.ErrOut, "wrote the stack's Kubernetes objects to %s\n", abs)
		for _, s := range skipped {
			fmt.Fprintf(o.Streams.ErrOut, "left out: Helm release %s (chart %s %s from %s): charts are fetched at deploy time, not offline\n", s.Name, s.Chart, s.Version, s.Repository)
		}
	}
	if f.json {
		return p.WriteJSON(o.Streams.Out)
	}
	return p.WriteText(o.Streams.Out)
}
