package stackops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// Preview runs the program without changing anything and counts the planned changes.
func (s *Stack) Preview(ctx context.Context) (Summary, error) {
	res, err := s.stack.Preview(ctx, optpreview.ProgressStreams(s.progress), optpreview.ErrorProgressStreams(s.progress))
	if err != nil {
		return nil, s.opError(ctx, "previewing", err)
	}
	return fromOpTypes(res.ChangeSummary), nil
}

// Up deploys the program.
func (s *Stack) Up(ctx context.Context) (Summary, error) {
	res, err := s.stack.Up(ctx, optup.ProgressStreams(s.progress), optup.ErrorProgressStreams(s.progress))
	if err != nil {
		return nil, s.opError(ctx, "updating", err)
	}
	return fromChanges(res.Summary.ResourceChanges), nil
}

// Refresh and destroy run the program (--run-program) so that every provider is configured from
// it, not from the state: the Kubernetes provider's AKS token from the last up lives about an
// hour, and on a cluster with Azure RBAC a refresh or destroy with the stored one fails on its
// first Kubernetes call. The program's own settings checks run too, so a stack whose settings
// were broken after its last up must be fixed (or destroyed with `pulumi destroy`, which uses
// the stored credentials).

// PreviewRefresh shows what a refresh would change in the state.
func (s *Stack) PreviewRefresh(ctx context.Context) (Summary, error) {
	res, err := s.stack.PreviewRefresh(ctx, optrefresh.RunProgram(true), optrefresh.ProgressStreams(s.progress), optrefresh.ErrorProgressStreams(s.progress))
	if err != nil {
		return nil, s.opError(ctx, "previewing the refresh of", err)
	}
	return fromOpTypes(res.ChangeSummary), nil
}

// Refresh reads the real state of every resource into the stack's state.
func (s *Stack) Refresh(ctx context.Context) (Summary, error) {
	res, err := s.stack.Refresh(ctx, optrefresh.RunProgram(true), optrefresh.ProgressStreams(s.progress), optrefresh.ErrorProgressStreams(s.progress))
	if err != nil {
		return nil, s.opError(ctx, "refreshing", err)
	}
	return fromChanges(res.Summary.ResourceChanges), nil
}

// PreviewDestroy shows what Destroy would delete.
func (s *Stack) PreviewDestroy(ctx context.Context) (Summary, error) {
	res, err := s.stack.PreviewDestroy(ctx, optdestroy.RunProgram(true), optdestroy.ProgressStreams(s.progress), optdestroy.ErrorProgressStreams(s.progress))
	if err != nil {
		return nil, s.opError(ctx, "previewing the destruction of", err)
	}
	return fromOpTypes(res.ChangeSummary), nil
}

// Destroy deletes every resource of the stack. The stack itself (its history and config) stays.
func (s *Stack) Destroy(ctx context.Context) (Summary, error) {
	res, err := s.stack.Destroy(ctx, optdestroy.RunProgram(true), optdestroy.ProgressStreams(s.progress), optdestroy.ErrorProgressStreams(s.progress))
	if err != nil {
		return nil, s.opError(ctx, "destroying", err)
	}
	return fromChanges(res.Summary.ResourceChanges), nil
}

// Outputs returns the stack's outputs, secrets decrypted and marked.
func (s *Stack) Outputs(ctx context.Context) (auto.OutputMap, error) {
	out, err := s.stack.Outputs(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading outputs of stack %q: %w", s.name, cliError(err))
	}
	return out, nil
}

// Config returns the stack's config: full keys ("metaflow-azure:location") to the raw values
// Pulumi stores (structured values as JSON text), secrets decrypted.
func (s *Stack) Config(ctx context.Context) (map[string]string, error) {
	cfg, err := s.stack.GetAllConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading config of stack %q: %w", s.name, cliError(err))
	}
	m := make(map[string]string, len(cfg))
	for k, v := range cfg {
		m[k] = v.Value
	}
	return m, nil
}

