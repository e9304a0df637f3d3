package program

import (
	"strings"
	"testing"
	"time"

	"metaflow-azure/internal/fakeazure"
)

// The in-process program sees only the keys it is told about; a misspelt top-level key named
// by the stack file must still fail.
func TestRunWithKeysReportsUnknownTopLevelKeys(t *testing.T) {
	t.Parallel()
	config := map[string]string{
		"metaflow-azure:location":   "westeurope",
		"metaflow-azure:namePrefix": "acme",
		"metaflow-azure:postgress":  `{"version":"16"}`,
	}
	err := fakeazure.New("metaflow-azure", "dev").Run(config, RunWithKeys([]string{"metaflow-azure:postgress"}))
	if err == nil || !strings.Contains(err.Error(), `metaflow-azure:postgress: is not a setting (did you mean "postgres"?)`) {
		t.Errorf("want the misspelt key reported, got %v", err)
	}
}

func TestTags(t *testing.T) {
	t.Parallel()
	tags := Tags(map[string]string{"team": "ml"}, "dev")
	if tags["team"] != "ml" || tags["environment"] != "dev" || tags["managed-by"] == "" || len(tags) != 3 {
		t.Errorf("tags %v", tags)
	}
}

func TestSecretExpiryWarning(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		expiry string
		want   string // substring; "" means no warning
	}{
		{"", ""},
		{now.Add(31 * 24 * time.Hour).Format(time.RFC3339), ""},
		{now.Add(30 * 24 * time.Hour).Format(time.RFC3339), "expires on 2026-12-25 (in 30 days)"},
		{now.Add(36 * time.Hour).Format(time.RFC3339), "(in 1 day)"},
		{now.Add(-time.Hour).Format(time.RFC3339), "expired on 2026-11-25"},
		{"not a date", "is not a date"},
	} {
		got := SecretExpiryWarning(c.expiry, now)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("SecretExpiryWarning(%q) = %q, want %q", c.expiry, got, c.want)
		}
	}
}
