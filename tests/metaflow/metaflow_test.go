//go:build metaflow

package metaflow

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"metaflow-azure/internal/images"
)

// env is what every test of the tier shares: the tools and the upstream sources.
type env struct {
	root     string // the repository
	upstream string // ../shared/upstream
	python   string
	azurite  string
	goose    string
	// metaflowVersion is the Metaflow release the README's task image pins: the client tasks run.
	metaflowVersion string
}

var shared *env

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	e := &env{root: root, upstream: filepath.Join(filepath.Dir(root), "shared", "upstream")}
	if _, err := os.Stat(e.upstream); err != nil {
		fmt.Fprintf(os.Stderr, "metaflow tier: the upstream sources are not beside the repository (%v)\n", err)
		return 1
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "metaflow tier: needs root (network and mount namespaces, PostgreSQL as its own user)")
		return 1
	}
	cmd := exec.Command(filepath.Join(root, "hack", "metaflow-deps.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "hack/metaflow-deps.sh: %v\n", err)
		return 1
	}
	for _, line := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "PYTHON":
			e.python = v
		case "AZURITE":
			e.azurite = v
		case "GOOSE":
			e.goose = v
		}
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pin := regexp.MustCompile(`pip install[^\n]*\smetaflow==([0-9.]+)`).FindSubmatch(readme)
	if pin == nil {
		fmt.Fprintln(os.Stderr, "metaflow tier: the README's task image pins no metaflow==VERSION")
		return 1
	}
	e.metaflowVersion = string(pin[1])
	shared = e
	return m.Run()
}

// TestMetaflow runs a data scientist's first hour against each stack's plan: the real
// metadata service at the image tag the plan deploys, laid out as its Dockerfile lays it out, on
// PostgreSQL requiring TLS, migrated as the plan's Job migrates it; Azurite as the storage
// account over HTTPS with OAuth; an Entra stand-in that exchanges only the plan's federated
// credentials; and the real Metaflow client with exactly the profile the stack outputs.
func TestMetaflow(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			t.Parallel()
			newRun(t, stack).all()
		})
	}
}

// tierRun is one stack's run of the tier.
type tierRun struct {
	t       *testing.T
	ctx     context.Context
	facts   *stackFacts
	sb      *sandbox
	layout  *imageLayout
	entra   *entra
	issuer  *issuerKey
	client  string // the Metaflow client's virtualenv python
	home    string // METAFLOW_HOME
	work    string // where the flows run from
	account string
	key     string // Azurite's account key, for the tier's own reads
}

func newRun(t *testing.T, stack string) *tierRun {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	t.Cleanup(cancel)
	f, err := loadStack(ctx, shared.root, stack)
	if err != nil {
		t.Fatal(err)
	}
	return &tierRun{t: t, ctx: ctx, facts: f}
}

func (r *tierRun) all() {
	r.setUp()
	runID := r.flowRun()
	r.t.Run("uibackend", func(t *testing.T) { r.uiBackend(t, runID) })
	r.t.Run("argo", func(t *testing.T) { r.argo(t) })
	r.t.Run("events", func(t *testing.T) { r.publishEvent(t) })
	r.t.Run("verify-task", func(t *testing.T) { r.verifyTask(t) })
}

