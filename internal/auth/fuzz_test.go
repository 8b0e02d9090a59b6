package auth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzParseBearer: ParseBearer never panics; an accepted value yields a
// token of allowed characters that round-trips.
func FuzzParseBearer(f *testing.F) {
	for _, r := range parseBearerRows {
		if len(r.header) <= 2*MaxTokenLength {
			f.Add(r.header)
		}
	}
	f.Add("Bearer a.b.c")
	f.Add("bEaReR    x")
	f.Add("Bearer \x00")
	f.Fuzz(func(t *testing.T, v string) {
		tok, err := ParseBearer(v)
		if err != nil {
			var ce *CredentialError
			switch {
			case v == "" && !errors.Is(err, ErrNoCredentials):
				t.Fatalf("empty value: %v", err)
			case v != "" && (!errors.As(err, &ce) || ce.Reason == ""):
				t.Fatalf("%q: %v is not a *CredentialError with a reason", v, err)
			case tok != "":
				t.Fatalf("token returned with an error")
			}
			return
		}
		if tok == "" || len(tok) > MaxTokenLength {
			t.Fatalf("accepted token of length %d", len(tok))
		}
		for _, r := range tok {
			if !isTokenChar(r) {
				t.Fatalf("accepted token with %q", r)
			}
		}
		if !strings.EqualFold(v[:len("Bearer ")], "Bearer ") || !strings.HasSuffix(v, tok) ||
			strings.TrimLeft(v[len("Bearer "):], " ") != tok {
			t.Fatalf("%q gave %q", v, tok)
		}
		if again, err := ParseBearer("Bearer " + tok); err != nil || again != tok {
			t.Fatalf("round trip of %q: %q, %v", tok, again, err)
		}
	})
}

// FuzzVerify: arbitrary token strings never verify (only the tokens the
// test signed do) and never panic; every refusal is a *CredentialError
// that does not contain the token.
func FuzzVerify(f *testing.F) {
	v, _, _, _ := newFileVerifier(f, testKeySet()...)
	valid := map[string]bool{}
	for _, tok := range []string{
		sign(f, jwt.SigningMethodRS256, rsaKey(), "rsa", claims()),
		sign(f, jwt.SigningMethodPS256, rsaKey(), "rsa-ps", claims()),
		sign(f, jwt.SigningMethodRS512, rsaKey(), "rsa-noalg", claims()),
		sign(f, jwt.SigningMethodES256, ecKey(), "ec", with(func(c jwt.MapClaims) { c["scope"] = "forecast.read"; c["scp"] = []string{"forecast.write"} })),
		sign(f, jwt.SigningMethodEdDSA, edKey(), "ed", with(func(c jwt.MapClaims) { c["groups"] = []string{"planning"} })),
		sign(f, jwt.SigningMethodES256, ecKey(), "", claims()), // no kid
	} {
		if _, err := v.Verify(tok); err != nil {
			f.Fatalf("seed token does not verify: %v", err)
		}
		valid[tok] = true
		f.Add(tok)
		parts := strings.Split(tok, ".")
		f.Add(parts[0] + "." + parts[1] + ".")
		f.Add(parts[0] + "." + parts[1] + "." + flipFirst(parts[2]))
		f.Add(parts[1] + "." + parts[0] + "." + parts[2])
	}
	for _, tok := range []string{
		sign(f, jwt.SigningMethodES256, ecKey(), "ec", with(func(c jwt.MapClaims) { c["exp"] = t0.Add(-time.Hour).Unix() })),
		sign(f, jwt.SigningMethodHS256, rsaPublicPEM(f), "rsa", claims()),
		sign(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claims()),
		sign(f, jwt.SigningMethodRS384, rsaKey(), "rsa", claims()),
		sign(f, jwt.SigningMethodES256, ecKey(), "unknown", claims()),
		sign(f, jwt.SigningMethodES256, ecKey2(), "", claims()),
		"", ".", "..", "a.b.c", "e30.e30.", "eyJhbGciOiJub25lIn0.e30.",
	} {
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := v.Verify(tok)
		if err == nil {
			if !valid[tok] || c == nil || c.Subject == "" {
				t.Fatalf("verified a token the test did not sign: %q", tok)
			}
			return
		}
		var ce *CredentialError
		if !errors.As(err, &ce) || ce.Reason == "" {
			t.Fatalf("%v is not a *CredentialError with a reason", err)
		}
		if c != nil {
			t.Fatal("caller returned with an error")
		}
		if len(tok) >= 24 && strings.Contains(err.Error(), tok) {
			t.Fatalf("error contains the token: %v", err)
		}
	})
}
