package auth

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testKeySet is the JWK Set of TestVerify: each key under the kids the rows
// use.
func testKeySet() []jwkSpec {
	return []jwkSpec{
		{kid: "rsa", alg: "RS256", key: rsaKey().Public()},
		{kid: "rsa-ps", alg: "PS256", key: rsaKey().Public()},
		{kid: "rsa-noalg", key: rsaKey().Public()},
		{kid: "ec", alg: "ES256", use: "sig", key: ecKey().Public()},
		{kid: "ed", alg: "EdDSA", key: edKey().Public()},
		{kid: "enc", use: "enc", key: ecKey2().Public()},
	}
}

func rsaPublicDER(t testing.TB) []byte {
	der, err := x509.MarshalPKIXPublicKey(rsaKey().Public())
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func rsaPublicPEM(t testing.TB) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsaPublicDER(t)})
}

func with(edit func(jwt.MapClaims)) jwt.MapClaims {
	c := claims()
	edit(c)
	return c
}

// rawToken assembles a token from a header and claims with the given
// signature bytes, for tokens golang-jwt would not make.
func rawToken(t testing.TB, header map[string]any, c jwt.MapClaims, sig []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	p, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(h) + "." + enc.EncodeToString(p) + "." + enc.EncodeToString(sig)
}

func TestVerify(t *testing.T) {
	v, _, _, logs := newFileVerifier(t, testKeySet()...)
	rsaK, ecK, edK := rsaKey(), ecKey(), edKey()
	valid := sign(t, jwt.SigningMethodRS256, rsaK, "rsa", claims())
	parts := strings.Split(valid, ".")

	type row struct {
		name   string
		token  string
		reason string   // "" for a valid token
		scopes []string // checked for valid tokens
		groups []string
	}
	rows := []row{
		// Valid tokens of each algorithm.
		{name: "RS256", token: valid},
		{name: "RS384 on a key without alg", token: sign(t, jwt.SigningMethodRS384, rsaK, "rsa-noalg", claims())},
		{name: "RS512 on a key without alg", token: sign(t, jwt.SigningMethodRS512, rsaK, "rsa-noalg", claims())},
		{name: "PS256", token: sign(t, jwt.SigningMethodPS256, rsaK, "rsa-ps", claims())},
		{name: "PS384 on a key without alg", token: sign(t, jwt.SigningMethodPS384, rsaK, "rsa-noalg", claims())},
		{name: "PS512 on a key without alg", token: sign(t, jwt.SigningMethodPS512, rsaK, "rsa-noalg", claims())},
		{name: "ES256", token: sign(t, jwt.SigningMethodES256, ecK, "ec", claims())},
		{name: "EdDSA", token: sign(t, jwt.SigningMethodEdDSA, edK, "ed", claims())},

		// Time.
		{name: "expired", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { c["exp"] = t0.Add(-time.Minute).Unix() })), reason: "token expired"},
		{name: "expired within leeway", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { c["exp"] = t0.Add(-20 * time.Second).Unix() }))},
		{name: "not yet valid", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { c["nbf"] = t0.Add(time.Minute).Unix() })), reason: "token not yet valid"},
		{name: "nbf within leeway", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { c["nbf"] = t0.Add(20 * time.Second).Unix() }))},
		{name: "issued in the future", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { c["iat"] = t0.Add(time.Minute).Unix() })), reason: "token issued in the future"},
		{name: "iat within leeway", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { c["iat"] = t0.Add(20 * time.Second).Unix() }))},
		{name: "no exp", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { delete(c, "exp") })), reason: "no exp claim"},
		{name: "exp not a number", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { c["exp"] = "tomorrow" })), reason: "malformed token"},

		// Issuer, audience, subject.
		{name: "wrong iss", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })), reason: "wrong issuer"},
		{name: "no iss", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { delete(c, "iss") })), reason: "wrong issuer"},
		{name: "wrong aud", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { c["aud"] = "other-api" })), reason: "wrong audience"},
		{name: "no aud", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { delete(c, "aud") })), reason: "wrong audience"},
		{name: "aud list with ours", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { c["aud"] = []string{"other-api", testAudience} }))},
		{name: "aud list without ours", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { c["aud"] = []string{"other-api", "third"} })), reason: "wrong audience"},
		{name: "no sub", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { delete(c, "sub") })), reason: "no sub claim"},
		{name: "sub with a control character", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { c["sub"] = "a\nb" })), reason: "invalid sub claim"},

		// Algorithms.
		{name: "alg none", token: sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "rsa", claims()), reason: "algorithm not allowed"},
		{name: "alg none without kid", token: sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claims()), reason: "algorithm not allowed"},
		{name: "alg NONE", token: rawToken(t, map[string]any{"alg": "NONE", "kid": "rsa"}, claims(), nil), reason: "algorithm not allowed"},
		{name: "HS256 with the RSA public key PEM as secret", token: sign(t, jwt.SigningMethodHS256, rsaPublicPEM(t), "rsa", claims()), reason: "algorithm not allowed"},
		{name: "HS256 with the RSA public key PEM, no kid", token: sign(t, jwt.SigningMethodHS256, rsaPublicPEM(t), "", claims()), reason: "algorithm not allowed"},
		{name: "HS256 with the RSA public key DER as secret", token: sign(t, jwt.SigningMethodHS256, rsaPublicDER(t), "rsa-noalg", claims()), reason: "algorithm not allowed"},
		{name: "HS256 with the modulus as secret", token: sign(t, jwt.SigningMethodHS256, rsaK.N.Bytes(), "rsa", claims()), reason: "algorithm not allowed"},
		{name: "HS512", token: sign(t, jwt.SigningMethodHS512, []byte("secret"), "rsa", claims()), reason: "algorithm not allowed"},
		{name: "unknown alg", token: rawToken(t, map[string]any{"alg": "XS256", "kid": "rsa"}, claims(), []byte("sig")), reason: "algorithm not allowed"},
		{name: "RS384 on a key declaring RS256", token: sign(t, jwt.SigningMethodRS384, rsaK, "rsa", claims()), reason: "algorithm not allowed"},
		{name: "PS256 on a key declaring RS256", token: sign(t, jwt.SigningMethodPS256, rsaK, "rsa", claims()), reason: "algorithm not allowed"},
		{name: "RS256 on a key declaring PS256", token: sign(t, jwt.SigningMethodRS256, rsaK, "rsa-ps", claims()), reason: "algorithm not allowed"},
		{name: "RS256 on a key declaring ES256", token: sign(t, jwt.SigningMethodRS256, rsaK, "ec", claims()), reason: "algorithm not allowed"},
		{name: "ES256 on an RSA key without alg", token: sign(t, jwt.SigningMethodES256, ecK, "rsa-noalg", claims()), reason: "algorithm not allowed"},
		{name: "EdDSA on an RSA key without alg", token: sign(t, jwt.SigningMethodEdDSA, edK, "rsa-noalg", claims()), reason: "algorithm not allowed"},
		{name: "key for encryption", token: sign(t, jwt.SigningMethodES256, ecKey2(), "enc", claims()), reason: "key not allowed"},

		// Keys and signatures.
		{name: "unknown kid", token: sign(t, jwt.SigningMethodES256, ecK, "nope", claims()), reason: "unknown key id"},
		{name: "kid not a string", token: rawToken(t, map[string]any{"alg": "ES256", "kid": 7}, claims(), make([]byte, 64)), reason: "malformed token"},
		{name: "kid too long", token: sign(t, jwt.SigningMethodES256, ecK, strings.Repeat("k", 300), claims()), reason: "malformed token"},
		{name: "signed by another key", token: sign(t, jwt.SigningMethodES256, ecKey2(), "ec", claims()), reason: "signature invalid"},
		{name: "tampered payload", token: parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+testIssuer+`","aud":"`+testAudience+`","sub":"admin","exp":`+jsonInt(t0.Add(time.Hour).Unix())+`}`)) + "." + parts[2], reason: "signature invalid"},
		{name: "tampered signature", token: parts[0] + "." + parts[1] + "." + flipFirst(parts[2]), reason: "signature invalid"},
		{name: "signature removed", token: parts[0] + "." + parts[1] + ".", reason: "signature invalid"},
		{name: "embedded jwk header is ignored", token: signWithHeader(t, jwt.SigningMethodES256, ecKey2(), map[string]any{"kid": "ec",
			"jwk": oneJWK(t, jwkSpec{kid: "ec", alg: "ES256", key: ecKey2().Public()}),
			"jku": "https://evil.example/jwks"}, claims()), reason: "signature invalid"},
		{name: "crit header", token: signWithHeader(t, jwt.SigningMethodES256, ecK, map[string]any{"kid": "ec", "crit": []string{"exp"}}, claims()), reason: "unsupported token header"},

		// Garbage.
		{name: "empty", token: "", reason: "malformed token"},
		{name: "one segment", token: "garbage", reason: "malformed token"},
		{name: "three junk segments", token: "a.b.c", reason: "malformed token"},
		{name: "four segments", token: valid + ".x", reason: "malformed token"},
		{name: "padding", token: parts[0] + "=." + parts[1] + "." + parts[2], reason: "malformed token"},
		{name: "header not JSON", token: base64.RawURLEncoding.EncodeToString([]byte("nope")) + "." + parts[1] + "." + parts[2], reason: "malformed token"},
		{name: "no alg", token: rawToken(t, map[string]any{"kid": "ec"}, claims(), make([]byte, 64)), reason: "malformed token"},
		{name: "too long", token: strings.Repeat("a", MaxTokenLength+1), reason: "token too long"},

		// Scopes and groups.
		{name: "scope string", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { c["scope"] = "forecast.write forecast.read forecast.write" })),
			scopes: []string{ScopeRead, ScopeWrite}},
		{name: "scp list", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { c["scp"] = []string{"forecast.admin", "forecast.read"} })),
			scopes: []string{ScopeAdmin, ScopeRead}},
		{name: "scp string", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { c["scp"] = "forecast.read  other" })),
			scopes: []string{ScopeRead, "other"}},
		{name: "scope and scp united", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) {
			c["scope"] = "forecast.read openid"
			c["scp"] = []string{"forecast.write", "forecast.read"}
		})), scopes: []string{ScopeRead, ScopeWrite, "openid"}},
		{name: "scope null", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { c["scope"] = nil }))},
		{name: "scope a number", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { c["scope"] = 3 })), reason: "invalid scope claim"},
		{name: "scp element with a space", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { c["scp"] = []string{"forecast.read forecast.admin"} })), reason: "invalid scope claim"},
		{name: "scope with a tab", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { c["scope"] = "forecast.read\tforecast.admin" })), reason: "invalid scope claim"},
		{name: "groups", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { c["groups"] = []string{"planning", "analytics", "planning"} })),
			groups: []string{"analytics", "planning"}},
		{name: "groups a string", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { c["groups"] = "planning" })), reason: "invalid groups claim"},
		{name: "groups with an empty name", token: sign(t, jwt.SigningMethodES256, ecK, "ec", with(func(c jwt.MapClaims) { c["groups"] = []string{""} })), reason: "invalid groups claim"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			c, err := v.Verify(r.token)
			if r.reason != "" {
				if err == nil {
					t.Fatalf("verified; want %q", r.reason)
				}
				if got := reasonOf(t, err); got != r.reason {
					t.Fatalf("reason %q, want %q (%v)", got, r.reason, err)
				}
				assertNoToken(t, err.Error(), r.token)
				t.Log(err)
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Kind != KindJWT || c.Issuer != testIssuer || c.ID != "jwt:"+testIssuer+"|"+c.Subject || c.Subject == "" {
				t.Fatalf("caller %+v", c)
			}
			if !slices.Equal(c.Scopes, r.scopes) {
				t.Fatalf("scopes %q, want %q", c.Scopes, r.scopes)
			}
			if !slices.Equal(c.Groups, r.groups) {
				t.Fatalf("groups %q, want %q", c.Groups, r.groups)
			}
			for _, s := range r.scopes {
				if !c.HasScope(s) {
					t.Fatalf("HasScope(%q) false", s)
				}
			}
		})
	}
	for _, r := range rows {
		assertNoToken(t, logs.String(), r.token)
	}
}

