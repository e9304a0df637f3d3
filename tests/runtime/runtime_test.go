//go:build runtime

// Package runtime is the runtime tier: every container the dev and prod plans declare is run
// for real, as its image would run it, under exactly the user, capabilities, privilege
// escalation and filesystem settings the plan gives it, as PID 1 of its own PID namespace, and
// must serve its probe path and stop promptly on SIGTERM. The images themselves cannot be pulled
// here, so each runs the same program from Debian: nginx configured as the metaflow-ui image
// configures it, and python3 reading stand-ins of the metadata service laid out with the owners
// and modes its Dockerfile gives them (package images records those facts and their sources).
// Negative runs prove the checks can fail: nginx with every capability dropped, or any one of
// the UI's capabilities missing, must not serve; the services' upstream commands without the
// stack's stop wrapper must ignore SIGTERM; and a container with a read-only root filesystem
// must fail without any one of its writable volumes.
//
// A read-only root filesystem is modelled in a mount namespace of the process's own: every mount
// is remounted read-only (the stand-in image root included, which the process checks before it
// starts), then a fresh tmpfs is mounted at each emptyDir the plan gives the container, as the
// kubelet does.
//
// Needs root, nginx, python3, setpriv, unshare and mount (util-linux) and a user named nginx;
// `make test-runtime` installs them from Debian.
package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"metaflow-azure/internal/images"
	"metaflow-azure/internal/testday"
)

const (
	// debianPython stands in for the image's /opt/latest/bin/python3 (both CPython 3.11).
	debianPython = "/usr/bin/python3"
	serveTimeout = 20 * time.Second
	// stopTimeout is how soon a container must exit after SIGTERM; the grace period is 30 s.
	stopTimeout = 5 * time.Second
	// ignoreWindow is how long a process must survive SIGTERM to count as ignoring it, and how
	// long a negative run must fail to serve.
	ignoreWindow = 3 * time.Second
)

// container is one container of a Deployment or Job in a plan.
type container struct {
	stack, kind, name string
	pod               corev1.PodSpec
	c                 corev1.Container
}

func (w container) String() string {
	return fmt.Sprintf("%s %s/%s container %s", w.stack, w.kind, w.name, w.c.Name)
}

func TestEveryContainerServesUnderItsSecurityContext(t *testing.T) {
	requireTools(t)
	for _, stack := range []string{"dev", "prod"} {
		containers := planContainers(t, stack)
		if len(containers) < 4 {
			t.Fatalf("%s plan has %d containers; want the metadata service, UI backend, UI and migrations", stack, len(containers))
		}
		for _, w := range containers {
			t.Run(fmt.Sprintf("%s/%s/%s", stack, w.kind, w.name), func(t *testing.T) {
				sc := contextOf(t, w)
				r := runnerFor(t, w)
				p := r.start(t, sc, r.argv)
				if w.kind == "Job" {
					p.expectExit(t, 0, serveTimeout)
					return
				}
				p.expectServes(t, r.probeURL, r.probeBody)
				p.expectStopsOnTerm(t)
			})
		}
	}
}

// TestUIWithFewerCapabilitiesFails runs the UI as the plan declares it, minus capabilities: with
// all dropped (what containerSecurity() once gave every container) or with any one of its
// capabilities missing, nginx must not serve. So the UI gets exactly what it needs.
func TestUIWithFewerCapabilitiesFails(t *testing.T) {
	requireTools(t)
	ui := findContainer(t, planContainers(t, "dev"), images.UIRepository)
	sc := contextOf(t, ui)
	if !slices.Equal(sc.add, images.UICapabilities) {
		t.Fatalf("UI capabilities %v, want exactly %v", sc.add, images.UICapabilities)
	}
	cases := map[string][]string{"all dropped": nil}
	for _, c := range images.UICapabilities {
		cases["without "+c] = slices.DeleteFunc(slices.Clone(images.UICapabilities), func(x string) bool { return x == c })
	}
	for name, caps := range cases {
		t.Run(name, func(t *testing.T) {
			fewer := sc
			fewer.add = caps
			r := runnerFor(t, ui)
			p := r.start(t, fewer, r.argv)
			p.expectNeverServes(t, r.probeURL)
			if !strings.Contains(p.output(), "Operation not permitted") {
				t.Errorf("nginx failed, but not for a missing privilege:\n%s", p.output())
			}
		})
	}
}

