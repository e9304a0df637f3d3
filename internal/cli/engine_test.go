//go:build engine

// Tests of the engine commands against the real Pulumi engine: the CLI pinned by
// tools/pulumi (built or found by hack/pulumi-cli.sh), a file backend and PULUMI_HOME in temp
// directories, and small inline programs in place of the Azure stack (which needs Azure
// providers that cannot run here). They go through Run exactly as the metaflow-azure binary
// does. Run with `make test-engine` (go test -tags engine).
package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"metaflow-azure/internal/portforward/pftest"
	"metaflow-azure/internal/program"
	"metaflow-azure/internal/settings"
	"metaflow-azure/internal/testday"
)

// pulumiBin is the pulumi CLI the tests use.
var pulumiBin string

func TestMain(m *testing.M) {
	testday.Pin()
	// No silent skip: without the CLI these tests fail, they do not pass vacuously.
	out, err := exec.Command("../../hack/pulumi-cli.sh").Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "engine tests need the pulumi CLI; hack/pulumi-cli.sh: %v\n", err)
		os.Exit(1)
	}
	dir := strings.TrimSpace(string(out))
	pulumiBin = filepath.Join(dir, "pulumi")
	os.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	// The pulumi process inherits the environment: keep the developer's login and state out.
	home, err := os.MkdirTemp("", "engine-test-home")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, k := range []string{"PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_ACCESS_TOKEN", "METAFLOW_HOME", "METAFLOW_PROFILE"} {
		os.Unsetenv(k)
	}
	os.Setenv("PULUMI_HOME", filepath.Join(home, ".pulumi"))
	os.Setenv("PULUMI_SKIP_UPDATE_CHECK", "true")
	code := m.Run()
	os.RemoveAll(home)
	os.Exit(code)
}

// project is a temp project directory with its own backend, PULUMI_HOME, home and environment.
type project struct {
	t       *testing.T
	dir     string
	env     map[string]string
	program pulumi.RunFunc
}

const passphrase = "correct horse battery staple"

func newProject(t *testing.T, stackYAML string, program pulumi.RunFunc) *project {
	t.Helper()
	root := t.TempDir()
	p := &project{t: t, dir: filepath.Join(root, "project"), program: program, env: map[string]string{
		"HOME":                     filepath.Join(root, "home"),
		"PULUMI_HOME":              filepath.Join(root, "pulumi-home"),
		"PULUMI_BACKEND_URL":       "file://" + filepath.Join(root, "state"),
		"PULUMI_CONFIG_PASSPHRASE": passphrase,
		"METAFLOW_HOME":            filepath.Join(root, "home", ".metaflowconfig"),
	}}
	for _, d := range []string{p.dir, p.env["HOME"], filepath.Join(root, "state")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// runtime: go is what the real project says; an inline program never starts a language host.
	p.write("Pulumi.yaml", "name: metaflow-azure\nruntime: go\ndescription: engine test\n")
	if stackYAML != "" {
		p.write("Pulumi.dev.yaml", stackYAML)
	}
	return p
}

func (p *project) write(name, content string) {
	p.t.Helper()
	if err := os.WriteFile(filepath.Join(p.dir, name), []byte(content), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func (p *project) read(name string) string {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dir, name))
	if err != nil {
		p.t.Fatal(err)
	}
	return string(b)
}

// result is one run of the command line.
type result struct {
	code        int
	out, errOut string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.errOut)
}

// run runs metaflow-azure with args in the project, stdin from in.
func (p *project) run(in string, args ...string) result {
	p.t.Helper()
	return p.runCtx(context.Background(), strings.NewReader(in), nil, args...)
}

