//go:build metaflow

package metaflow

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// sandbox is one stack's stand-in for the world its profile points at: a network namespace of
// its own (so every service listens on the address and port the plan and the profile name, with
// no rewrite and no clash with the other stack's sandbox or the machine), and a hosts file that
// maps the profile's host names (the storage account's blob endpoint, the PostgreSQL server,
// Entra's login host) to loopback addresses in it. Every process runs in the namespace with that
// hosts file and with the sandbox's CA trusted; the CA signs each TLS server's certificate for
// the real host name.
type sandbox struct {
	t      *testing.T
	dir    string
	holder *exec.Cmd // keeps the network namespace alive
	netns  string    // /proc/PID/ns/net
	hosts  map[string]string
	ca     *certAuthority
	// caBundle is the CA in PEM, with Debian's bundle (the Python clients trust only this file).
	caBundle string
	mu       sync.Mutex
	procs    []*proc
}

func newSandbox(t *testing.T, name string) *sandbox {
	t.Helper()
	dir, err := os.MkdirTemp("", "metaflow-tier-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	// The PostgreSQL server runs as the postgres user, which must reach its data directory.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &sandbox{t: t, dir: dir, hosts: map[string]string{}}
	t.Cleanup(s.close)
	s.holder = exec.Command("unshare", "--net", "--", "sleep", "infinity")
	if err := s.holder.Start(); err != nil {
		t.Fatalf("start the network namespace: %v", err)
	}
	s.netns = fmt.Sprintf("/proc/%d/ns/net", s.holder.Process.Pid)
	if err := waitFor(5*time.Second, func() bool {
		own, _ := os.Readlink("/proc/self/ns/net")
		theirs, _ := os.Readlink(s.netns)
		return theirs != "" && theirs != own
	}); err != nil {
		t.Fatal("the network namespace did not appear")
	}
	if out, err := exec.Command("nsenter", "--net="+s.netns, "ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo up: %v\n%s", err, out)
	}
	if s.ca, err = newCertAuthority(); err != nil {
		t.Fatal(err)
	}
	system, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		system = nil
	}
	s.caBundle = filepath.Join(dir, "ca-bundle.pem")
	if err := os.WriteFile(s.caBundle, append(append([]byte{}, s.ca.certPEM...), system...), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// mapHost makes name resolve to addr (a loopback address) inside the sandbox. Each mapping is
// logged: together they are every rewrite the tier makes of the profile's endpoints.
func (s *sandbox) mapHost(name, addr string) {
	s.t.Helper()
	s.hosts[name] = addr
	s.t.Logf("rewrite: %s resolves to %s in the sandbox", name, addr)
}

func (s *sandbox) hostsFile() string {
	s.t.Helper()
	lines := []string{"127.0.0.1 localhost"}
	names := make([]string, 0, len(s.hosts))
	for n := range s.hosts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		lines = append(lines, s.hosts[n]+" "+n)
	}
	path := filepath.Join(s.dir, "hosts")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		s.t.Fatal(err)
	}
	return path
}

// listen opens a TCP listener inside the sandbox's network namespace: a socket belongs to the
// namespace it was created in, so the test's own servers (the Entra stand-in, the webhook
// receiver, the API server proxy) serve the sandbox while the rest of the test stays outside it.
func (s *sandbox) listen(addr string) (net.Listener, error) {
	var ln net.Listener
	err := s.inNetns(func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	return ln, err
}

// dial connects to addr inside the sandbox (for readiness checks and the tier's own requests).
func (s *sandbox) dial(addr string) (net.Conn, error) {
	var c net.Conn
	err := s.inNetns(func() (err error) {
		c, err = net.DialTimeout("tcp", addr, time.Second)
		return err
	})
	return c, err
}

// inNetns runs f on an OS thread of its own that has joined the sandbox's network namespace.
// The thread stays locked on purpose: it ends with the goroutine instead of going back to the
// scheduler in the other namespace.
func (s *sandbox) inNetns(f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		ns, err := os.Open(s.netns)
		if err != nil {
			done <- err
			return
		}
		defer ns.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("setns: %w", err)
			return
		}
		done <- f()
	}()
	return <-done
}

func (s *sandbox) waitPort(p *proc, addr string, within time.Duration) {
	s.t.Helper()
	err := waitFor(within, func() bool {
		if p != nil && p.exited() {
			return true
		}
		c, err := s.dial(addr)
		if err == nil {
			c.Close()
			return true
		}
		return false
	})
	if p != nil && p.exited() {
		s.t.Fatalf("%s exited before it listened on %s:\n%s", p.name, addr, p.output())
	}
	if err != nil {
		out := ""
		if p != nil {
			out = p.output()
		}
		s.t.Fatalf("nothing listens on %s after %s:\n%s", addr, within, out)
	}
}

