package tests

import (
	"os"
	"strings"
	"testing"
	"time"

	"metaflow-azure/internal/program"
	"metaflow-azure/internal/testday"
)

func TestMain(m *testing.M) {
	testday.Pin()
	os.Exit(m.Run())
}

// The tests pin the day through the variable the program reads.
func TestPinnedDayIsTheProgramsInput(t *testing.T) {
	if testday.EnvToday != program.EnvToday {
		t.Fatalf("testday sets %s, the program reads %s", testday.EnvToday, program.EnvToday)
	}
	day, err := program.Today(os.Getenv)
	if err != nil || day.Format(time.DateOnly) != testday.Day {
		t.Fatalf("the program's day is %v (%v), want %s", day, err, testday.Day)
	}
	if _, err := program.Today(func(string) string { return "4 Dec 2026" }); err == nil || !strings.Contains(err.Error(), program.EnvToday) {
		t.Errorf("a day that is not a date must be refused naming %s: %v", program.EnvToday, err)
	}
}
