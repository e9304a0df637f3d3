//go:build metaflow

package metaflow

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"metaflow-azure/internal/images"
)

// Loopback addresses in a sandbox. Services the profile reaches as localhost (the port-forwards)
// listen on 127.0.0.1 as in the pod; the others have their own address under their real name.
const (
	blobAddr     = "127.0.0.2"
	entraAddr    = "127.0.0.3"
	postgresAddr = "127.0.0.4"
)

// unpack extracts a tar.gz from ../shared/upstream into dir and returns the directory its single
// top-level folder became.
func unpack(archive, dir string) (string, error) {
	f, err := os.Open(archive)
	if err != nil {
		return "", err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return "", err
	}
	tr := tar.NewReader(gz)
	top := ""
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		if h.Typeflag == tar.TypeXGlobalHeader || h.Typeflag == tar.TypeXHeader {
			continue
		}
		name := filepath.Clean(h.Name)
		if strings.HasPrefix(name, "..") || filepath.IsAbs(name) {
			return "", fmt.Errorf("%s: unsafe path %s", archive, h.Name)
		}
		if first, _, _ := strings.Cut(name, string(filepath.Separator)); top == "" {
			top = first
		}
		dst := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return "", err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return "", err
			}
			out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o755|0o644)
			if err != nil {
				return "", err
			}
			if _, err := io.Copy(out, tr); err != nil {
				out.Close()
				return "", err
			}
			if err := out.Close(); err != nil {
				return "", err
			}
		case tar.TypeSymlink:
			if err := os.Symlink(h.Linkname, dst); err != nil {
				return "", err
			}
		}
	}
	return filepath.Join(dir, top), nil
}

// dockerfile is what the tier reads from metaflow-service's Dockerfile to lay the image out:
// its ADD instructions (in order), its WORKDIR and its ENV.
type dockerfile struct {
	adds    [][2]string // source (relative to the context), destination
	workdir string
	env     []string
	runs    []string
}

var dockerArg = regexp.MustCompile(`^ARG\s+(\w+)(?:=(.*))?$`)

func readDockerfile(path string) (*dockerfile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d := &dockerfile{}
	args := map[string]string{}
	sc := bufio.NewScanner(f)
	var line string
	for sc.Scan() {
		text := strings.TrimSpace(sc.Text())
		if strings.HasSuffix(text, "\\") {
			line += strings.TrimSuffix(text, "\\") + " "
			continue
		}
		line += text
		fields := strings.Fields(line)
		raw := line
		line = ""
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			// A new stage: only the last stage is the image.
			*d = dockerfile{}
		case "ARG":
			if m := dockerArg.FindStringSubmatch(raw); m != nil {
				args[m[1]] = strings.Trim(m[2], `"`)
			}
		case "ENV":
			for _, kv := range fields[1:] {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return nil, fmt.Errorf("%s: ENV %q is not KEY=VALUE", path, kv)
				}
				v = strings.Trim(v, `"`)
				if strings.HasPrefix(v, "$") {
					v = args[strings.TrimPrefix(v, "$")]
				}
				d.env = append(d.env, k+"="+v)
			}
		case "ADD", "COPY":
			if strings.HasPrefix(fields[1], "--") {
				// COPY --from=<stage>: a binary from a build stage, not the source tree.
				continue
			}
			dst := fields[len(fields)-1]
			for _, src := range fields[1 : len(fields)-1] {
				d.adds = append(d.adds, [2]string{src, dst})
			}
		case "WORKDIR":
			d.workdir = fields[1]
		case "RUN":
			d.runs = append(d.runs, strings.TrimSpace(strings.TrimPrefix(raw, fields[0])))
		}
	}
	return d, sc.Err()
}

// layout builds the metadata image's filesystem from the metaflow-service source as its
// Dockerfile does: every ADD applied to a root, then `pip install .` in the WORKDIR into the
// /opt/latest virtualenv (Debian's python3, with the Python dependencies from Debian), and
// Metaflow (the UI backend reads the datastore with it) into the same virtualenv. It returns
// the directories to mount at /root and /opt, the image's environment and its WORKDIR.
type imageLayout struct {
	root, opt string
	workdir   string
	env       []string
}