// TestReadOnlyRootNeedsEveryWritableVolume: every container runs with a read-only root
// filesystem, and those that write get an emptyDir at exactly the paths their image writes to
// (package images); without any one of them the container must not serve (or, for a Job, not
// succeed). So the volumes are all needed, and the root filesystem is really read-only.
func TestReadOnlyRootNeedsEveryWritableVolume(t *testing.T) {
	requireTools(t)
	withVolumes := 0
	for _, w := range planContainers(t, "dev") {
		sc := contextOf(t, w)
		if !sc.readOnly {
			t.Errorf("%s: the root filesystem is writable; every container of the stack runs read-only", w)
		}
		for i, path := range sc.writable {
			withVolumes++
			t.Run(fmt.Sprintf("%s without %s", w.name, path), func(t *testing.T) {
				fewer := sc
				fewer.writable = slices.Delete(slices.Clone(sc.writable), i, i+1)
				r := runnerFor(t, w)
				p := r.start(t, fewer, r.argv)
				if w.kind == "Job" {
					p.expectExitOtherThan(t, 0, serveTimeout)
					return
				}
				p.expectNeverServes(t, r.probeURL)
				if !strings.Contains(p.output(), "Read-only file system") && !strings.Contains(p.output(), "not writable") {
					t.Errorf("%s failed, but not for a read-only path:\n%s", w, p.output())
				}
			})
		}
	}
	if withVolumes < len(images.UIWritablePaths)+len(images.UIBackendWritablePaths) {
		t.Errorf("%d writable volumes in the plan; the UI and the UI backend need %d", withVolumes, len(images.UIWritablePaths)+len(images.UIBackendWritablePaths))
	}
}

// TestUpstreamCommandsIgnoreSIGTERM is the reason for the stop wrapper: run as PID 1 without it,
// the metadata service and the UI backend survive SIGTERM, so every pod stop would wait out its
// grace period; and the UI backend survives a forwarded SIGTERM too.
func TestUpstreamCommandsIgnoreSIGTERM(t *testing.T) {
	requireTools(t)
	containers := planContainers(t, "dev")
	for _, name := range []string{"metadata-service", "metaflow-ui-backend"} {
		w := findByName(t, containers, name)
		t.Run(name+" unwrapped", func(t *testing.T) {
			r := runnerFor(t, w)
			bare, ok := unwrap(r.argv)
			if !ok {
				t.Fatalf("%s: the command is not wrapped: %q", w, r.argv)
			}
			p := r.start(t, contextOf(t, w), bare)
			p.expectServes(t, r.probeURL, r.probeBody)
			p.expectIgnoresTerm(t)
		})
	}
	w := findByName(t, containers, "metaflow-ui-backend")
	t.Run("metaflow-ui-backend with SIGTERM forwarded", func(t *testing.T) {
		r := runnerFor(t, w)
		argv := slices.Clone(r.argv)
		if !strings.Contains(argv[2], "kill -s KILL") {
			t.Fatalf("the UI backend's wrapper does not send KILL: %q", argv[2])
		}
		argv[2] = strings.Replace(argv[2], "kill -s KILL", "kill -s TERM", 1)
		p := r.start(t, contextOf(t, w), argv)
		p.expectServes(t, r.probeURL, r.probeBody)
		p.expectIgnoresTerm(t)
	})
}

// --- the plan -------------------------------------------------------------------------------

var (
	planMu    sync.Mutex
	planCache = map[string][]container{}
)

