package azurefacts

import (
	"fmt"
	"strings"
	"unicode"
)

// PostgresPasswordSource is where the administrator password rules were read. The length and
// character classes are the Azure CLI's statement of the service rule
// (Azure/azure-cli src/azure-cli/azure/cli/command_modules/postgresql/_params.py @ 047afb0c:
// "Minimum 8 characters and maximum 128 characters. Password must contain characters from three
// of the following categories: English uppercase letters, English lowercase letters, numbers,
// and non-alphanumeric characters."). The login rule ("cannot contain all or part of the login
// name; part of a login name is defined as three or more consecutive alphanumeric characters")
// is Azure's rule for SQL administrator passwords, also printed by `az postgres ... up`; no
// PostgreSQL flexible server page states it, so the stack keeps it to be safe.
const PostgresPasswordSource = "Azure CLI postgresql _params.py @ 047afb0c; Azure SQL password policy"

// PostgresPasswordProblems lists what Azure would refuse in an administrator password.
func PostgresPasswordProblems(login, password string) []string {
	var problems []string
	if n := len([]rune(password)); n < 8 || n > 128 {
		problems = append(problems, fmt.Sprintf("has %d characters; 8 to 128 are allowed", n))
	}
	classes := 0
	for _, has := range []func(rune) bool{unicode.IsUpper, unicode.IsLower, unicode.IsDigit, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}} {
		if strings.ContainsFunc(password, has) {
			classes++
		}
	}
	if classes < 3 {
		problems = append(problems, "must contain three of: uppercase letters, lowercase letters, numbers, non-alphanumeric characters")
	}
	if part := loginPart(login, password); part != "" {
		problems = append(problems, fmt.Sprintf("contains %q, part of the login name %q", part, login))
	}
	return problems
}

// loginPart returns a run of three or more alphanumeric characters of the login that the
// password contains (case-insensitively), or "".
func loginPart(login, password string) string {
	l, p := strings.ToLower(login), strings.ToLower(password)
	alnum := func(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }
	for i := 0; i+3 <= len(l); i++ {
		if alnum(l[i]) && alnum(l[i+1]) && alnum(l[i+2]) && strings.Contains(p, l[i:i+3]) {
			return l[i : i+3]
		}
	}
	return ""
}
