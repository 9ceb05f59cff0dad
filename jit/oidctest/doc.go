// Package oidctest runs an OpenID provider in the test process, on
// 127.0.0.1, for the tests of jit: discovery, a JWKS of rotatable keys, a
// token endpoint with single-use codes and a userinfo endpoint, each
// counting its requests, each able to be slowed down or replaced. Its
// signer makes any token a test needs, well-formed or not: any claims, any
// header (alg and kid included), alg none, HS256 keyed with an RSA public
// key, a key the provider never published.
//
//	op := oidctest.Start(t)
//	tok := op.Sign(op.Claims("alice", "my-client"))
//	… jit.NewVerifier(jit.VerifierConfig{Issuer: op.URL, ClientID: "my-client"}) …
//	if n := op.Count(oidctest.JWKS); n != 1 { … }
//
// It has no login page: codes are handed out by AddCode, and the token
// endpoint checks neither client credentials nor PKCE. For a browser login
// flow, use github.com/oauth2-proxy/mockoidc. It is for _test.go files
// only (a root test enforces it).
package oidctest