// mount is a bind mount made in a process's own mount namespace before it runs.
type mount struct{ source, target string }

// spec is a process to run in the sandbox.
type spec struct {
	name   string
	argv   []string
	env    []string
	dir    string
	user   string  // run as this user (runuser) instead of root
	mounts []mount // bind mounts, in order
	// files are written into a tmpfs at their directory, as a projected volume is.
	files map[string][]byte
}

// command builds the process: in the network namespace, in a private mount namespace with the
// hosts file (and the spec's mounts) bound in place.
func (s *sandbox) command(ctx context.Context, sp spec) *exec.Cmd {
	s.t.Helper()
	var script strings.Builder
	script.WriteString("set -e\nmount --bind \"$SANDBOX_HOSTS\" /etc/hosts\n")
	var extra []string
	for i, m := range sp.mounts {
		fmt.Fprintf(&script, "mount --bind \"$SANDBOX_SRC_%d\" %q\n", i, m.target)
		extra = append(extra, fmt.Sprintf("SANDBOX_SRC_%d=%s", i, m.source))
	}
	if len(sp.files) > 0 {
		staged := filepath.Join(s.dir, "files-"+sp.name)
		dirs := map[string]bool{}
		for path, content := range sp.files {
			dst := filepath.Join(staged, path)
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				s.t.Fatal(err)
			}
			if err := os.WriteFile(dst, content, 0o644); err != nil {
				s.t.Fatal(err)
			}
			dirs[filepath.Dir(path)] = true
		}
		for d := range dirs {
			fmt.Fprintf(&script, "mkdir -p %q && mount -t tmpfs -o mode=0755 projected %q && cp -a %q/. %q/\n", d, d, filepath.Join(staged, d), d)
		}
	}
	if sp.dir != "" {
		fmt.Fprintf(&script, "cd %q\n", sp.dir)
	}
	argv := sp.argv
	if sp.user != "" {
		argv = append([]string{"runuser", "-u", sp.user, "--"}, argv...)
	}
	script.WriteString("exec \"$@\"\n")
	args := append([]string{"--net=" + s.netns, "--", "unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script.String(), sp.name}, argv...)
	cmd := exec.CommandContext(ctx, "nsenter", args...)
	cmd.Env = append(append([]string{"SANDBOX_HOSTS=" + s.hostsFile()}, extra...), sp.env...)
	if !slices.ContainsFunc(sp.env, func(e string) bool { return strings.HasPrefix(e, "PATH=") }) {
		cmd.Env = append(cmd.Env, "PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs a process to its end and returns its combined output.
func (s *sandbox) run(ctx context.Context, sp spec) (string, error) {
	s.t.Helper()
	cmd := s.command(ctx, sp)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// start runs a long-lived process; the sandbox stops it at the end of the test.
func (s *sandbox) start(sp spec) *proc {
	s.t.Helper()
	p := &proc{name: sp.name, done: make(chan struct{})}
	p.cmd = s.command(context.Background(), sp)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	// Its own process group, so stopping it stops what it started.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", sp.name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
	return p
}

func (s *sandbox) close() {
	s.mu.Lock()
	procs := s.procs
	s.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		_ = unix.Kill(-p.cmd.Process.Pid, unix.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = unix.Kill(-p.cmd.Process.Pid, unix.SIGKILL)
			<-p.done
		}
		if s.t.Failed() {
			s.t.Logf("output of %s:\n%s", p.name, tail(p.output(), 60))
		}
	}
	if s.holder != nil && s.holder.Process != nil {
		_ = s.holder.Process.Kill()
		_ = s.holder.Wait()
	}
	if os.Getenv("METAFLOW_TIER_KEEP") == "" {
		_ = os.RemoveAll(s.dir)
	} else {
		s.t.Logf("kept %s", s.dir)
	}
}

type proc struct {
	name string
	cmd  *exec.Cmd
	out  syncBuffer
	done chan struct{}
	err  error
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) output() string { return p.out.String() }

type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b = append(b.b, p...)
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.b)
}

var _ io.Writer = (*syncBuffer)(nil)

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

func waitFor(within time.Duration, cond func() bool) error {
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// certAuthority signs the sandbox's TLS servers' certificates for the real host names.
type certAuthority struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

func newCertAuthority() (*certAuthority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "metaflow tier sandbox CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &certAuthority{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// serving returns a certificate and key (PEM) for the host names and addresses.
func (ca *certAuthority) serving(hosts ...string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 100))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}
