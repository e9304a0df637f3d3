package infra

import (
	"testing"
	"time"
)

func TestPropagationWait(t *testing.T) {
	created := "2026-11-25T10:00:00.1234567Z" // ARM's seven fractional digits
	base := time.Date(2026, time.November, 25, 10, 0, 0, 123456700, time.UTC)
	for _, tc := range []struct {
		now  time.Time
		want time.Duration
	}{
		{base, RoleAssignmentPropagation},
		{base.Add(4 * time.Minute), RoleAssignmentPropagation - 4*time.Minute},
		{base.Add(RoleAssignmentPropagation), 0},
		{base.Add(30 * 24 * time.Hour), 0},
	} {
		got, err := PropagationWait(created, tc.now)
		if err != nil || got != tc.want {
			t.Errorf("at %s: %v, %v; want %v", tc.now, got, err, tc.want)
		}
	}
	if _, err := PropagationWait("yesterday", base); err == nil {
		t.Error("an unreadable createdOn was accepted")
	}
}
