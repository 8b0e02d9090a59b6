package auth

import (
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// BenchmarkVerify is what authentication costs per call, by algorithm:
// the signature check of a token seen for the first time ("uncached"), and
// the same token again within the cache's life ("cached"), which is what a
// client sending one token on every call pays.
func BenchmarkVerify(b *testing.B) {
	for _, tc := range []struct {
		name string
		m    jwt.SigningMethod
		key  any
		pub  any
		alg  string
	}{
		{"ES256", jwt.SigningMethodES256, ecKey(), &ecKey().PublicKey, "ES256"},
		{"RS256", jwt.SigningMethodRS256, rsaKey(), &rsaKey().PublicKey, "RS256"},
		{"EdDSA", jwt.SigningMethodEdDSA, edKey(), edKey().Public(), "EdDSA"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			v, _, _, _ := newFileVerifier(b, jwkSpec{kid: "k1", alg: tc.alg, key: tc.pub})
			c := claims()
			c["scope"] = "forecast.read forecast.write"
			tok := sign(b, tc.m, tc.key, "k1", c)
			if _, err := v.Verify(tok); err != nil {
				b.Fatal(err)
			}
			for _, cached := range []bool{false, true} {
				name := "uncached"
				if cached {
					name = "cached"
				}
				b.Run(name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if !cached {
							v.cache = verifiedCache{}
						}
						if _, err := v.Verify(tok); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
