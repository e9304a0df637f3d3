package program

import (
	"strings"
	"testing"

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
