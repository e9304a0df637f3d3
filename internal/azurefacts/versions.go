package azurefacts

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// SupportWarningWindow is how long before a version's end of support the stack starts warning.
const SupportWarningWindow = 90 * 24 * time.Hour

// Support is a version's standing on a given day.
type Support int

const (
	// Supported: generally available and more than SupportWarningWindow before its end.
	Supported Support = iota
	// EndingSoon: still supported, but its end is within SupportWarningWindow.
	EndingSoon
	// Unsupported: past its end, not generally available, or unknown; new deployments are refused.
	Unsupported
)

// VersionStatus is a version's standing with the reason, worded for an error or warning.
type VersionStatus struct {
	Support Support
	// Ends is the end of standard support; zero when unknown.
	Ends time.Time
	// Why says what the calendar says, with its source.
	Why string
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// kubernetesMinor is one AKS Kubernetes minor version in Microsoft's calendar.
type kubernetesMinor struct {
	minor int
	// ga is false for a minor in preview on AKS.
	ga bool
	// ends is the end of AKS community (standard) support. The calendar gives a month; the stack
	// takes the first day of it, so it never creates a cluster on a version leaving support that
	// month.
	ends time.Time
	// ltsOnly: past standard support, offered only as Long Term Support (Premium tier).
	ltsOnly bool
}

// KubernetesCalendarSource is where kubernetesCalendar was read.
const KubernetesCalendarSource = "AKS Kubernetes release calendar: MicrosoftDocs/azure-aks-docs articles/aks/supported-kubernetes-versions.md (ms.date 2026-08-05), https://learn.microsoft.com/azure/aks/supported-kubernetes-versions; GA dates confirmed in Azure/AKS CHANGELOG.md (2026-08-07) and release 2026-09-04"

// kubernetesCalendar is the AKS calendar as of late 2026 (../shared/reference/azure-regions.md).
func kubernetesCalendar() []kubernetesMinor {
	return []kubernetesMinor{
		{minor: 30, ga: true, ends: day(2025, time.August, 22), ltsOnly: true},
		{minor: 31, ga: true, ends: day(2025, time.November, 1), ltsOnly: true},
		{minor: 32, ga: true, ends: day(2026, time.March, 1), ltsOnly: true},
		{minor: 33, ga: true, ends: day(2026, time.July, 1), ltsOnly: true},
		{minor: 34, ga: true, ends: day(2026, time.November, 1)},
		{minor: 35, ga: true, ends: day(2027, time.March, 1)},
		{minor: 36, ga: true, ends: day(2027, time.June, 1)},
		// CHANGELOG 2026-09-04: "1.37 Preview is being rolled out"; GA planned for Oct 2026 but
		// not confirmed by any source read.
		{minor: 37, ga: false, ends: day(2027, time.October, 1)},
	}
}

// KubernetesMinorStatus is an AKS Kubernetes minor version's standing on a day, for a cluster
// without Long Term Support (the stack offers the Free and Standard tiers only).
func KubernetesMinorStatus(minor int, today time.Time) VersionStatus {
	cal := kubernetesCalendar()
	i := slices.IndexFunc(cal, func(k kubernetesMinor) bool { return k.minor == minor })
	if i < 0 {
		newest := cal[len(cal)-1].minor
		if minor > newest {
			return VersionStatus{Support: Unsupported, Why: fmt.Sprintf("1.%d is newer than any version in the AKS calendar this stack knows (up to 1.%d; %s)", minor, newest, KubernetesCalendarSource)}
		}
		return VersionStatus{Support: Unsupported, Why: fmt.Sprintf("1.%d is past the end of AKS support", minor)}
	}
	k := cal[i]
	switch {
	case !k.ga:
		return VersionStatus{Support: Unsupported, Ends: k.ends, Why: fmt.Sprintf("1.%d is in preview on AKS, not generally available", minor)}
	case k.ltsOnly || !today.Before(k.ends):
		why := fmt.Sprintf("1.%d left AKS standard support on %s", minor, k.ends.Format("2006-01-02"))
		if k.ltsOnly {
			why += " and is offered only with Long Term Support (Premium tier), which this stack does not set"
		}
		return VersionStatus{Support: Unsupported, Ends: k.ends, Why: why}
	case k.ends.Sub(today) <= SupportWarningWindow:
		return VersionStatus{Support: EndingSoon, Ends: k.ends, Why: fmt.Sprintf("1.%d leaves AKS standard support on %s", minor, k.ends.Format("2006-01-02"))}
	}
	return VersionStatus{Support: Supported, Ends: k.ends, Why: fmt.Sprintf("1.%d is supported until %s", minor, k.ends.Format("2006-01-02"))}
}

// SupportedKubernetesMinors lists the minors that are Supported or EndingSoon on a day.
func SupportedKubernetesMinors(today time.Time) []string {
	var out []string
	for _, k := range kubernetesCalendar() {
		if KubernetesMinorStatus(k.minor, today).Support != Unsupported {
			out = append(out, "1."+strconv.Itoa(k.minor))
		}
	}
	return out
}

// postgresMajor is one PostgreSQL major version on Azure Database for PostgreSQL flexible server.
type postgresMajor struct {
	major int
	// ends is the end of Azure standard support.
	ends time.Time
	// preview: not generally available on Azure.
	preview bool
}

// PostgresCalendarSource is where postgresCalendar was read.
const PostgresCalendarSource = "Azure Database for PostgreSQL version policy: MicrosoftDocs/azure-databases-docs articles/postgresql/flexible-server/concepts-version-policy.md @ 1442950f (ms.date 2025-12-08)"

// postgresCalendar: for 14 the page contradicts itself (main table 2026-11-12, extended-support
// table "Azure standard support end Dec 11, 2026"); the stack takes the extended-support table's
// date, which is the one stated as the standard-support end, and warns from 90 days before it.
func postgresCalendar() []postgresMajor {
	return []postgresMajor{
		{major: 11, ends: day(2026, time.March, 31)},
		{major: 12, ends: day(2026, time.March, 31)},
		{major: 13, ends: day(2026, time.March, 31)},
		{major: 14, ends: day(2026, time.December, 11)},
		{major: 15, ends: day(2027, time.November, 11)},
		{major: 16, ends: day(2028, time.November, 9)},
		{major: 17, ends: day(2029, time.November, 8)},
		{major: 18, ends: day(2030, time.November, 14), preview: true},
	}
}

// PostgresMajorStatus is a PostgreSQL major version's standing on Azure on a day.
func PostgresMajorStatus(major int, today time.Time) VersionStatus {
	cal := postgresCalendar()
	i := slices.IndexFunc(cal, func(p postgresMajor) bool { return p.major == major })
	if i < 0 {
		return VersionStatus{Support: Unsupported, Why: fmt.Sprintf("PostgreSQL %d is not in Azure's version calendar", major)}
	}
	p := cal[i]
	switch {
	case p.preview:
		return VersionStatus{Support: Unsupported, Ends: p.ends, Why: fmt.Sprintf("PostgreSQL %d is in preview on Azure", major)}
	case !today.Before(p.ends):
		return VersionStatus{Support: Unsupported, Ends: p.ends, Why: fmt.Sprintf("PostgreSQL %d left Azure standard support on %s (servers on it are billed for extended support)", major, p.ends.Format("2006-01-02"))}
	case p.ends.Sub(today) <= SupportWarningWindow:
		return VersionStatus{Support: EndingSoon, Ends: p.ends, Why: fmt.Sprintf("PostgreSQL %d leaves Azure standard support on %s; after it Azure bills extended support", major, p.ends.Format("2006-01-02"))}
	}
	return VersionStatus{Support: Supported, Ends: p.ends, Why: fmt.Sprintf("PostgreSQL %d is supported until %s", major, p.ends.Format("2006-01-02"))}
}
