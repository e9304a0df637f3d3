package azurefacts

import (
	"testing"
	"time"
)

// A budget starts on the first of the month (UTC) it is created in.
func TestBudgetStart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		day  time.Time
		want string
	}{
		{time.Date(2026, time.November, 25, 21, 0, 0, 0, time.UTC), "2026-11-01T00:00:00Z"},
		{time.Date(2026, time.November, 1, 0, 0, 0, 0, time.UTC), "2026-11-01T00:00:00Z"},
		// 30 November 23:30 in New York is already 1 December in UTC.
		{time.Date(2026, time.November, 30, 23, 30, 0, 0, time.FixedZone("EST", -5*3600)), "2026-12-01T00:00:00Z"},
		{time.Date(2027, time.January, 31, 12, 0, 0, 0, time.UTC), "2027-01-01T00:00:00Z"},
	} {
		if got := BudgetStart(tc.day); got != tc.want {
			t.Errorf("BudgetStart(%s) = %s, want %s", tc.day, got, tc.want)
		}
	}
}
