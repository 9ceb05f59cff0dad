package oidctest

import (
	"testing"

	"github.com/oauth2-proxy/mockoidc"
)

// Mock starts oauth2-proxy's mockoidc, another project's OpenID provider,
// on loopback for the test, and shuts it down when the test ends.
func Mock(t testing.TB) *mockoidc.MockOIDC {
	t.Helper()
	op, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = op.Shutdown() })
	// mockoidc computes its key id lazily, unlocked: computed here, before
	// any request, concurrent token requests only read it (a data race otherwise).
	if _, err := op.Keypair.KeyID(); err != nil {
		t.Fatal(err)
	}
	return op
}