func (r *tierRun) setUp() {
	t, f := r.t, r.facts
	r.sb = newSandbox(t, f.name)
	blob, err := url.Parse(f.profile["METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT"])
	if err != nil || blob.Host == "" {
		t.Fatalf("profile METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT %q is not a URL", f.profile["METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT"])
	}
	metadata := f.containers["metadata-service"]
	dbEnv := envMap(metadata.Env)
	r.sb.mapHost(blob.Hostname(), blobAddr)
	r.sb.mapHost(entraLoginHost, entraAddr)
	r.sb.mapHost(dbEnv["MF_METADATA_DB_HOST"], postgresAddr)
	r.account = strings.Split(blob.Hostname(), ".")[0]
	if r.account != f.storageAccount {
		t.Errorf("the profile's blob endpoint names account %q; the plan's storage account is %q", r.account, f.storageAccount)
	}

	// The metadata image at the plan's tag, from the upstream source of that tag.
	tag := imageTag(metadata.Image)
	src := filepath.Join(shared.upstream, "metaflow-service-"+strings.TrimPrefix(tag, "v")+".tar.gz")
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("the plan deploys %s; the tier has no upstream source for tag %s (%v)", metadata.Image, tag, err)
	}
	serviceSrc, err := unpack(src, filepath.Join(r.sb.dir, "src"))
	if err != nil {
		t.Fatal(err)
	}
	uiMetaflow, err := unpack(filepath.Join(shared.upstream, "metaflow-2.19.34.tar.gz"), filepath.Join(r.sb.dir, "src-ui-metaflow"))
	if err != nil {
		t.Fatal(err)
	}
	r.layout = r.sb.layOutMetadataImage(r.ctx, serviceSrc, uiMetaflow)

	r.sb.postgres(r.ctx, f, dbEnv["MF_METADATA_DB_HOST"], dbEnv["MF_METADATA_DB_USER"], dbEnv["MF_METADATA_DB_NAME"])
	r.migrate()
	r.metadataService(tag)

	// Entra and the cluster's token issuer.
	if r.issuer, err = newIssuerKey(f.oidcIssuer); err != nil {
		t.Fatal(err)
	}
	if r.entra, err = newEntra(f, r.issuer); err != nil {
		t.Fatal(err)
	}
	r.serveTLS(entraAddr+":443", entraLoginHost, r.entra)

	r.key = r.sb.azurite(shared.azurite, r.account, blob.Hostname())
	// The stack's BlobContainer: the datastore root's container, made with the account key
	// (Metaflow never sees the key).
	container, _, _ := strings.Cut(f.profile["METAFLOW_DATASTORE_SYSROOT_AZURE"], "/")
	r.blobAdmin(fmt.Sprintf("svc.create_container(%q)", container))

	// The client: Metaflow at the README task image's pin, in a virtualenv of its own.
	clientSrc, err := unpack(filepath.Join(shared.upstream, "metaflow-"+shared.metaflowVersion+".tar.gz"), filepath.Join(r.sb.dir, "src-client"))
	if err != nil {
		t.Fatal(err)
	}
	venv := filepath.Join(r.sb.dir, "client")
	if out, err := exec.CommandContext(r.ctx, shared.python, "-m", "venv", "--system-site-packages", "--without-pip", venv).CombinedOutput(); err != nil {
		t.Fatalf("venv: %v\n%s", err, out)
	}
	r.client = filepath.Join(venv, "bin", "python3")
	if out, err := exec.CommandContext(r.ctx, shared.python, "-m", "pip", "--python", r.client, "install", "-q", "--no-deps", "--no-build-isolation", "--no-index", clientSrc).CombinedOutput(); err != nil {
		t.Fatalf("pip install metaflow %s: %v\n%s", shared.metaflowVersion, err, out)
	}
	// The profile exactly as `metaflow-azure config --profile NAME` writes it.
	r.home = filepath.Join(r.sb.dir, "metaflowconfig")
	if err := os.MkdirAll(r.home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.home, "config_"+f.name+".json"), []byte(profileText(t, f.profileJSON)), 0o600); err != nil {
		t.Fatal(err)
	}
	r.work = filepath.Join(r.sb.dir, "flows")
	if err := os.MkdirAll(r.work, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", "testdata/.", r.work+"/").CombinedOutput(); err != nil {
		t.Fatalf("copy the flows: %v %s", err, out)
	}
}

