package azurefacts

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The reference notes record each fact with two independent sources. They sit beside the
// repository (../shared from its root), in CI too; these tests compare every table of this
// package with them, so a fact mistyped here fails.
func referenceNote(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join("..", "..", "..", "shared", "reference", name)
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("%s is not beside this checkout; the facts are compared with it in CI", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// tableRows returns the cells of every markdown table row whose first cell matches.
func tableRows(doc string, first *regexp.Regexp) [][]string {
	var rows [][]string
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if first.MatchString(cells[0]) {
			rows = append(rows, cells)
		}
	}
	return rows
}

func TestBuiltInRolesMatchMicrosoftsTable(t *testing.T) {
	doc := referenceNote(t, "azure-builtin-roles.md")
	published := map[string]string{}
	for _, row := range tableRows(doc, regexp.MustCompile(`^[A-Z]`)) {
		if len(row) >= 2 {
			published[row[0]] = strings.Trim(row[1], "`")
		}
	}
	for _, r := range BuiltInRoles() {
		want, ok := published[r.Name]
		switch {
		case !ok:
			t.Errorf("role %q is not in Microsoft's built-in roles table (azure-builtin-roles.md); use its exact name", r.Name)
		case want != r.GUID:
			t.Errorf("role %q: GUID %s here, %s in Microsoft's table", r.Name, r.GUID, want)
		}
	}
}

func TestRoleName(t *testing.T) {
	id := "/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/" + RoleAKSClusterUser
	if name, ok := RoleName(id); !ok || name != "Azure Kubernetes Service Cluster User Role" {
		t.Errorf("RoleName(%s) = %q, %v", id, name, ok)
	}
	// The GUID the stack once shipped, one segment wrong.
	if name, ok := RoleName("4abbcc35-e782-43d8-92c5-2d3473bec4f1"); ok {
		t.Errorf("a mistyped GUID resolved to %q", name)
	}
}

func TestRegionsMatchTheRegionsList(t *testing.T) {
	doc := referenceNote(t, "azure-regions.md")
	rows := tableRows(doc, regexp.MustCompile(`^[a-z]+[0-9]?$`))
	seen := map[string]bool{}
	for _, row := range rows {
		if len(row) < 3 || !regexp.MustCompile(`^(\*\*)?(yes|no)\b`).MatchString(row[1]) {
			continue // a header row
		}
		name := row[0]
		zones := strings.HasPrefix(strings.Trim(row[1], "*"), "yes")
		pair := strings.Fields(strings.Trim(row[2], "*"))[0]
		if pair == "none" {
			pair = ""
		}
		seen[name] = true
		got, ok := LookupRegion(name)
		if !ok {
			t.Errorf("region %s is in the reference but not in knownRegions", name)
			continue
		}
		if got.Zones != zones || got.Pair != pair {
			t.Errorf("region %s: zones=%v pair=%q here, zones=%v pair=%q in the regions list", name, got.Zones, got.Pair, zones, pair)
		}
	}
	for _, r := range knownRegions() {
		if !seen[r.Name] {
			t.Errorf("region %s has capabilities here that the reference does not confirm", r.Name)
		}
	}
	if len(seen) < 30 {
		t.Fatalf("read only %d regions from the reference; the table format changed", len(seen))
	}
}

var monthYear = regexp.MustCompile(`^(?:\*\*)?([A-Z][a-z]{2}) (\d{4})`)
var monthDayYear = regexp.MustCompile(`^([A-Z][a-z]{2}) (\d{1,2}), (\d{4})`)

func TestKubernetesCalendarMatchesMicrosofts(t *testing.T) {
	doc := referenceNote(t, "azure-regions.md")
	rows := tableRows(doc, regexp.MustCompile(`^1\.\d+$`))
	if len(rows) < 6 {
		t.Fatalf("read only %d AKS calendar rows from the reference", len(rows))
	}
	for _, row := range rows {
		var minor int
		if _, err := fmtSscan(row[0], &minor); err != nil {
			t.Fatal(err)
		}
		ends := row[2]
		var want time.Time
		if m := monthDayYear.FindStringSubmatch(ends); m != nil {
			want = mustParse(t, "Jan 2 2006", m[1]+" "+m[2]+" "+m[3])
		} else if m := monthYear.FindStringSubmatch(ends); m != nil {
			want = mustParse(t, "Jan 2006", m[1]+" "+m[2])
		} else {
			t.Fatalf("cannot read the end of support %q of 1.%d", ends, minor)
		}
		var got *kubernetesMinor
		for _, k := range kubernetesCalendar() {
			if k.minor == minor {
				got = &k
			}
		}
		if got == nil {
			t.Errorf("1.%d is in Microsoft's calendar but not here", minor)
			continue
		}
		if !got.ends.Equal(want) {
			t.Errorf("1.%d: standard support ends %s here, %s in the calendar", minor, got.ends.Format("2006-01-02"), want.Format("2006-01-02"))
		}
		preview := strings.Contains(row[1], "planned") || strings.Contains(row[4], "GA not confirmed")
		if got.ga == preview {
			t.Errorf("1.%d: ga=%v here, but the calendar says %q", minor, got.ga, row[1])
		}
	}
}

func TestPostgresCalendarMatchesMicrosofts(t *testing.T) {
	doc := referenceNote(t, "azure-regions.md")
	rows := tableRows(doc, regexp.MustCompile(`^1[1-8]$`))
	if len(rows) < 8 {
		t.Fatalf("read only %d PostgreSQL calendar rows from the reference", len(rows))
	}
	for _, row := range rows {
		var major int
		if _, err := fmtSscan(row[0], &major); err != nil {
			t.Fatal(err)
		}
		want := mustParse(t, "2-Jan-2006", strings.Fields(row[1])[0])
		if major == 14 {
			// The page contradicts itself; the stack takes the extended-support table's
			// "Azure standard support end", which the reference quotes in the note cell.
			if !strings.Contains(row[2], "Dec 11, 2026") {
				t.Fatalf("the reference no longer gives Dec 11, 2026 for PostgreSQL 14: %q", row[2])
			}
			want = day(2026, time.December, 11)
		}
		found := false
		for _, p := range postgresCalendar() {
			if p.major == major {
				found = true
				if !p.ends.Equal(want) {
					t.Errorf("PostgreSQL %d: support ends %s here, %s in Microsoft's policy", major, p.ends.Format("2006-01-02"), want.Format("2006-01-02"))
				}
				if p.preview != strings.Contains(row[2], "Preview") {
					t.Errorf("PostgreSQL %d: preview=%v here, the policy says %q", major, p.preview, row[2])
				}
			}
		}
		if !found {
			t.Errorf("PostgreSQL %d is in Microsoft's policy but not here", major)
		}
	}
}

func TestVersionStatusOnADay(t *testing.T) {
	today := day(2026, time.November, 25)
	for _, tc := range []struct {
		minor int
		want  Support
	}{{33, Unsupported}, {34, Unsupported}, {35, Supported}, {36, Supported}, {37, Unsupported}, {40, Unsupported}} {
		if got := KubernetesMinorStatus(tc.minor, today); got.Support != tc.want {
			t.Errorf("1.%d on %s: %v (%s), want %v", tc.minor, today.Format("2006-01-02"), got.Support, got.Why, tc.want)
		}
	}
	if got := KubernetesMinorStatus(35, day(2026, time.December, 15)); got.Support != EndingSoon {
		t.Errorf("1.35 78 days before its end: %v, want EndingSoon", got.Support)
	}
	for _, tc := range []struct {
		major int
		want  Support
	}{{13, Unsupported}, {14, EndingSoon}, {15, Supported}, {16, Supported}, {17, Supported}, {18, Unsupported}} {
		if got := PostgresMajorStatus(tc.major, today); got.Support != tc.want {
			t.Errorf("PostgreSQL %d on %s: %v (%s), want %v", tc.major, today.Format("2006-01-02"), got.Support, got.Why, tc.want)
		}
	}
	if got := PostgresMajorStatus(14, day(2026, time.December, 11)); got.Support != Unsupported {
		t.Errorf("PostgreSQL 14 on its end date: %v, want Unsupported", got.Support)
	}
}

func mustParse(t *testing.T, layout, value string) time.Time {
	t.Helper()
	v, err := time.Parse(layout, value)
	if err != nil {
		t.Fatalf("parsing %q: %v", value, err)
	}
	return v
}

func fmtSscan(s string, v *int) (int, error) {
	s = strings.TrimPrefix(s, "1.")
	n, err := strconv.Atoi(s)
	*v = n
	return n, err
}
