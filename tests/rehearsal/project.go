//go:build rehearsal

package rehearsal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"metaflow-azure/internal/fakeprovider"
	"metaflow-azure/tests/internal/controlplane"
)

const passphrase = "rehearsal passphrase"

// project is one stack of the project in a directory of its own, as a platform team keeps it:
// Pulumi.yaml (the repository's, with `main` pointing at the repository so the program is this
// checkout's) and Pulumi.<stack>.yaml (the repository's example, plus the test's settings), a
// file backend, and the fake Azure subscription the stack deploys into.
type project struct {
	t     *testing.T
	env   *environment
	dir   string
	stack string
	vars  map[string]string

	cloud  *fakeprovider.Cloud
	server *fakeprovider.Server
	access *aksAccess
	nodes  *nodePools
	// cluster stands in for the stack's AKS cluster.
	cluster *controlplane.Cluster
}

// newProject writes the project and starts the stack's fake Azure.
func (e *environment) newProject(t *testing.T, stack string, settings map[string]string) *project {
	t.Helper()
	root := t.TempDir()
	p := &project{t: t, env: e, dir: filepath.Join(root, "project"), stack: stack}
	for _, d := range []string{p.dir, filepath.Join(root, "state"), filepath.Join(root, "home")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	projectFile, err := os.ReadFile(filepath.Join(e.root, "Pulumi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The program is this checkout's, run from the binary built once for the tier (the language
	// host would otherwise link it again on every run).
	projectFile = bytes.Replace(projectFile, []byte("runtime: go\n"),
		fmt.Appendf(nil, "runtime:\n  name: go\n  options:\n    binary: %s\nmain: %s\n", e.programBinary, e.root), 1)
	p.write("Pulumi.yaml", string(projectFile))
	stackFile, err := os.ReadFile(filepath.Join(e.root, "Pulumi."+stack+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p.write("Pulumi."+stack+".yaml", string(stackFile))

	// The project's own AKS stand-in: a control plane whose API server asks the project's token
	// authority, so one test's expired tokens are no other's, and no two stacks share namespaces.
	tokens, err := newTokenAuthority(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tokens.close)
	start := time.Now()
	p.cluster, err = controlplane.Start(context.Background(), filepath.Join(root, "cluster"), e.tools, e.logf, controlplane.Options{APIServerArgs: tokens.apiServerArgs()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.cluster.Stop)
	e.logf("timing: %s: control plane ready in %s", stack, time.Since(start).Round(time.Second))

	p.cloud, err = fakeprovider.New("metaflow-azure", stack)
	if err != nil {
		t.Fatal(err)
	}
	if p.access, err = newAKSAccess(p.cluster, tokens); err != nil {
		t.Fatal(err)
	}
	p.cloud.Azure().SetClusterAccess(p.access)
	p.nodes = &nodePools{cluster: p.cluster, logf: t.Logf}
	p.cloud.Watch(p.nodes.watch)
	if p.server, err = p.cloud.Serve(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.server.Stop)

	p.vars = maps.Clone(e.vars)
	maps.Copy(p.vars, map[string]string{
		"HOME":                     filepath.Join(root, "home"),
		"PULUMI_HOME":              filepath.Join(root, "pulumi-home"),
		"PULUMI_BACKEND_URL":       "file://" + filepath.Join(root, "state"),
		"PULUMI_CONFIG_PASSPHRASE": passphrase,
		"PULUMI_DEBUG_PROVIDERS":   p.server.DebugProviders,
	})
	p.pulumi("stack", "init", stack)
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		p.configSet(k, settings[k])
	}
	return p
}

// reportTo makes the project's helpers report to t, a subtest, and returns the undo.
func (p *project) reportTo(t *testing.T) func() {
	prev := p.t
	p.t = t
	return func() { p.t = prev }
}

func (p *project) read(name string) string {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dir, name))
	if err != nil {
		p.t.Fatal(err)
	}
	return string(b)
}

func (p *project) write(name, content string) {
	p.t.Helper()
	if err := os.WriteFile(filepath.Join(p.dir, name), []byte(content), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// environ is the process environment of the commands the test runs: the test's own, with the
// project's variables over it.
func (p *project) environ() []string {
	env := os.Environ()
	for _, k := range slices.Sorted(maps.Keys(p.vars)) {
		env = append(env, k+"="+p.vars[k])
	}
	return env
}

// result is one run of a command.
type result struct {
	code        int
	out, errOut string
	took        time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d after %s\nstdout:\n%s\nstderr:\n%s", r.code, r.took.Round(time.Second), r.out, r.errOut)
}

// pulumiRun runs the real pulumi CLI in the project directory, as a user types it.
func (p *project) pulumiRun(args ...string) result {
	p.t.Helper()
	return p.run("pulumi", p.env.pulumiBin, args, append(args, "--non-interactive"))
}

// run runs bin with argv in the project directory and the project's environment, with no input,
// and logs it under name with args (what the reader typed, without the tier's own flags).
func (p *project) run(name, bin string, args, argv []string) result {
	cmd := exec.Command(bin, argv...)
	cmd.Dir = p.dir
	cmd.Env = p.environ()
	cmd.Stdin = strings.NewReader("")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{out: stdout.String(), errOut: stderr.String(), took: time.Since(start)}
	if err != nil {
		r.code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		}
	}
	p.env.logf("%s: %s %s: exit %d in %s", p.stack, name, strings.Join(args, " "), r.code, r.took.Round(time.Millisecond))
	return r
}

// pulumi runs the CLI and fails the test unless it succeeds.
func (p *project) pulumi(args ...string) string {
	p.t.Helper()
	r := p.pulumiRun(args...)
	if r.code != 0 {
		p.t.Fatalf("pulumi %s: %s", strings.Join(args, " "), r)
	}
	return r.out
}

// configSet is `pulumi config set --path`, which edits Pulumi.<stack>.yaml as a user does.
func (p *project) configSet(key, value string) {
	p.t.Helper()
	p.pulumi("config", "set", "--path", "--stack", p.stack, "metaflow-azure:"+key, value)
}

// metaflowAzure runs the metaflow-azure command line, built once for the tier, as
// `metaflow-azure <args> --stack <stack> --cwd <project>` with the project's environment. It runs
// as a process of its own, as users run it, so that tests running in parallel each keep theirs.
func (p *project) metaflowAzure(args ...string) result {
	p.t.Helper()
	return p.run("metaflow-azure", p.env.cliBin, args, append(args, "--stack", p.stack, "--cwd", p.dir))
}

// ok runs metaflow-azure and fails the test unless it succeeds.
func (p *project) ok(args ...string) result {
	p.t.Helper()
	r := p.metaflowAzure(args...)
	if r.code != 0 {
		p.t.Fatalf("metaflow-azure %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// step is one step of `pulumi preview --json`: what the engine decided for a resource.
type step struct {
	Op             string   `json:"op"`
	URN            string   `json:"urn"`
	DiffReasons    []string `json:"diffReasons"`
	ReplaceReasons []string `json:"replaceReasons"`
}

// preview asks the engine what an up would do now: the steps that change something, by URN.
func (p *project) preview() map[string]step {
	p.t.Helper()
	out := p.pulumi("preview", "--json", "--stack", p.stack)
	var res struct {
		Steps []step `json:"steps"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		p.t.Fatalf("reading pulumi preview --json: %v\n%s", err, out)
	}
	changes := map[string]step{}
	for _, s := range res.Steps {
		// A read (the stack's reference to its own last deployment) happens every run and
		// changes nothing; --expect-no-changes does not count it either.
		if s.Op != "same" && s.Op != "read" {
			changes[s.URN] = s
		}
	}
	return changes
}

// outputs are the stack's outputs, secrets shown.
func (p *project) outputs() map[string]any {
	p.t.Helper()
	out := p.pulumi("stack", "output", "--json", "--show-secrets", "--stack", p.stack)
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		p.t.Fatalf("reading the stack outputs: %v", err)
	}
	return m
}

// state are the URNs the stack's state holds, by type.
func (p *project) state() map[string]string {
	p.t.Helper()
	out := p.pulumi("stack", "export", "--stack", p.stack)
	var dep struct {
		Deployment struct {
			Resources []struct {
				URN  string `json:"urn"`
				Type string `json:"type"`
			} `json:"resources"`
			PendingOperations []any `json:"pending_operations"`
		} `json:"deployment"`
	}
	if err := json.Unmarshal([]byte(out), &dep); err != nil {
		p.t.Fatalf("reading the stack's state: %v", err)
	}
	urns := map[string]string{}
	for _, r := range dep.Deployment.Resources {
		urns[r.URN] = r.Type
	}
	return urns
}