// profileText renders the metaflowConfig output as `metaflow-azure config` does: the object,
// two-space indent, a trailing newline (internal/cli/config.go, metaflowConfigJSON).
func profileText(t *testing.T, output string) string {
	var obj map[string]any
	if err := json.Unmarshal([]byte(output), &obj); err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(obj, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

func imageTag(image string) string {
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[i+1:]
	}
	return "latest"
}

func envMap(env []corev1.EnvVar) map[string]string {
	m := map[string]string{}
	for _, e := range env {
		m[e.Name] = e.Value
	}
	return m
}

// migrate runs the plan's migration Job container: its command, its env, in the image layout,
// with goose where the image has it (/usr/local/bin).
func (r *tierRun) migrate() {
	t := r.t
	c := r.facts.containers["migrations"]
	cenv, err := r.facts.env(c)
	if err != nil {
		t.Fatal(err)
	}
	gooseDir := filepath.Dir(shared.goose)
	out, err := r.sb.run(r.ctx, spec{name: "migrations", argv: append(c.Command, c.Args...), dir: r.layout.workdir,
		env: imageEnv(r.layout, cenv),
		// goose first: the tools cache may live under /root, which the next mount covers.
		mounts: []mount{{gooseDir, "/usr/local/bin"}, {r.layout.root, "/root"}, {r.layout.opt, "/opt"}}})
	if err != nil {
		t.Fatalf("the migration Job's container failed: %v\n%s", err, out)
	}
	if !strings.Contains(out, "goose: no migrations to run") && !strings.Contains(out, "successfully migrated database to version") {
		t.Fatalf("the migration Job's container did not migrate the database:\n%s", out)
	}
	t.Logf("migrations: %s", lastLine(out))
}

// metadataService runs the plan's metadata-service container and checks it is the tag's release.
func (r *tierRun) metadataService(tag string) {
	t := r.t
	c := r.facts.containers["metadata-service"]
	cenv, err := r.facts.env(c)
	if err != nil {
		t.Fatal(err)
	}
	p := r.sb.start(spec{name: "metadata-service", argv: append(c.Command, c.Args...), dir: r.layout.workdir,
		env: imageEnv(r.layout, cenv), mounts: []mount{{r.layout.root, "/root"}, {r.layout.opt, "/opt"}}})
	port := fmt.Sprint(images.MetadataPort)
	r.sb.waitPort(p, "127.0.0.1:"+port, 60*time.Second)
	version := r.get(t, "http://127.0.0.1:"+port+"/version")
	if strings.TrimSpace(version) != strings.TrimPrefix(tag, "v") {
		t.Fatalf("the metadata service reports version %q; the plan deploys tag %s", version, tag)
	}
}

// get fetches a URL inside the sandbox.
func (r *tierRun) get(t *testing.T, u string) string {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) { return r.sb.dial(addr) },
	}}
	resp, err := client.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", u, resp.Status, body)
	}
	return string(body)
}

