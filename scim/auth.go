package scim

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"hash/crc32"
	"math/big"
	"net/http"
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

// NewToken makes a bearer token. Only hash is to be stored; hint is a few
// characters an admin can recognise it by.
func NewToken() (token string, hash []byte, hint string) {
	var secret [32]byte
	rand.Read(secret[:]) // never fails (crypto/rand since Go 1.24)
	body := base62(new(big.Int).SetBytes(secret[:]), secretLen)
	token = TokenPrefix + body + base62(big.NewInt(int64(crc32.ChecksumIEEE([]byte(body)))), checksumLen)
	return token, HashToken(token), token[:len(TokenPrefix)+4]
}

// HashToken is how a token is stored and looked up: its SHA-256. A token
// carries 256 random bits, so a fast hash is as safe as a slow one here.
func HashToken(token string) []byte {
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
	want := base62(big.NewInt(int64(crc32.ChecksumIEEE([]byte(body)))), checksumLen)
	return subtle.ConstantTimeCompare([]byte(want), []byte(token[len(TokenPrefix)+secretLen:])) == 1
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

// authenticate finds the connector a request's bearer token belongs to and
// checks that it belongs to the tenant in the URL. Any failure is a 401
// that does not say whether the tenant exists.
func (s *Server) authenticate(r *http.Request, tenant string) (store.Principal, *Error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return store.Principal{}, newError(http.StatusUnauthorized, "",
			"authentication required: send the connector's token as 'Authorization: Bearer scimd_...'")
	}
	token = strings.TrimSpace(token)
	if !wellFormed(token) {
		return store.Principal{}, newError(http.StatusUnauthorized, "",
			"the bearer token is not a scimd token (scimd_ followed by 49 letters and digits); check for truncation when it was copied")
	}
	hash := HashToken(token)
	p, stored, err := s.db.Principal(r.Context(), hash)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Principal{}, s.toSCIM(r.Context(), err)
	}
	// The lookup is by hash; comparing again in constant time keeps the
	// check itself free of timing differences whatever the index does.
	if err != nil || subtle.ConstantTimeCompare(stored.Hash, hash) != 1 {
		return store.Principal{}, newError(http.StatusUnauthorized, "", "the bearer token is unknown or revoked")
	}
	if p.TenantName != tenant {
		return store.Principal{}, newError(http.StatusUnauthorized, "", "the bearer token is not valid for this tenant's URL")
	}
	if p.Kind == store.KindAdmin {
		return store.Principal{}, newError(http.StatusUnauthorized, "", "this is an admin API token (/admin/v1/); SCIM takes the token of an identity provider's connector")
	}
	return p, nil
}

type principalKey struct{}

// principal returns the connector a request acts as. The library's handler
// interface passes only the request, so the principal rides in its context
// from authenticate to the handlers, and nowhere else.
func principal(ctx context.Context) store.Principal {
	p, _ := ctx.Value(principalKey{}).(store.Principal)
	return p
}
