// Package cli implements the metaflow-azure command line: it turns flags into calls of the
// packages that do the work and prints their results. Only cmd/metaflow-azure calls os.Exit.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/spf13/cobra"

	"metaflow-azure/internal/program"
	"metaflow-azure/internal/stackconfig"
)

// IOStreams are the streams a command reads and writes. Machine-readable output goes to Out,
// progress and diagnostics to ErrOut.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// DefaultStreams returns the process's standard streams.
func DefaultStreams() IOStreams {
	return IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
}

// Options is what every command shares. Tests build their own to run the commands with another
// program or environment.
type Options struct {
	Streams IOStreams
	// Program is the Pulumi program the engine commands run. Default: the stack (program.RunWithKeys).
	Program pulumi.RunFunc
	// Getenv reads the environment. Default: os.Getenv.
	Getenv func(string) string
	// Stack is the stack name (--stack).
	Stack string
	// Cwd is the project directory holding Pulumi.yaml (--cwd).
	Cwd string
}

// ExitError carries a specific exit code out of a command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Main runs the command line and returns the process exit code. Errors are printed once.
func Main(ctx context.Context, streams IOStreams, args []string) int {
	return MainWithOptions(ctx, &Options{Streams: streams}, args)
}

// MainWithOptions is Main with the shared options given, for tests.
func MainWithOptions(ctx context.Context, o *Options, args []string) int {
	err := Run(ctx, o, args)
	if err == nil {
		return 0
	}
	fmt.Fprintf(o.Streams.ErrOut, "metaflow-azure: %v\n", err)
	var exit *ExitError
	if errors.As(err, &exit) {
		return exit.Code
	}
	return 1
}

// Run runs the command line with the given options and returns the command's error.
func Run(ctx context.Context, o *Options, args []string) error {
	if o.Program == nil {
		o.Program = o.stackProgram
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	root := NewRootCommand(o)
	root.SetArgs(args)
	root.SetIn(o.Streams.In)
	root.SetOut(o.Streams.Out)
	root.SetErr(o.Streams.ErrOut)
	return root.ExecuteContext(ctx)
}

// NewRootCommand builds the command tree.
func NewRootCommand(o *Options) *cobra.Command {
	root := &cobra.Command{
		Use:           "metaflow-azure",
		Short:         "Plan, deploy and operate Metaflow on Azure",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&o.Stack, "stack", "s", "", "stack name (reads Pulumi.<stack>.yaml)")
	root.PersistentFlags().StringVar(&o.Cwd, "cwd", ".", "project directory holding Pulumi.yaml")
	root.AddCommand(
		newPlanCommand(o),
		newDeployerRoleCommand(o),
		newPreviewCommand(o), newUpCommand(o), newRefreshCommand(o), newDestroyCommand(o), newOutputsCommand(o), newConfigCommand(o), newPortForwardCommand(o), newVerifyCommand(o),
	)
	return root
}

// requireStack returns the --stack value or an error saying how to give one.
func (o *Options) requireStack() (string, error) {
	if o.Stack == "" {
		return "", errors.New("--stack is required (for example --stack dev, which reads Pulumi.dev.yaml)")
	}
	return o.Stack, nil
}

// stackProgram is the stack program for the engine commands. The Automation API passes config to
// an in-process program key by key, so the keys of Pulumi.<stack>.yaml are named to it; unknown
// keys are then reported as under `pulumi up`.
//
// A stack file that cannot be read is an error, not an empty key list: with no keys named, a
// misspelt key would go unreported (the in-process program sees only the keys it asks for).
func (o *Options) stackProgram(ctx *pulumi.Context) error {
	cfg, err := stackconfig.Load(o.Cwd, ctx.Stack())
	if err != nil {
		return fmt.Errorf("reading the stack's settings to check them: %w", err)
	}
	keys := make([]string, 0, len(cfg.Values))
	for k := range cfg.Values {
		keys = append(keys, k)
	}
	return program.RunWithKeys(keys)(ctx)
}
