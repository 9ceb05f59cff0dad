package jit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Outbound limits. The issuer is someone else's server: every call to it
// is bounded in time and size, so a slow or hostile OP costs a login an
// error, never a goroutine or the process's memory.
const (
	dialTimeout    = 5 * time.Second
	tlsTimeout     = 5 * time.Second
	headerTimeout  = 10 * time.Second
	totalTimeout   = 15 * time.Second
	maxBody        = 1 << 20 // discovery, JWKS and userinfo documents
	maxHeaderBytes = 64 << 10

	// defaultCooldown is the least time between two JWKS fetches caused by
	// an unknown kid. OPs publish a new key before they sign with it, so a
	// minute costs a real rotation at most a minute of refused logins, and
	// a flood of forged kids one fetch a minute.
	defaultCooldown = time.Minute
	// failedFetchRetry is the wait after a failed JWKS fetch (shorter than
	// the cooldown, so a blip at the OP does not refuse logins for long).
	failedFetchRetry = 5 * time.Second
	// maxKeyAge is how long keys are used without a fetch. Past it, the
	// next token starts a fetch in the background (and is verified with
	// the keys held): a key the OP withdrew stops working within the hour.
	maxKeyAge = time.Hour
)

// asymmetric lists the only signature algorithms a token may carry: those
// go-oidc supports. HS* (a shared secret we never hold, and the algorithm
// confusion attack) and none are refused before any key is looked at.
var asymmetric = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.EdDSA,
}

// anyAlg is what a token's header is parsed with to say which algorithm
// it claims, so that a refusal can name it.
var anyAlg = append([]jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512, "none"}, asymmetric...)

// guard is the transport of every outbound call: it sends a request only
// to an endpoint of the configured issuer (its discovery document, then
// the JWKS, userinfo and token URLs that document names) and caps the
// size of what comes back.
type guard struct {
	next http.RoundTripper

	mu      sync.RWMutex
	allowed map[string]bool // endpointKey of each URL we may fetch
}

// endpointKey is scheme://host/path, lower-cased where URLs are
// case-insensitive: a query string does not make another endpoint.
func endpointKey(u *url.URL) string {
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + u.EscapedPath()
}

func (g *guard) allow(raw string) {
	u, err := url.Parse(raw)
	if err != nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.allowed[endpointKey(u)] = true
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	g.mu.RLock()
	ok := g.allowed[endpointKey(req.URL)]
	g.mu.RUnlock()
	if !ok {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("jit: %s://%s%s is not an endpoint of the configured issuer: not fetched",
			req.URL.Scheme, req.URL.Host, req.URL.EscapedPath())
	}
	resp, err := g.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: maxBody}
	return resp, nil
}

// limitedBody fails a read past its limit instead of truncating quietly,
// so an oversized document is an error, not a half-parsed one.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

var errBodyTooLarge = fmt.Errorf("jit: response from the issuer over %d bytes", maxBody)

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, errBodyTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// newClient returns the client of one Verifier: base's settings (or ours,
// with timeouts on every phase, when base is nil), behind the guard, with
// redirects refused and a total timeout always set.
func newClient(base *http.Client, g *guard) *http.Client {
	c := &http.Client{}
	if base != nil {
		*c = *base
		g.next = base.Transport
	}
	if g.next == nil {
		g.next = defaultTransport()
	}
	if c.Timeout == 0 {
		c.Timeout = totalTimeout
	}
	c.Jar = nil
	c.Transport = g
	c.CheckRedirect = func(*http.Request, []*http.Request) error {
		return errors.New("jit: the issuer answered with a redirect; redirects are not followed")
	}
	return c
}

func defaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = tlsTimeout
	t.ResponseHeaderTimeout = headerTimeout
	t.ExpectContinueTimeout = time.Second
	t.MaxResponseHeaderBytes = maxHeaderBytes
	return t
}

// checkEndpoint refuses a URL scimd should not call: anything but https,
// except plain http to a loopback host (tests, a sidecar OP).
func checkEndpoint(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("%s %q is not an absolute URL", what, clip(raw))
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
	}
	return fmt.Errorf("%s %q must be https (plain http only to a loopback host)", what, clip(raw))
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// keySet is the issuer's JWKS, as an oidc.KeySet. go-oidc's RemoteKeySet
// refetches the JWKS for every token whose kid it does not know, so each
// forged token costs the OP (and us) a fetch. This one fetches for an
// unknown kid only when the last fetch is older than the cooldown; inside
// the window the token is refused at once. A known kid whose signature
// fails is refused without a fetch: its key is the one we hold.
type keySet struct {
	url      string
	client   *http.Client
	cooldown time.Duration
	now      func() time.Time

	mu       sync.Mutex
	keys     []jose.JSONWebKey
	fetched  time.Time // when keys were fetched
	next     time.Time // no fetch for an unknown kid before this
	inflight *keyFetch
}

type keyFetch struct {
	done chan struct{}
	err  error // set before done is closed
}

// errCooldown says the JWKS was not fetched because the last fetch is too
// recent.
var errCooldown = errors.New("cooldown")

// slotKey carries, through go-oidc's Verify (which flattens errors into
// text), the *TokenError the key set refused a token with.
type slotKey struct{}

type errSlot struct{ err *TokenError }

func (k *keySet) refuse(ctx context.Context, e *TokenError) error {
	if s, ok := ctx.Value(slotKey{}).(*errSlot); ok {
		s.err = e
	}
	return e
}

