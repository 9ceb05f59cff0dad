package jit

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

const (
	defaultSkew = 60 * time.Second
	// maxTokenBytes bounds an ID token before it is parsed. Entra tokens
	// with a few hundred groups stay well under it.
	maxTokenBytes = 64 << 10
	// discoveryRetry is how long a failed discovery is answered from its
	// error before it is tried again: a down OP is asked again soon, but a
	// flood of logins does not become a flood of discovery requests.
	discoveryRetry = 5 * time.Second
)

// VerifierConfig is what verifying one OIDC connector's ID tokens needs.
type VerifierConfig struct {
	Issuer       string           // the configured issuer; the only discovery URL ever fetched
	ClientID     string           // the expected audience
	Client       *http.Client     // nil: a client with connect/response timeouts (never http.DefaultClient)
	Skew         time.Duration    // clock skew allowed on exp/iat/nbf; 0: 60s
	JWKSCooldown time.Duration    // at most one JWKS fetch per window for unknown kids; 0: a minute
	Now          func() time.Time // nil: time.Now
}

// Verifier verifies the ID tokens of one OIDC connector. It is safe for
// concurrent use and meant to live as long as the connector's config.
type Verifier struct {
	cfg    VerifierConfig
	guard  *guard
	client *http.Client

	mu       sync.Mutex
	op       *provider // nil until discovery succeeds
	inflight *discovery
	failed   *TokenError // the last discovery error, answered until retryAt
	retryAt  time.Time
}

// provider is what discovery gives a Verifier.
type provider struct {
	op       *oidc.Provider
	ids      *oidc.IDTokenVerifier
	keys     *keySet
	algs     []string
	userInfo string
}

type discovery struct {
	done chan struct{}
	op   *provider   // set before done is closed
	err  *TokenError // set before done is closed
}

// NewVerifier returns a Verifier for cfg. Nothing is fetched yet:
// discovery happens on first use, and a failed discovery is tried again
// after a few seconds, never cached for good.
func NewVerifier(cfg VerifierConfig) *Verifier {
	if cfg.Skew == 0 {
		cfg.Skew = defaultSkew
	}
	if cfg.JWKSCooldown == 0 {
		cfg.JWKSCooldown = defaultCooldown
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	g := &guard{allowed: map[string]bool{}}
	g.allow(discoveryURL(cfg.Issuer))
	return &Verifier{cfg: cfg, guard: g, client: newClient(cfg.Client, g)}
}

func discoveryURL(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
}

// HTTPClient returns the client the Verifier calls the issuer with: its
// timeouts, size limits and allow-list (discovery, JWKS, userinfo and token
// endpoints). The browser login exchanges its code with it, through
// oidc.ClientContext.
func (v *Verifier) HTTPClient() *http.Client { return v.client }

// Expect is what a token must carry beyond the connector's config: the
// nonce of the login that asked for it, and the access token issued with
// it (checked against at_hash when the token has one).
type Expect struct{ Nonce, AccessToken string }

// Identity is a verified ID token.
type Identity struct {
	Issuer, Subject  string
	Audience         []string
	Expiry, IssuedAt time.Time
	Claims           map[string]any // every claim of the ID token (+ userinfo)
}

// Email returns the email claim and whether the issuer says it is verified
// (email_verified true or "true"; Entra's xms_edov, which says the email's
// domain is verified, for Entra does not send email_verified).
func (id *Identity) Email() (email string, verified bool) {
	email, _ = id.Claims["email"].(string)
	if email == "" {
		return "", false
	}
	return email, truthy(id.Claims["email_verified"]) || truthy(id.Claims["xms_edov"])
}

func truthy(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true") || v == "1"
	case float64:
		return v == 1
	}
	return false
}

// TokenError is a token refused. Reason is a short code for programs and
// metrics: "malformed", "alg", "kid", "signature", "jwks", "issuer",
// "audience", "azp", "expired", "nbf", "iat", "sub", "nonce", "at_hash",
// "userinfo", "userinfo_sub" or "discovery". Detail is a sentence a person
// can act on; it never holds the token.
type TokenError struct{ Reason, Detail string }

func (e *TokenError) Error() string { return "id token refused (" + e.Reason + "): " + e.Detail }

