// Package entra reads what the stack needs to know about the identity that deploys it from the
// Microsoft Entra access token its Azure provider signs in with.
package entra

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// Principal types as Azure role assignments name them.
const (
	User             = "User"
	ServicePrincipal = "ServicePrincipal"
)

// PrincipalType says whether an access token was issued to a user (delegated) or to an
// application (a service principal or managed identity). Microsoft's access token claims
// reference (MicrosoftDocs/entra-docs docs/identity-platform/access-token-claims-reference.md
// @ 003f1aad, https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference):
// `scp` is "Only included for user tokens", and the optional `idtyp` claim "identifies whether
// the token is an app or app+user token".
// A role assignment whose principalType does not match its principal is refused by ARM
// (UnmatchedPrincipalType), so the deployer's own assignment must say which it is.
func PrincipalType(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("the Azure access token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", fmt.Errorf("decoding the Azure access token: %w", err)
	}
	var claims struct {
		Scp   string `json:"scp"`
		Idtyp string `json:"idtyp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", fmt.Errorf("reading the Azure access token's claims: %w", err)
	}
	switch {
	case claims.Idtyp == "app":
		return ServicePrincipal, nil
	case claims.Scp != "" || claims.Idtyp == "user":
		return User, nil
	}
	return ServicePrincipal, nil
}
