package auth

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Rotating keys by rewriting the file: a new kid becomes usable and a
// removed kid is refused once the check interval has passed, without a
// restart; a broken file keeps the previous keys and is logged once.
func TestJWKSFileReload(t *testing.T) {
	k1 := jwkSpec{kid: "k1", alg: "ES256", key: ecKey().Public()}
	k2 := jwkSpec{kid: "k2", alg: "ES256", key: ecKey2().Public()}
	v, clk, path, logs := newFileVerifier(t, k1)
	tok1 := sign(t, jwt.SigningMethodES256, ecKey(), "k1", claims())
	tok2 := sign(t, jwt.SigningMethodES256, ecKey2(), "k2", claims())

	expect := func(step, tok, reason string) {
		t.Helper()
		_, err := v.Verify(tok)
		switch {
		case reason == "" && err != nil:
			t.Fatalf("%s: %v", step, err)
		case reason != "" && err == nil:
			t.Fatalf("%s: verified, want %q", step, reason)
		case reason != "" && reasonOf(t, err) != reason:
			t.Fatalf("%s: %v, want %q", step, err, reason)
		}
	}
	expect("start k1", tok1, "")
	expect("start k2", tok2, "unknown key id")

	// Rotate: k2 replaces k1.
	writeFile(t, path, jwksJSON(t, k2))
	expect("before the interval, k1", tok1, "")
	expect("before the interval, k2", tok2, "unknown key id")
	clk.Advance(defaultFileCheckInterval)
	expect("rotated, k2", tok2, "")
	expect("rotated, k1 removed", tok1, "unknown key id")
	if logs.Count("JWK Set file reloaded") != 1 {
		t.Fatalf("logs: %s", logs)
	}

	// A broken file keeps the previous keys; the warning is logged once.
	writeFile(t, path, []byte(`{"keys": [{"kty":`))
	clk.Advance(defaultFileCheckInterval)
	expect("broken file, k2 kept", tok2, "")
	clk.Advance(defaultFileCheckInterval)
	expect("broken file again, k2 kept", tok2, "")
	if n := logs.Count("keeping the previous version"); n != 1 {
		t.Fatalf("warned %d times: %s", n, logs)
	}
	// So does a file that parses but breaks a rule.
	writeFile(t, path, []byte(`{"keys":[{"kty":"oct","kid":"k1","k":"c2VjcmV0"}]}`))
	clk.Advance(defaultFileCheckInterval)
	expect("symmetric key file, k2 kept", tok2, "")
	expect("symmetric key file, k1 still refused", tok1, "unknown key id")
	if n := logs.Count("keeping the previous version"); n != 2 {
		t.Fatalf("warned %d times: %s", n, logs)
	}
	// And a removed file.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	clk.Advance(defaultFileCheckInterval)
	expect("removed file, k2 kept", tok2, "")

	// Fixed, in place this time (same inode): both keys.
	if err := os.WriteFile(path, jwksJSON(t, k1, k2), 0o600); err != nil {
		t.Fatal(err)
	}
	clk.Advance(defaultFileCheckInterval)
	expect("fixed, k1", tok1, "")
	expect("fixed, k2", tok2, "")

	// An in-place rewrite of the same size is seen by its modification time.
	data := jwksJSON(t, k2, k1)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, future, future); err != nil {
		t.Fatal(err)
	}
	before := logs.Count("JWK Set file reloaded")
	clk.Advance(defaultFileCheckInterval)
	expect("rewritten, k1", tok1, "")
	if logs.Count("JWK Set file reloaded") != before+1 {
		t.Fatalf("same-size rewrite not reloaded: %s", logs)
	}
	assertNoToken(t, logs.String(), tok1)
	assertNoToken(t, logs.String(), tok2)
}

// Concurrent Verify calls while the file is rotated: no race, no failure of
// a key present in both versions.
func TestJWKSFileReloadConcurrent(t *testing.T) {
	k1 := jwkSpec{kid: "k1", alg: "ES256", key: ecKey().Public()}
	k2 := jwkSpec{kid: "k2", alg: "ES256", key: ecKey2().Public()}
	v, clk, path, _ := newFileVerifier(t, k1)
	tok1 := sign(t, jwt.SigningMethodES256, ecKey(), "k1", claims())
	var wg sync.WaitGroup
	var failures atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if _, err := v.Verify(tok1); err != nil {
					failures.Add(1)
				}
			}
		}()
	}
	for i := range 20 {
		if i%2 == 0 {
			writeFile(t, path, jwksJSON(t, k1, k2))
		} else {
			writeFile(t, path, jwksJSON(t, k2, k1))
		}
		clk.Advance(defaultFileCheckInterval)
	}
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d failures", n)
	}
}

// jwksServer serves a JWK Set that the test can change, counting fetches.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	body    []byte
	status  int
	fetches atomic.Int64
}

