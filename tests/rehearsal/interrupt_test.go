//go:build rehearsal

package rehearsal

import (
	"bytes"
	"context"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// background runs metaflow-azure as its own process group, as a user's terminal would.
func (p *project) background(args ...string) (*exec.Cmd, *bytes.Buffer) {
	p.t.Helper()
	cmd := exec.Command(p.env.cliBin, append(args, "--stack", p.stack, "--cwd", p.dir)...)
	cmd.Env = p.environ()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	return cmd, &out
}

// waitForCreates waits until the fake Azure has created n resources since from.
func (p *project) waitForCreates(ctx context.Context, from, n int) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	for {
		created := 0
		for _, op := range p.cloud.Ops()[from:] {
			if op.Kind == "create" || op.Kind == "delete" || op.Kind == "update" {
				created++
			}
		}
		if created >= n {
			return
		}
		select {
		case <-ctx.Done():
			p.t.Fatalf("the fake Azure saw %d changes, waited for %d", created, n)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestInterruptedUp: an up stopped mid-way, by Ctrl-C (SIGINT to the command's process group) and
// by a kill (SIGKILL to all of it: the command, the pulumi CLI, the providers it started), then
// run again, either converges or stops with the exact commands to run.
func TestInterruptedUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := env.newProject(t, "dev", rehearsalSettings(env.charts.URL))

	cmd, out := p.background("up", "--yes")
	p.waitForCreates(ctx, 0, 8)
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if code != 130 || !strings.Contains(out.String(), "interrupted") {
		t.Errorf("Ctrl-C: exit %d (%v), want 130 and the word interrupted:\n%s", code, err, out)
	}
	p.upAgain(t, "after Ctrl-C")

	// A change with work in many places (monitoring's resources go, the cluster's add-on changes),
	// killed mid-way.
	p.configSet("monitoring.enabled", "false")
	from := len(p.cloud.Ops())
	cmd, out = p.background("up", "--yes")
	p.waitForCreates(ctx, from, 2)
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	t.Logf("killed up said:\n%s", out)
	p.upAgain(t, "after a kill")

	p.configSet("protectData", "false")
	p.ok("destroy", "--yes")
}

// upAgain runs up once more; it must converge, or fail naming the commands that make it converge,
// which are then run and must.
func (p *project) upAgain(t *testing.T, when string) {
	t.Helper()
	res := p.metaflowAzure("up", "--yes")
	for _, line := range strings.Split(res.errOut, "\n") {
		if strings.Contains(line, "stopped while it created") || strings.HasPrefix(line, "  urn:") {
			t.Logf("%s, up said: %s", when, line)
		}
	}
	if res.code != 0 {
		t.Logf("%s, up said: %s", when, res)
		commands := suggested(res.errOut)
		if len(commands) == 0 {
			t.Fatalf("%s, up failed without saying what to run:\n%s", when, res)
		}
		for _, c := range commands {
			t.Logf("%s, running what up suggested: %s", when, c)
			p.runSuggested(c)
		}
		p.ok("up", "--yes")
	}
	if left := p.preview(); len(left) > 0 {
		t.Errorf("%s, a preview after up shows changes:\n%s", when, strings.Join(compareDecisions(left, nil), "\n"))
	}
	if problems := readiness(context.Background(), p.cluster, namespacesOf(p.outputs())); len(problems) > 0 {
		t.Errorf("%s:\n%s", when, strings.Join(problems, "\n"))
	}
}

// suggested are the command lines an error message tells the user to run (indented lines that
// start with pulumi or metaflow-azure).
func suggested(msg string) []string {
	var out []string
	for _, line := range strings.Split(msg, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "pulumi ") || strings.HasPrefix(line, "metaflow-azure ") {
			out = append(out, line)
		}
	}
	return out
}

func (p *project) runSuggested(line string) {
	p.t.Helper()
	fields := strings.Fields(line)
	switch fields[0] {
	case "pulumi":
		p.pulumi(fields[1:]...)
	case "metaflow-azure":
		var args []string
		for i := 1; i < len(fields); i++ {
			if fields[i] == "--stack" || fields[i] == "--cwd" {
				i++
				continue
			}
			args = append(args, fields[i])
		}
		// The test has no terminal to confirm on, as CI has none.
		if !slices.Contains(args, "--yes") {
			args = append(args, "--yes")
		}
		p.ok(args...)
	}
}
