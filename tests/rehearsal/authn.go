//go:build rehearsal

package rehearsal

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
)

// tokenAuthority stands for Entra ID and AKS's local accounts at the local API server: the API
// server asks it about every bearer token it does not know (a token webhook), and it accepts
// the tokens it issued and has not expired, each as a cluster administrator (AKS's clusterUser
// of a cluster with local accounts, and the deployer's Azure RBAC Cluster Admin role of an
// Entra cluster, both are).
type tokenAuthority struct {
	mu     sync.Mutex
	tokens map[string]*issued

	listener   net.Listener
	server     *http.Server
	configFile string
}

type issued struct {
	user    string
	expired bool
}

// newTokenAuthority serves the webhook on loopback with a certificate of its own and writes the
// kubeconfig-shaped file kube-apiserver's --authentication-token-webhook-config-file takes.
func newTokenAuthority(dir string) (*tokenAuthority, error) {
	l, caFile, err := listenTLS(dir, "token-authority")
	if err != nil {
		return nil, err
	}
	a := &tokenAuthority{tokens: map[string]*issued{}, listener: l}
	a.server = &http.Server{Handler: a, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = a.server.Serve(l) }()
	a.configFile = filepath.Join(dir, "token-webhook.kubeconfig")
	config := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: token-authority
  cluster:
    server: https://%s/authenticate
    certificate-authority: %s
users:
- name: kube-apiserver
contexts:
- name: webhook
  context: {cluster: token-authority, user: kube-apiserver}
current-context: webhook
`, l.Addr(), caFile)
	if err := os.WriteFile(a.configFile, []byte(config), 0o600); err != nil {
		return nil, err
	}
	return a, nil
}

// listenTLS listens on loopback with a new self-signed certificate for 127.0.0.1 and writes it,
// as the CA clients must trust, to dir/<name>-ca.crt.
func listenTLS(dir, name string) (net.Listener, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, "", err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		return nil, "", err
	}
	caFile := filepath.Join(dir, name+"-ca.crt")
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		return nil, "", err
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, "", err
	}
	return l, caFile, nil
}

// cacheTTL is how long kube-apiserver keeps the authority's own answers; besides, it keeps every
// successful token authentication for tokenSuccessTTL, whichever authenticator gave it
// (k8s.io/kubernetes v1.35.4 pkg/kubeapiserver/options/authentication.go:168,
// TokenSuccessCacheTTL: 10 * time.Second, which no flag changes; authenticator/config.go:208).
// An expired token is refused once both have passed.
const (
	cacheTTL        = time.Second
	tokenSuccessTTL = 10 * time.Second
)

// apiServerArgs make kube-apiserver ask the authority about the tokens it does not know.
func (a *tokenAuthority) apiServerArgs() []string {
	return []string{
		"--authentication-token-webhook-config-file=" + a.configFile,
		"--authentication-token-webhook-version=v1",
		"--authentication-token-webhook-cache-ttl=" + cacheTTL.String(),
	}
}

func (a *tokenAuthority) close() { _ = a.server.Close() }

// issue makes a new token for a user.
func (a *tokenAuthority) issue(user string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	token := "rehearsal-" + hex.EncodeToString(b)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokens[token] = &issued{user: user}
	return token
}

// valid tells whether a token was issued and has not expired.
func (a *tokenAuthority) valid(token string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.tokens[token]
	return ok && !t.expired
}

// expire ends the tokens of a user, as an hour passing ends an Entra access token, and waits out
// the API server's cache of the authority's answers.
func (a *tokenAuthority) expire(user string) {
	a.mu.Lock()
	for _, t := range a.tokens {
		if t.user == user {
			t.expired = true
		}
	}
	a.mu.Unlock()
	time.Sleep(tokenSuccessTTL + cacheTTL + time.Second)
}

// ServeHTTP answers a TokenReview (authentication.k8s.io/v1).
func (a *tokenAuthority) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var review authenticationv1.TokenReview
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	t, ok := a.tokens[review.Spec.Token]
	a.mu.Unlock()
	review.Status = authenticationv1.TokenReviewStatus{}
	switch {
	case !ok:
		review.Status.Error = "unknown token"
	case t.expired:
		review.Status.Error = "the token has expired"
	default:
		review.Status.Authenticated = true
		review.Status.User = authenticationv1.UserInfo{Username: t.user, Groups: []string{"system:masters", "system:authenticated"}}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(review)
}