// oneJWK is the JSON of one JWK.
func oneJWK(t testing.TB, s jwkSpec) json.RawMessage {
	var set struct{ Keys []json.RawMessage }
	if err := json.Unmarshal(jwksJSON(t, s), &set); err != nil {
		t.Fatal(err)
	}
	return set.Keys[0]
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// flipFirst changes the first character of a base64url segment (which
// changes the decoded bytes without touching the padding bits).
func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

func signWithHeader(t testing.TB, m jwt.SigningMethod, key any, header map[string]any, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyCaller(t *testing.T) {
	v, _, _, _ := newFileVerifier(t, testKeySet()...)
	tok := sign(t, jwt.SigningMethodEdDSA, edKey(), "ed", with(func(c jwt.MapClaims) {
		c["sub"] = "svc-42"
		c["scope"] = "forecast.read"
		c["groups"] = []string{"planning"}
	}))
	c, err := v.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	want := Caller{ID: "jwt:https://issuer.example|svc-42", Kind: "jwt", Issuer: testIssuer, Subject: "svc-42",
		Scopes: []string{ScopeRead}, Groups: []string{"planning"}}
	if c.ID != want.ID || c.Kind != want.Kind || c.Issuer != want.Issuer || c.Subject != want.Subject ||
		!slices.Equal(c.Scopes, want.Scopes) || !slices.Equal(c.Groups, want.Groups) {
		t.Fatalf("caller %+v, want %+v", c, want)
	}
	if !c.HasScope(ScopeRead) || c.HasScope(ScopeWrite) || c.HasScope(ScopeAdmin) || c.HasScope("") {
		t.Fatal("HasScope")
	}
	var nilCaller *Caller
	if nilCaller.HasScope(ScopeRead) {
		t.Fatal("nil caller has a scope")
	}
	ctx := NewContext(context.Background(), c)
	if got, ok := FromContext(ctx); !ok || got != c {
		t.Fatal("FromContext")
	}
	if _, ok := FromContext(context.Background()); ok {
		t.Fatal("FromContext of an empty context")
	}
}

// Tokens without kid are verified only with keys whose declared alg is the
// token's.
func TestVerifyWithoutKID(t *testing.T) {
	v, _, _, _ := newFileVerifier(t, jwkSpec{kid: "rsa", alg: "RS256", key: rsaKey().Public()})
	if _, err := v.Verify(sign(t, jwt.SigningMethodRS256, rsaKey(), "", claims())); err != nil {
		t.Fatalf("RS256 without kid: %v", err)
	}
	_, err := v.Verify(sign(t, jwt.SigningMethodPS256, rsaKey(), "", claims()))
	if got := reasonOf(t, err); got != "no matching key" {
		t.Fatalf("PS256 without kid on an RS256 key: %q", got)
	}
	_, err = v.Verify(sign(t, jwt.SigningMethodRS256, rsaKey(), "", with(func(c jwt.MapClaims) { c["sub"] = "x"; c["exp"] = 1 })))
	if got := reasonOf(t, err); got != "token expired" {
		t.Fatalf("expired without kid: %q", got)
	}

	// Several keys without kid, and an encryption key (kept, never used).
	v2, _, _, _ := newFileVerifier(t,
		jwkSpec{key: ecKey().Public()},
		jwkSpec{key: edKey().Public()},
		jwkSpec{kid: "enc", alg: "RSA-OAEP", use: "enc", key: rsaKey().Public()},
	)
	for _, tok := range []string{
		sign(t, jwt.SigningMethodES256, ecKey(), "", claims()),
		sign(t, jwt.SigningMethodEdDSA, edKey(), "", claims()),
	} {
		if _, err := v2.Verify(tok); err != nil {
			t.Fatalf("without kid: %v", err)
		}
	}
	for _, tok := range []string{
		sign(t, jwt.SigningMethodRS256, rsaKey(), "", claims()),
		sign(t, jwt.SigningMethodRS256, rsaKey(), "enc", claims()),
	} {
		if _, err := v2.Verify(tok); err == nil {
			t.Fatal("the encryption key verified a token")
		}
	}
}

func TestVerifyLeeway(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jwks.json")
	writeFile(t, path, jwksJSON(t, jwkSpec{kid: "ec", alg: "ES256", key: ecKey().Public()}))
	clk := newClock(t0)
	logger, _ := newLogger()
	v, err := NewJWTVerifier(context.Background(), JWTConfig{
		JWKSFile: path, Issuer: testIssuer, Audience: testAudience, Leeway: 2 * time.Minute, Now: clk.Now, Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	tok := sign(t, jwt.SigningMethodES256, ecKey(), "ec", with(func(c jwt.MapClaims) { c["exp"] = t0.Add(-90 * time.Second).Unix() }))
	if _, err := v.Verify(tok); err != nil {
		t.Fatalf("within a 2m leeway: %v", err)
	}
	clk.Advance(time.Minute)
	if got := reasonOf(t, mustFail(v.Verify(tok))); got != "token expired" {
		t.Fatalf("past the leeway: %q", got)
	}
}

func mustFail(_ *Caller, err error) error { return err }

func TestNewJWTVerifierErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	writeFile(t, good, jwksJSON(t, jwkSpec{kid: "ec", key: ecKey().Public()}))
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, []byte(content))
		return p
	}
	ecPub := jwksJSON(t, jwkSpec{kid: "ec", key: ecKey().Public()})
	var m map[string][]map[string]any
	if err := json.Unmarshal(ecPub, &m); err != nil {
		t.Fatal(err)
	}
	withD := m["keys"][0]
	withD["d"] = "AAAA"
	privJSON, _ := json.Marshal(map[string]any{"keys": []any{withD}})

	rows := []struct {
		name string
		cfg  JWTConfig
		want string
	}{
		{"neither", JWTConfig{Issuer: testIssuer, Audience: testAudience}, "set JWKSFile or JWKSURL"},
		{"both", JWTConfig{JWKSFile: good, JWKSURL: "https://idp.example/jwks", Issuer: testIssuer, Audience: testAudience}, "exclusive"},
		{"no issuer", JWTConfig{JWKSFile: good, Audience: testAudience}, "Issuer is required"},
		{"issuer with a bar", JWTConfig{JWKSFile: good, Issuer: "a|b", Audience: testAudience}, `must not contain "|"`},
		{"no audience", JWTConfig{JWKSFile: good, Issuer: testIssuer}, "Audience is required"},
		{"negative leeway", JWTConfig{JWKSFile: good, Issuer: testIssuer, Audience: testAudience, Leeway: -time.Second}, "negative"},
		{"missing file", JWTConfig{JWKSFile: filepath.Join(dir, "nope.json"), Issuer: testIssuer, Audience: testAudience}, "no such file"},
		{"not JSON", JWTConfig{JWKSFile: file("bad.json", "{not json"), Issuer: testIssuer, Audience: testAudience}, "not a JWK Set"},
		{"no keys member", JWTConfig{JWKSFile: file("nokeys.json", `{"kty":"RSA"}`), Issuer: testIssuer, Audience: testAudience}, `no "keys"`},
		{"empty set", JWTConfig{JWKSFile: file("empty.json", `{"keys":[]}`), Issuer: testIssuer, Audience: testAudience}, "no keys"},
		{"symmetric key", JWTConfig{JWKSFile: file("oct.json", `{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}`), Issuer: testIssuer, Audience: testAudience}, "symmetric keys"},
		{"private key", JWTConfig{JWKSFile: file("priv.json", string(privJSON)), Issuer: testIssuer, Audience: testAudience}, "private key material"},
		{"HS256 alg", JWTConfig{JWKSFile: file("hsalg.json", strings.Replace(string(ecPub), `"kid"`, `"alg":"HS256","kid"`, 1)), Issuer: testIssuer, Audience: testAudience}, "not allowed"},
		{"bad key", JWTConfig{JWKSFile: file("badkey.json", `{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA","kid":"x"}]}`), Issuer: testIssuer, Audience: testAudience}, `kid "x"`},
		{"duplicate kid", JWTConfig{JWKSFile: file("dup.json", `{"keys":[`+strings.TrimSuffix(strings.TrimPrefix(string(ecPub), `{"keys":[`), `]}`)+`,`+strings.TrimSuffix(strings.TrimPrefix(string(ecPub), `{"keys":[`), `]}`)+`]}`), Issuer: testIssuer, Audience: testAudience}, "duplicate kid"},
		{"http URL to a remote host", JWTConfig{JWKSURL: "http://idp.example/jwks", Issuer: testIssuer, Audience: testAudience}, "only allowed to a loopback host"},
		{"relative URL", JWTConfig{JWKSURL: "/jwks", Issuer: testIssuer, Audience: testAudience}, "absolute"},
		{"ftp URL", JWTConfig{JWKSURL: "ftp://idp.example/jwks", Issuer: testIssuer, Audience: testAudience}, "scheme must be https"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			r.cfg.Logger, _ = newLogger()
			v, err := NewJWTVerifier(context.Background(), r.cfg)
			if err == nil {
				v.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), r.want) {
				t.Fatalf("error %q, want it to contain %q", err, r.want)
			}
		})
	}
}