func (p *project) runCtx(ctx context.Context, in io.Reader, out io.Writer, args ...string) result {
	var stdout, stderr bytes.Buffer
	var w io.Writer = &stdout
	if out != nil {
		w = io.MultiWriter(&stdout, out)
	}
	o := &Options{
		Streams: IOStreams{In: in, Out: w, ErrOut: &stderr},
		Program: p.program,
		Getenv:  func(k string) string { return p.env[k] },
	}
	code := MainWithOptions(ctx, o, append(args, "--cwd", p.dir))
	return result{code: code, out: stdout.String(), errOut: stderr.String()}
}

// ok runs and fails the test unless the command succeeded.
func (p *project) ok(args ...string) result {
	p.t.Helper()
	r := p.run("", args...)
	if r.code != 0 {
		p.t.Fatalf("metaflow-azure %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// fails runs and fails the test unless the command exits with code and says want.
func (p *project) fails(code int, want string, args ...string) result {
	p.t.Helper()
	r := p.run("", args...)
	if r.code != code || !strings.Contains(r.errOut, want) {
		p.t.Fatalf("metaflow-azure %s: want exit %d and %q in stderr, got %s", strings.Join(args, " "), code, want, r)
	}
	return r
}

// pulumi runs the real pulumi CLI in the project, as a user would between our commands.
func (p *project) pulumi(args ...string) string {
	p.t.Helper()
	cmd := exec.Command(pulumiBin, append(args, "--cwd", p.dir, "--non-interactive")...)
	cmd.Env = os.Environ()
	for k, v := range p.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("pulumi %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// metaflowProgram stands for the real program: it validates the project's settings with the
// real settings package and fails the way the real program does, reads a secret, declares a
// component and exports outputs of the same names and shapes.
func metaflowProgram(kubeconfig string, forwards []map[string]any) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		cfg := map[string]string{}
		c := config.New(ctx, "")
		for _, k := range []string{"location", "namePrefix", "protectData"} {
			if v, ok := c.Try(k); ok == nil {
				cfg[ctx.Project()+":"+k] = v
			}
		}
		s, err := settings.Load(ctx.Project(), cfg)
		if err != nil {
			return fmt.Errorf("invalid settings: %w", err)
		}
		token := config.New(ctx, "test").GetSecret("token")

		var comp struct{ pulumi.ResourceState }
		if err := ctx.RegisterComponentResource("test:index:Datastore", "datastore", &comp); err != nil {
			return err
		}
		mf, err := json.Marshal(map[string]string{
			"METAFLOW_DEFAULT_DATASTORE":       "azure",
			"METAFLOW_DATASTORE_SYSROOT_AZURE": "metaflow/" + s.NamePrefix,
			"METAFLOW_SERVICE_URL":             "http://localhost:8080",
			"METAFLOW_AZURE_LOCATION":          s.Location,
		})
		if err != nil {
			return err
		}
		ctx.Export("location", pulumi.String(s.Location))
		ctx.Export("metaflowConfig", pulumi.ToSecret(pulumi.String(string(mf))))
		ctx.Export("kubeconfig", pulumi.ToSecret(pulumi.String(kubeconfig)))
		arr := pulumi.Array{}
		for _, f := range forwards {
			m := pulumi.Map{}
			for k, v := range f {
				m[k] = pulumi.Any(v)
			}
			arr = append(arr, m)
		}
		ctx.Export("portForwards", arr)
		ctx.Export("token", token)
		return nil
	}
}

const devStack = `config:
  metaflow-azure:location: westeurope
  metaflow-azure:namePrefix: mftest
  metaflow-azure:protectData: "false"
`

func TestEngineLifecycle(t *testing.T) {
	p := newProject(t, devStack, metaflowProgram("apiVersion: v1\nkind: Config\n", nil))

	// Error paths before the stack exists.
	noPass := p.env["PULUMI_CONFIG_PASSPHRASE"]
	delete(p.env, "PULUMI_CONFIG_PASSPHRASE")
	r := p.fails(1, "PULUMI_CONFIG_PASSPHRASE nor PULUMI_CONFIG_PASSPHRASE_FILE is set", "preview", "--stack", "dev")
	if r.out != "" {
		t.Errorf("error wrote to stdout: %q", r.out)
	}
	p.env["PULUMI_CONFIG_PASSPHRASE"] = noPass
	for _, cmd := range []string{"outputs", "refresh", "config", "port-forward", "destroy"} {
		args := []string{cmd, "--stack", "dev"}
		if cmd == "destroy" {
			args = append(args, "--yes")
		}
		p.fails(1, `stack "dev" does not exist in backend file://`, args...)
	}
	p.fails(1, "--stack is required", "outputs")

	// preview creates the stack from Pulumi.dev.yaml; the passphrase provider salts the file.
	r = p.ok("preview", "--stack", "dev")
	if !strings.Contains(r.errOut, `preview of stack "dev": 2 to create`) {
		t.Errorf("preview summary missing: %s", r)
	}
	if f := p.read("Pulumi.dev.yaml"); !strings.Contains(f, "encryptionsalt:") || !strings.Contains(f, "metaflow-azure:location: westeurope") {
		t.Errorf("Pulumi.dev.yaml after stack creation:\n%s", f)
	}

	// Secret config, encrypted with the passphrase.
	p.pulumi("config", "set", "--secret", "test:token", "s3cret", "--stack", "dev")
	if f := p.read("Pulumi.dev.yaml"); strings.Contains(f, "s3cret") || !strings.Contains(f, "secure:") {
		t.Errorf("secret not encrypted in Pulumi.dev.yaml:\n%s", f)
	}

	// up without --yes and without a terminal refuses before doing anything.
	p.fails(1, "stdin is not a terminal: pass --yes", "up", "--stack", "dev")

	r = p.ok("up", "--stack", "dev", "--yes")
	if !strings.Contains(r.errOut, `update of stack "dev": 2 created`) {
		t.Errorf("up summary missing: %s", r)
	}
	if r.out != "" {
		t.Errorf("up wrote to stdout (progress belongs on stderr): %q", r.out)
	}

	r = p.ok("preview", "--stack", "dev")
	if !strings.Contains(r.errOut, `preview of stack "dev": 2 unchanged`) {
		t.Errorf("preview after up: %s", r)
	}
	r = p.ok("refresh", "--stack", "dev")
	if !strings.Contains(r.errOut, `refresh of stack "dev":`) {
		t.Errorf("refresh: %s", r)
	}

	// outputs: secrets masked unless asked for.
	r = p.ok("outputs", "--stack", "dev")
	for _, want := range []string{"location", "westeurope", "metaflowConfig", "[secret]", "token"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("outputs: missing %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, "s3cret") || strings.Contains(r.out, "METAFLOW") {
		t.Errorf("outputs shows secrets without --show-secrets:\n%s", r.out)
	}
	var outs map[string]any
	r = p.ok("outputs", "--stack", "dev", "--json")
	if err := json.Unmarshal([]byte(r.out), &outs); err != nil {
		t.Fatalf("outputs --json: %v\n%s", err, r.out)
	}
	if outs["token"] != "[secret]" || outs["metaflowConfig"] != "[secret]" || outs["location"] != "westeurope" {
		t.Errorf("outputs --json: %v", outs)
	}
	r = p.ok("outputs", "--stack", "dev", "--json", "--show-secrets")
	outs = nil
	if err := json.Unmarshal([]byte(r.out), &outs); err != nil {
		t.Fatalf("outputs --json --show-secrets: %v\n%s", err, r.out)
	}
	if outs["token"] != "s3cret" || !strings.Contains(fmt.Sprint(outs["metaflowConfig"]), "metaflow/mftest") {
		t.Errorf("outputs --json --show-secrets: %v", outs)
	}

	// config writes the profile from the real outputs.
	mfHome := p.env["METAFLOW_HOME"]
	r = p.ok("config", "--stack", "dev")
	if strings.TrimSpace(r.out) != "unset METAFLOW_PROFILE" {
		t.Errorf("config stdout: %q", r.out)
	}
	checkProfile(t, filepath.Join(mfHome, "config.json"), "westeurope")
	if st, err := os.Stat(mfHome); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("METAFLOW_HOME mode: %v %v", st.Mode(), err)
	}
	r = p.ok("config", "--stack", "dev")
	if !strings.Contains(r.errOut, "is already the Metaflow config") {
		t.Errorf("second config is not a no-op: %s", r)
	}

	// A changed stack: the default profile is not overwritten without --force.
	p.pulumi("config", "set", "location", "northeurope", "--stack", "dev")
	p.ok("up", "--stack", "dev", "--yes")
	p.fails(1, "exists with different settings", "config", "--stack", "dev")
	checkProfile(t, filepath.Join(mfHome, "config.json"), "westeurope")
	r = p.ok("config", "--stack", "dev", "--profile", "north")
	if strings.TrimSpace(r.out) != "export METAFLOW_PROFILE=north" {
		t.Errorf("config --profile stdout: %q", r.out)
	}
	checkProfile(t, filepath.Join(mfHome, "config_north.json"), "northeurope")
	p.ok("config", "--stack", "dev", "--force")
	checkProfile(t, filepath.Join(mfHome, "config.json"), "northeurope")
	p.fails(1, "--profile", "config", "--stack", "dev", "--profile", "../evil")

	// Without METAFLOW_HOME, ~/.metaflowconfig.
	delete(p.env, "METAFLOW_HOME")
	p.ok("config", "--stack", "dev", "--profile", "home")
	checkProfile(t, filepath.Join(p.env["HOME"], ".metaflowconfig", "config_home.json"), "northeurope")

	// Confirmation on a terminal.
	defer func(f func(io.Reader) bool) { stdinIsTerminal = f }(stdinIsTerminal)
	stdinIsTerminal = func(io.Reader) bool { return true }
	p.pulumi("config", "set", "location", "westeurope", "--stack", "dev")
	r = p.run("n\n", "up", "--stack", "dev")
	if r.code != 1 || !strings.Contains(r.errOut, "not confirmed") || !strings.Contains(r.errOut, "2 unchanged") {
		t.Errorf("up answered no: %s", r)
	}
	if o := p.ok("outputs", "--stack", "dev", "--json"); !strings.Contains(o.out, "northeurope") {
		t.Errorf("up answered no changed the stack: %s", o.out)
	}
	r = p.run("y\n", "up", "--stack", "dev")
	if r.code != 0 || !strings.Contains(r.errOut, `update of stack "dev"`) {
		t.Errorf("up answered yes: %s", r)
	}
	if o := p.ok("outputs", "--stack", "dev", "--json"); !strings.Contains(o.out, "westeurope") {
		t.Errorf("up answered yes did not change the stack: %s", o.out)
	}
	stdinIsTerminal = func(io.Reader) bool { return false }

	// Invalid settings: the program's error, with its exit code, and nothing deployed.
	p.pulumi("config", "set", "location", "mars", "--stack", "dev")
	r = p.fails(1, `metaflow-azure:location: "mars" is not an Azure region`, "up", "--stack", "dev", "--yes")
	if !strings.HasPrefix(strings.TrimSpace(lastLine(r.errOut)), `metaflow-azure: updating stack "dev": invalid settings:`) {
		t.Errorf("last line of a failed up: %q", lastLine(r.errOut))
	}
	p.fails(1, `previewing stack "dev": invalid settings: metaflow-azure:location`, "preview", "--stack", "dev")

	// destroy refuses while protectData is on, and says how to proceed.
	p.pulumi("config", "set", "location", "westeurope", "--stack", "dev")
	p.pulumi("config", "set", "protectData", "true", "--stack", "dev")
	p.fails(1, "pulumi config set protectData false --stack dev", "destroy", "--stack", "dev", "--yes")
	// ...and names the Azure delete locks that protectData sets, which the up lifts (issue 14).
	p.fails(1, `Azure delete locks (CanNotDelete, "metaflow-protect-data")`, "destroy", "--stack", "dev", "--yes")
	p.fails(1, "stdin is not a terminal: pass --yes", "destroy", "--stack", "dev")
	p.pulumi("config", "set", "protectData", "false", "--stack", "dev")
	r = p.ok("destroy", "--stack", "dev", "--yes")
	if !strings.Contains(r.errOut, `destroy of stack "dev": 2 deleted`) {
		t.Errorf("destroy summary: %s", r)
	}
	r = p.ok("outputs", "--stack", "dev", "--json")
	if strings.TrimSpace(r.out) != "{}" {
		t.Errorf("outputs after destroy: %q", r.out)
	}
	p.fails(1, "has no metaflowConfig output", "config", "--stack", "dev")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func checkProfile(t *testing.T, path, location string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("profile: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v, want 0600", path, st.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
	if m["METAFLOW_AZURE_LOCATION"] != location || m["METAFLOW_DEFAULT_DATASTORE"] != "azure" {
		t.Errorf("%s: %v, want location %s", path, m, location)
	}
}

func TestEngineDefaultsAndProjectErrors(t *testing.T) {
	// No Pulumi.yaml.
	p := newProject(t, devStack, metaflowProgram("", nil))
	if err := os.Remove(filepath.Join(p.dir, "Pulumi.yaml")); err != nil {
		t.Fatal(err)
	}
	p.fails(1, "no Pulumi.yaml in", "preview", "--stack", "dev")

	// Without PULUMI_BACKEND_URL the per-user file backend under XDG_STATE_HOME; the passphrase
	// from a file.
	p = newProject(t, devStack, metaflowProgram("", nil))
	state := filepath.Join(p.env["HOME"], "state")
	delete(p.env, "PULUMI_BACKEND_URL")
	p.env["XDG_STATE_HOME"] = state
	delete(p.env, "PULUMI_CONFIG_PASSPHRASE")
	passFile := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(passFile, []byte(passphrase), 0o600); err != nil {
		t.Fatal(err)
	}
	p.env["PULUMI_CONFIG_PASSPHRASE_FILE"] = passFile
	p.ok("up", "--stack", "dev", "--yes")
	if _, err := os.Stat(filepath.Join(state, "metaflow-azure", "pulumi", ".pulumi", "stacks", "metaflow-azure", "dev.json")); err != nil {
		t.Errorf("stack state not in the default backend: %v", err)
	}

	// A stack file naming another secrets provider needs no passphrase (this one cannot be
	// reached here, so the engine's own error must come through).
	p = newProject(t, devStack+"secretsprovider: hashivault://nowhere\n", metaflowProgram("", nil))
	delete(p.env, "PULUMI_CONFIG_PASSPHRASE")
	r := p.run("", "preview", "--stack", "dev")
	if r.code == 0 || strings.Contains(r.errOut, "PULUMI_CONFIG_PASSPHRASE") {
		t.Errorf("preview with another secrets provider: %s", r)
	}
}

// TestEngineInterrupt cancels an update as Ctrl-C does and checks the stack is usable after.
func TestEngineInterrupt(t *testing.T) {
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	block := true
	var mu sync.Mutex
	base := metaflowProgram("", nil)
	p := newProject(t, devStack, func(ctx *pulumi.Context) error {
		mu.Lock()
		b := block
		mu.Unlock()
		if b {
			select {
			case started <- struct{}{}:
			default:
			}
			select {
			case <-release:
			case <-time.After(60 * time.Second):
			}
		}
		return base(ctx)
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result, 1)
	go func() { done <- p.runCtx(ctx, strings.NewReader(""), nil, "up", "--stack", "dev", "--yes") }()
	select {
	case <-started:
	case <-time.After(60 * time.Second):
		t.Fatal("program did not start")
	}
	start := time.Now()
	cancel()
	// The engine waits for the program to return before it exits, as it would for a real one
	// between two resource registrations.
	time.Sleep(500 * time.Millisecond)
	close(release)
	var r result
	select {
	case r = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("up did not stop after cancel")
	}
	if r.code != exitInterrupted || !strings.Contains(r.errOut, "interrupted") {
		t.Errorf("interrupted up: %s", r)
	}
	t.Logf("stopped %s after cancel", time.Since(start).Round(time.Millisecond))
	mu.Lock()
	block = false
	mu.Unlock()
	p.ok("up", "--stack", "dev", "--yes")

	// Ctrl-C at the confirmation prompt stops without deploying.
	defer func(f func(io.Reader) bool) { stdinIsTerminal = f }(stdinIsTerminal)
	stdinIsTerminal = func(io.Reader) bool { return true }
	pr, pw := io.Pipe() // a terminal nobody types into
	defer pw.Close()
	ctx, cancel = context.WithCancel(context.Background())
	go func() { done <- p.runCtx(ctx, pr, nil, "up", "--stack", "dev") }()
	// An empty write returns once the command reads stdin: the preview ran and the prompt is up.
	prompted := make(chan struct{})
	go func() { _, _ = pw.Write(nil); close(prompted) }()
	select {
	case <-prompted:
	case <-time.After(60 * time.Second):
		t.Fatal("no confirmation prompt")
	}
	cancel()
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("up did not stop at the prompt after cancel")
	}
	if r.code != exitInterrupted || !strings.Contains(r.errOut, "interrupted at the confirmation") {
		t.Errorf("Ctrl-C at the prompt: %s", r)
	}
}

// TestEnginePortForward forwards through a real SPDY port-forward stream of a fake API server,
// with the kubeconfig and the forwards taken from real stack outputs.
func TestEnginePortForward(t *testing.T) {
	api := pftest.New()
	defer api.Close()
	backend := func(name string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, "%s says hello", name)
		}))
		t.Cleanup(srv.Close)
		return strings.TrimPrefix(srv.URL, "http://")
	}
	sel := map[string]string{"app.kubernetes.io/name": "metadata-service"}
	api.AddService("metaflow", "metadata-service", sel, 8080, "http")
	api.AddPod("metaflow", "metadata-1", sel, "http", 8080, backend("metadata-1"))
	uiSel := map[string]string{"app.kubernetes.io/name": "ui"}
	api.AddService("metaflow", "ui", uiSel, 80, "3000")
	api.AddPod("metaflow", "ui-1", uiSel, "web", 3000, backend("ui-1"))

	ports := [2]int{}
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	forwards := []map[string]any{
		{"name": "metadata", "namespace": "metaflow", "service": "metadata-service", "port": 8080, "localPort": ports[0], "scheme": "http"},
		{"name": "ui", "namespace": "metaflow", "service": "ui", "port": 80, "localPort": ports[1], "scheme": "http"},
	}
	p := newProject(t, devStack, metaflowProgram(string(api.Kubeconfig()), forwards))
	p.ok("up", "--stack", "dev", "--yes")

	out := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result, 1)
	go func() { done <- p.runCtx(ctx, strings.NewReader(""), out, "port-forward", "--stack", "dev") }()

	urls := []string{fmt.Sprintf("http://localhost:%d", ports[0]), fmt.Sprintf("http://localhost:%d", ports[1])}
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), urls[0]) || !strings.Contains(out.String(), urls[1]) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("URLs not printed; stdout %q; result %s", out.String(), <-done)
		}
		time.Sleep(100 * time.Millisecond)
	}
	httpEventually(t, urls[0], "metadata-1 says hello")
	httpEventually(t, urls[1], "ui-1 says hello")

	// The pod is rescheduled and the kubelet drops the stream: the same URL reaches the new pod.
	api.AddPod("metaflow", "metadata-2", sel, "http", 8080, backend("metadata-2"))
	api.DeletePod("metaflow", "metadata-1")
	api.DropConnections()
	httpEventually(t, urls[0], "metadata-2 says hello")
	httpEventually(t, urls[1], "ui-1 says hello")
	if n := api.Forwards("metaflow", "ui-1"); n < 2 {
		t.Errorf("ui forward did not reconnect after the drop: %d connections", n)
	}

	cancel()
	var r result
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("port-forward did not stop on cancel")
	}
	if r.code != 0 || !strings.Contains(r.errOut, "port forwarding stopped") {
		t.Errorf("port-forward after cancel: %s", r)
	}
	if strings.Contains(r.out, "apiVersion") || strings.Contains(r.errOut, "test-token") {
		t.Errorf("kubeconfig leaked into the output: %s", r)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func httpEventually(t *testing.T, url, want string) {
	t.Helper()
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(30 * time.Second)
	var got string
	var err error
	for time.Now().Before(deadline) {
		var resp *http.Response
		if resp, err = c.Get(url); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got = string(b); got == want {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s: got %q, %v; want %q", url, got, err, want)
}

// TestEngineAcceptsTheRepositoryProjectFiles runs the repository's own Pulumi.yaml and stack
// files through the real engine: the engine validates stack config against the project's config
// declarations before any program runs, which the other engine tests, with their own minimal
// Pulumi.yaml, never exercise. The program reads the settings as the stack program does.
func TestEngineAcceptsTheRepositoryProjectFiles(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		p := newProject(t, "", func(ctx *pulumi.Context) error {
			config := map[string]string{}
			for _, key := range settings.TopLevelKeys() {
				if v, ok := ctx.GetConfig(ctx.Project() + ":" + key); ok {
					config[ctx.Project()+":"+key] = v
				}
			}
			s, err := settings.Load(ctx.Project(), config)
			if err != nil {
				return err
			}
			ctx.Export("location", pulumi.String(s.Location))
			return nil
		})
		for _, name := range []string{"Pulumi.yaml", "Pulumi." + stack + ".yaml"} {
			b, err := os.ReadFile(filepath.Join("..", "..", name))
			if err != nil {
				t.Fatal(err)
			}
			p.write(name, string(b))
		}
		p.ok("preview", "--stack", stack)
	}
}

// TestEngineReadsTheStacksOwnLastDeployment proves on the real engine what the program relies on
// to refuse changes Azure cannot apply (internal/transitions): a stack reference to the stack
// itself reads the outputs of its last deployment, and nothing before the first.
func TestEngineReadsTheStacksOwnLastDeployment(t *testing.T) {
	p := newProject(t, devStack, func(ctx *pulumi.Context) error {
		prev, err := program.ReadPrevious(ctx)
		if err != nil {
			return err
		}
		seen := "nothing"
		if prev.Applied != nil {
			seen = prev.Applied.SystemPoolVMSize
		}
		ctx.Export("previousSystemPoolVmSize", pulumi.String(seen))
		ctx.Export(program.OutputAppliedSettings, pulumi.Map{"systemPoolVmSize": pulumi.String("Standard_D4ds_v5")})
		return nil
	})
	read := func() string {
		var outs map[string]any
		r := p.ok("outputs", "--stack", "dev", "--json")
		if err := json.Unmarshal([]byte(r.out), &outs); err != nil {
			t.Fatalf("outputs --json: %v\n%s", err, r.out)
		}
		return fmt.Sprint(outs["previousSystemPoolVmSize"])
	}
	p.ok("up", "--stack", "dev", "--yes")
	if got := read(); got != "nothing" {
		t.Errorf("first deployment saw a previous one: %q", got)
	}
	p.ok("up", "--stack", "dev", "--yes")
	if got := read(); got != "Standard_D4ds_v5" {
		t.Errorf("second deployment read %q from the first; want Standard_D4ds_v5", got)
	}
}
