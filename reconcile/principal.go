package reconcile

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"math/big"
	"strings"

	"github.com/scimd/scimd/store"
)

// Tokens look like scimd_<43 base62 characters of 256 random bits><6 base62
// characters of their CRC-32>. The prefix lets leak scanners find them and
// the checksum lets them (and us) tell a token from a typo without a
// database round trip.
const (
	TokenPrefix  = "scimd_"
	secretLen    = 43 // ⌈256 / log2(62)⌉
	checksumLen  = 6  // ⌈32 / log2(62)⌉
	tokenLen     = len(TokenPrefix) + secretLen + checksumLen
	base62Digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// newToken makes a bearer token. Only hash is to be stored; hint is a few
// characters an admin can recognise it by.
func newToken() (token string, hash []byte, hint string) {
	var secret [32]byte
	rand.Read(secret[:]) // never fails (crypto/rand since Go 1.24)
	body := base62(new(big.Int).SetBytes(secret[:]), secretLen)
	var sum [checksumLen]byte
	base62Checksum(sum[:], crc32.ChecksumIEEE([]byte(body)))
	token = TokenPrefix + body + string(sum[:])
	return token, hashToken(token), token[:len(TokenPrefix)+4]
}

// hashToken is how a token is stored and looked up: its SHA-256. A token
// carries 256 random bits, so a fast hash is as safe as a slow one here.
func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// wellFormed checks a token's shape and checksum.
func wellFormed(token string) bool {
	if len(token) != tokenLen || !strings.HasPrefix(token, TokenPrefix) {
		return false
	}
	body := token[len(TokenPrefix) : len(TokenPrefix)+secretLen]
	for i := len(TokenPrefix); i < tokenLen; i++ {
		if strings.IndexByte(base62Digits, token[i]) < 0 {
			return false
		}
	}
	var want [checksumLen]byte
	base62Checksum(want[:], crc32.ChecksumIEEE([]byte(body)))
	return subtle.ConstantTimeCompare(want[:], []byte(token[len(TokenPrefix)+secretLen:])) == 1
}

// base62Checksum writes a CRC-32 in base 62 into out, as base62 would,
// without its allocations: every request checks one.
func base62Checksum(out []byte, n uint32) {
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = base62Digits[n%62]
		n /= 62
	}
}

func base62(n *big.Int, width int) string {
	out := make([]byte, width)
	base := big.NewInt(62)
	mod := new(big.Int)
	for i := width - 1; i >= 0; i-- {
		n.DivMod(n, base, mod)
		out[i] = base62Digits[mod.Int64()]
	}
	return string(out)
}

// AuthError is a request whose credentials do not let it in: a 401 at
// every edge. Msg says what to fix without saying whether the tenant
// exists.
type AuthError struct{ Msg string }

func (e *AuthError) Error() string { return e.Msg }

// Authenticate finds who a request acts as from its Authorization header:
// the connector of tenant, of the given kind ([store.KindSCIM] for the
// SCIM endpoint, [store.KindAdmin] for the admin API), whose unrevoked
// token it carries. Credentials that do not fit are an [*AuthError];
// other errors are the database's.
func (e *Engine) Authenticate(ctx context.Context, authorization, tenant, kind string) (store.Principal, error) {
	scheme, token, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return store.Principal{}, &AuthError{"authentication required: send the connector's token as 'Authorization: Bearer scimd_...'"}
	}
	token = strings.TrimSpace(token)
	if !wellFormed(token) {
		return store.Principal{}, &AuthError{"the bearer token is not a scimd token (scimd_ followed by 49 letters and digits); check for truncation when it was copied"}
	}
	hash := sha256.Sum256([]byte(token))
	// The epoch before the lookup: a change committed while it runs moves
	// the epoch on, and the principal read is then cached under one
	// already past.
	epoch, cacheable := e.db.PrincipalEpoch()
	p, ok := e.principals.get(hash, epoch, cacheable)
	if !ok {
		var stored store.Token
		var err error
		p, stored, err = e.db.Principal(ctx, hash[:])
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.Principal{}, err
		}
		// The lookup is by hash; comparing again in constant time keeps the
		// check itself free of timing differences whatever the index does.
		// An unknown token is not cached: it costs its sender a lookup
		// each time, and cannot fill the cache.
		if err != nil || subtle.ConstantTimeCompare(stored.Hash, hash[:]) != 1 {
			return store.Principal{}, &AuthError{"the bearer token is unknown or revoked"}
		}
		if cacheable {
			e.principals.put(hash, epoch, p)
		}
	}
	if p.TenantName != tenant {
		return store.Principal{}, &AuthError{"the bearer token is not valid for this tenant's URL"}
	}
	switch {
	case p.Kind == kind:
		e.observeAuth(ctx, p)
		return p, nil
	case kind == store.KindAdmin:
		return store.Principal{}, &AuthError{"this is an identity provider's token; the admin API takes a token of one of this tenant's admin connectors: scimd token create --tenant T --connector admins --admin"}
	case kind == store.KindOIDC:
		return store.Principal{}, &AuthError{fmt.Sprintf("this is a token of a %s connector; the ID-token hook takes a token of one of this tenant's oidc connectors (kind: oidc in its configuration)", p.Kind)}
	case p.Kind == store.KindOIDC:
		return store.Principal{}, &AuthError{"this is an OIDC connector's token, for the ID-token hook (/jit/); SCIM takes the token of an identity provider's SCIM connector"}
	default:
		return store.Principal{}, &AuthError{"this is an admin API token (/admin/v1/); SCIM takes the token of an identity provider's connector"}
	}
}

// ErrorID is the ID an internal error is logged under and answered with,
// so that the client can quote it and the operator find it: random, so
// that one ID tells nothing of another.
func ErrorID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