func fromOpTypes(m map[apitype.OpType]int) Summary {
	s := Summary{}
	for op, n := range m {
		s[string(op)] = n
	}
	return s
}

func fromChanges(m *map[string]int) Summary {
	s := Summary{}
	if m != nil {
		for op, n := range *m {
			s[op] = n
		}
	}
	return s
}

// OpError is a failed engine operation. Its message carries the engine's error diagnostics (the
// full progress was already streamed); Unwrap gives the Automation API's error.
type OpError struct {
	Verb        string // "updating"
	Stack       string
	Diagnostics []string
	Err         error
}

func (e *OpError) Error() string {
	if len(e.Diagnostics) == 0 {
		// No "error:" line: the CLI failed before the engine ran (a state it cannot read, a
		// backend it cannot reach), and nothing was streamed; its last words say why.
		if tail := lastLines(e.Err, 3); tail != "" {
			return fmt.Sprintf("%s stack %q: the pulumi CLI stopped: %s", e.Verb, e.Stack, tail)
		}
		return fmt.Sprintf("%s stack %q: the engine stopped with an error (see the output above)", e.Verb, e.Stack)
	}
	return fmt.Sprintf("%s stack %q: %s", e.Verb, e.Stack, strings.Join(e.Diagnostics, "; "))
}

func (e *OpError) Unwrap() error { return e.Err }

// lastLines is the last n non-empty lines of an Automation API error's text (the CLI's stderr
// comes last), without the labels the Automation API adds, joined with "; ".
func lastLines(err error, n int) string {
	if err == nil {
		return ""
	}
	var kept []string
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(line)
		line = strings.TrimPrefix(strings.TrimPrefix(line, "stderr: "), "stdout: ")
		if line == "" || strings.HasPrefix(line, "code: ") || line == "stdout:" || line == "stderr:" {
			continue
		}
		kept = append(kept, line)
	}
	if len(kept) > n {
		kept = kept[len(kept)-n:]
	}
	return strings.Join(kept, "; ")
}

func (s *Stack) opError(ctx context.Context, verb string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		// The Automation API interrupted the CLI (SIGINT), which lets the engine finish the
		// steps in flight and save the state before it exits.
		return fmt.Errorf("%s stack %q: interrupted, the engine stopped after saving the state: %w", verb, s.name, ctxErr)
	}
	if auto.IsConcurrentUpdateError(err) {
		return &LockedError{Verb: verb, Stack: s.name, Holder: lockHolder(err.Error()), Err: err}
	}
	return &OpError{Verb: verb, Stack: s.name, Diagnostics: diagnostics(err.Error()), Err: err}
}

// LockedError is an operation refused because another one holds the stack's lock.
type LockedError struct {
	Verb, Stack string
	// Holder is who holds the lock, as the backend recorded it; zero when it could not be read.
	Holder Holder
	Err    error
}

// Holder is the process that took a stack's lock.
type Holder struct {
	User, Host string
	PID        int
	Since      string
}

// Gone tells that the holder ran on this machine and has ended: it was interrupted or killed,
// and its lock will never be released.
func (h Holder) Gone() bool {
	host, err := os.Hostname()
	if h.PID <= 0 || err != nil || h.Host != host {
		return false
	}
	return syscall.Kill(h.PID, 0) == syscall.ESRCH
}