// discover returns the provider, discovering it if no discovery has
// succeeded yet. Concurrent callers share one discovery.
func (v *Verifier) discover(ctx context.Context) (*provider, error) {
	v.mu.Lock()
	if v.op != nil {
		defer v.mu.Unlock()
		return v.op, nil
	}
	d := v.inflight
	if d == nil {
		if v.failed != nil && v.cfg.Now().Before(v.retryAt) {
			defer v.mu.Unlock()
			return nil, v.failed
		}
		d = &discovery{done: make(chan struct{})}
		v.inflight = d
		go v.runDiscovery(context.WithoutCancel(ctx), d)
	}
	v.mu.Unlock()
	select {
	case <-d.done:
		if d.err != nil {
			return nil, d.err
		}
		return d.op, nil
	case <-ctx.Done():
		return nil, &TokenError{Reason: "discovery", Detail: "gave up waiting for the issuer's discovery document: " + ctx.Err().Error()}
	}
}

func (v *Verifier) runDiscovery(ctx context.Context, d *discovery) {
	op, err := v.fetchDiscovery(ctx)
	v.mu.Lock()
	if err != nil {
		v.failed, v.retryAt = err, v.cfg.Now().Add(discoveryRetry)
	} else {
		v.op, v.failed = op, nil
	}
	v.inflight = nil
	d.op, d.err = op, err
	v.mu.Unlock()
	close(d.done)
}