// planContainers runs the offline plan of a stack (the program against the fake Azure) and
// returns every container of its Deployments and Jobs.
func planContainers(t *testing.T, stack string) []container {
	t.Helper()
	planMu.Lock()
	defer planMu.Unlock()
	if cs, ok := planCache[stack]; ok {
		return cs
	}
	dir := t.TempDir()
	cmd := exec.Command("go", "run", "./cmd/metaflow-azure", "plan", "--stack", stack, "--show-secrets", "--json", "--manifests", dir)
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), testday.EnvToday+"="+testday.Day)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("plan --stack %s: %v\n%s", stack, err, stderr.String())
	}
	var out []container
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var head struct{ Kind string }
		if err := yaml.Unmarshal(raw, &head); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		switch head.Kind {
		case "Deployment":
			var d appsv1.Deployment
			if err := yaml.UnmarshalStrict(raw, &d); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			out = append(out, containersOf(stack, "Deployment", d.Name, d.Spec.Template.Spec)...)
		case "Job":
			var j batchv1.Job
			if err := yaml.UnmarshalStrict(raw, &j); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			out = append(out, containersOf(stack, "Job", j.Name, j.Spec.Template.Spec)...)
		case "DaemonSet":
			// The one DaemonSet is NVIDIA's device plugin (GPU pools only). Its program needs an
			// NVIDIA GPU, the driver's NVML and the kubelet's device-plugin socket, none of which
			// exist here, so it cannot be run; its pod spec is upstream's static manifest
			// (internal/images). Any other DaemonSet must be covered before it is declared.
			var ds appsv1.DaemonSet
			if err := yaml.UnmarshalStrict(raw, &ds); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			for _, c := range ds.Spec.Template.Spec.Containers {
				if c.Image != images.DevicePluginImage {
					return fmt.Errorf("%s: DaemonSet %s runs %s; the runtime tier covers no DaemonSet but NVIDIA's device plugin", path, ds.Name, c.Image)
				}
			}
			t.Logf("%s: DaemonSet %s (NVIDIA device plugin) not run: it needs a GPU, NVML and the kubelet", stack, ds.Name)
		case "StatefulSet", "Pod", "CronJob", "ReplicaSet":
			return fmt.Errorf("%s: the runtime tier does not cover %s objects yet", path, head.Kind)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	planCache[stack] = out
	return out
}

func containersOf(stack, kind, name string, pod corev1.PodSpec) []container {
	var out []container
	for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
		out = append(out, container{stack: stack, kind: kind, name: name, pod: pod, c: c})
	}
	return out
}

func findContainer(t *testing.T, cs []container, repository string) container {
	t.Helper()
	for _, w := range cs {
		if imageRepository(w.c.Image) == repository {
			return w
		}
	}
	t.Fatalf("no container runs %s", repository)
	return container{}
}

func findByName(t *testing.T, cs []container, name string) container {
	t.Helper()
	for _, w := range cs {
		if w.name == name {
			return w
		}
	}
	t.Fatalf("no workload %s", name)
	return container{}
}

// imageRepository strips the tag or digest.
func imageRepository(ref string) string {
	if at := strings.Index(ref, "@"); at >= 0 {
		return ref[:at]
	}
	if colon := strings.LastIndex(ref, ":"); colon > strings.LastIndex(ref, "/") {
		return ref[:colon]
	}
	return ref
}

// --- the security context ---------------------------------------------------------------------

// secctx is a container's effective security context, as a container runtime would apply it.
type secctx struct {
	uid, gid int64
	// add are the capabilities left after dropping ALL.
	add []string
	// noNewPrivs is allowPrivilegeEscalation: false.
	noNewPrivs bool
	// readOnly is readOnlyRootFilesystem; writable the container paths of its emptyDirs.
	readOnly bool
	writable []string
}

