package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/forecastgw/forecast-gateway/internal/auth"
	"github.com/forecastgw/forecast-gateway/internal/tlsconf"
)

// runOK runs the command and fails the test unless it exits 0.
func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("run %q = %d, stderr:\n%s", args, code, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("run %q wrote to stderr: %s", args, stderr.String())
	}
	return stdout.String()
}

func readCert(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	b, rest := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("%s: not exactly one PEM certificate", name)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantMode(t *testing.T, name string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %o, want %o", filepath.Base(name), got, want)
	}
}

func TestCerts(t *testing.T) {
	dir := t.TempDir()
	// A key file left readable by an earlier run must end up 0600.
	if err := os.WriteFile(filepath.Join(dir, "server-key.pem"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runOK(t, "certs", "--out", dir)
	p := func(n string) string { return filepath.Join(dir, n) }
	for _, want := range []string{
		"--tls-cert-file " + p("server.pem"), "--tls-key-file " + p("server-key.pem"), "--client-ca-file " + p("ca.pem"),
		"curl --cacert " + p("ca.pem") + " --cert " + p("client.pem") + " --key " + p("client-key.pem") + " https://localhost:8080/",
		"grpcurl -cacert " + p("ca.pem") + " -cert " + p("client.pem") + " -key " + p("client-key.pem") + " localhost:9090 list",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for n, mode := range map[string]os.FileMode{"ca.pem": 0o644, "server.pem": 0o644, "client.pem": 0o644,
		"server-key.pem": 0o600, "client-key.pem": 0o600} {
		wantMode(t, p(n), mode)
	}
	if left, _ := filepath.Glob(p(".*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	ca := readCert(t, p("ca.pem"))
	if !ca.IsCA || !ca.BasicConstraintsValid {
		t.Error("ca.pem is not a CA")
	}
	if _, ok := ca.PublicKey.(*ecdsa.PublicKey); !ok || ca.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("CA key is %v, want ECDSA", ca.PublicKeyAlgorithm)
	}
	if pk, _ := ca.PublicKey.(*ecdsa.PublicKey); pk == nil || pk.Curve != elliptic.P256() {
		t.Error("CA key is not P-256")
	}
	if d := time.Until(ca.NotAfter); d < 719*time.Hour || d > 721*time.Hour {
		t.Errorf("CA valid for %s more, want about 720h", d)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)

	server := readCert(t, p("server.pem"))
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := server.Verify(x509.VerifyOptions{Roots: roots, DNSName: host,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("server certificate for %s: %v", host, err)
		}
	}
	if _, err := server.Verify(x509.VerifyOptions{Roots: roots, DNSName: "example.com"}); err == nil {
		t.Error("server certificate verifies for example.com")
	}
	if _, err := server.Verify(x509.VerifyOptions{Roots: roots,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("server certificate verifies for client auth")
	}

	client := readCert(t, p("client.pem"))
	if _, err := client.Verify(x509.VerifyOptions{Roots: roots,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate for client auth: %v", err)
	}
	if len(client.URIs) != 1 || client.URIs[0].String() != defaultClientID {
		t.Errorf("client URI SANs %v, want %s", client.URIs, defaultClientID)
	}
	if client.Subject.CommonName != "dev-client" {
		t.Errorf("client CN %q", client.Subject.CommonName)
	}
	if _, err := client.Verify(x509.VerifyOptions{Roots: roots,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("client certificate verifies for server auth")
	}

	// Handshake over loopback, the server run by internal/tlsconf as the
	// gateway would, with mutual TLS.
	rl, err := tlsconf.New(tlsconf.Config{CertFile: p("server.pem"), KeyFile: p("server-key.pem"), ClientCAFile: p("ca.pem")})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", rl.ServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ids := make(chan string, 8) // per connection: the client identity, or "refused: ..."
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := c.(*tls.Conn)
				_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
				if err := tc.Handshake(); err != nil {
					ids <- "refused: " + err.Error()
					return
				}
				_, _ = tc.Write([]byte("ok"))
				st := tc.ConnectionState()
				ids <- strings.Join(auth.CertIdentities(st.VerifiedChains[0][0]), ",")
			}()
		}
	}()
	pair, err := tls.LoadX509KeyPair(p("client.pem"), p("client-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, serverName string
		clientCert       bool
	}{
		{"by name", "localhost", true},
		{"by IP address", "127.0.0.1", true},
		{"without client certificate", "localhost", false},
	} {
		t.Run("handshake "+tc.name, func(t *testing.T) {
			cfg := &tls.Config{RootCAs: roots, ServerName: tc.serverName}
			if tc.clientCert {
				cfg.Certificates = []tls.Certificate{pair}
			}
			c, err := tls.Dial("tcp", ln.Addr().String(), cfg)
			if err == nil {
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				_, err = io.ReadFull(c, make([]byte, 2))
				c.Close()
			}
			id := <-ids
			if !tc.clientCert {
				if err == nil || !strings.HasPrefix(id, "refused: ") {
					t.Errorf("accepted without a client certificate (client err %v, server %q)", err, id)
				}
				return
			}
			if err != nil {
				t.Fatal("client:", err)
			}
			if id != defaultClientID {
				t.Errorf("server saw client %q, want %q", id, defaultClientID)
			}
		})
	}
}

func TestCertsCustom(t *testing.T) {
	dir := t.TempDir()
	runOK(t, "certs", "--out", dir, "--hosts", "api.dev.example, 10.1.2.3", "--client-id", "spiffe://example.org/ns/team/sa/app", "--valid", "24h")
	ca := readCert(t, filepath.Join(dir, "ca.pem"))
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	server := readCert(t, filepath.Join(dir, "server.pem"))
	for host, ok := range map[string]bool{"api.dev.example": true, "10.1.2.3": true, "localhost": false, "127.0.0.1": false} {
		_, err := server.Verify(x509.VerifyOptions{Roots: roots, DNSName: host})
		if (err == nil) != ok {
			t.Errorf("server certificate for %s: err %v, want ok %v", host, err, ok)
		}
	}
	if d := time.Until(server.NotAfter); d > 24*time.Hour {
		t.Errorf("server certificate valid for %s more, want at most 24h", d)
	}
	client := readCert(t, filepath.Join(dir, "client.pem"))
	if len(client.URIs) != 1 || client.URIs[0].String() != "spiffe://example.org/ns/team/sa/app" {
		t.Errorf("client URI SANs %v", client.URIs)
	}
}

func TestJWKSAndToken(t *testing.T) {
	dir := t.TempDir()
	out := runOK(t, "jwks", "--out", dir, "--kid", "k-7")
	keyFile, setFile := filepath.Join(dir, "signing-key.pem"), filepath.Join(dir, "jwks.json")
	if !strings.Contains(out, "--jwks-file "+setFile+" --jwt-issuer ") || !strings.Contains(out, "--jwt-audience ") {
		t.Errorf("output lacks the gateway flags:\n%s", out)
	}
	wantMode(t, keyFile, 0o600)
	wantMode(t, setFile, 0o644)

	data, err := os.ReadFile(setFile)
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("%d keys, want 1", len(set.Keys))
	}
	k := set.Keys[0]
	for field, want := range map[string]string{"kty": "EC", "crv": "P-256", "kid": "k-7", "alg": "ES256", "use": "sig"} {
		if k[field] != want {
			t.Errorf("%s = %q, want %q", field, k[field], want)
		}
	}
	if _, ok := k["d"]; ok {
		t.Error("the JWKS holds the private key")
	}
	x, errX := base64.RawURLEncoding.DecodeString(k["x"])
	y, errY := base64.RawURLEncoding.DecodeString(k["y"])
	if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
		t.Fatalf("x, y not 32-byte base64url: %v %v", errX, errY)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		t.Fatal(err)
	}

	const iss, aud = "https://issuer.test", "forecast-gateway"
	tests := []struct {
		name       string
		args       []string
		wantScope  string
		wantGroups []string
		ttl        time.Duration
	}{
		{name: "defaults", args: []string{"--sub", "alice"}, wantScope: "forecast.read forecast.write", ttl: time.Hour},
		{name: "scope, groups and ttl", args: []string{"--sub", "bob", "--scope", "forecast.read", "--groups", "team-a, team-b", "--ttl", "5m"},
			wantScope: "forecast.read", wantGroups: []string{"team-a", "team-b"}, ttl: 5 * time.Minute},
		{name: "no scope", args: []string{"--sub", "carol", "--scope", ""}, ttl: time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"token", "--key", keyFile, "--kid", "k-7", "--iss", iss, "--aud", aud}, tc.args...)
			raw := strings.TrimSpace(runOK(t, args...))
			if strings.Count(raw, ".") != 2 || strings.ContainsAny(raw, " \n") {
				t.Fatalf("not one compact JWT: %q", raw)
			}
			var claims struct {
				Scope  *string  `json:"scope"`
				Groups []string `json:"groups"`
				jwt.RegisteredClaims
			}
			tok, err := jwt.ParseWithClaims(raw, &claims, func(tok *jwt.Token) (any, error) {
				if tok.Header["kid"] != "k-7" {
					t.Errorf("header kid %v", tok.Header["kid"])
				}
				return pub, nil
			}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer(iss), jwt.WithAudience(aud),
				jwt.WithExpirationRequired(), jwt.WithIssuedAt())
			if err != nil || !tok.Valid {
				t.Fatalf("token does not verify: %v", err)
			}
			if claims.Subject != tc.args[1] {
				t.Errorf("sub %q", claims.Subject)
			}
			switch {
			case tc.wantScope == "" && claims.Scope != nil:
				t.Errorf("scope %q, want none", *claims.Scope)
			case tc.wantScope != "" && (claims.Scope == nil || *claims.Scope != tc.wantScope):
				t.Errorf("scope %v, want %q", claims.Scope, tc.wantScope)
			}
			if !slices.Equal(claims.Groups, tc.wantGroups) {
				t.Errorf("groups %q, want %q", claims.Groups, tc.wantGroups)
			}
			if claims.IssuedAt == nil || claims.NotBefore == nil || claims.ExpiresAt == nil {
				t.Fatal("iat, nbf or exp missing")
			}
			if got := claims.ExpiresAt.Sub(claims.IssuedAt.Time); got != tc.ttl {
				t.Errorf("exp - iat = %s, want %s", got, tc.ttl)
			}
		})
	}

	// A token does not verify with another key, nor for another audience.
	raw := strings.TrimSpace(runOK(t, "token", "--key", keyFile, "--iss", iss, "--aud", aud, "--sub", "alice"))
	other := t.TempDir()
	runOK(t, "jwks", "--out", other)
	otherKey, err := os.ReadFile(filepath.Join(other, "signing-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	otherPriv, err := jwt.ParseECPrivateKeyFromPEM(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return &otherPriv.PublicKey, nil },
		jwt.WithValidMethods([]string{"ES256"})); err == nil {
		t.Error("token verifies with another key")
	}
	if _, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithAudience("someone-else")); err == nil {
		t.Error("token verifies for another audience")
	}
}

