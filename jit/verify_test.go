package jit_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/jit"
	"github.com/scimd/scimd/jit/oidctest"
	"golang.org/x/oauth2"
)

const clientID = "scimd-app"

// clock is a test clock shared by the provider and the Verifier.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// setup starts a provider and a Verifier of it, on one clock.
func setup(t *testing.T, edit ...func(*jit.VerifierConfig)) (*oidctest.Server, *jit.Verifier, *clock) {
	t.Helper()
	op := oidctest.Start(t)
	clk := &clock{t: time.Now().Truncate(time.Second)}
	op.Now = clk.Now
	cfg := jit.VerifierConfig{Issuer: op.URL, ClientID: clientID, Now: clk.Now}
	for _, e := range edit {
		e(&cfg)
	}
	return op, jit.NewVerifier(cfg), clk
}

// refused asserts that err is a *jit.TokenError with reason, and that its
// message does not echo the token.
func refused(t *testing.T, err error, reason, token string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want refused with reason %q", reason)
	}
	te, ok := err.(*jit.TokenError)
	if !ok {
		t.Fatalf("error %T %v; want *jit.TokenError", err, err)
	}
	if te.Reason != reason {
		t.Fatalf("refused with reason %q (%s); want %q", te.Reason, te.Detail, reason)
	}
	if te.Detail == "" {
		t.Error("refusal without a detail")
	}
	_, rest, _ := strings.Cut(token, ".")
	payload, _, _ := strings.Cut(rest, ".")
	if len(token) > 20 && (strings.Contains(te.Error(), token) || len(payload) > 20 && strings.Contains(te.Error(), payload)) {
		t.Errorf("refusal echoes the token: %s", te.Error())
	}
}

// craft makes a token for alice: the provider's valid claims after edit,
// signed by sign (nil: the provider's current key).
func craft(op *oidctest.Server, edit func(map[string]any), sign func(map[string]any) string) string {
	c := op.Claims("alice", clientID)
	if edit != nil {
		edit(c)
	}
	if sign == nil {
		return op.Sign(c)
	}
	return sign(c)
}

func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

func TestVerifyHappyPath(t *testing.T) {
	op, v, clk := setup(t)
	c := op.Claims("alice-sub", clientID)
	c["email"] = "alice@example.com"
	c["email_verified"] = true
	c["groups"] = []string{"eng", "admins"}
	c["nonce"] = "n-123"
	c["at_hash"] = atHash("at-1")
	id, err := v.Verify(t.Context(), op.Sign(c), jit.Expect{Nonce: "n-123", AccessToken: "at-1"})
	if err != nil {
		t.Fatal(err)
	}
	if id.Issuer != op.URL || id.Subject != "alice-sub" || len(id.Audience) != 1 || id.Audience[0] != clientID {
		t.Errorf("identity %+v", id)
	}
	if !id.IssuedAt.Equal(clk.Now()) || !id.Expiry.Equal(clk.Now().Add(time.Hour)) {
		t.Errorf("iat %v exp %v; want %v and an hour later", id.IssuedAt, id.Expiry, clk.Now())
	}
	if g, _ := id.Claims["groups"].([]any); len(g) != 2 || g[0] != "eng" {
		t.Errorf("groups claim %#v", id.Claims["groups"])
	}
	if email, ok := id.Email(); email != "alice@example.com" || !ok {
		t.Errorf("Email() = %q, %v", email, ok)
	}
	if n := op.Count(oidctest.Discovery); n != 1 {
		t.Errorf("%d discovery fetches, want 1", n)
	}
	if n := op.Count(oidctest.JWKS); n != 1 {
		t.Errorf("%d JWKS fetches, want 1", n)
	}
	// A second token costs no fetch.
	if _, err := v.Verify(t.Context(), op.Sign(op.Claims("bob", clientID)), jit.Expect{}); err != nil {
		t.Fatal(err)
	}
	if d, k := op.Count(oidctest.Discovery), op.Count(oidctest.JWKS); d != 1 || k != 1 {
		t.Errorf("after a second token: %d discovery and %d JWKS fetches, want 1 and 1", d, k)
	}
}

