// Package testday is the day the tests run the program on. The program checks the Kubernetes and
// PostgreSQL versions it is given against Microsoft's support calendars as of the current day
// (program.EnvToday), so a test that used the real day would start failing, with no commit, on
// the day a version the example stacks pin leaves support (1.36: 2027-06-01).
package testday

import "os"

// Day is the pinned day, YYYY-MM-DD.
const Day = "2026-12-04"

// EnvToday is the variable the program reads the day from (program.EnvToday; repeated here so
// that packages without the Azure SDKs can pin it).
const EnvToday = "METAFLOW_AZURE_TODAY"

// Pin sets the day for this process and the processes it starts, unless a run asks for another.
func Pin() {
	if os.Getenv(EnvToday) == "" {
		os.Setenv(EnvToday, Day)
	}
}
