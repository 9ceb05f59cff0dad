package jit_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/oauth2-proxy/mockoidc"
	"github.com/scimd/scimd/jit"
	"github.com/scimd/scimd/jit/oidctest"
	"golang.org/x/oauth2"
)

// TestMockOIDCLogin runs a whole authorization-code login with PKCE and a
// nonce against oauth2-proxy's mockoidc, another project's OP on loopback,
// and verifies what it issues: the Verifier is not only tuned to our own
// test provider.
func TestMockOIDCLogin(t *testing.T) {
	m := oidctest.Mock(t)
	cfg := m.Config()
	v := jit.NewVerifier(jit.VerifierConfig{Issuer: cfg.Issuer, ClientID: cfg.ClientID})
	ep, err := v.Endpoint(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: ep,
		RedirectURL: "http://127.0.0.1:1/auth/acme/okta/callback",
		Scopes:      []string{oidc.ScopeOpenID, "email", "profile", "groups"},
	}

	login := func(t *testing.T, user *mockoidc.MockUser, nonce string) (idToken, accessToken string) {
		t.Helper()
		m.QueueUser(user)
		pkce := oauth2.GenerateVerifier()
		authURL := conf.AuthCodeURL("state-1", oidc.Nonce(nonce), oauth2.S256ChallengeOption(pkce))
		browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := browser.Get(authURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		back, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || back.Query().Get("state") != "state-1" || back.Query().Get("code") == "" {
			t.Fatalf("authorize answered %s, Location %q", resp.Status, resp.Header.Get("Location"))
		}
		ctx := context.WithValue(t.Context(), oauth2.HTTPClient, v.HTTPClient())
		tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tok.Extra("id_token").(string)
		if _, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(pkce)); err == nil {
			t.Error("mockoidc exchanged a code twice")
		}
		return raw, tok.AccessToken
	}

	alice := &mockoidc.MockUser{Subject: "00u-alice", Email: "alice@example.com", EmailVerified: true,
		PreferredUsername: "alice", Groups: []string{"eng", "admins"}}
	raw, at := login(t, alice, "nonce-1")
	id, err := v.Verify(t.Context(), raw, jit.Expect{Nonce: "nonce-1", AccessToken: at})
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "00u-alice" || id.Issuer != cfg.Issuer {
		t.Errorf("identity %+v", id)
	}
	if email, ok := id.Email(); email != "alice@example.com" || !ok {
		t.Errorf("Email() = %q, %v", email, ok)
	}
	if err := v.UserInfo(t.Context(), at, id); err != nil {
		t.Fatal(err)
	}
	if id.Claims["preferred_username"] != "alice" {
		t.Errorf("claims after userinfo: %v", id.Claims)
	}

	t.Run("nonce of another login", func(t *testing.T) {
		_, err := v.Verify(t.Context(), raw, jit.Expect{Nonce: "nonce-2"})
		refused(t, err, "nonce", raw)
	})
	t.Run("userinfo of another person", func(t *testing.T) {
		_, bobAT := login(t, &mockoidc.MockUser{Subject: "00u-bob", Email: "bob@example.com"}, "nonce-3")
		id, err := v.Verify(t.Context(), raw, jit.Expect{Nonce: "nonce-1"})
		if err != nil {
			t.Fatal(err)
		}
		refused(t, v.UserInfo(t.Context(), bobAT, id), "userinfo_sub", "")
	})
	t.Run("unverified email", func(t *testing.T) {
		raw, _ := login(t, &mockoidc.MockUser{Subject: "00u-carol", Email: "carol@example.com"}, "nonce-4")
		id, err := v.Verify(t.Context(), raw, jit.Expect{Nonce: "nonce-4"})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := id.Email(); ok {
			t.Error("an email mockoidc did not verify is reported verified")
		}
	})
}
