package jit

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

// Policy is who an OIDC connector signs in, and how: what its
// configuration's oidc settings and emailDomains say.
type Policy struct {
	Tenant, Connector string
	// EmailDomains, when not empty, are the only domains whose people may
	// sign in; Vouches says whether an address is of one of them.
	EmailDomains []string
	Vouches      func(email string) bool
	// EmailVerified requires a verified email; CreateUsers lets a login
	// create a user nobody matches; UserNameClaim names the claim a new
	// user's userName comes from (see the connector schema).
	EmailVerified, CreateUsers bool
	UserNameClaim              string
}

// Reasons a login is refused before reconcile plans it: the connector's
// policy on the email the token carries, or a token without a name to give
// a new user.
const (
	RefusedEmailUnverified = "email_unverified"
	RefusedEmailDomain     = "email_domain"
	RefusedNoUserName      = "no_username"
)

// Login turns a verified identity into the upsert its sign-in makes: Source
// oidc, Op Upsert, ExternalID the token's sub (the connector's own id of the
// person), the attributes the token names (userName, names, the email when
// verified), and every claim for the rules. It refuses, as a
// *reconcile.SignInError, what the connector's policy refuses: an email the
// provider does not say is verified when emailVerified is on (the default),
// or an email outside emailDomains when the connector lists any.
//
// Only attributes the token carries are sent: an upsert leaves the rest as
// they are, so a second login updates what the provider owns and nothing
// else. An unverified email is never sent (it could match someone else's
// account, the nOAuth attack), and never becomes a userName.
func Login(p store.Principal, policy Policy, id *Identity) (reconcile.Input, error) {
	email, verified := id.Email()
	email = strings.TrimSpace(email)
	switch {
	case email != "" && !verified && policy.EmailVerified:
		return reconcile.Input{}, &reconcile.SignInError{Reason: RefusedEmailUnverified, Msg: fmt.Sprintf(
			"your identity provider does not say that %s is verified, and this connector requires a verified email: verify it with your provider, or ask your IT team", email)}
	case len(policy.EmailDomains) > 0 && email == "":
		return reconcile.Input{}, &reconcile.SignInError{Reason: RefusedEmailDomain, Msg: fmt.Sprintf(
			"the ID token carries no email, and connector %s signs in people of %s only: add the email scope or claim at the provider", policy.Connector, strings.Join(policy.EmailDomains, ", "))}
	case len(policy.EmailDomains) > 0 && !policy.Vouches(email):
		return reconcile.Input{}, &reconcile.SignInError{Reason: RefusedEmailDomain, Msg: fmt.Sprintf(
			"%s is not an address of %s, the domains connector %s signs in", email, strings.Join(policy.EmailDomains, ", "), policy.Connector)}
	}
	if !verified {
		email = ""
	}
	str := func(k string) string { s, _ := id.Claims[k].(string); return strings.TrimSpace(s) }

	var userName string
	switch policy.UserNameClaim {
	case "email":
		userName = email
	case "upn":
		userName = cmp.Or(str("upn"), str("preferred_username"), email)
	default:
		userName = cmp.Or(str("preferred_username"), email)
	}
	if userName == "" {
		return reconcile.Input{}, &reconcile.SignInError{Reason: RefusedNoUserName, Msg: fmt.Sprintf(
			"the ID token has no %s (nor a verified email) to name a new account by: ask your IT team to add the claim at the provider", policy.UserNameClaim)}
	}
	attrs := map[string]any{"userName": userName}
	name := map[string]any{}
	for claim, attr := range map[string]string{"given_name": "givenName", "family_name": "familyName", "middle_name": "middleName", "name": "formatted"} {
		if v := str(claim); v != "" {
			name[attr] = v
		}
	}
	if len(name) > 0 {
		attrs["name"] = name
	}
	if v := str("name"); v != "" {
		attrs["displayName"] = v
	}
	if v := str("nickname"); v != "" {
		attrs["nickName"] = v
	}
	if v := str("locale"); v != "" {
		attrs["locale"] = v
	}
	if v := str("zoneinfo"); v != "" {
		attrs["timezone"] = v
	}
	if email != "" {
		attrs["emails"] = []any{map[string]any{"value": email, "type": "work", "primary": true}}
	}
	return reconcile.Input{
		Source:     reconcile.SourceOIDC,
		Principal:  p,
		Kind:       reconcile.KindUser,
		Op:         reconcile.Upsert,
		Attrs:      attrs,
		ExternalID: id.Subject,
		Claims:     id.Claims,
	}, nil
}

// auditIdentity is what audit events say of who signed in: the issuer and
// subject, and the email with whether it was verified; never a token.
func auditIdentity(id *Identity) map[string]any {
	email, verified := id.Email()
	out := map[string]any{"issuer": id.Issuer, "subject": id.Subject}
	if email != "" {
		out["email"], out["emailVerified"] = email, verified
	}
	return out
}
