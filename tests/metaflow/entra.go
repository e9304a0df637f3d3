//go:build metaflow

package metaflow

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// The workload identity webhook's injection, as Azure/azure-workload-identity v1.5.1 does it
// (pkg/webhook/consts.go:49-58, webhook.go:390-395): the four variables and the projected token's
// path. The k8sapi tier runs that webhook and checks what it injects into the plan's pods.
const (
	tokenDir       = "/var/run/secrets/azure/tokens"
	tokenFile      = tokenDir + "/azure-identity-token"
	authorityHost  = "https://login.microsoftonline.com/"
	entraLoginHost = "login.microsoftonline.com"
	// storageAudience is the audience Azure Storage takes tokens for: the Storage SDK asks for
	// the scope https://storage.azure.com/.default (azure-storage-blob's
	// _shared/constants.py STORAGE_OAUTH_SCOPE), and Azurite accepts the audience
	// (src/blob/utils/constants.ts VALID_BLOB_AUDIENCES at 3.35.0).
	storageAudience = "https://storage.azure.com"
)

// workloadIdentityEnv is what the webhook injects into a pod of a ServiceAccount whose annotation
// names clientID.
func workloadIdentityEnv(clientID, tenantID string) []string {
	return []string{
		"AZURE_CLIENT_ID=" + clientID,
		"AZURE_TENANT_ID=" + tenantID,
		"AZURE_FEDERATED_TOKEN_FILE=" + tokenFile,
		"AZURE_AUTHORITY_HOST=" + authorityHost,
	}
}

// issuerKey stands in for the AKS cluster's OIDC issuer: it signs projected ServiceAccount tokens,
// and the Entra stand-in trusts its key for the plan's issuer URL (Entra reads that key from the
// issuer's published JWKS).
type issuerKey struct {
	url string
	key *ecdsa.PrivateKey
}

func newIssuerKey(url string) (*issuerKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return &issuerKey{url: url, key: k}, nil
}

// projectedToken is the ServiceAccount token the kubelet writes for the webhook's projected
// volume: issuer, subject system:serviceaccount:NS:NAME, audience api://AzureADTokenExchange.
func (k *issuerKey) projectedToken(namespace, serviceAccount, audience string) (string, error) {
	now := time.Now()
	return signJWT(k.key, map[string]any{
		"iss": k.url,
		"sub": "system:serviceaccount:" + namespace + ":" + serviceAccount,
		"aud": []string{audience},
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"kubernetes.io": map[string]any{"namespace": namespace, "serviceaccount": map[string]any{"name": serviceAccount}},
	})
}

// entra stands in for Microsoft Entra ID's token endpoint for one tenant. It exchanges a
// projected ServiceAccount token for an access token only when the requested client ID is one of
// the plan's user-assigned identities and one of that identity's federated credentials (as the
// plan declares them) matches the token's issuer, subject and audience; every other pairing is
// refused as Entra refuses it (AADSTS70021).
type entra struct {
	tenant      string
	issuer      *issuerKey
	identities  []identity
	credentials []federatedCredential
	signing     *ecdsa.PrivateKey

	mu      sync.Mutex
	granted []grant
	refused []string
}

// grant records an exchange that succeeded.
type grant struct {
	ClientID, Subject, Scope string
}

func newEntra(f *stackFacts, issuer *issuerKey) (*entra, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return &entra{tenant: f.tenantID, issuer: issuer, identities: f.identities, credentials: f.credentials, signing: k}, nil
}

func (e *entra) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[1] == "v2.0" && strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration"):
		e.discovery(w, parts[0])
	case len(parts) == 4 && parts[1] == "oauth2" && parts[2] == "v2.0" && parts[3] == "token" && r.Method == http.MethodPost:
		e.token(w, r, parts[0])
	default:
		e.fail(w, http.StatusNotFound, "invalid_request", fmt.Sprintf("the stand-in does not serve %s %s", r.Method, r.URL.Path))
	}
}

func (e *entra) discovery(w http.ResponseWriter, tenant string) {
	if tenant != e.tenant {
		e.fail(w, http.StatusBadRequest, "invalid_tenant", "AADSTS90002: Tenant '"+tenant+"' not found.")
		return
	}
	base := "https://" + entraLoginHost + "/" + tenant
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                base + "/v2.0",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"jwks_uri":                              "https://" + entraLoginHost + "/" + tenant + "/discovery/v2.0/keys",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"tenant_region_scope":                   "EU",
	})
}

