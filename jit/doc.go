// Package jit provisions people at the door: when someone signs in through
// an OIDC connector, or an application hands scimd an ID token it received,
// jit verifies the token and feeds the identity to reconcile, which creates,
// updates or links the user. It is a source like scim/: it reads through
// store.Reader and writes only through reconcile.
//
// The map:
//
//	verify.go   Verifier: one OIDC connector's ID tokens. Discovery of the
//	            configured issuer (lazy, retried after a failure), go-oidc's
//	            signature, iss, aud and exp checks, and what go-oidc leaves
//	            to us: nonce, a non-empty sub, iat present and not in the
//	            future, nbf and exp with a small skew, azp when aud has
//	            several values, at_hash, and userinfo sub == ID token sub.
//	            Every refusal is a *TokenError with a short Reason.
//	keyset.go   the JWKS behind the Verifier: an oidc.KeySet that refetches
//	            the issuer's keys for an unknown kid at most once per
//	            cooldown window, so a flood of forged tokens costs one fetch,
//	            while a real key rotation is picked up after the window,
//	            and keys older than an hour are fetched again, so a key the
//	            OP withdrew stops being trusted.
//	            Also the guarded HTTP client: timeouts on connect, TLS,
//	            response header and total; bounded bodies; no redirects; and
//	            only the issuer's discovery document and the JWKS, userinfo
//	            and token URLs it names are fetched (https, or http on a
//	            loopback host for tests).
//	claims.go   Login: a verified identity → the reconcile upsert its
//	            sign-in makes (sub as the connector's external ID, userName,
//	            names, the verified email only, every claim for the rules),
//	            and the connector's Policy refusing an unverified email or
//	            one outside its domains.
//	hook.go     Hook: POST /jit/{tenant}/{connector}, the ID-token hook for
//	            apps that run their own OIDC login (no nonce: the app checks
//	            its own); the bearer token is one of that oidc connector;
//	            answers the user as SCIM JSON, created, and the grants, or a
//	            JSON Error. reconcile.Engine.SignIn decides who may sign in
//	            now (disabled, access window, create not allowed), audits
//	            refusals and sign-ins, and activates pending users.
//	rp.go       RP: the browser login, scimd as the relying party.
//	            GET /auth/{tenant}/{connector}/login checks return_to (a
//	            path, or an origin the connector lists), records a login
//	            (state as a hash, nonce, PKCE verifier, the hash of the
//	            browser's scimd_login cookie) through reconcile and sends
//	            the browser to the provider (code flow, PKCE S256); the
//	            callback uses that login once, exchanges the code, verifies
//	            the ID token and its nonce, signs the person in as the hook
//	            does (same Policy, same reconcile.Engine.SignIn), starts a
//	            session and sends the browser to return_to. Refusals are
//	            pages saying why. Verifiers: the cache of Verifiers the hook
//	            and the login share.
//	session.go  the session's HTTP side: the cookie (scimd_session:
//	            HttpOnly, SameSite=Lax, Path=/, Secure behind TLS or an https
//	            base URL, holding only the random secret; the database keeps
//	            its SHA-256), the resolver that finds a request's live
//	            session (wired into /scim/v2/{tenant}/Me by cmd/scimd), and
//	            POST /auth/{tenant}/logout. Starting, looking up and ending
//	            sessions are the engine's (reconcile/session.go), so that
//	            each is audited and a disable or delete of the user ends them
//	            in the same transaction.
//	activate.go Activation: GET /activate/{token} shows the account an
//	            activation link names, with a button; POST activates it,
//	            once, through reconcile.Engine.Activate. Unknown links are
//	            404, used or expired ones 410; the token is never logged.
//
// Tests run a real OpenID provider on loopback: jit/oidctest, imported only
// by _test.go files.
package jit
