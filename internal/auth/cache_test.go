package auth

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestVerifiedCache: a token verified once is not re-verified while valid,
// but the cache never outlives the token's exp (plus leeway), cacheTTL, or
// the key set it was verified with.
func TestVerifiedCache(t *testing.T) {
	v, clk, _, _ := newFileVerifier(t, jwkSpec{kid: "k1", alg: "ES256", key: &ecKey().PublicKey})
	tok := sign(t, jwt.SigningMethodES256, ecKey(), "k1", claims())
	first, err := v.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	again, err := v.Verify(tok)
	if err != nil || again != first {
		t.Fatalf("second Verify: %v, same caller %v; want the cached caller", err, again == first)
	}

	// Past cacheTTL the token is verified again (still valid: a new entry).
	clk.Advance(cacheTTL + time.Second)
	if c, err := v.Verify(tok); err != nil || c == first {
		t.Fatalf("after cacheTTL: %v, cached %v; want a fresh verification", err, c == first)
	}

	// Past exp + leeway: refused although it was cached.
	clk.Advance(time.Hour + defaultLeeway)
	if _, err := v.Verify(tok); reasonOf(t, err) != "token expired" {
		t.Fatalf("expired cached token: %v", err)
	}
}

// TestVerifiedCacheKeyRemoval: removing the key from the JWKS file stops
// its tokens at the next reload, cached or not.
func TestVerifiedCacheKeyRemoval(t *testing.T) {
	v, clk, path, _ := newFileVerifier(t, jwkSpec{kid: "k1", alg: "ES256", key: &ecKey().PublicKey})
	tok := sign(t, jwt.SigningMethodES256, ecKey(), "k1", claims())
	if _, err := v.Verify(tok); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, jwksJSON(t, jwkSpec{kid: "k2", alg: "ES256", key: &ecKey2().PublicKey}))
	clk.Advance(defaultFileCheckInterval + time.Second) // the file is checked again
	if _, err := v.Verify(tok); err == nil {
		t.Fatal("a token of a removed key still verified (from the cache)")
	}
}
