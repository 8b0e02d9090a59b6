package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

const (
	testIssuer   = "https://issuer.example"
	testAudience = "forecast-gateway"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Keys are made once per test binary: RSA 2048 generation is slow.
var (
	rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	})
	ecKey  = sync.OnceValue(func() *ecdsa.PrivateKey { return newECKey() })
	edKey  = sync.OnceValue(func() ed25519.PrivateKey { _, k, _ := ed25519.GenerateKey(rand.Reader); return k })
	ecKey2 = sync.OnceValue(func() *ecdsa.PrivateKey { return newECKey() })
)

func newECKey() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// clock is a settable, race-safe clock.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.ns.Store(t.UnixNano()); return c }
func (c *clock) Now() time.Time   { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) {
	c.ns.Add(int64(d))
}

// logBuffer collects log output of a test.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) Count(s string) int { return strings.Count(b.String(), s) }

func newLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// jwkSpec describes one key of a test JWK Set.
type jwkSpec struct {
	kid string
	alg string // "" when the JWK declares none
	use string
	key any // public key
}

func jwksJSON(t testing.TB, specs ...jwkSpec) []byte {
	t.Helper()
	set := jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{}}
	for _, s := range specs {
		j, err := jwkset.NewJWKFromKey(s.key, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
			KID: s.kid, ALG: jwkset.ALG(s.alg), USE: jwkset.USE(s.use),
		}})
		if err != nil {
			t.Fatalf("jwk %s: %v", s.kid, err)
		}
		set.Keys = append(set.Keys, j.Marshal())
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeFile replaces path atomically (a new inode, as a deploy would).
func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// claims returns valid claims at t0; edit the map for a row.
func claims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss": testIssuer,
		"aud": testAudience,
		"sub": "user-1",
		"iat": t0.Unix(),
		"nbf": t0.Unix(),
		"exp": t0.Add(time.Hour).Unix(),
	}
}

// sign makes a token; kid "" leaves the kid header out.
func sign(t testing.TB, m jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", m.Alg(), err)
	}
	return s
}

// newFileVerifier writes specs to a JWK Set file and returns a verifier on
// it with a clock at t0.
func newFileVerifier(t testing.TB, specs ...jwkSpec) (*JWTVerifier, *clock, string, *logBuffer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jwks.json")
	writeFile(t, path, jwksJSON(t, specs...))
	clk := newClock(t0)
	logger, logs := newLogger()
	v, err := NewJWTVerifier(context.Background(), JWTConfig{
		JWKSFile: path,
		Issuer:   testIssuer,
		Audience: testAudience,
		Now:      clk.Now,
		Logger:   logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v, clk, path, logs
}

// reasonOf returns the Reason of a *CredentialError, failing otherwise.
func reasonOf(t testing.TB, err error) string {
	t.Helper()
	var ce *CredentialError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *CredentialError", err, err)
	}
	return ce.Reason
}

// assertNoToken fails if s contains the token or one of its segments.
func assertNoToken(t testing.TB, s, token string) {
	t.Helper()
	if token == "" {
		return
	}
	if strings.Contains(s, token) {
		t.Fatalf("text contains the token: %q", s)
	}
	for _, seg := range strings.Split(token, ".") {
		if len(seg) >= 16 && strings.Contains(s, seg) {
			t.Fatalf("text contains a token segment: %q", s)
		}
	}
}
