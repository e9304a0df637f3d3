package infra

import (
	"math/rand/v2"
	"testing"

	"metaflow-azure/internal/azurefacts"
)

// randomPassword draws passwords the way the stack's random.RandomPassword is configured:
// 32 characters of upper, lower, digits and passwordSpecials, at least two of each.
func randomPassword(r *rand.Rand) string {
	const upper, lower, digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz", "0123456789"
	all := upper + lower + digits + passwordSpecials
	var b []byte
	for _, set := range []string{upper, lower, digits, passwordSpecials} {
		b = append(b, set[r.IntN(len(set))], set[r.IntN(len(set))])
	}
	for len(b) < 32 {
		b = append(b, all[r.IntN(len(all))])
	}
	r.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
	return string(b)
}

func TestAdminPasswordNeverContainsPartOfTheLogin(t *testing.T) {
	const login = "metaflowadmin"
	r := rand.New(rand.NewPCG(1, 2))
	raw, broken := 0, 0
	const n = 200_000
	for range n {
		p := randomPassword(r)
		if len(azurefacts.PostgresPasswordProblems(login, p)) > 0 {
			raw++
		}
		if problems := azurefacts.PostgresPasswordProblems(login, BreakAlphanumericRuns(p)); len(problems) > 0 {
			broken++
			if broken < 3 {
				t.Errorf("%q → %q: %v", p, BreakAlphanumericRuns(p), problems)
			}
		}
	}
	// Without the guard Azure would refuse some: the check above must be able to fail.
	if raw == 0 {
		t.Fatalf("no raw password of %d broke the login rule; the simulation proves nothing", n)
	}
	t.Logf("%d of %d raw passwords (%.2f%%) contain part of %q; %d after BreakAlphanumericRuns", raw, n, 100*float64(raw)/n, login, broken)
}

func TestBreakAlphanumericRuns(t *testing.T) {
	for in, want := range map[string]string{
		"abcdef":    "ab.cd.ef",
		"ab-cd":     "ab-cd",
		"a1b2c3~Zz": "a1.b2.c3~Zz",
		"":          "",
	} {
		if got := BreakAlphanumericRuns(in); got != want {
			t.Errorf("BreakAlphanumericRuns(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDNSServiceIP(t *testing.T) {
	for cidr, want := range map[string]string{"10.0.0.0/16": "10.0.0.10", "10.2.0.0/28": "10.2.0.10", "172.16.1.0/24": "172.16.1.10"} {
		if got, err := DNSServiceIP(cidr); err != nil || got != want {
			t.Errorf("DNSServiceIP(%s) = %q, %v; want %s", cidr, got, err, want)
		}
	}
	if got, err := DNSServiceIP("10.2.0.0/29"); err == nil {
		t.Errorf("a /29 gave %s, outside the range", got)
	}
}
