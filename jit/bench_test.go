package jit_test

import (
	"crypto"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/scimd/scimd/jit"
	"github.com/scimd/scimd/jit/oidctest"
)

// BenchmarkVerify is the cost of one ID token on a warm Verifier, beside
// go-oidc's own verifier on the same token with its keys in memory (raw):
// the difference is our header pre-parse, the KeySet and the checks go-oidc
// leaves to us.
func BenchmarkVerify(b *testing.B) {
	op := oidctest.Start(b)
	c := op.Claims("alice", clientID)
	c["nonce"] = "n-1"
	c["email"] = "alice@example.com"
	c["groups"] = []string{"eng", "admins", "all"}
	tok := op.Sign(c)
	ctx := b.Context()

	b.Run("raw", func(b *testing.B) {
		ids := oidc.NewVerifier(op.URL, &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{op.Key().Private.Public()}}, &oidc.Config{ClientID: clientID})
		for b.Loop() {
			t, err := ids.Verify(ctx, tok)
			if err != nil || t.Nonce != "n-1" {
				b.Fatal(err)
			}
			var m map[string]any
			if err := t.Claims(&m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("scimd", func(b *testing.B) {
		v := jit.NewVerifier(jit.VerifierConfig{Issuer: op.URL, ClientID: clientID})
		for b.Loop() {
			if _, err := v.Verify(ctx, tok, jit.Expect{Nonce: "n-1"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
