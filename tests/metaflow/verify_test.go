//go:build metaflow

package metaflow

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"metaflow-azure/internal/images"
)

// verifyTask runs the task check of `metaflow-azure verify` (internal/verify/task.py, the script
// its Job runs) as the task identity with the environment its Job gives it, against the real
// metadata service and the storage emulator: it must get a token, write and read a blob under
// the datastore root and register a run the metadata service then has.
func (r *tierRun) verifyTask(t *testing.T) {
	script, err := os.ReadFile(filepath.Join(shared.root, "internal", "verify", "task.py"))
	if err != nil {
		t.Fatal(err)
	}
	internal, err := url.Parse(r.facts.profile["METAFLOW_SERVICE_INTERNAL_URL"])
	if err != nil || internal.Hostname() == "" {
		t.Fatalf("the profile's METAFLOW_SERVICE_INTERNAL_URL %q is not a URL", r.facts.profile["METAFLOW_SERVICE_INTERNAL_URL"])
	}
	r.sb.mapHost(internal.Hostname(), "127.0.0.1")
	before, _ := r.entra.grants()
	out, err := r.metaflowEnv(t, []string{
		// What verify's Job sets (internal/verify, checkTaskPod).
		"METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT=" + r.facts.profile["METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT"],
		"METAFLOW_DATASTORE_SYSROOT_AZURE=" + r.facts.profile["METAFLOW_DATASTORE_SYSROOT_AZURE"],
		"METAFLOW_SERVICE_URL=" + r.facts.profile["METAFLOW_SERVICE_INTERNAL_URL"],
		"VERIFY_ID=tier" + r.facts.name,
	}, "-c", string(script))
	if err != nil {
		t.Fatalf("the verify task script failed: %v\n%s", err, out)
	}
	var res struct {
		Token bool   `json:"token"`
		Blob  string `json:"blob"`
		Run   string `json:"run"`
	}
	if err := json.Unmarshal([]byte(lastLine(out)), &res); err != nil || !res.Token || res.Blob == "" || res.Run == "" {
		t.Fatalf("the verify task script printed %q", lastLine(out))
	}
	after, _ := r.entra.grants()
	if len(after) <= len(before) {
		t.Errorf("the script got no token from Entra")
	}
	runNumber := strings.TrimPrefix(res.Run, "MetaflowAzureVerify/")
	got := r.get(t, fmt.Sprintf("http://127.0.0.1:%d/flows/MetaflowAzureVerify/runs/%s", images.MetadataPort, runNumber))
	if !strings.Contains(got, "verify:tier"+r.facts.name) {
		t.Errorf("the metadata service has run %s as %s", res.Run, got)
	}
	// The script deleted its blob.
	container, _, _ := strings.Cut(r.facts.profile["METAFLOW_DATASTORE_SYSROOT_AZURE"], "/")
	left := r.blobAdmin(fmt.Sprintf(`print(len(list(svc.get_container_client(%q).list_blobs(name_starts_with=%q))))`, container, strings.TrimPrefix(res.Blob, container+"/")))
	if strings.TrimSpace(left) != "0" {
		t.Errorf("the verify task script left its blob %s", res.Blob)
	}
	t.Logf("verify task: %s", lastLine(out))
}