// contextOf reads the effective security context from the plan: container settings over pod
// settings over the image's user (package images). Settings the tier cannot reproduce fail the
// test rather than being ignored.
func contextOf(t *testing.T, w container) secctx {
	t.Helper()
	sc := secctx{uid: imageUID(t, w.c.Image)}
	if p := w.pod.SecurityContext; p != nil {
		if p.RunAsUser != nil {
			sc.uid = *p.RunAsUser
		}
		if p.RunAsGroup != nil {
			sc.gid = *p.RunAsGroup
		}
		if len(p.SupplementalGroups) > 0 || p.FSGroup != nil || len(p.Sysctls) > 0 {
			t.Fatalf("%s: the runtime tier does not model supplementalGroups, fsGroup or sysctls", w)
		}
	}
	c := w.c.SecurityContext
	if c == nil || c.Capabilities == nil || !slices.Contains(c.Capabilities.Drop, "ALL") {
		t.Fatalf("%s: every container must drop ALL capabilities; the runtime's default set is not modelled", w)
	}
	if c.RunAsUser != nil {
		sc.uid = *c.RunAsUser
	}
	if c.RunAsGroup != nil {
		sc.gid = *c.RunAsGroup
	}
	for _, a := range c.Capabilities.Add {
		sc.add = append(sc.add, strings.TrimPrefix(string(a), "CAP_"))
	}
	sc.noNewPrivs = c.AllowPrivilegeEscalation != nil && !*c.AllowPrivilegeEscalation
	if c.Privileged != nil && *c.Privileged {
		t.Fatalf("%s: privileged containers are not modelled", w)
	}
	sc.readOnly = c.ReadOnlyRootFilesystem != nil && *c.ReadOnlyRootFilesystem
	for _, m := range w.c.VolumeMounts {
		i := slices.IndexFunc(w.pod.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
		if i < 0 || w.pod.Volumes[i].EmptyDir == nil || m.ReadOnly || m.SubPath != "" {
			t.Fatalf("%s: volume mount %s is not a plain emptyDir; the runtime tier models only those", w, m.Name)
		}
		sc.writable = append(sc.writable, m.MountPath)
	}
	if c.RunAsNonRoot != nil && *c.RunAsNonRoot && sc.uid == 0 {
		t.Fatalf("%s: runAsNonRoot with uid 0 would not start", w)
	}
	return sc
}

func imageUID(t *testing.T, image string) int64 {
	switch imageRepository(image) {
	case images.MetadataRepository:
		return images.MetadataUID
	case images.UIRepository:
		return images.UIMasterUID
	}
	t.Fatalf("no runtime stand-in for image %s: add its facts to package images and a runner here", image)
	return 0
}

// setprivArgs apply a context the way a container runtime does for a process of that user:
// bounding set = the capabilities left, nothing inheritable or ambient, no_new_privs.
func setprivArgs(sc secctx) []string {
	bounding := "-all"
	for _, c := range sc.add {
		bounding += ",+" + strings.ToLower(c)
	}
	args := []string{
		"--reuid=" + strconv.FormatInt(sc.uid, 10), "--regid=" + strconv.FormatInt(sc.gid, 10), "--clear-groups",
		"--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=" + bounding,
	}
	if sc.noNewPrivs {
		args = append(args, "--no-new-privs")
	}
	return args
}

// --- runners: the image's process from Debian ---------------------------------------------------

type runner struct {
	argv      []string
	env       []string
	dir       string
	probeURL  string
	probeBody string
	// root is the stand-in image's root; hostPath maps a container path onto the host.
	root     string
	hostPath func(t *testing.T, containerPath string) string
}

func runnerFor(t *testing.T, w container) *runner {
	t.Helper()
	switch imageRepository(w.c.Image) {
	case images.MetadataRepository:
		return pythonRunner(t, w)
	case images.UIRepository:
		return nginxRunner(t, w)
	}
	t.Fatalf("no runtime stand-in for image %s", w.c.Image)
	return nil
}

// pythonRunner lays the stand-ins out as the metadata service's Dockerfile does (root-owned,
// /root 0700, directories 0755, files 0644; WORKDIR /root) and runs the plan's command with
// the image's paths mapped into that layout and Debian's python3 for the image's virtualenv.
func pythonRunner(t *testing.T, w container) *runner {
	t.Helper()
	root := rootDir(t)
	home := filepath.Join(root, strings.TrimPrefix(images.MetadataWorkdir, "/"))
	copyTree(t, filepath.Join("testdata", "metadata-service"), home)
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	r := &runner{dir: home, env: containerEnv(w.c), root: root}
	// The image's paths under its WORKDIR live in the stand-in root; the processes write /tmp
	// by its literal name, so a container's /tmp is the host's (a tmpfs of its own in the
	// process's mount namespace when the plan gives it one).
	r.hostPath = func(t *testing.T, p string) string {
		switch {
		case p == "/tmp":
			return p
		case strings.HasPrefix(p, images.MetadataWorkdir+"/"):
			return filepath.Join(home, strings.TrimPrefix(p, images.MetadataWorkdir+"/"))
		}
		t.Fatalf("%s: no stand-in for the path %s", w, p)
		return ""
	}
	for _, a := range w.c.Command {
		switch {
		case a == images.MetadataPython:
			a = debianPython
		case strings.HasPrefix(a, images.MetadataWorkdir+"/"):
			a = filepath.Join(home, strings.TrimPrefix(a, images.MetadataWorkdir+"/"))
		}
		r.argv = append(r.argv, a)
	}
	r.argv = append(r.argv, w.c.Args...)
	if len(r.argv) == 0 {
		t.Fatalf("%s: no command; the image's own CMD is not what the stack runs", w)
	}
	if w.kind == "Job" {
		return r
	}
	var portEnv, hostEnv string
	var port int
	switch {
	case slices.Contains(r.argv, images.MetadataServerModule):
		portEnv, hostEnv, port = images.MetadataPortEnv, images.MetadataHostEnv, images.MetadataPort
	case slices.Contains(r.argv, images.UIBackendModule):
		portEnv, hostEnv, port = images.UIBackendPortEnv, images.UIBackendHostEnv, images.UIBackendPort
	default:
		t.Fatalf("%s: unknown metadata-service process %q", w, r.argv)
	}
	r.probeURL = probeURL(t, w, port, portEnv, hostEnv, r)
	r.probeBody = "pong"
	return r
}

// nginxRunner runs Debian's nginx the way the metaflow-ui image runs its own: the entrypoint
// renders the server block with the container's environment, then `nginx -g 'daemon off;'`
// starts a root master that hands the work to `nginx` workers.
func nginxRunner(t *testing.T, w container) *runner {
	t.Helper()
	if len(w.c.Command) > 0 || len(w.c.Args) > 0 {
		t.Fatalf("%s: the stack overrides the image's entrypoint (%q), which the runner does not model", w, w.c.Command)
	}
	root := rootDir(t)
	for _, d := range []string{"etc/nginx/conf.d", "etc/nginx/templates", "usr/share/nginx/html", "var/cache/nginx", "var/run"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r := &runner{dir: root, env: containerEnv(w.c), root: root}
	r.hostPath = func(t *testing.T, p string) string {
		if !slices.Contains([]string{"/etc/nginx/conf.d", "/var/cache/nginx", "/var/run"}, p) {
			t.Fatalf("%s: no stand-in for the path %s", w, p)
		}
		return filepath.Join(root, p)
	}
	r.probeURL = probeURL(t, w, images.UIPort, images.UIPortEnv, "", r)
	env := map[string]string{}
	for _, kv := range r.env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if _, ok := env[images.UIServiceEnv]; !ok {
		env[images.UIServiceEnv] = "/api" // the image's ENV default
	}
	render := func(src, dst string, substitute bool) {
		raw, err := os.ReadFile(filepath.Join("testdata", "metaflow-ui", src))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(raw), "@ROOT@", root)
		if substitute { // envsubst as the entrypoint runs it: defined variables only
			text = regexp.MustCompile(`\$\{([A-Z_][A-Z0-9_]*)\}`).ReplaceAllStringFunc(text, func(m string) string {
				if v, ok := env[m[2:len(m)-1]]; ok {
					return v
				}
				return m
			})
		}
		if err := os.WriteFile(filepath.Join(root, dst), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	render("nginx.conf", "etc/nginx/nginx.conf", false)
	// The entrypoint renders the template into conf.d when the container starts
	// (20-envsubst-on-templates.sh); the rendering is done here, the write at start, where a
	// read-only conf.d stops it as it stops the entrypoint.
	render("default.conf.template", "etc/nginx/templates/default.conf", true)
	render("index.html", "usr/share/nginx/html/index.html", false)
	entrypoint := `cp "$1" "$2" || { echo "conf.d is not writable" >&2; exit 1; }; shift 2; exec "$@"`
	r.argv = []string{"/bin/sh", "-c", entrypoint, "entrypoint",
		filepath.Join(root, "etc/nginx/templates/default.conf"), filepath.Join(root, "etc/nginx/conf.d/default.conf"),
		"nginx", "-p", root, "-e", "stderr", "-c", filepath.Join(root, "etc/nginx/nginx.conf"), "-g", "daemon off;"}
	r.probeBody = fmt.Sprintf(`window.METAFLOW_SERVICE=%q`, env[images.UIServiceEnv])
	return r
}

// probeURL checks that the plan probes the port the image listens on by default, then moves the
// process to a free loopback port through the image's own settings, so runs never collide.
func probeURL(t *testing.T, w container, imagePort int, portEnv, hostEnv string, r *runner) string {
	t.Helper()
	probe := w.c.ReadinessProbe
	if probe == nil || probe.HTTPGet == nil || w.c.LivenessProbe == nil {
		t.Fatalf("%s: no HTTP readiness and liveness probe", w)
	}
	if len(w.c.Ports) != 1 || int(w.c.Ports[0].ContainerPort) != imagePort || probe.HTTPGet.Port.IntValue() != imagePort {
		t.Fatalf("%s: ports %v / probe port %v, but the image listens on %d", w, w.c.Ports, probe.HTTPGet.Port, imagePort)
	}
	for _, e := range w.c.Env {
		if e.Name == portEnv || (hostEnv != "" && e.Name == hostEnv) {
			t.Fatalf("%s: sets %s; the runner assumes the image's default", w, e.Name)
		}
	}
	port := freePort(t)
	r.env = append(r.env, fmt.Sprintf("%s=%d", portEnv, port))
	if hostEnv != "" {
		r.env = append(r.env, hostEnv+"=127.0.0.1")
	}
	return fmt.Sprintf("http://127.0.0.1:%d%s", port, probe.HTTPGet.Path)
}

// containerEnv is the container's environment with stand-ins for values from Secrets.
func containerEnv(c corev1.Container) []string {
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	for _, e := range c.Env {
		v := e.Value
		if e.ValueFrom != nil {
			v = "stand-in-for-" + e.Name
		}
		env = append(env, e.Name+"="+v)
	}
	return env
}

// --- processes ----------------------------------------------------------------------------------

type process struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

// start runs argv as PID 1 of a new PID namespace (as a container's first process is) under the
// context sc.
func (r *runner) start(t *testing.T, sc secctx, argv []string) *process {
	t.Helper()
	env := r.env
	cmd := append(append([]string{"setpriv"}, setprivArgs(sc)...), "--")
	cmd = append(cmd, argv...)
	args := []string{"--pid", "--fork", "--kill-child", "--"}
	if sc.readOnly {
		// A mount namespace of its own: every mount read-only, a tmpfs (as an emptyDir: mode
		// 0777, empty) at each writable path, and the stand-in root checked read-only. The mount
		// points are made first, as the container runtime makes a volume's mount point in the
		// image's root before it turns read-only (the stand-in roots lack some of them).
		script := `set -e
for p in $WRITABLE; do mkdir -p "$p"; done
awk '{print $5}' /proc/self/mountinfo | sort -u | while read -r m; do mount -o remount,bind,ro "$m" 2>/dev/null || true; done
if touch "$ROOT/.writable" 2>/dev/null; then echo "runtime tier: the root filesystem stayed writable" >&2; exit 99; fi
for p in $WRITABLE; do mount -t tmpfs -o mode=0777 emptydir "$p"; done
exec "$@"`
		var writable []string
		for _, p := range sc.writable {
			writable = append(writable, r.hostPath(t, p))
		}
		args = append([]string{"--mount", "--propagation", "private"}, args...)
		args = append(args, "/bin/sh", "-c", script, "readonly-root")
		env = append(slices.Clone(env), "ROOT="+r.root, "WRITABLE="+strings.Join(writable, " "))
	}
	args = append(args, cmd...)
	p := &process{cmd: exec.Command("unshare", args...), out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env, p.cmd.Dir = env, r.dir
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %q: %v", argv, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill() // --kill-child takes the namespace with it
		<-p.done
		if t.Failed() {
			t.Logf("output of %q:\n%s", argv, p.output())
		}
	})
	return p
}

func (p *process) output() string { return p.out.String() }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *process) exitCode() int {
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		return -1
	}
	return 0
}