func (s *sandbox) layOutMetadataImage(ctx context.Context, src, metaflowSrc string) *imageLayout {
	s.t.Helper()
	d, err := readDockerfile(filepath.Join(src, "Dockerfile"))
	if err != nil {
		s.t.Fatal(err)
	}
	if d.workdir != images.MetadataWorkdir {
		s.t.Fatalf("metaflow-service's Dockerfile has WORKDIR %s; internal/images says %s", d.workdir, images.MetadataWorkdir)
	}
	img := filepath.Join(s.dir, "image")
	l := &imageLayout{root: filepath.Join(img, "root"), opt: filepath.Join(img, "opt"), workdir: d.workdir, env: d.env}
	for _, dir := range []string{l.root, l.opt} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			s.t.Fatal(err)
		}
	}
	for _, a := range d.adds {
		from := filepath.Join(src, a[0])
		if !strings.HasPrefix(a[1], "/root") {
			s.t.Fatalf("Dockerfile: ADD %s %s lands outside /root, which the layout does not model", a[0], a[1])
		}
		to := filepath.Join(l.root, strings.TrimPrefix(a[1], "/root"))
		info, err := os.Stat(from)
		if err != nil {
			s.t.Fatalf("Dockerfile: ADD %s: %v", a[0], err)
		}
		if !info.IsDir() && strings.HasSuffix(a[1], "/") {
			to = filepath.Join(to, filepath.Base(a[0]))
		}
		if out, err := exec.Command("mkdir", "-p", filepath.Dir(to)).CombinedOutput(); err != nil {
			s.t.Fatalf("%v: %s", err, out)
		}
		if out, err := exec.Command("cp", "-a", "-T", from, to).CombinedOutput(); err != nil {
			s.t.Fatalf("ADD %s %s: %v: %s", a[0], a[1], err, out)
		}
	}
	// /root is 0700 in the image (python:3.11-slim's root home).
	if err := os.Chmod(l.root, 0o700); err != nil {
		s.t.Fatal(err)
	}
	if !hasRun(d, "/opt/latest/bin/pip install .") || !hasRun(d, "virtualenv /opt/latest") {
		s.t.Fatalf("metaflow-service's Dockerfile no longer installs the services into /opt/latest with pip (RUN lines: %q)", d.runs)
	}
	python := images.MetadataPython
	install := fmt.Sprintf("/usr/bin/python3 -m venv --system-site-packages --without-pip /opt/latest && "+
		"/usr/bin/python3 -m pip --python %[1]s install -q --no-deps --no-build-isolation --no-index . && "+
		"/usr/bin/python3 -m pip --python %[1]s install -q --no-deps --no-build-isolation --no-index %[2]s", python, metaflowSrc)
	out, err := s.run(ctx, spec{
		name: "layout", argv: []string{"sh", "-c", install}, dir: l.workdir,
		mounts: []mount{{l.root, "/root"}, {l.opt, "/opt"}},
		env:    []string{"PATH=/usr/bin:/bin", "HOME=/root", "PIP_DISABLE_PIP_VERSION_CHECK=1"},
	})
	if err != nil {
		s.t.Fatalf("pip install the services into /opt/latest: %v\n%s", err, out)
	}
	return l
}

func hasRun(d *dockerfile, want string) bool {
	for _, r := range d.runs {
		if strings.Contains(r, want) {
			return true
		}
	}
	return false
}