func TestUsage(t *testing.T) {
	dir := t.TempDir()
	notKey := filepath.Join(dir, "not-a-key.pem")
	if err := os.WriteFile(notKey, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string // one line containing this; "" means stderr empty
		wantStdout string
	}{
		{name: "no command", args: nil, wantCode: 2, wantStderr: "Usage:"},
		{name: "help", args: []string{"--help"}, wantStdout: "Usage:"},
		{name: "unknown command", args: []string{"keys"}, wantCode: 2, wantStderr: `unknown command "keys"`},
		{name: "certs help", args: []string{"certs", "--help"}, wantStdout: "-client-id"},
		{name: "jwks help", args: []string{"jwks", "-h"}, wantStdout: "-kid"},
		{name: "token help", args: []string{"token", "--help"}, wantStdout: "-groups"},
		{name: "certs without --out", args: []string{"certs"}, wantCode: 2, wantStderr: "--out is required"},
		{name: "certs unknown flag", args: []string{"certs", "--out", dir, "--bogus"}, wantCode: 2, wantStderr: "flag provided but not defined: -bogus"},
		{name: "certs positional", args: []string{"certs", "--out", dir, "extra"}, wantCode: 2, wantStderr: `unexpected argument "extra"`},
		{name: "certs bad duration", args: []string{"certs", "--out", dir, "--valid", "soon"}, wantCode: 2, wantStderr: "-valid"},
		{name: "certs zero validity", args: []string{"certs", "--out", dir, "--valid", "0s"}, wantCode: 2, wantStderr: "--valid must be positive"},
		{name: "certs host with port", args: []string{"certs", "--out", dir, "--hosts", "localhost:8080"}, wantCode: 2, wantStderr: `"localhost:8080"`},
		{name: "certs empty hosts", args: []string{"certs", "--out", dir, "--hosts", " , "}, wantCode: 2, wantStderr: "no host given"},
		{name: "certs relative client id", args: []string{"certs", "--out", dir, "--client-id", "dev"}, wantCode: 2, wantStderr: "--client-id must be an absolute URI"},
		{name: "jwks without --out", args: []string{"jwks"}, wantCode: 2, wantStderr: "--out is required"},
		{name: "jwks positional", args: []string{"jwks", "--out", dir, "now"}, wantCode: 2, wantStderr: `unexpected argument "now"`},
		{name: "token missing flags", args: []string{"token", "--iss", "i"}, wantCode: 2, wantStderr: "missing required flags: --key, --aud, --sub"},
		{name: "token bad ttl", args: []string{"token", "--key", notKey, "--iss", "i", "--aud", "a", "--sub", "s", "--ttl", "-1h"}, wantCode: 2, wantStderr: "--ttl must be positive"},
		{name: "token missing key file", args: []string{"token", "--key", filepath.Join(dir, "none.pem"), "--iss", "i", "--aud", "a", "--sub", "s"}, wantCode: 1, wantStderr: "none.pem"},
		{name: "token key not PEM", args: []string{"token", "--key", notKey, "--iss", "i", "--aud", "a", "--sub", "s"}, wantCode: 1, wantStderr: "not a PEM EC private key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.wantCode, stderr.String())
			}
			if tc.wantStdout != "" && !strings.Contains(stdout.String(), tc.wantStdout) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tc.wantStdout)
			}
			switch {
			case tc.wantStderr == "" && stderr.Len() > 0:
				t.Errorf("stderr %q, want none", stderr.String())
			case tc.wantStderr == "Usage:":
				if !strings.Contains(stderr.String(), tc.wantStderr) {
					t.Errorf("stderr %q lacks the usage", stderr.String())
				}
			case tc.wantStderr != "":
				s := stderr.String()
				if strings.Count(s, "\n") != 1 || !strings.HasPrefix(s, "forecast-devkit: ") || !strings.Contains(s, tc.wantStderr) {
					t.Errorf("stderr %q: want one line with %q", s, tc.wantStderr)
				}
			}
		})
	}
}
