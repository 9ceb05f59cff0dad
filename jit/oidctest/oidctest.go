package oidctest

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// The endpoints a Server counts requests of. Other counts every request
// to a path the provider does not serve.
const (
	Discovery = "discovery"
	JWKS      = "jwks"
	Token     = "token"
	UserInfo  = "userinfo"
	Other     = "other"
)

var paths = map[string]string{
	"/.well-known/openid-configuration": Discovery,
	"/keys":                             JWKS,
	"/token":                            Token,
	"/userinfo":                         UserInfo,
}

// Server is an OpenID provider on 127.0.0.1. Its URL is the issuer.
type Server struct {
	URL string
	// Now is the provider's clock, used by Claims. Set it before use.
	Now func() time.Time

	srv     *httptest.Server
	closing chan struct{} // closed by Close: slowed-down requests end

	mu        sync.Mutex
	signing   *Key
	published []*Key
	counts    map[string]int
	requests  []string
	delays    map[string]time.Duration
	handlers  map[string]http.HandlerFunc
	edit      func(doc map[string]any)
	codes     map[string]TokenResponse
	userinfo  map[string]map[string]any
}

// TokenResponse is what the token endpoint answers for a code.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	IDToken     string `json:"id_token,omitempty"`
	ExpiresIn   int    `json:"expires_in,omitempty"`
}

// Start runs a provider with one RS256 key until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		Now:      time.Now,
		counts:   map[string]int{},
		delays:   map[string]time.Duration{},
		handlers: map[string]http.HandlerFunc{},
		codes:    map[string]TokenResponse{},
		userinfo: map[string]map[string]any{},
		closing:  make(chan struct{}),
	}
	s.signing = NewKey(t, "RS256")
	s.published = []*Key{s.signing}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve)) // binds 127.0.0.1
	s.URL = s.srv.URL
	t.Cleanup(s.Close)
	return s
}

// Close shuts the provider down; requests that are being slowed down are
// let go first.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.closing:
	default:
		close(s.closing)
	}
	s.mu.Unlock()
	s.srv.Close()
}

// Count says how many requests an endpoint (Discovery, JWKS, …) received.
func (s *Server) Count(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[endpoint]
}

// Requests lists "METHOD /path" of every request received, in order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// SetDelay makes an endpoint wait d before it answers (or until the client
// gives up), to play a slow provider.
func (s *Server) SetDelay(endpoint string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays[endpoint] = d
}

// Handle replaces an endpoint's handler (nil restores it); its requests
// are still counted and delayed.
func (s *Server) Handle(endpoint string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[endpoint] = h
}

// EditDiscovery sets a function that edits the discovery document before
// each answer (nil: none), e.g. to name another issuer.
func (s *Server) EditDiscovery(edit func(doc map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.edit = edit
}

// Key is the key the provider signs with now.
func (s *Server) Key() *Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signing
}

// Rotate makes a new key of alg, publishes it beside the current ones and
// signs with it from now on.
func (s *Server) Rotate(t testing.TB, alg string) *Key {
	k := NewKey(t, alg)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signing = k
	s.published = append(s.published, k)
	return k
}

// Publish sets the JWKS to exactly keys.
func (s *Server) Publish(keys ...*Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.published = slices.Clone(keys)
}

// Claims returns the claims of a valid ID token of this provider for sub
// and aud, issued now and valid for an hour. Change the map to craft a bad
// one.
func (s *Server) Claims(sub, aud string) map[string]any {
	now := s.Now()
	return map[string]any{
		"iss": s.URL,
		"sub": sub,
		"aud": aud,
		"iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
}

// Sign signs claims with the current key.
func (s *Server) Sign(claims map[string]any) string { return s.Key().Sign(claims) }

// AddCode makes the token endpoint answer resp for code, once.
func (s *Server) AddCode(code string, resp TokenResponse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if resp.TokenType == "" {
		resp.TokenType = "Bearer"
	}
	s.codes[code] = resp
}

// SetUserInfo makes the userinfo endpoint answer claims to accessToken.
func (s *Server) SetUserInfo(accessToken string, claims map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userinfo[accessToken] = claims
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	endpoint, ok := paths[r.URL.Path]
	if !ok {
		endpoint = Other
	}
	s.mu.Lock()
	s.counts[endpoint]++
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	delay, h := s.delays[endpoint], s.handlers[endpoint]
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		}
	}
	if h != nil {
		h(w, r)
		return
	}
	switch endpoint {
	case Discovery:
		s.discovery(w)
	case JWKS:
		s.jwks(w)
	case Token:
		s.token(w, r)
	case UserInfo:
		s.userInfo(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) discovery(w http.ResponseWriter) {
	s.mu.Lock()
	var algs []string
	for _, k := range s.published {
		if !slices.Contains(algs, k.Alg) {
			algs = append(algs, k.Alg)
		}
	}
	doc := map[string]any{
		"issuer":                                s.URL,
		"authorization_endpoint":                s.URL + "/authorize",
		"token_endpoint":                        s.URL + "/token",
		"userinfo_endpoint":                     s.URL + "/userinfo",
		"jwks_uri":                              s.URL + "/keys",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": algs,
		"code_challenge_methods_supported":      []string{"S256"},
	}
	edit := s.edit
	s.mu.Unlock()
	if edit != nil {
		edit(doc)
	}
	writeJSON(w, http.StatusOK, doc)
}

func (s *Server) jwks(w http.ResponseWriter) {
	s.mu.Lock()
	set := jose.JSONWebKeySet{}
	for _, k := range s.published {
		set.Keys = append(set.Keys, k.JWK())
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, set)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil || r.PostForm.Get("grant_type") != "authorization_code" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	code := r.PostForm.Get("code")
	s.mu.Lock()
	resp, ok := s.codes[code]
	delete(s.codes, code) // single use
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) userInfo(w http.ResponseWriter, r *http.Request) {
	at, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	claims, found := s.userinfo[at]
	claims = maps.Clone(claims)
	s.mu.Unlock()
	if !ok || !found {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
		return
	}
	writeJSON(w, http.StatusOK, claims)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