// postgres runs PostgreSQL on the plan's server name, port 5432, requiring TLS for every TCP
// connection (as Flexible Server does with require_secure_transport on), with the plan's login
// and database.
func (s *sandbox) postgres(ctx context.Context, f *stackFacts, host, user, database string) {
	s.t.Helper()
	pg, err := user_("postgres")
	if err != nil {
		s.t.Fatal(err)
	}
	dir := filepath.Join(s.dir, "pg")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		s.t.Fatal(err)
	}
	cert, key, err := s.ca.serving(host)
	if err != nil {
		s.t.Fatal(err)
	}
	for name, content := range map[string][]byte{"server.crt": cert, "server.key": key} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			s.t.Fatal(err)
		}
	}
	if out, err := exec.Command("chown", "-R", pg, dir).CombinedOutput(); err != nil {
		s.t.Fatalf("chown: %v %s", err, out)
	}
	data := filepath.Join(dir, "data")
	initdb, err := exec.LookPath("initdb")
	if err != nil {
		// Debian's postgresql-15 keeps the server's programs off PATH.
		initdb = "/usr/lib/postgresql/15/bin/initdb"
		if _, statErr := os.Stat(initdb); statErr != nil {
			s.t.Fatalf("PostgreSQL's initdb: %v", err)
		}
	}
	bin := filepath.Dir(initdb)
	if out, err := s.run(ctx, spec{name: "initdb", user: "postgres", argv: []string{initdb, "-D", data, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"}}); err != nil {
		s.t.Fatalf("initdb: %v\n%s", err, out)
	}
	hba := "local all postgres trust\nhostssl all all 127.0.0.0/8 scram-sha-256\n"
	if err := os.WriteFile(filepath.Join(data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		s.t.Fatal(err)
	}
	p := s.start(spec{name: "postgres", user: "postgres", argv: []string{filepath.Join(bin, "postgres"), "-D", data, "-k", dir,
		"-c", "listen_addresses=" + postgresAddr, "-p", "5432", "-c", "ssl=on",
		"-c", "ssl_cert_file=" + filepath.Join(dir, "server.crt"), "-c", "ssl_key_file=" + filepath.Join(dir, "server.key"),
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"}})
	s.waitPort(p, postgresAddr+":5432", 30*time.Second)
	psql := func(sql string) {
		out, err := s.run(ctx, spec{name: "psql", argv: []string{"psql", "-v", "ON_ERROR_STOP=1", "-h", dir, "-p", "5432", "-U", "postgres", "-c", sql}})
		if err != nil {
			s.t.Fatalf("psql %q: %v\n%s", sql, err, out)
		}
	}
	psql(fmt.Sprintf("CREATE ROLE %q LOGIN PASSWORD '%s'", user, strings.ReplaceAll(f.dbPassword, "'", "''")))
	psql(fmt.Sprintf("CREATE DATABASE %q OWNER %q", database, user))
}

func user_(name string) (string, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return "", fmt.Errorf("the PostgreSQL server runs as the %s user: %w", name, err)
	}
	return u.Uid + ":" + u.Gid, nil
}

// azurite runs Azurite's Blob service as the plan's storage account at its blob endpoint's host,
// over HTTPS, taking OAuth bearer tokens. It returns the account key (Azurite needs one; the tier
// reads the container with it, Metaflow never sees it).
func (s *sandbox) azurite(azuriteBin, account, host string) string {
	s.t.Helper()
	raw := make([]byte, 64)
	if _, err := rand.Read(raw); err != nil {
		s.t.Fatal(err)
	}
	key := base64.StdEncoding.EncodeToString(raw)
	cert, k, err := s.ca.serving(host)
	if err != nil {
		s.t.Fatal(err)
	}
	dir := filepath.Join(s.dir, "azurite")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		s.t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, cert, 0o600); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, k, 0o600); err != nil {
		s.t.Fatal(err)
	}
	p := s.start(spec{name: "azurite", argv: []string{azuriteBin, "--blobHost", blobAddr, "--blobPort", "443",
		"--cert", certFile, "--key", keyFile, "--oauth", "basic", "--location", dir,
		"--disableTelemetry", "--skipApiVersionCheck"},
		env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "AZURITE_ACCOUNTS=" + account + ":" + key}})
	s.waitPort(p, blobAddr+":443", 60*time.Second)
	return key
}

// imageEnv is the environment a container of the metadata image gets: the image's ENV, the
// PATH and HOME of its base image, and the container's own env from the plan.
func imageEnv(l *imageLayout, container []string) []string {
	env := []string{"PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8"}
	env = append(env, l.env...)
	return append(env, container...)
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
