package deployerrole

import (
	"os"
	"testing"

	"metaflow-azure/internal/testday"
)

func TestMain(m *testing.M) {
	testday.Pin()
	os.Exit(m.Run())
}