func newJWKSServer(t testing.TB, body []byte) *jwksServer {
	s := &jwksServer{body: body, status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		body, status := s.body, s.status
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(body []byte, status int) {
	s.mu.Lock()
	s.body, s.status = body, status
	s.mu.Unlock()
}

func newURLVerifier(t testing.TB, url string, refresh time.Duration) (*JWTVerifier, *logBuffer, error) {
	t.Helper()
	logger, logs := newLogger()
	clk := newClock(t0)
	v, err := NewJWTVerifier(context.Background(), JWTConfig{
		JWKSURL:         url,
		Issuer:          testIssuer,
		Audience:        testAudience,
		RefreshInterval: refresh,
		Now:             clk.Now,
		Logger:          logger,
	})
	if err == nil {
		t.Cleanup(v.Close)
	}
	return v, logs, err
}

// waitFor polls cond for up to 5s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The URL form: one fetch at start; an unknown kid refreshes once, then
// unknown kids are refused without fetching (rate limited) and without
// waiting.
func TestJWKSURLUnknownKIDRefresh(t *testing.T) {
	k1 := jwkSpec{kid: "k1", alg: "ES256", key: ecKey().Public()}
	k2 := jwkSpec{kid: "k2", alg: "RS256", key: rsaKey().Public()}
	k3 := jwkSpec{kid: "k3", alg: "EdDSA", key: edKey().Public()}
	srv := newJWKSServer(t, jwksJSON(t, k1))
	v, logs, err := newURLVerifier(t, srv.URL+"/jwks.json", 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches at start", n)
	}
	tok1 := sign(t, jwt.SigningMethodES256, ecKey(), "k1", claims())
	tok2 := sign(t, jwt.SigningMethodRS256, rsaKey(), "k2", claims())
	tok3 := sign(t, jwt.SigningMethodEdDSA, edKey(), "k3", claims())
	for range 3 {
		if _, err := v.Verify(tok1); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches after known kids", n)
	}

	srv.set(jwksJSON(t, k1, k2), http.StatusOK)
	if _, err := v.Verify(tok2); err != nil {
		t.Fatalf("new kid after a refresh: %v", err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after one unknown kid, want 2", n)
	}
	srv.set(jwksJSON(t, k1, k2, k3), http.StatusOK)
	// k3 is on the server but the refresh budget is spent.
	start := time.Now()
	for range 20 {
		_, err := v.Verify(tok3)
		if got := reasonOf(t, err); got != "unknown key id" {
			t.Fatalf("rate-limited unknown kid: %v", err)
		}
		_, err = v.Verify(sign(t, jwt.SigningMethodES256, ecKey(), "random-kid", claims()))
		if got := reasonOf(t, err); got != "unknown key id" {
			t.Fatalf("random kid: %v", err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("rate-limited refusals took %v: they must not wait", d)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after rate-limited unknown kids, want 2", n)
	}
	if _, err := v.Verify(tok2); err != nil {
		t.Fatal(err)
	}
	assertNoToken(t, logs.String(), tok3)
}

// The URL form refreshes periodically (keyfunc's goroutine), keeps its keys
// when a refresh fails, and stops when closed.
func TestJWKSURLPeriodicRefresh(t *testing.T) {
	k1 := jwkSpec{kid: "k1", alg: "ES256", key: ecKey().Public()}
	k2 := jwkSpec{kid: "k2", alg: "ES256", key: ecKey2().Public()}
	srv := newJWKSServer(t, jwksJSON(t, k1))
	v, logs, err := newURLVerifier(t, srv.URL+"/jwks.json?tenant=secret-tenant", 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	tok1 := sign(t, jwt.SigningMethodES256, ecKey(), "k1", claims())
	tok2 := sign(t, jwt.SigningMethodES256, ecKey2(), "k2", claims())
	// Spend the unknown-kid refresh so only the periodic refresh can load k2.
	if _, err := v.Verify(sign(t, jwt.SigningMethodES256, ecKey(), "nope", claims())); err == nil {
		t.Fatal("unknown kid verified")
	}

	srv.set(jwksJSON(t, k2), http.StatusOK)
	waitFor(t, "k2 to be loaded", func() bool { _, err := v.Verify(tok2); return err == nil })
	if got := reasonOf(t, mustFail(v.Verify(tok1))); got != "unknown key id" {
		t.Fatalf("k1 removed from the server: %q", got)
	}

	// A failing server keeps the keys.
	srv.set([]byte("oops"), http.StatusInternalServerError)
	n := srv.fetches.Load()
	waitFor(t, "failed refreshes", func() bool { return srv.fetches.Load() >= n+3 })
	if _, err := v.Verify(tok2); err != nil {
		t.Fatalf("after failed refreshes: %v", err)
	}
	srv.set([]byte("{not json"), http.StatusOK)
	n = srv.fetches.Load()
	waitFor(t, "failed refreshes", func() bool { return srv.fetches.Load() >= n+3 })
	if _, err := v.Verify(tok2); err != nil {
		t.Fatalf("after unparsable refreshes: %v", err)
	}
	waitFor(t, "a warning", func() bool { return logs.Count("JWK Set refresh failed") > 0 })
	if strings.Contains(logs.String(), "secret-tenant") {
		t.Fatalf("the URL query was logged: %s", logs)
	}

	v.Close()
	time.Sleep(50 * time.Millisecond) // let a fetch in flight end
	n = srv.fetches.Load()
	time.Sleep(100 * time.Millisecond)
	if m := srv.fetches.Load(); m != n {
		t.Fatalf("%d fetches after Close", m-n)
	}
	if _, err := v.Verify(tok2); err != nil {
		t.Fatalf("Verify after Close: %v", err)
	}
}

// A URL set may hold what a file may not (a symmetric key): it never
// verifies anything.
func TestJWKSURLSymmetricKey(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	body := `{"keys":[{"kty":"oct","kid":"h","k":"` + base64.RawURLEncoding.EncodeToString(secret) + `"},` +
		strings.TrimPrefix(string(jwksJSON(t, jwkSpec{kid: "k1", alg: "ES256", key: ecKey().Public()})), `{"keys":[`)
	srv := newJWKSServer(t, []byte(body))
	v, _, err := newURLVerifier(t, srv.URL, 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{
		"HS256 with the key's secret": sign(t, jwt.SigningMethodHS256, secret, "h", claims()),
		"HS256 without kid":           sign(t, jwt.SigningMethodHS256, secret, "", claims()),
		"RS256 naming the oct key":    sign(t, jwt.SigningMethodRS256, rsaKey(), "h", claims()),
	} {
		if got := reasonOf(t, mustFail(v.Verify(tok))); got != "algorithm not allowed" {
			t.Errorf("%s: %q", name, got)
		}
	}
	if _, err := v.Verify(sign(t, jwt.SigningMethodES256, ecKey(), "k1", claims())); err != nil {
		t.Fatal(err)
	}
}

func TestJWKSURLStartErrors(t *testing.T) {
	k1 := jwkSpec{kid: "k1", alg: "ES256", key: ecKey().Public()}
	t.Run("redirect to a remote http URL", func(t *testing.T) {
		srv := httptest.NewServer(http.RedirectHandler("http://idp.example/jwks", http.StatusFound))
		defer srv.Close()
		if _, _, err := newURLVerifier(t, srv.URL, 0); err == nil || !strings.Contains(err.Error(), "redirect refused") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("redirect to loopback", func(t *testing.T) {
		target := newJWKSServer(t, jwksJSON(t, k1))
		srv := httptest.NewServer(http.RedirectHandler(target.URL+"/jwks", http.StatusFound))
		defer srv.Close()
		if _, _, err := newURLVerifier(t, srv.URL, 0); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("server error", func(t *testing.T) {
		srv := newJWKSServer(t, []byte("no"))
		srv.set([]byte("no"), http.StatusServiceUnavailable)
		_, _, err := newURLVerifier(t, srv.URL+"/jwks?key=s3cr3t", 0)
		if err == nil || !strings.Contains(err.Error(), "503") {
			t.Fatalf("error %v", err)
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Fatalf("error shows the query: %v", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		srv := newJWKSServer(t, jwksJSON(t, k1))
		url := srv.URL
		srv.Close()
		if _, _, err := newURLVerifier(t, url, 0); err == nil || !strings.Contains(err.Error(), "JWK Set URL") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("not JSON", func(t *testing.T) {
		srv := newJWKSServer(t, []byte("<html>"))
		if _, _, err := newURLVerifier(t, srv.URL, 0); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("no keys", func(t *testing.T) {
		srv := newJWKSServer(t, []byte(`{"keys":[]}`))
		if _, _, err := newURLVerifier(t, srv.URL, 0); err == nil || !strings.Contains(err.Error(), "no usable keys") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		srv := newJWKSServer(t, []byte(`{"keys":[],"pad":"`+strings.Repeat("x", maxJWKSResponse)+`"}`))
		if _, _, err := newURLVerifier(t, srv.URL, 0); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		block := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-block:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(block)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		logger, _ := newLogger()
		start := time.Now()
		_, err := NewJWTVerifier(ctx, JWTConfig{JWKSURL: srv.URL, Issuer: testIssuer, Audience: testAudience, Logger: logger})
		if err == nil {
			t.Fatal("no error")
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("took %v", d)
		}
	})
	t.Run("start context does not bound the goroutine", func(t *testing.T) {
		srv := newJWKSServer(t, jwksJSON(t, k1))
		ctx, cancel := context.WithCancel(context.Background())
		logger, _ := newLogger()
		v, err := NewJWTVerifier(ctx, JWTConfig{JWKSURL: srv.URL, Issuer: testIssuer, Audience: testAudience,
			RefreshInterval: 10 * time.Millisecond, Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		cancel()
		n := srv.fetches.Load()
		waitFor(t, "refreshes after the start context ended", func() bool { return srv.fetches.Load() >= n+2 })
	})
}
