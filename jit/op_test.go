package jit_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// provider is an OpenID provider on loopback for the hook's tests:
// discovery, a JWKS of one RSA key, and a userinfo endpoint answering what
// the test put under an access token. It signs whatever claims a test
// hands it, so tests can craft tokens of every kind.
type provider struct {
	srv        *httptest.Server
	key        *rsa.PrivateKey
	kid        string
	jwksFetch  atomic.Int64
	mu         sync.Mutex
	userinfo   map[string]map[string]any // by access token
	clientID   string
	signingAlg jose.SignatureAlgorithm
}

func newProvider(t *testing.T, clientID string) *provider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	op := &provider{key: key, kid: "k1", userinfo: map[string]map[string]any{}, clientID: clientID, signingAlg: jose.RS256}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		iss := op.srv.URL
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": iss, "jwks_uri": iss + "/keys", "userinfo_endpoint": iss + "/userinfo",
			"authorization_endpoint": iss + "/authorize", "token_endpoint": iss + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		op.jwksFetch.Add(1)
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: op.kid, Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /userinfo", func(w http.ResponseWriter, r *http.Request) {
		at := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		op.mu.Lock()
		claims, ok := op.userinfo[at]
		op.mu.Unlock()
		if !ok {
			http.Error(w, `{"error":"invalid_token"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(claims)
	})
	op.srv = httptest.NewServer(mux)
	t.Cleanup(op.srv.Close)
	return op
}

func (op *provider) issuer() string { return op.srv.URL }

// claims are a valid ID token's claims for subject sub, which a test
// changes to craft the token it needs.
func (op *provider) claims(sub string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": op.issuer(), "aud": op.clientID, "sub": sub,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
}

// sign signs claims with the provider's key (kid k1, RS256).
func (op *provider) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	return signWith(t, op.key, op.kid, claims)
}

func signWith(t *testing.T, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// serveUserinfo makes the userinfo endpoint answer claims for access token at.
func (op *provider) serveUserinfo(at string, claims map[string]any) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.userinfo[at] = claims
}