// pid1 is the host PID of the namespace's first process.
func (p *process) pid1(t *testing.T) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		raw, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", p.cmd.Process.Pid, p.cmd.Process.Pid))
		if f := strings.Fields(string(raw)); len(f) > 0 {
			pid, err := strconv.Atoi(f[0])
			if err == nil {
				return pid
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no child of unshare")
	return 0
}

func (p *process) expectExit(t *testing.T, code int, within time.Duration) {
	t.Helper()
	select {
	case <-p.done:
		if got := p.exitCode(); got != code {
			t.Fatalf("exited with %d, want %d", got, code)
		}
	case <-time.After(within):
		t.Fatalf("still running after %s", within)
	}
}

func (p *process) expectExitOtherThan(t *testing.T, code int, within time.Duration) {
	t.Helper()
	select {
	case <-p.done:
		if p.exitCode() == code {
			t.Fatalf("exited with %d; this run must fail", code)
		}
	case <-time.After(within):
		t.Fatalf("still running after %s", within)
	}
}

func get(url string) (int, string, error) {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), nil
}

func (p *process) expectServes(t *testing.T, url, body string) {
	t.Helper()
	deadline := time.Now().Add(serveTimeout)
	var last string
	for time.Now().Before(deadline) {
		if p.exited() {
			t.Fatalf("exited with %d before serving %s", p.exitCode(), url)
		}
		code, got, err := get(url)
		if err == nil && code == http.StatusOK {
			if !strings.Contains(got, body) {
				t.Fatalf("GET %s: 200 without %q: %s", url, body, got)
			}
			return
		}
		last = fmt.Sprintf("%d %v", code, err)
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s never answered 200 within %s (last: %s)", url, serveTimeout, last)
}

func (p *process) expectNeverServes(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(ignoreWindow)
	for time.Now().Before(deadline) && !p.exited() {
		if code, _, err := get(url); err == nil && code == http.StatusOK {
			t.Fatalf("GET %s answered 200; this run must fail", url)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *process) expectStopsOnTerm(t *testing.T) {
	t.Helper()
	start := time.Now()
	if err := syscall.Kill(p.pid1(t), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		t.Logf("stopped %s after SIGTERM (exit %d)", time.Since(start).Round(time.Millisecond), p.exitCode())
	case <-time.After(stopTimeout):
		t.Fatalf("still running %s after SIGTERM: a pod stop would wait out the grace period", stopTimeout)
	}
}

func (p *process) expectIgnoresTerm(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(p.pid1(t), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		t.Fatalf("stopped on SIGTERM (exit %d); want it to ignore SIGTERM", p.exitCode())
	case <-time.After(ignoreWindow):
	}
}

// unwrap returns the service's own command from inside the stack's stop wrapper
// (/bin/sh -c SCRIPT sh ARGV...).
func unwrap(argv []string) ([]string, bool) {
	if len(argv) > 4 && argv[0] == "/bin/sh" && argv[1] == "-c" && argv[3] == "sh" {
		return argv[4:], true
	}
	return nil, false
}

// --- helpers ------------------------------------------------------------------------------------

func requireTools(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the runtime tier runs processes as other users and with chosen capabilities: run it as root (make test-runtime)")
	}
	for _, tool := range []string{"nginx", "setpriv", "unshare", "mount", "awk", debianPython, "/bin/sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: make test-runtime installs it from Debian", tool)
		}
	}
	if err := exec.Command("id", images.UIWorkerUser).Run(); err != nil {
		t.Fatalf("no user %q for nginx's workers: make test-runtime creates it", images.UIWorkerUser)
	}
}

// rootDir is a scratch root that other users may traverse (nginx's workers read from it). It
// is not under /tmp, where a container's own /tmp emptyDir would hide it.
func rootDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/var/tmp", "metaflow-runtime-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// copyTree copies src to dst as the Dockerfile's ADD leaves it: owned by root, directories 0755,
// files 0644.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			return errors.Join(os.Chmod(target, 0o755), os.Chown(target, 0, 0))
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, raw, 0o644); err != nil {
			return err
		}
		return errors.Join(os.Chmod(target, 0o644), os.Chown(target, 0, 0))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