func (e *LockedError) Error() string {
	cancel := fmt.Sprintf("  pulumi cancel --stack %s --yes\n  metaflow-azure up --stack %s", e.Stack, e.Stack)
	switch {
	case e.Holder.Gone():
		return fmt.Sprintf("%s stack %q: the stack is locked by an operation that no longer runs (pid %d on %s, since %s): it was interrupted or killed before it could release its lock. Remove the lock and go on; the up reads back what that operation was creating:\n%s",
			e.Verb, e.Stack, e.Holder.PID, e.Holder.Host, e.Holder.Since, cancel)
	case e.Holder.PID > 0:
		return fmt.Sprintf("%s stack %q: another operation holds the stack's lock (pid %d on %s, since %s); wait for it to end. If it was killed (a lost CI runner, say), remove its lock and go on:\n%s",
			e.Verb, e.Stack, e.Holder.PID, e.Holder.Host, e.Holder.Since, cancel)
	}
	return fmt.Sprintf("%s stack %q: another operation holds the stack's lock; wait for it to end. If it was killed, remove its lock and go on:\n%s\n(%v)", e.Verb, e.Stack, cancel, cliError(e.Err))
}

func (e *LockedError) Unwrap() error { return e.Err }

// lockRe reads who holds a lock from the pulumi CLI's message ("created by root@vm (pid 7323) at
// 2026-12-04T20:41:03Z").
var lockRe = regexp.MustCompile(`created by ([^@\s]+)@(\S+) \(pid (\d+)\) at (\S+)`)

func lockHolder(msg string) Holder {
	m := lockRe.FindStringSubmatch(msg)
	if m == nil {
		return Holder{}
	}
	pid, _ := strconv.Atoi(m[3])
	return Holder{User: m[1], Host: m[2], PID: pid, Since: m[4]}
}

// cliError shortens an Automation API error, whose text holds the CLI's whole stdout and stderr,
// to the CLI's error lines; the original stays reachable with errors.As/Is.
func cliError(err error) error {
	if errors.Is(err, exec.ErrNotFound) {
		return fmt.Errorf("the pulumi CLI is not on PATH (hack/pulumi-cli.sh builds it and prints its directory): %w", err)
	}
	if d := diagnostics(err.Error()); len(d) > 0 {
		return &shortError{msg: strings.Join(d, "; "), err: err}
	}
	return err
}

type shortError struct {
	msg string
	err error
}

func (e *shortError) Error() string { return e.msg }
func (e *shortError) Unwrap() error { return e.err }

// diagnostics picks the CLI's "error: ..." diagnostics, each with its more deeply indented
// continuation lines (a multi-error program result spans several lines), without the wrapping the
// engine adds around a program's error, deduplicated in order.
func diagnostics(text string) []string {
	var out []string
	seen := map[string]bool{}
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		trimmed := strings.TrimSpace(lines[i])
		// The Automation API's error text starts its stdout and stderr parts on a labelled line.
		trimmed = strings.TrimPrefix(strings.TrimPrefix(trimmed, "stderr: "), "stdout: ")
		first, ok := strings.CutPrefix(trimmed, "error: ")
		if !ok {
			continue
		}
		indent := indentOf(lines[i])
		parts := []string{first}
		for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" && indentOf(lines[i+1]) > indent {
			i++
			parts = append(parts, strings.TrimSpace(lines[i]))
		}
		var kept []string
		for _, part := range parts {
			part = strings.TrimPrefix(part, "an unhandled error occurred: ")
			part = strings.TrimPrefix(part, "program failed: ")
			part = strings.TrimPrefix(part, "* ")
			if part == "" || multiErrorHeader.MatchString(part) {
				continue
			}
			kept = append(kept, part)
		}
		msg := strings.Join(kept, "; ")
		// The CLI's closing line repeats that the operation failed; the cause is elsewhere.
		if msg == "" || seen[msg] || closingLine.MatchString(msg) {
			continue
		}
		seen[msg] = true
		out = append(out, msg)
	}
	return out
}

var (
	multiErrorHeader = regexp.MustCompile(`^\d+ errors? occurred:?$`)
	closingLine      = regexp.MustCompile(`^(update|preview|refresh|destroy) failed`)
)

// indentOf measures leading whitespace, a tab counting as deeper than any run of spaces before it.
func indentOf(line string) int {
	n := 0
	for _, r := range line {
		switch r {
		case ' ':
			n++
		case '\t':
			n += 8
		default:
			return n
		}
	}
	return n
}
