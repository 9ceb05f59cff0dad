package scim

import (
	"context"

	"github.com/scimd/scimd/store"
)

// A request's principal, the connector whose token it carries, is found by
// reconcile.Engine.Authenticate (one check for every edge) in serveSCIM.

type principalKey struct{}

// principal returns the connector a request acts as. The library's handler
// interface passes only the request, so the principal rides in its context
// from serveSCIM to the handlers, and nowhere else.
func principal(ctx context.Context) store.Principal {
	p, _ := ctx.Value(principalKey{}).(store.Principal)
	return p
}