// serveTLS serves h on addr in the sandbox with a certificate for host.
func (r *tierRun) serveTLS(addr, host string, h http.Handler) {
	t := r.t
	certPEM, keyPEM, err := r.sb.ca.serving(host)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := r.sb.listen(addr)
	if err != nil {
		t.Fatalf("listen on %s in the sandbox: %v", addr, err)
	}
	srv := &http.Server{Handler: h, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
}

// blobAdmin runs Python with a BlobServiceClient `svc` on the account key: the tier's own view
// of the storage account, not Metaflow's.
func (r *tierRun) blobAdmin(code string) string {
	r.t.Helper()
	script := fmt.Sprintf(`import os
from azure.storage.blob import BlobServiceClient
svc = BlobServiceClient(os.environ["ENDPOINT"], credential={"account_name": os.environ["ACCOUNT"], "account_key": os.environ["KEY"]})
%s
`, code)
	out, err := r.sb.run(r.ctx, spec{name: "blob-admin", argv: []string{shared.python, "-c", script},
		env: []string{"PATH=/usr/bin:/bin", "ENDPOINT=" + r.facts.profile["METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT"], "ACCOUNT=" + r.account, "KEY=" + r.key,
			"REQUESTS_CA_BUNDLE=" + r.sb.caBundle, "SSL_CERT_FILE=" + r.sb.caBundle}})
	if err != nil {
		r.t.Fatalf("blob admin %q: %v\n%s", code, err, out)
	}
	return out
}

// asTask is the environment of a Metaflow task pod on the stack: the task ServiceAccount's
// workload identity as the webhook injects it, and the projected token for that ServiceAccount.
func (r *tierRun) asTask(namespace, serviceAccount string) ([]string, map[string][]byte) {
	r.t.Helper()
	f := r.facts
	clientID := f.clientIDOf(namespace, serviceAccount)
	if clientID == "" {
		r.t.Fatalf("the plan's ServiceAccount %s/%s has no workload identity client ID annotation", namespace, serviceAccount)
	}
	token, err := r.issuer.projectedToken(namespace, serviceAccount, "api://AzureADTokenExchange")
	if err != nil {
		r.t.Fatal(err)
	}
	return workloadIdentityEnv(clientID, f.tenantID), map[string][]byte{tokenFile: []byte(token)}
}

// metaflow runs the Metaflow client with the profile in the sandbox as the task identity.
func (r *tierRun) metaflow(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return r.metaflowEnv(t, nil, args...)
}

// metaflowEnv is metaflow with more environment.
func (r *tierRun) metaflowEnv(t *testing.T, extra []string, args ...string) (string, error) {
	t.Helper()
	wi, files := r.asTask(r.facts.profile["METAFLOW_KUBERNETES_NAMESPACE"], r.facts.profile["METAFLOW_KUBERNETES_SERVICE_ACCOUNT"])
	env := append([]string{
		"PATH=" + filepath.Dir(r.client) + ":/usr/bin:/bin", "HOME=" + r.sb.dir, "LANG=C.UTF-8",
		"METAFLOW_HOME=" + r.home, "METAFLOW_PROFILE=" + r.facts.name, "USERNAME=metaflow-tier",
		"REQUESTS_CA_BUNDLE=" + r.sb.caBundle, "SSL_CERT_FILE=" + r.sb.caBundle,
	}, wi...)
	env = append(env, extra...)
	return r.sb.run(r.ctx, spec{name: "metaflow", argv: append([]string{r.client}, args...), dir: r.work, env: env, files: files})
}

// flowRun runs the hello flow with the service metadata provider and the Azure datastore, and
// checks where its artifacts went and that the client reads them back.
func (r *tierRun) flowRun() string {
	t := r.t
	out, err := r.metaflow(t, "hello_flow.py", "--no-pylint", "run")
	if err != nil {
		grants, refused := r.entra.grants()
		t.Fatalf("the flow failed: %v\n%s\nEntra granted %v, refused %q", err, out, grants, refused)
	}
	m := regexp.MustCompile(`\[(\d+)/start/\d+ \(pid`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no run ID in the flow's output:\n%s", out)
	}
	runID := m[1]
	if !strings.Contains(out, "metaflow-tier: end read 'hello from "+runID+"'") {
		t.Fatalf("the end step did not read the start step's artifact:\n%s", out)
	}
	// Metaflow registered the run with the metadata service, not the local metadata provider.
	run := r.get(t, fmt.Sprintf("http://127.0.0.1:%d/flows/HelloAzureFlow/runs/%s", images.MetadataPort, runID))
	if !strings.Contains(run, `"flow_id": "HelloAzureFlow"`) && !strings.Contains(run, `"flow_id":"HelloAzureFlow"`) {
		t.Errorf("the metadata service does not know run %s: %s", runID, run)
	}
	grants, refused := r.entra.grants()
	wantClient := r.facts.clientIDOf(r.facts.profile["METAFLOW_KUBERNETES_NAMESPACE"], r.facts.profile["METAFLOW_KUBERNETES_SERVICE_ACCOUNT"])
	if len(grants) == 0 || grants[0].ClientID != wantClient {
		t.Errorf("Entra granted %v (refused %q); want tokens for the task identity %s", grants, refused, wantClient)
	}
	// The artifacts are in the container under the datastore root.
	root := r.facts.profile["METAFLOW_DATASTORE_SYSROOT_AZURE"]
	container, prefix, _ := strings.Cut(root, "/")
	listing := r.blobAdmin(fmt.Sprintf(`for b in svc.get_container_client(%q).list_blobs(name_starts_with=%q): print(b.name)`, container, prefix+"/HelloAzureFlow/"))
	for _, want := range []string{prefix + "/HelloAzureFlow/data/", prefix + "/HelloAzureFlow/" + runID + "/start/"} {
		if !strings.Contains(listing, want) {
			t.Errorf("no blob under %s/%s in container %s; the flow wrote:\n%s", container, want, container, firstLines(listing, 20))
		}
	}
	// The client reads them back through the metadata service and the datastore.
	read, err := r.metaflow(t, "-c", fmt.Sprintf(`from metaflow import Run, namespace
namespace(None)
run = Run("HelloAzureFlow/%s")
print("successful=%%s message=%%s total=%%s" %% (run.successful, run.data.message, run["end"].task.data.total))`, runID))
	if err != nil {
		t.Fatalf("the client could not read the run back: %v\n%s", err, read)
	}
	if want := fmt.Sprintf("successful=True message=hello from %s total=45", runID); !strings.Contains(read, want) {
		t.Fatalf("the client read %q, want %q", lastLine(read), want)
	}
	t.Logf("flow HelloAzureFlow/%s ran; its artifacts are under %s; the client read them back", runID, root)
	return runID
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func firstLines(s string, n int) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	var b bytes.Buffer
	for i := 0; i < n && sc.Scan(); i++ {
		b.WriteString(sc.Text() + "\n")
	}
	return b.String()
}