// VerifySignature implements oidc.KeySet.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, asymmetric)
	if err != nil {
		return nil, k.refuse(ctx, &TokenError{Reason: "malformed", Detail: "the ID token is not a signed JWT with an asymmetric algorithm"})
	}
	if len(jws.Signatures) != 1 {
		return nil, k.refuse(ctx, &TokenError{Reason: "malformed", Detail: "the ID token must carry exactly one signature"})
	}
	kid := jws.Signatures[0].Header.KeyID
	k.refreshIfOld(ctx)
	payload, known := verifyWith(jws, kid, k.cached())
	if payload != nil {
		return payload, nil
	}
	if known {
		return nil, k.refuse(ctx, &TokenError{Reason: "signature", Detail: "the ID token's signature does not verify with the issuer's key " + quote(kid)})
	}
	switch err := k.refresh(ctx); {
	case errors.Is(err, errCooldown) && kid != "":
		return nil, k.refuse(ctx, &TokenError{Reason: "kid", Detail: fmt.Sprintf(
			"the issuer's JWKS has no key %s; it was fetched less than %s ago, so it is not fetched again yet", quote(kid), k.cooldown)})
	case errors.Is(err, errCooldown):
		return nil, k.refuse(ctx, &TokenError{Reason: "signature", Detail: "the ID token's signature does not verify with any of the issuer's keys"})
	case err != nil:
		return nil, k.refuse(ctx, &TokenError{Reason: "jwks", Detail: "fetching the issuer's JWKS failed: " + clip(err.Error())})
	}
	payload, known = verifyWith(jws, kid, k.cached())
	switch {
	case payload != nil:
		return payload, nil
	case kid != "" && !known:
		return nil, k.refuse(ctx, &TokenError{Reason: "kid", Detail: "the issuer's JWKS has no key " + quote(kid)})
	}
	return nil, k.refuse(ctx, &TokenError{Reason: "signature", Detail: "the ID token's signature does not verify with the issuer's keys"})
}

// verifyWith tries the keys named kid (every key when kid is empty) and
// reports whether a key of that kid exists at all.
func verifyWith(jws *jose.JSONWebSignature, kid string, keys []jose.JSONWebKey) (payload []byte, known bool) {
	for i := range keys {
		if kid != "" && keys[i].KeyID != kid {
			continue
		}
		known = known || kid != ""
		if p, err := jws.Verify(&keys[i]); err == nil {
			return p, true
		}
	}
	return nil, known
}

func (k *keySet) cached() []jose.JSONWebKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keys
}

// refreshIfOld starts a fetch, without waiting for it, when the keys are
// older than maxKeyAge.
func (k *keySet) refreshIfOld(ctx context.Context) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if k.inflight != nil || k.keys == nil || now.Sub(k.fetched) < maxKeyAge || now.Before(k.next) {
		return
	}
	k.start(ctx, now)
}

// start begins a fetch; k.mu is held.
func (k *keySet) start(ctx context.Context, now time.Time) *keyFetch {
	f := &keyFetch{done: make(chan struct{})}
	k.inflight = f
	k.next = now.Add(min(k.cooldown, failedFetchRetry))
	go k.fetch(context.WithoutCancel(ctx), f)
	return f
}

// refresh fetches the JWKS unless a fetch is running (then it waits for
// that one) or the last one is younger than the cooldown (errCooldown).
// The fetch itself runs detached from ctx, so one impatient caller does
// not fail the others waiting on it.
func (k *keySet) refresh(ctx context.Context) error {
	k.mu.Lock()
	f := k.inflight
	if f == nil {
		now := k.now()
		if now.Before(k.next) {
			k.mu.Unlock()
			return errCooldown
		}
		f = k.start(ctx, now)
	}
	k.mu.Unlock()
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (k *keySet) fetch(ctx context.Context, f *keyFetch) {
	keys, err := k.get(ctx)
	k.mu.Lock()
	if err == nil {
		k.keys, k.fetched = keys, k.now()
		k.next = k.fetched.Add(k.cooldown)
	}
	k.inflight = nil
	f.err = err
	k.mu.Unlock()
	close(f.done)
}

func (k *keySet) get(ctx context.Context) ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(ctx, totalTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", k.url, resp.Status)
	}
	return parseJWKS(body)
}

// parseJWKS keeps the public signing keys of a JWKS and skips, as RFC 7517
// §5 asks, keys it cannot use: other algorithms (ES256K, RSA-OAEP),
// unknown key types (Ed448), encryption keys, and symmetric keys, which
// have no place in a public JWKS.
func parseJWKS(body []byte) ([]jose.JSONWebKey, error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("the JWKS is not JSON: %w", err)
	}
	var keys []jose.JSONWebKey
	for _, r := range raw.Keys {
		var meta struct {
			Alg string `json:"alg"`
			Use string `json:"use"`
		}
		if json.Unmarshal(r, &meta) != nil {
			continue
		}
		if (meta.Alg != "" && !isAsymmetric(meta.Alg)) || (meta.Use != "" && meta.Use != "sig") {
			continue
		}
		var key jose.JSONWebKey
		if json.Unmarshal(r, &key) != nil || !key.Valid() {
			continue
		}
		if !key.IsPublic() {
			pub := key.Public()
			if !pub.Valid() { // symmetric: no public half
				continue
			}
			key = pub
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, errors.New("the JWKS holds no usable signing key")
	}
	return keys, nil
}

func isAsymmetric(alg string) bool {
	for _, a := range asymmetric {
		if string(a) == alg {
			return true
		}
	}
	return false
}

// clip bounds a string that came from outside (an error body, a claim)
// before it goes into a message.
func clip(s string) string {
	const n = 200
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func quote(s string) string { return fmt.Sprintf("%q", clip(s)) }