// TestVerifyAccepted holds the tokens at the edge of a rule that must pass.
func TestVerifyAccepted(t *testing.T) {
	op, v, clk := setup(t)
	now := clk.Now()
	for _, tc := range []struct {
		name  string
		edit  func(c map[string]any)
		want  jit.Expect
		token func(c map[string]any) string
	}{
		{name: "exp inside the skew", edit: func(c map[string]any) { c["exp"] = now.Add(-30 * time.Second).Unix() }},
		{name: "iat inside the skew", edit: func(c map[string]any) { c["iat"] = now.Add(30 * time.Second).Unix() }},
		{name: "nbf inside the skew", edit: func(c map[string]any) { c["nbf"] = now.Add(30 * time.Second).Unix() }},
		{name: "several audiences with our azp", edit: func(c map[string]any) { c["aud"] = []string{"other", clientID}; c["azp"] = clientID }},
		{name: "azp is us", edit: func(c map[string]any) { c["azp"] = clientID }},
		{name: "aud as a list of one", edit: func(c map[string]any) { c["aud"] = []string{clientID} }},
		{name: "nonce present, none expected", edit: func(c map[string]any) { c["nonce"] = "whatever" }},
		{name: "access token without at_hash", want: jit.Expect{AccessToken: "at"}},
		{name: "no kid in the header", token: func(c map[string]any) string {
			return op.Key().SignHeader(map[string]any{"alg": "RS256"}, c)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := craft(op, tc.edit, tc.token)
			if _, err := v.Verify(t.Context(), tok, tc.want); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestVerifyRefused is the negative list of ECOSYSTEM-SECURITY.md §B.10:
// each token is refused with its reason, without another JWKS fetch.
func TestVerifyRefused(t *testing.T) {
	op, v, clk := setup(t)
	now := clk.Now()
	stranger := oidctest.NewKey(t, "RS256") // never published
	if _, err := v.Verify(t.Context(), op.Sign(op.Claims("warm-up", clientID)), jit.Expect{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		edit   func(c map[string]any)
		want   jit.Expect
		token  func(c map[string]any) string
		reason string
	}{
		{name: "wrong iss", reason: "issuer", edit: func(c map[string]any) { c["iss"] = "https://evil.example" }},
		{name: "iss with a trailing slash", reason: "issuer", edit: func(c map[string]any) { c["iss"] = op.URL + "/" }},
		{name: "no iss", reason: "issuer", edit: func(c map[string]any) { delete(c, "iss") }},
		{name: "wrong aud", reason: "audience", edit: func(c map[string]any) { c["aud"] = "another-app" }},
		{name: "no aud", reason: "audience", edit: func(c map[string]any) { delete(c, "aud") }},
		{name: "several audiences without azp", reason: "azp", edit: func(c map[string]any) { c["aud"] = []string{clientID, "another-app"} }},
		{name: "several audiences with another azp", reason: "azp", edit: func(c map[string]any) {
			c["aud"] = []string{clientID, "another-app"}
			c["azp"] = "another-app"
		}},
		{name: "azp of another client", reason: "azp", edit: func(c map[string]any) { c["azp"] = "another-app" }},
		{name: "expired beyond the skew", reason: "expired", edit: func(c map[string]any) { c["exp"] = now.Add(-61 * time.Second).Unix() }},
		{name: "no exp", reason: "expired", edit: func(c map[string]any) { delete(c, "exp") }},
		{name: "iat far in the future", reason: "iat", edit: func(c map[string]any) { c["iat"] = now.Add(10 * time.Minute).Unix() }},
		{name: "no iat", reason: "iat", edit: func(c map[string]any) { delete(c, "iat") }},
		{name: "nbf in the future", reason: "nbf", edit: func(c map[string]any) { c["nbf"] = now.Add(2 * time.Minute).Unix() }},
		{name: "no sub", reason: "sub", edit: func(c map[string]any) { delete(c, "sub") }},
		{name: "empty sub", reason: "sub", edit: func(c map[string]any) { c["sub"] = "" }},
		{name: "sub not a string", reason: "sub", edit: func(c map[string]any) { c["sub"] = 42 }},
		{name: "bad signature", reason: "signature", token: func(c map[string]any) string {
			tok := op.Sign(c)
			i := strings.LastIndexByte(tok, '.') + 5
			flip := byte('A')
			if tok[i] == 'A' {
				flip = 'B'
			}
			return tok[:i] + string(flip) + tok[i+1:]
		}},
		{name: "signed by another key under our kid", reason: "signature", token: func(c map[string]any) string {
			return stranger.SignHeader(map[string]any{"alg": "RS256", "kid": op.Key().ID}, c)
		}},
		{name: "claims swapped under a valid signature", reason: "signature", token: func(c map[string]any) string {
			good := strings.Split(op.Sign(c), ".")
			c["sub"] = "admin"
			forged := strings.Split(op.Sign(c), ".")
			return good[0] + "." + forged[1] + "." + good[2]
		}},
		{name: "alg none", reason: "alg", token: func(c map[string]any) string { return oidctest.SignNone(c) }},
		{name: "alg none with a signature", reason: "alg", token: func(c map[string]any) string {
			return oidctest.Craft(map[string]any{"alg": "none", "kid": op.Key().ID}, c, []byte("sig"))
		}},
		{name: "HS256 keyed with the public key", reason: "alg", token: func(c map[string]any) string {
			return oidctest.SignHMAC(op.Key().PublicPEM(), map[string]any{"kid": op.Key().ID}, c)
		}},
		{name: "an algorithm the issuer does not advertise", reason: "alg", token: func(c map[string]any) string {
			return oidctest.NewKey(t, "ES256").Sign(c)
		}},
		{name: "unknown kid inside the cooldown", reason: "kid", token: func(c map[string]any) string {
			return stranger.Sign(c)
		}},
		{name: "nonce missing", reason: "nonce", want: jit.Expect{Nonce: "n-1"}},
		{name: "nonce of another login", reason: "nonce", want: jit.Expect{Nonce: "n-1"}, edit: func(c map[string]any) { c["nonce"] = "n-2" }},
		{name: "at_hash of another access token", reason: "at_hash", want: jit.Expect{AccessToken: "at-1"}, edit: func(c map[string]any) { c["at_hash"] = atHash("at-2") }},
		{name: "not a JWT", reason: "malformed", token: func(map[string]any) string { return "not.a.jwt" }},
		{name: "JWE-shaped", reason: "malformed", token: func(map[string]any) string { return "a.b.c.d.e" }},
		{name: "oversized", reason: "malformed", token: func(c map[string]any) string {
			c["pad"] = strings.Repeat("x", 70<<10)
			return op.Sign(c)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := craft(op, tc.edit, tc.token)
			_, err := v.Verify(t.Context(), tok, tc.want)
			refused(t, err, tc.reason, tok)
		})
	}
	if n := op.Count(oidctest.JWKS); n != 1 {
		t.Errorf("%d JWKS fetches for the refusals, want the warm-up's 1", n)
	}
}

// forgedKid is a token under a kid the provider never published, with
// garbage for a signature: it costs the Verifier nothing to make.
func forgedKid(op *oidctest.Server, i int) string {
	sig := make([]byte, 256)
	_, _ = rand.Read(sig)
	return oidctest.Craft(map[string]any{"alg": "RS256", "kid": fmt.Sprintf("forged-%d", i)}, op.Claims("alice", clientID), sig)
}

// TestUnknownKidFlood sends 1,000 tokens with unknown kids at once: they
// cost at most one JWKS fetch per cooldown window.
func TestUnknownKidFlood(t *testing.T) {
	const cooldown = time.Minute
	op, v, clk := setup(t, func(c *jit.VerifierConfig) { c.JWKSCooldown = cooldown })
	if _, err := v.Verify(t.Context(), op.Sign(op.Claims("alice", clientID)), jit.Expect{}); err != nil {
		t.Fatal(err)
	}
	flood := func(from int) {
		var wg sync.WaitGroup
		var wrong atomic.Int64
		for i := range 1000 {
			wg.Go(func() {
				_, err := v.Verify(t.Context(), forgedKid(op, from+i), jit.Expect{})
				if te, ok := err.(*jit.TokenError); !ok || te.Reason != "kid" {
					wrong.Add(1)
				}
			})
		}
		wg.Wait()
		if n := wrong.Load(); n > 0 {
			t.Errorf("%d of 1000 forged tokens not refused with reason kid", n)
		}
	}

	flood(0) // inside the window of the first fetch
	if n := op.Count(oidctest.JWKS); n != 1 {
		t.Fatalf("%d JWKS fetches after a flood inside the window, want 1 (the first)", n)
	}
	clk.Add(cooldown)
	flood(1000) // a new window: one fetch, shared
	if n := op.Count(oidctest.JWKS); n != 2 {
		t.Fatalf("%d JWKS fetches after a flood in a new window, want 2", n)
	}
	clk.Add(cooldown / 2)
	flood(2000)
	if n := op.Count(oidctest.JWKS); n != 2 {
		t.Fatalf("%d JWKS fetches after a third flood, in the second window, want 2", n)
	}
}

// TestKeyRotation: a new kid is refused inside the cooldown and accepted
// after it, at the cost of one fetch; the old key keeps working.
func TestKeyRotation(t *testing.T) {
	const cooldown = 30 * time.Second
	op, v, clk := setup(t, func(c *jit.VerifierConfig) { c.JWKSCooldown = cooldown })
	old := op.Key()
	if _, err := v.Verify(t.Context(), op.Sign(op.Claims("alice", clientID)), jit.Expect{}); err != nil {
		t.Fatal(err)
	}
	op.Rotate(t, "RS256")
	tok := op.Sign(op.Claims("alice", clientID))
	_, err := v.Verify(t.Context(), tok, jit.Expect{})
	refused(t, err, "kid", tok)
	if n := op.Count(oidctest.JWKS); n != 1 {
		t.Fatalf("%d JWKS fetches, want 1: the new kid inside the window costs none", n)
	}

	clk.Add(cooldown)
	if _, err := v.Verify(t.Context(), op.Sign(op.Claims("alice", clientID)), jit.Expect{}); err != nil {
		t.Fatalf("after the window, the rotated key: %v", err)
	}
	if _, err := v.Verify(t.Context(), old.Sign(op.Claims("alice", clientID)), jit.Expect{}); err != nil {
		t.Fatalf("the old key, still published: %v", err)
	}
	// With two keys, a token without a kid is tried against both (the
	// conformance suite's "kid absent, multiple keys").
	for _, k := range []*oidctest.Key{old, op.Key()} {
		if _, err := v.Verify(t.Context(), k.SignHeader(map[string]any{"alg": "RS256"}, op.Claims("alice", clientID)), jit.Expect{}); err != nil {
			t.Fatalf("no kid, key %s: %v", k.ID, err)
		}
	}
	if n := op.Count(oidctest.JWKS); n != 2 {
		t.Errorf("%d JWKS fetches, want 2", n)
	}

	// The OP drops the old key: its tokens are refused once the JWKS is
	// fetched again, and an ES256 key it adds is taken up.
	op.Publish(op.Key())
	es := op.Rotate(t, "ES256")
	v2 := jit.NewVerifier(jit.VerifierConfig{Issuer: op.URL, ClientID: clientID, Now: clk.Now})
	if _, err := v2.Verify(t.Context(), es.Sign(op.Claims("alice", clientID)), jit.Expect{}); err != nil {
		t.Fatalf("ES256 key: %v", err)
	}
	tok = old.Sign(op.Claims("alice", clientID))
	_, err = v2.Verify(t.Context(), tok, jit.Expect{})
	refused(t, err, "kid", tok)
}

// TestWithdrawnKey: a key the OP takes out of its JWKS stops being
// accepted within the hour, without a token needing an unknown kid.
func TestWithdrawnKey(t *testing.T) {
	op, v, clk := setup(t)
	old := op.Key()
	if _, err := v.Verify(t.Context(), old.Sign(op.Claims("alice", clientID)), jit.Expect{}); err != nil {
		t.Fatal(err)
	}
	op.Rotate(t, "RS256")
	op.Publish(op.Key()) // the old key withdrawn
	clk.Add(59 * time.Minute)
	if _, err := v.Verify(t.Context(), old.Sign(op.Claims("alice", clientID)), jit.Expect{}); err != nil {
		t.Fatalf("inside the hour, the key held: %v", err)
	}
	if n := op.Count(oidctest.JWKS); n != 1 {
		t.Fatalf("%d JWKS fetches inside the hour, want 1", n)
	}
	clk.Add(time.Minute)
	// This token starts a background fetch; the ones after it see its result.
	_, _ = v.Verify(t.Context(), old.Sign(op.Claims("alice", clientID)), jit.Expect{})
	deadline := time.Now().Add(5 * time.Second)
	for {
		tok := old.Sign(op.Claims("alice", clientID))
		_, err := v.Verify(t.Context(), tok, jit.Expect{})
		if err != nil {
			refused(t, err, "kid", tok)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the withdrawn key is still accepted after the hour")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := op.Count(oidctest.JWKS); n != 2 {
		t.Errorf("%d JWKS fetches, want 2", n)
	}
	if _, err := v.Verify(t.Context(), op.Sign(op.Claims("alice", clientID)), jit.Expect{}); err != nil {
		t.Fatalf("the new key: %v", err)
	}
}

func TestJWKSFetchFailureRetried(t *testing.T) {
	op, v, clk := setup(t)
	op.Handle(oidctest.JWKS, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
	tok := op.Sign(op.Claims("alice", clientID))
	_, err := v.Verify(t.Context(), tok, jit.Expect{})
	refused(t, err, "jwks", tok)
	_, err = v.Verify(t.Context(), tok, jit.Expect{})
	refused(t, err, "kid", tok) // inside the short retry window: not fetched
	if n := op.Count(oidctest.JWKS); n != 1 {
		t.Fatalf("%d JWKS fetches, want 1", n)
	}
	op.Handle(oidctest.JWKS, nil)
	clk.Add(5 * time.Second)
	if _, err := v.Verify(t.Context(), tok, jit.Expect{}); err != nil {
		t.Fatalf("after the OP recovered: %v", err)
	}
}

func TestJWKSUnusable(t *testing.T) {
	for name, body := range map[string]func(*oidctest.Server) string{
		"not JSON": func(*oidctest.Server) string { return "<html>" },
		"only a symmetric key": func(*oidctest.Server) string {
			return `{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"x","alg":"HS256"}]}`
		},
		"oversized": func(op *oidctest.Server) string { // the right key, past the 1 MiB bound
			jwk, err := json.Marshal(op.Key().JWK())
			if err != nil {
				t.Fatal(err)
			}
			return `{"keys":[` + string(jwk) + `],"pad":"` + strings.Repeat("x", 2<<20) + `"}`
		},
	} {
		t.Run(name, func(t *testing.T) {
			op, v, _ := setup(t)
			op.Handle(oidctest.JWKS, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(body(op))) })
			tok := op.Sign(op.Claims("alice", clientID))
			_, err := v.Verify(t.Context(), tok, jit.Expect{})
			refused(t, err, "jwks", tok)
		})
	}
}

func TestDiscoveryIssuerMismatch(t *testing.T) {
	op, v, _ := setup(t)
	op.EditDiscovery(func(doc map[string]any) { doc["issuer"] = op.URL + "/" })
	tok := op.Sign(op.Claims("alice", clientID))
	_, err := v.Verify(t.Context(), tok, jit.Expect{})
	refused(t, err, "discovery", tok)
	if n := op.Count(oidctest.JWKS); n != 0 {
		t.Errorf("%d JWKS fetches after a failed discovery, want 0", n)
	}
}

// TestDiscoveryRetried: a failed discovery is answered from its error for
// a few seconds, then tried again, and its success is kept.
func TestDiscoveryRetried(t *testing.T) {
	op, v, clk := setup(t)
	op.Handle(oidctest.Discovery, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) })
	tok := op.Sign(op.Claims("alice", clientID))
	for range 3 {
		_, err := v.Verify(t.Context(), tok, jit.Expect{})
		refused(t, err, "discovery", tok)
	}
	if n := op.Count(oidctest.Discovery); n != 1 {
		t.Fatalf("%d discovery fetches inside the retry window, want 1", n)
	}
	op.Handle(oidctest.Discovery, nil)
	clk.Add(5 * time.Second)
	if _, err := v.Verify(t.Context(), tok, jit.Expect{}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Endpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := op.Count(oidctest.Discovery); n != 2 {
		t.Errorf("%d discovery fetches, want 2", n)
	}
}

// TestDiscoveryEndpointsMustBeHTTPS: a discovery document that names a
// plain-http endpoint on another host is refused whole.
func TestDiscoveryEndpointsMustBeHTTPS(t *testing.T) {
	for _, field := range []string{"jwks_uri", "userinfo_endpoint", "token_endpoint", "authorization_endpoint"} {
		t.Run(field, func(t *testing.T) {
			op, v, _ := setup(t)
			op.EditDiscovery(func(doc map[string]any) { doc[field] = "http://idp.example.com/x" })
			tok := op.Sign(op.Claims("alice", clientID))
			_, err := v.Verify(t.Context(), tok, jit.Expect{})
			refused(t, err, "discovery", tok)
		})
	}
	t.Run("no jwks_uri", func(t *testing.T) {
		op, v, _ := setup(t)
		op.EditDiscovery(func(doc map[string]any) { delete(doc, "jwks_uri") })
		_, err := v.Verify(t.Context(), op.Sign(op.Claims("alice", clientID)), jit.Expect{})
		refused(t, err, "discovery", "")
	})
	t.Run("plain-http issuer", func(t *testing.T) {
		v := jit.NewVerifier(jit.VerifierConfig{Issuer: "http://idp.example.com", ClientID: clientID})
		_, err := v.Verify(t.Context(), "a.b.c", jit.Expect{})
		refused(t, err, "discovery", "")
	})
}

// slowClient gives the Verifier a short total timeout, as a connector's
// config would.
func slowClient(c *jit.VerifierConfig) { c.Client = &http.Client{Timeout: 300 * time.Millisecond} }

// TestSlowProvider: a provider that stalls (before its headers, or in the
// middle of its body) fails the call at the client's timeout, not never.
func TestSlowProvider(t *testing.T) {
	stallBody := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[`))
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}
	for _, tc := range []struct {
		name, endpoint, reason string
		stall                  http.HandlerFunc // nil: a 30s delay before anything
	}{
		{name: "discovery", endpoint: oidctest.Discovery, reason: "discovery"},
		{name: "JWKS", endpoint: oidctest.JWKS, reason: "jwks"},
		{name: "JWKS body", endpoint: oidctest.JWKS, reason: "jwks", stall: stallBody},
		{name: "userinfo", endpoint: oidctest.UserInfo, reason: "userinfo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op, v, _ := setup(t, slowClient)
			op.SetUserInfo("at", map[string]any{"sub": "alice"})
			if tc.stall != nil {
				op.Handle(tc.endpoint, tc.stall)
			} else {
				op.SetDelay(tc.endpoint, 30*time.Second)
			}
			start := time.Now()
			id, err := v.Verify(t.Context(), op.Sign(op.Claims("alice", clientID)), jit.Expect{})
			if err == nil {
				err = v.UserInfo(t.Context(), "at", id)
			}
			refused(t, err, tc.reason, "")
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("a slow %s took %v to fail; want about the 300ms timeout", tc.name, d)
			}
		})
	}
}

// TestCallerDeadline: with the default client, a provider that does not
// answer fails the caller when the caller's context ends.
func TestCallerDeadline(t *testing.T) {
	op, v, _ := setup(t)
	op.SetDelay(oidctest.Discovery, 30*time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := v.Verify(ctx, op.Sign(op.Claims("alice", clientID)), jit.Expect{})
	refused(t, err, "discovery", "")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Verify returned %v after the caller's 200ms deadline", d)
	}
}

// TestConcurrentFirstUse: 50 first verifications at once share one
// discovery and one JWKS fetch.
func TestConcurrentFirstUse(t *testing.T) {
	op, v, _ := setup(t)
	op.SetDelay(oidctest.Discovery, 50*time.Millisecond)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if _, err := v.Verify(t.Context(), op.Sign(op.Claims(fmt.Sprint("user-", i), clientID)), jit.Expect{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if d, k := op.Count(oidctest.Discovery), op.Count(oidctest.JWKS); d != 1 || k != 1 {
		t.Errorf("%d discovery and %d JWKS fetches for 50 concurrent first logins, want 1 and 1", d, k)
	}
}

func TestUserInfo(t *testing.T) {
	op, v, _ := setup(t)
	c := op.Claims("alice", clientID)
	c["name"] = "Alice from the ID token"
	id, err := v.Verify(t.Context(), op.Sign(c), jit.Expect{})
	if err != nil {
		t.Fatal(err)
	}
	op.SetUserInfo("at-alice", map[string]any{"sub": "alice", "email": "alice@example.com", "email_verified": "true", "name": "Alice from userinfo"})
	op.SetUserInfo("at-bob", map[string]any{"sub": "bob", "email": "bob@example.com"})
	op.SetUserInfo("at-nosub", map[string]any{"email": "alice@example.com"})

	if err := v.UserInfo(t.Context(), "at-alice", id); err != nil {
		t.Fatal(err)
	}
	if email, ok := id.Email(); email != "alice@example.com" || !ok {
		t.Errorf("Email() after userinfo = %q, %v", email, ok)
	}
	if id.Claims["name"] != "Alice from the ID token" {
		t.Errorf("name = %v: the signed ID token's claim must win over userinfo", id.Claims["name"])
	}

	for _, tc := range []struct{ at, reason string }{
		{"at-bob", "userinfo_sub"},
		{"at-nosub", "userinfo_sub"},
		{"at-unknown", "userinfo"},
	} {
		t.Run(tc.at, func(t *testing.T) {
			id, err := v.Verify(t.Context(), op.Sign(op.Claims("alice", clientID)), jit.Expect{})
			if err != nil {
				t.Fatal(err)
			}
			refused(t, v.UserInfo(t.Context(), tc.at, id), tc.reason, "")
			if _, ok := id.Claims["email"]; ok {
				t.Error("a refused userinfo answer was merged into the identity")
			}
		})
	}
	t.Run("no userinfo endpoint", func(t *testing.T) {
		op, v, _ := setup(t)
		op.EditDiscovery(func(doc map[string]any) { delete(doc, "userinfo_endpoint") })
		id, err := v.Verify(t.Context(), op.Sign(op.Claims("alice", clientID)), jit.Expect{})
		if err != nil {
			t.Fatal(err)
		}
		refused(t, v.UserInfo(t.Context(), "at", id), "userinfo", "")
	})
}

func TestEmailVerified(t *testing.T) {
	for _, tc := range []struct {
		name   string
		claims map[string]any
		want   bool
	}{
		{"email_verified true", map[string]any{"email": "a@x.com", "email_verified": true}, true},
		{"email_verified \"true\" (Cognito)", map[string]any{"email": "a@x.com", "email_verified": "true"}, true},
		{"email_verified false", map[string]any{"email": "a@x.com", "email_verified": false}, false},
		{"email_verified \"false\"", map[string]any{"email": "a@x.com", "email_verified": "false"}, false},
		{"no email_verified", map[string]any{"email": "a@x.com"}, false},
		{"Entra xms_edov", map[string]any{"email": "a@x.com", "xms_edov": true}, true},
		{"Entra xms_edov \"1\"", map[string]any{"email": "a@x.com", "xms_edov": "1"}, true},
		{"verified but no email", map[string]any{"email_verified": true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := &jit.Identity{Claims: tc.claims}
			if _, got := id.Email(); got != tc.want {
				t.Errorf("verified = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestOnlyIssuerEndpointsFetched: whatever a token or the discovery
// document points at, the Verifier fetches only the issuer's discovery
// document, its JWKS and its userinfo endpoint.
func TestOnlyIssuerEndpointsFetched(t *testing.T) {
	var canaryHits atomic.Int64
	canary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		canaryHits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	defer canary.Close()

	op, v, _ := setup(t)
	op.EditDiscovery(func(doc map[string]any) {
		for _, f := range []string{"registration_endpoint", "end_session_endpoint", "introspection_endpoint",
			"revocation_endpoint", "device_authorization_endpoint", "service_documentation", "op_policy_uri"} {
			doc[f] = canary.URL + "/" + f
		}
	})
	stranger := oidctest.NewKey(t, "RS256")
	c := op.Claims("alice", clientID)
	c["_claim_names"] = map[string]any{"groups": "src1"}
	c["_claim_sources"] = map[string]any{"src1": map[string]any{"endpoint": canary.URL + "/claims", "access_token": "x"}}
	tokens := []string{
		op.Key().SignHeader(map[string]any{"alg": "RS256", "kid": op.Key().ID, "jku": canary.URL + "/jwks", "x5u": canary.URL + "/x5u"}, c),
		stranger.SignHeader(map[string]any{"alg": "RS256", "kid": "other", "jku": canary.URL + "/jwks"}, c),
	}
	evil := op.Claims("alice", clientID)
	evil["iss"] = canary.URL // an issuer we were never configured with: never discovered
	tokens = append(tokens, op.Sign(evil))
	for _, tok := range tokens {
		_, _ = v.Verify(t.Context(), tok, jit.Expect{})
	}
	id, err := v.Verify(t.Context(), tokens[0], jit.Expect{})
	if err != nil {
		t.Fatal(err)
	}
	op.SetUserInfo("at", map[string]any{"sub": "alice", "picture": canary.URL + "/picture"})
	if err := v.UserInfo(t.Context(), "at", id); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Endpoint(t.Context()); err != nil {
		t.Fatal(err)
	}

	if n := canaryHits.Load(); n != 0 {
		t.Errorf("the Verifier fetched %d URLs that tokens or discovery pointed at", n)
	}
	for _, r := range op.Requests() {
		switch r {
		case "GET /.well-known/openid-configuration", "GET /keys", "GET /userinfo":
		default:
			t.Errorf("the Verifier sent %q to the OP", r)
		}
	}
}

// TestGuardRefusesOtherURLs: the Verifier's client, which the browser
// login also uses for the code exchange, sends nothing to a URL discovery
// did not name, and follows no redirect.
func TestGuardRefusesOtherURLs(t *testing.T) {
	var canaryHits atomic.Int64
	canary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { canaryHits.Add(1) }))
	defer canary.Close()

	op, v, _ := setup(t)
	if _, err := v.Endpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{canary.URL + "/", op.URL + "/authorize", op.URL + "/other"} {
		if resp, err := v.HTTPClient().Get(u); err == nil {
			resp.Body.Close()
			t.Errorf("GET %s through the Verifier's client succeeded", u)
		}
	}
	if n := canaryHits.Load(); n != 0 {
		t.Errorf("canary hit %d times", n)
	}
	if n := op.Count(oidctest.Other); n != 0 {
		t.Errorf("OP got %d requests outside its endpoints", n)
	}

	t.Run("redirect", func(t *testing.T) {
		op, v, _ := setup(t)
		op.Handle(oidctest.Discovery, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, canary.URL+"/.well-known/openid-configuration", http.StatusFound)
		})
		_, err := v.Verify(t.Context(), op.Sign(op.Claims("alice", clientID)), jit.Expect{})
		refused(t, err, "discovery", "")
		if n := canaryHits.Load(); n != 0 {
			t.Errorf("the redirect was followed: canary hit %d times", n)
		}
	})
}

// TestRedirectNotFollowed: a userinfo endpoint that redirects, even to
// another endpoint of the issuer, is a failed userinfo call.
func TestRedirectNotFollowed(t *testing.T) {
	op, v, _ := setup(t)
	id, err := v.Verify(t.Context(), op.Sign(op.Claims("alice", clientID)), jit.Expect{})
	if err != nil {
		t.Fatal(err)
	}
	op.Handle(oidctest.UserInfo, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, op.URL+"/keys", http.StatusFound)
	})
	refused(t, v.UserInfo(t.Context(), "at", id), "userinfo", "")
	if n := op.Count(oidctest.JWKS); n != 1 {
		t.Errorf("%d JWKS fetches: the redirect was followed", n)
	}
}

// TestCodeExchange: the token endpoint is reachable through HTTPClient,
// and a code works once.
func TestCodeExchange(t *testing.T) {
	op, v, _ := setup(t)
	ep, err := v.Endpoint(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if ep.TokenURL != op.URL+"/token" || ep.AuthURL != op.URL+"/authorize" {
		t.Fatalf("endpoint %+v", ep)
	}
	c := op.Claims("alice", clientID)
	c["nonce"] = "n-1"
	c["at_hash"] = atHash("at-1")
	op.AddCode("code-1", oidctest.TokenResponse{AccessToken: "at-1", IDToken: op.Sign(c)})
	conf := oauth2.Config{ClientID: clientID, ClientSecret: "s", Endpoint: ep, RedirectURL: "http://127.0.0.1/cb"}
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, v.HTTPClient())
	tok, err := conf.Exchange(ctx, "code-1", oauth2.VerifierOption("pkce-verifier"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if _, err := v.Verify(t.Context(), raw, jit.Expect{Nonce: "n-1", AccessToken: tok.AccessToken}); err != nil {
		t.Fatal(err)
	}
	if _, err := conf.Exchange(ctx, "code-1"); err == nil {
		t.Error("a code was exchanged twice")
	}
}

// FuzzVerify: whatever the bytes, Verify refuses with a TokenError or
// accepts a token the provider signed; it never panics.
func FuzzVerify(f *testing.F) {
	op := oidctest.Start(f)
	v := jit.NewVerifier(jit.VerifierConfig{Issuer: op.URL, ClientID: clientID})
	good := op.Sign(op.Claims("alice", clientID))
	for _, seed := range []string{good, oidctest.SignNone(op.Claims("a", clientID)), "", ".", "..", "a.b.c", good + "x", strings.ToUpper(good)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		id, err := v.Verify(t.Context(), raw, jit.Expect{})
		if err != nil {
			if _, ok := err.(*jit.TokenError); !ok {
				t.Fatalf("error %T, want *jit.TokenError: %v", err, err)
			}
			return
		}
		if id.Subject == "" || id.Issuer != op.URL {
			t.Fatalf("accepted %+v", id)
		}
	})
}
