package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"golang.org/x/term"

	"metaflow-azure/internal/stackops"
)

// engineHelp is the part of --help that every engine command shares.
const engineHelp = `
The program runs in this process through the Pulumi Automation API (an inline program), so only
the pulumi CLI is needed on PATH (hack/pulumi-cli.sh builds it). The project is the Pulumi.yaml in
--cwd and the stack's config is Pulumi.<stack>.yaml beside it, the same files ` + "`pulumi up`" + ` uses.

Backend: PULUMI_BACKEND_URL if set, else the project's backend.url, else a local file backend
in $XDG_STATE_HOME/metaflow-azure/pulumi (default ~/.local/state/metaflow-azure/pulumi); no Pulumi
Cloud account is needed.
Secrets: the passphrase provider, with the passphrase from PULUMI_CONFIG_PASSPHRASE or
PULUMI_CONFIG_PASSPHRASE_FILE, unless Pulumi.<stack>.yaml sets another secretsprovider.

Progress goes to stderr. Ctrl-C interrupts the engine, which stops after the steps in flight and
saves the state.`

// exitInterrupted is the shell's code for a process stopped by SIGINT.
const exitInterrupted = 130

// stdinIsTerminal reports whether confirmations can be asked on r. A variable so tests can
// answer prompts from a buffer.
var stdinIsTerminal = func(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// openStack opens the --stack stack of the --cwd project. create says whether a missing stack
// is created (preview, up) or an error.
func (o *Options) openStack(ctx context.Context, create bool) (*stackops.Stack, error) {
	name, err := o.requireStack()
	if err != nil {
		return nil, err
	}
	return stackops.Open(ctx, stackops.Options{
		Dir:      o.Cwd,
		Stack:    name,
		Program:  o.Program,
		Getenv:   o.Getenv,
		Progress: o.Streams.ErrOut,
		Create:   create,
	})
}

// deployedOutputs opens the existing --stack stack and reads its outputs, for the commands that
// work from what `up` produced.
func (o *Options) deployedOutputs(ctx context.Context) (*stackops.Stack, auto.OutputMap, error) {
	st, err := o.openStack(ctx, false)
	if err != nil {
		return nil, nil, err
	}
	outs, err := st.Outputs(ctx)
	if err != nil {
		return nil, nil, err
	}
	return st, outs, nil
}

// missingOutput says that the stack lacks an output a command needs, and how to get it.
func missingOutput(st *stackops.Stack, name string) error {
	return fmt.Errorf("stack %q has no %s output; deploy it first with `metaflow-azure up --stack %s`", st.Name(), name, st.Name())
}

// engineError gives an interrupted operation the shell's SIGINT exit code.
func engineError(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return &ExitError{Code: exitInterrupted, Err: err}
	}
	return err
}

// confirm asks question on the terminal and reports whether the answer was yes. Callers check
// requireTerminal first. Ctrl-C while it waits is a no.
func (o *Options) confirm(ctx context.Context, question string) (bool, error) {
	fmt.Fprintf(o.Streams.ErrOut, "%s [y/N] ", question)
	type answer struct {
		line string
		err  error
	}
	ch := make(chan answer, 1)
	// The read cannot be interrupted; on Ctrl-C it is abandoned, and the process exits soon after.
	go func() {
		line, err := bufio.NewReader(o.Streams.In).ReadString('\n')
		ch <- answer{line, err}
	}()
	var a answer
	select {
	case <-ctx.Done():
		fmt.Fprintln(o.Streams.ErrOut)
		return false, &ExitError{Code: exitInterrupted, Err: fmt.Errorf("interrupted at the confirmation: %w", ctx.Err())}
	case a = <-ch:
	}
	if a.err != nil && !errors.Is(a.err, io.EOF) {
		return false, fmt.Errorf("reading the answer: %w", a.err)
	}
	switch strings.ToLower(strings.TrimSpace(a.line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// requireTerminal refuses early, before any engine work, when a confirmation would be needed but
// nobody can give it.
func (o *Options) requireTerminal(verb string) error {
	if !stdinIsTerminal(o.Streams.In) {
		return fmt.Errorf("%s needs a confirmation and stdin is not a terminal: pass --yes to %s without asking", verb, verb)
	}
	return nil
}
