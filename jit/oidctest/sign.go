package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// Key is a signing key of the provider, published or not.
type Key struct {
	ID      string
	Alg     string // RS256, PS256, ES256 or EdDSA
	Private crypto.Signer
}

// NewKey makes a key for alg (RS256, PS256, ES256 or EdDSA) with a fresh
// kid. It is not published until given to Server.Publish or made by
// Server.Rotate: sign with an unpublished key to play a wrong key.
func NewKey(t testing.TB, alg string) *Key {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case "RS256", "PS256":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("oidctest: no key for alg %q", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	var id [6]byte
	_, _ = rand.Read(id[:])
	return &Key{ID: "k-" + base64.RawURLEncoding.EncodeToString(id[:]), Alg: alg, Private: priv}
}

// JWK is the key's public half as the JWKS publishes it.
func (k *Key) JWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.Private.Public(), KeyID: k.ID, Algorithm: k.Alg, Use: "sig"}
}

// PublicPEM is the public key as PEM (PKIX): the secret an algorithm
// confusion attack feeds to HMAC.
func (k *Key) PublicPEM() []byte {
	der, err := x509.MarshalPKIXPublicKey(k.Private.Public())
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// Sign signs claims with the header {"alg": k.Alg, "kid": k.ID, "typ": "JWT"}.
func (k *Key) Sign(claims map[string]any) string {
	return k.SignHeader(map[string]any{"alg": k.Alg, "kid": k.ID, "typ": "JWT"}, claims)
}

// SignHeader signs claims under any header with k's own algorithm: the
// header may lie about alg or kid, or add jku and x5u.
func (k *Key) SignHeader(header, claims map[string]any) string {
	input := signingInput(header, claims)
	return input + "." + b64(k.sign([]byte(input)))
}

func (k *Key) sign(input []byte) []byte {
	sum := sha256.Sum256(input)
	var sig []byte
	var err error
	switch k.Alg {
	case "RS256":
		sig, err = rsa.SignPKCS1v15(rand.Reader, k.Private.(*rsa.PrivateKey), crypto.SHA256, sum[:])
	case "PS256":
		sig, err = rsa.SignPSS(rand.Reader, k.Private.(*rsa.PrivateKey), crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "ES256":
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, k.Private.(*ecdsa.PrivateKey), sum[:])
		if err == nil { // JWS wants r||s, each 32 bytes (RFC 7518 §3.4)
			sig = make([]byte, 64)
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
		}
	case "EdDSA":
		sig = ed25519.Sign(k.Private.(ed25519.PrivateKey), input)
	}
	if err != nil {
		panic(fmt.Sprintf("oidctest: sign %s: %v", k.Alg, err))
	}
	return sig
}

// SignNone makes an unsigned token: {"alg":"none"} and an empty signature.
func SignNone(claims map[string]any) string {
	return signingInput(map[string]any{"alg": "none", "typ": "JWT"}, claims) + "."
}

// SignHMAC makes an HS256 token keyed with secret under header (its alg is
// set to HS256). With a published key's PublicPEM as the secret and its
// kid, it is the algorithm confusion attack.
func SignHMAC(secret []byte, header, claims map[string]any) string {
	h := map[string]any{"alg": "HS256", "typ": "JWT"}
	for k, v := range header {
		h[k] = v
	}
	h["alg"] = "HS256"
	input := signingInput(h, claims)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + b64(mac.Sum(nil))
}

// Craft joins any header, claims and signature bytes into a compact JWS.
func Craft(header, claims map[string]any, sig []byte) string {
	return signingInput(header, claims) + "." + b64(sig)
}

func signingInput(header, claims map[string]any) string {
	return b64(mustJSON(header)) + "." + b64(mustJSON(claims))
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
