package jit_test

import (
	"testing"
	"time"

	"github.com/scimd/scimd/jit/oidctest"
)

// provider is the OpenID provider on loopback an app of the hook's tests
// belongs to (jit/oidctest), with that app's client ID, so that tests read
// as the app's logins: claims for a subject, signed by the provider.
type provider struct {
	*oidctest.Server
	clientID string
}

func newProvider(t *testing.T, clientID string) *provider {
	t.Helper()
	return &provider{Server: oidctest.Start(t), clientID: clientID}
}

func (op *provider) issuer() string { return op.URL }

// claims are a valid ID token's claims for subject sub, for the app; a
// test changes them to craft the token it needs.
func (op *provider) claims(sub string) map[string]any {
	c := op.Claims(sub, op.clientID)
	c["exp"] = time.Now().Add(5 * time.Minute).Unix()
	return c
}

// sign signs claims with the provider's key.
func (op *provider) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	return op.Sign(claims)
}

// signAs signs claims with op's key under another key's ID: a forgery
// naming a key op does not hold.
func (op *provider) signAs(kid string, claims map[string]any) string {
	k := *op.Key()
	k.ID = kid
	return k.Sign(claims)
}

// serveUserinfo makes the userinfo endpoint answer claims for access token at.
func (op *provider) serveUserinfo(at string, claims map[string]any) { op.SetUserInfo(at, claims) }