func (v *Verifier) fetchDiscovery(ctx context.Context) (*provider, *TokenError) {
	refuse := func(format string, args ...any) (*provider, *TokenError) {
		return nil, &TokenError{Reason: "discovery", Detail: fmt.Sprintf(format, args...)}
	}
	if err := checkEndpoint("the issuer", v.cfg.Issuer); err != nil {
		return refuse("%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, totalTimeout)
	defer cancel()
	op, err := oidc.NewProvider(oidc.ClientContext(ctx, v.client), v.cfg.Issuer)
	if mismatch, ok := errors.AsType[*oidc.IssuerMismatchError](err); ok {
		return refuse("the discovery document of %q names the issuer %q: configure the issuer exactly as the OP spells it (trailing slash included)",
			clip(mismatch.Provided), clip(mismatch.Discovered))
	}
	if err != nil {
		return refuse("fetching %s failed: %s", discoveryURL(v.cfg.Issuer), clip(err.Error()))
	}
	var meta struct {
		JWKS     string   `json:"jwks_uri"`
		UserInfo string   `json:"userinfo_endpoint"`
		Token    string   `json:"token_endpoint"`
		Auth     string   `json:"authorization_endpoint"`
		Algs     []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := op.Claims(&meta); err != nil {
		return refuse("the discovery document is not JSON: %v", err)
	}
	if meta.JWKS == "" {
		return refuse("the discovery document names no jwks_uri")
	}
	for _, e := range []struct{ what, url string }{
		{"jwks_uri", meta.JWKS}, {"userinfo_endpoint", meta.UserInfo},
		{"token_endpoint", meta.Token}, {"authorization_endpoint", meta.Auth},
	} {
		if e.url == "" {
			continue
		}
		if err := checkEndpoint(e.what, e.url); err != nil {
			return refuse("the discovery document's %v", err)
		}
	}
	var algs []string
	for _, a := range meta.Algs {
		if isAsymmetric(a) {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 {
		algs = []string{oidc.RS256} // the one algorithm OIDC requires
	}
	for _, u := range []string{meta.JWKS, meta.UserInfo, meta.Token} {
		if u != "" {
			v.guard.allow(u)
		}
	}
	keys := &keySet{url: meta.JWKS, client: v.client, cooldown: v.cfg.JWKSCooldown, now: v.cfg.Now}
	ids := oidc.NewVerifier(v.cfg.Issuer, keys, &oidc.Config{
		ClientID:             v.cfg.ClientID,
		SupportedSigningAlgs: algs,
		// go-oidc checks exp with no leeway: a clock running Skew late
		// gives exp one. nbf and iat are checked below against Skew.
		Now: func() time.Time { return v.cfg.Now().Add(-v.cfg.Skew) },
	})
	return &provider{op: op, ids: ids, keys: keys, algs: algs, userInfo: meta.UserInfo}, nil
}

// Endpoint is the provider's OAuth2 endpoint, for the browser login.
func (v *Verifier) Endpoint(ctx context.Context) (oauth2.Endpoint, error) {
	p, err := v.discover(ctx)
	if err != nil {
		return oauth2.Endpoint{}, err
	}
	return p.op.Endpoint(), nil
}

// Verify checks an ID token: signature (asymmetric algs only; never
// none/HS*), iss, aud, azp when several audiences, exp/iat (present, not
// far future)/nbf with Skew, non-empty sub, nonce == want.Nonce when
// want.Nonce != "" (and a token with no nonce is refused then), at_hash
// when want.AccessToken != "" and the token has one (OIDC Core §3.1.3.6
// makes it optional in the code flow). Every refusal is a *TokenError.
func (v *Verifier) Verify(ctx context.Context, rawIDToken string, want Expect) (*Identity, error) {
	if len(rawIDToken) > maxTokenBytes {
		return nil, &TokenError{Reason: "malformed", Detail: fmt.Sprintf("the ID token is over %d bytes", maxTokenBytes)}
	}
	p, err := v.discover(ctx)
	if err != nil {
		return nil, err
	}
	// Read the header first to name a wrong algorithm as such; go-oidc
	// refuses it too, as a parse error.
	jws, err := jose.ParseSignedCompact(rawIDToken, anyAlg)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, &TokenError{Reason: "malformed", Detail: "the ID token is not a compact JWS with one signature"}
	}
	if alg := jws.Signatures[0].Header.Algorithm; !slices.Contains(p.algs, alg) {
		return nil, &TokenError{Reason: "alg", Detail: fmt.Sprintf("the ID token is signed with %s; this issuer's tokens must use one of %v", quote(alg), p.algs)}
	}

	slot := &errSlot{}
	tok, err := p.ids.Verify(context.WithValue(oidc.ClientContext(ctx, v.client), slotKey{}, slot), rawIDToken)
	if err != nil {
		if slot.err != nil {
			return nil, slot.err
		}
		return nil, v.explain(err, jws.UnsafePayloadWithoutVerification())
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return nil, &TokenError{Reason: "malformed", Detail: "the ID token's claims are not a JSON object"}
	}
	now := v.cfg.Now()
	switch {
	case tok.Subject == "":
		return nil, &TokenError{Reason: "sub", Detail: "the ID token has no sub (or an empty one): there is no one to sign in"}
	case claims["iat"] == nil:
		return nil, &TokenError{Reason: "iat", Detail: "the ID token has no iat"}
	case tok.IssuedAt.After(now.Add(v.cfg.Skew)):
		return nil, &TokenError{Reason: "iat", Detail: fmt.Sprintf("the ID token was issued at %s, more than %s in the future: check the clocks", tok.IssuedAt.UTC().Format(time.RFC3339), v.cfg.Skew)}
	}
	if nbf, ok := claims["nbf"].(float64); ok {
		if t := time.Unix(int64(nbf), 0); t.After(now.Add(v.cfg.Skew)) {
			return nil, &TokenError{Reason: "nbf", Detail: fmt.Sprintf("the ID token is not valid before %s", t.UTC().Format(time.RFC3339))}
		}
	}
	// OIDC Core §3.1.3.7 (4, 5): several audiences need an azp, and an azp
	// must be us.
	azp, hasAZP := claims["azp"]
	if hasAZP && azp != v.cfg.ClientID {
		return nil, &TokenError{Reason: "azp", Detail: fmt.Sprintf("the ID token's azp is %s, not this connector's client ID", quote(fmt.Sprint(azp)))}
	}
	if len(tok.Audience) > 1 && !hasAZP {
		return nil, &TokenError{Reason: "azp", Detail: "the ID token has several audiences and no azp naming this connector's client ID"}
	}
	if want.Nonce != "" {
		if tok.Nonce == "" {
			return nil, &TokenError{Reason: "nonce", Detail: "the ID token has no nonce, and this login sent one"}
		}
		if subtle.ConstantTimeCompare([]byte(tok.Nonce), []byte(want.Nonce)) != 1 {
			return nil, &TokenError{Reason: "nonce", Detail: "the ID token's nonce is not this login's: a replayed or mixed-up token"}
		}
	}
	if want.AccessToken != "" && tok.AccessTokenHash != "" {
		if err := tok.VerifyAccessToken(want.AccessToken); err != nil {
			return nil, &TokenError{Reason: "at_hash", Detail: "the access token does not match the ID token's at_hash"}
		}
	}
	return &Identity{
		Issuer: tok.Issuer, Subject: tok.Subject, Audience: tok.Audience,
		Expiry: tok.Expiry, IssuedAt: tok.IssuedAt, Claims: claims,
	}, nil
}

// explain turns a refusal of go-oidc's, whose errors are text, into a
// TokenError, reading the claims again to say which check failed. The
// payload is untrusted here, but it only picks the words of a refusal.
func (v *Verifier) explain(err error, payload []byte) *TokenError {
	if exp, ok := errors.AsType[*oidc.TokenExpiredError](err); ok {
		return &TokenError{Reason: "expired", Detail: fmt.Sprintf("the ID token expired at %s (%s of clock skew allowed)", exp.Expiry.UTC().Format(time.RFC3339), v.cfg.Skew)}
	}
	var c struct {
		Iss any             `json:"iss"`
		Aud json.RawMessage `json:"aud"`
		Sub any             `json:"sub"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return &TokenError{Reason: "malformed", Detail: "the ID token's claims are not a JSON object"}
	}
	if iss, _ := c.Iss.(string); iss != v.cfg.Issuer {
		return &TokenError{Reason: "issuer", Detail: fmt.Sprintf("the ID token was issued by %s, not by this connector's issuer %s", quote(fmt.Sprint(c.Iss)), quote(v.cfg.Issuer))}
	}
	var one string
	var many []string
	if json.Unmarshal(c.Aud, &one) == nil {
		many = []string{one}
	} else if json.Unmarshal(c.Aud, &many) != nil {
		return &TokenError{Reason: "audience", Detail: "the ID token's aud is neither a string nor a list of strings"}
	}
	if !slices.Contains(many, v.cfg.ClientID) {
		return &TokenError{Reason: "audience", Detail: fmt.Sprintf("the ID token is for %s, not for this connector's client ID", quote(strings.Join(many, " ")))}
	}
	if _, ok := c.Sub.(string); !ok && c.Sub != nil {
		return &TokenError{Reason: "sub", Detail: "the ID token's sub is not a string"}
	}
	if strings.Contains(err.Error(), "nbf") {
		return &TokenError{Reason: "nbf", Detail: "the ID token is not valid yet (nbf)"}
	}
	return &TokenError{Reason: "malformed", Detail: clip(err.Error())}
}

// UserInfo fetches the userinfo endpoint with accessToken; its sub must
// equal id.Subject (OIDC Core §5.3.2); claims the ID token lacks are added
// to id.Claims, and those it has are kept: the signed token wins.
func (v *Verifier) UserInfo(ctx context.Context, accessToken string, id *Identity) error {
	p, err := v.discover(ctx)
	if err != nil {
		return err
	}
	if p.userInfo == "" {
		return &TokenError{Reason: "userinfo", Detail: "the issuer's discovery document names no userinfo endpoint"}
	}
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: accessToken, TokenType: "Bearer"})
	info, err := p.op.UserInfo(oidc.ClientContext(ctx, v.client), ts)
	if err != nil {
		return &TokenError{Reason: "userinfo", Detail: "the userinfo endpoint failed: " + clip(err.Error())}
	}
	var claims map[string]any
	if err := info.Claims(&claims); err != nil {
		return &TokenError{Reason: "userinfo", Detail: "the userinfo answer is not a JSON object"}
	}
	if sub, _ := claims["sub"].(string); sub == "" || sub != id.Subject {
		return &TokenError{Reason: "userinfo_sub", Detail: "the userinfo sub is not the ID token's sub: the access token belongs to someone else"}
	}
	if id.Claims == nil {
		id.Claims = map[string]any{}
	}
	for k, c := range claims {
		if _, ok := id.Claims[k]; !ok {
			id.Claims[k] = c
		}
	}
	return nil
}