func (e *entra) token(w http.ResponseWriter, r *http.Request, tenant string) {
	if err := r.ParseForm(); err != nil {
		e.fail(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if tenant != e.tenant {
		e.refuse(w, "invalid_tenant", fmt.Sprintf("AADSTS90002: Tenant '%s' not found (the plan's tenant is %s).", tenant, e.tenant))
		return
	}
	form := r.PostForm
	if form.Get("grant_type") != "client_credentials" || form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		e.refuse(w, "invalid_request", fmt.Sprintf("AADSTS900144: want a client_credentials grant with a JWT client assertion, got grant_type %q, client_assertion_type %q", form.Get("grant_type"), form.Get("client_assertion_type")))
		return
	}
	clientID := form.Get("client_id")
	id, ok := e.identity(clientID)
	if !ok {
		e.refuse(w, "unauthorized_client", fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory (no user-assigned identity of the plan has that client ID).", clientID))
		return
	}
	claims, err := verifyJWT(&e.issuer.key.PublicKey, form.Get("client_assertion"))
	if err != nil {
		e.refuse(w, "invalid_client", "AADSTS50027: the client assertion is not a valid token of the cluster's issuer: "+err.Error())
		return
	}
	iss, _ := claims["iss"].(string)
	sub, _ := claims["sub"].(string)
	auds := audiences(claims["aud"])
	var match *federatedCredential
	for i, c := range e.credentials {
		if c.Identity != id.Name || c.Issuer != iss || c.Subject != sub {
			continue
		}
		for _, a := range auds {
			if slices.Contains(c.Audiences, a) {
				match = &e.credentials[i]
			}
		}
	}
	if match == nil {
		e.refuse(w, "invalid_client", fmt.Sprintf("AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. Assertion Subject: '%s'. Assertion Audience: '%s'. (identity %s)", iss, sub, strings.Join(auds, ","), id.Name))
		return
	}
	scope := form.Get("scope")
	if scope != storageAudience+"/.default" {
		e.refuse(w, "invalid_scope", fmt.Sprintf("AADSTS70011: the stand-in serves only the storage scope, not %q", scope))
		return
	}
	now := time.Now()
	access, err := signJWT(e.signing, map[string]any{
		"aud": storageAudience, "iss": "https://sts.windows.net/" + e.tenant + "/",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"appid": clientID, "oid": id.PrincipalID, "sub": id.PrincipalID, "tid": e.tenant, "idtyp": "app",
	})
	if err != nil {
		e.fail(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	e.mu.Lock()
	e.granted = append(e.granted, grant{ClientID: clientID, Subject: sub, Scope: scope})
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": access})
}

func (e *entra) identity(clientID string) (identity, bool) {
	for _, id := range e.identities {
		if id.ClientID == clientID && clientID != "" {
			return id, true
		}
	}
	return identity{}, false
}

func (e *entra) refuse(w http.ResponseWriter, code, description string) {
	e.mu.Lock()
	e.refused = append(e.refused, description)
	e.mu.Unlock()
	e.fail(w, http.StatusBadRequest, code, description)
}

func (e *entra) fail(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]any{"error": code, "error_description": description, "error_codes": []int{}})
}

func (e *entra) grants() ([]grant, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.granted), slices.Clone(e.refused)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func audiences(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// signJWT signs claims with ES256.
func signJWT(key *ecdsa.PrivateKey, claims map[string]any) (string, error) {
	header, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT"})
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signing + "." + enc.EncodeToString(sig), nil
}

// verifyJWT checks an ES256 signature and the token's lifetime, and returns its claims.
func verifyJWT(key *ecdsa.PublicKey, token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT")
	}
	enc := base64.RawURLEncoding
	sig, err := enc.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return nil, errors.New("bad signature encoding")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(key, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return nil, errors.New("signature does not verify with the issuer's key")
	}
	payload, err := enc.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, err
	}
	if exp, _ := claims["exp"].(float64); time.Now().Unix() > int64(exp) {
		return nil, errors.New("expired")
	}
	return claims, nil
}
