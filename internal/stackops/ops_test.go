package stackops

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDiagnostics(t *testing.T) {
	// The shape of a failed `pulumi preview` of an inline program whose result is a multi-error.
	text := `failed to run preview: exit status 255
code: 255
stdout: Previewing update (dev):

    pulumi:pulumi:Stack metaflow-azure-dev running error: an unhandled error occurred: 1 error occurred:
Diagnostics:
  pulumi:pulumi:Stack (metaflow-azure-dev):
    error: an unhandled error occurred: 2 errors occurred:
    	* invalid settings: metaflow-azure:location: "mars" is not an Azure region name
    	* metaflow-azure:namePrefix: is required

Resources:
    1 errored

stderr: error: preview failed
`
	got := diagnostics(text)
	want := []string{`invalid settings: metaflow-azure:location: "mars" is not an Azure region name; metaflow-azure:namePrefix: is required`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("diagnostics:\n got %q\nwant %q", got, want)
	}
	if got := diagnostics("stderr: error: no stack named 'dev' found\n"); !reflect.DeepEqual(got, []string{"no stack named 'dev' found"}) {
		t.Errorf("one-line diagnostic: %q", got)
	}
}

func TestSummary(t *testing.T) {
	s := Summary{"same": 3, "create": 2, "delete": 1}
	if got := s.Done(); got != "2 created, 1 deleted, 3 unchanged" {
		t.Errorf("Done: %q", got)
	}
	if got := s.Planned(); got != "2 to create, 1 to delete, 3 unchanged" {
		t.Errorf("Planned: %q", got)
	}
	if !s.Changes() || (Summary{"same": 2}).Changes() {
		t.Error("Changes")
	}
	if got := (Summary{}).Done(); got != "no resources" {
		t.Errorf("empty: %q", got)
	}
}

func TestDefaultBackendURL(t *testing.T) {
	env := map[string]string{"HOME": "/home/u"}
	get := func(k string) string { return env[k] }
	if u, _ := DefaultBackendURL(get); u != "file:///home/u/.local/state/metaflow-azure/pulumi" {
		t.Errorf("default: %s", u)
	}
	env["XDG_STATE_HOME"] = "/state"
	if u, _ := DefaultBackendURL(get); u != "file:///state/metaflow-azure/pulumi" {
		t.Errorf("XDG_STATE_HOME: %s", u)
	}
}

// An operation that failed before the engine ran has no "error:" line; its message must still
// carry what the CLI said, not only "see the output above" when nothing was shown.
func TestOpErrorWithoutDiagnosticsSaysWhy(t *testing.T) {
	cause := errors.New("failed to run update: exit status 255\ncode: 255\nstdout: \nstderr: warning: A new version of Pulumi is available.\ncould not deserialize deployment: unexpected end of JSON input\n")
	msg := (&OpError{Verb: "updating", Stack: "dev", Err: cause}).Error()
	if !strings.Contains(msg, "could not deserialize deployment: unexpected end of JSON input") || strings.Contains(msg, "see the output above") {
		t.Errorf("the message drops the CLI's reason: %s", msg)
	}
	if msg := (&OpError{Verb: "updating", Stack: "dev", Diagnostics: []string{"boom"}, Err: cause}).Error(); msg != `updating stack "dev": boom` {
		t.Errorf("with diagnostics: %s", msg)
	}
}
