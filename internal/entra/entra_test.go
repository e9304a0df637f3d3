package entra

import (
	"encoding/base64"
	"testing"
)

func jwt(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc([]byte(claims)) + ".sig"
}

func TestPrincipalType(t *testing.T) {
	for claims, want := range map[string]string{
		`{"oid":"o","scp":"user_impersonation","upn":"alice@contoso.com"}`: User,
		`{"oid":"o","idtyp":"app","appid":"a"}`:                            ServicePrincipal,
		`{"oid":"o","appid":"a","roles":["x"]}`:                            ServicePrincipal,
		`{"oid":"o","idtyp":"user"}`:                                       User,
	} {
		got, err := PrincipalType(jwt(claims))
		if err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", claims, got, err, want)
		}
	}
	for _, bad := range []string{"", "not-a-jwt", "a.!!!.c", jwt("not json")} {
		if _, err := PrincipalType(bad); err == nil {
			t.Errorf("%q was read as a token", bad)
		}
	}
}
