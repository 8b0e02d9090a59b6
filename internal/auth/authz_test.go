package auth

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const authzYAML = `# who may call the gateway over mTLS
callers:
  "spiffe://example.org/ns/a/sa/b": {scopes: [forecast.write, forecast.read, forecast.read], groups: [planning]}
  "dev-client": {scopes: [forecast.read]}
  worker.internal.example:
    scopes:
      - forecast.admin
    groups: [ops, analytics]
  "no-scopes": {}
`

func writeAuthz(t testing.TB, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "authz.yaml")
	writeFile(t, path, []byte(content))
	return path
}

func TestAuthzLookup(t *testing.T) {
	logger, _ := newLogger()
	a, err := LoadAuthzFile(writeAuthz(t, authzYAML), logger)
	if err != nil {
		t.Fatal(err)
	}
	rows := []struct {
		id             string
		ok             bool
		scopes, groups []string
	}{
		{"spiffe://example.org/ns/a/sa/b", true, []string{ScopeRead, ScopeWrite}, []string{"planning"}},
		{"dev-client", true, []string{ScopeRead}, nil},
		{"worker.internal.example", true, []string{ScopeAdmin}, []string{"analytics", "ops"}},
		{"no-scopes", true, nil, nil},
		{"Dev-Client", false, nil, nil},
		{"spiffe://example.org/ns/a/sa/b/", false, nil, nil},
		{"", false, nil, nil},
	}
	for _, r := range rows {
		scopes, groups, ok := a.Lookup(r.id)
		if ok != r.ok || !slices.Equal(scopes, r.scopes) || !slices.Equal(groups, r.groups) {
			t.Errorf("Lookup(%q) = %q, %q, %v; want %q, %q, %v", r.id, scopes, groups, ok, r.scopes, r.groups, r.ok)
		}
	}
	// The slices returned are the caller's.
	scopes, _, _ := a.Lookup("dev-client")
	scopes[0] = ScopeAdmin
	if scopes, _, _ := a.Lookup("dev-client"); scopes[0] != ScopeRead {
		t.Fatal("Lookup returned internal state")
	}
}

func TestAuthzStrict(t *testing.T) {
	rows := []struct {
		name, yaml, want string
	}{
		{"unknown top-level key", "callers: {}\nextra: 1\n", `line 2: unknown key "extra"`},
		{"unknown entry key", "callers:\n  a:\n    scopes: [forecast.read]\n    role: admin\n", `line 4: unknown key "role"`},
		{"unknown scope", "callers:\n  a: {scopes: [forecast.read]}\n  b:\n    scopes:\n      - forecast.read\n      - forecast.delete\n", `line 6: unknown scope "forecast.delete"`},
		{"scope not a string", "callers:\n  a: {scopes: [1]}\n", "line 2: scopes: expected a string"},
		{"scopes not a list", "callers:\n  a: {scopes: forecast.read}\n", "line 2: scopes must be a list"},
		{"entry not a mapping", "callers:\n  a: [forecast.read]\n", "line 2: expected {scopes"},
		{"callers not a mapping", "callers: [a, b]\n", "line 1: callers must be a mapping"},
		{"callers null", "callers:\n", "line 1: callers must be a mapping"},
		{"no callers", "other: {}\n", `line 1: unknown key "other"`},
		{"duplicate identity", "callers:\n  a: {}\n  a: {}\n", `line 3: identity "a" given twice`},
		{"duplicate scopes key", "callers:\n  a: {scopes: [], scopes: []}\n", "line 2: scopes given twice"},
		{"empty identity", "callers:\n  \"\": {}\n", "line 2: identity"},
		{"identity with spaces", "callers:\n  \" a\": {}\n", "line 2: identity"},
		{"two documents", "callers: {}\n---\ncallers: {}\n", "line 3: only one YAML document"},
		{"empty file", "", "empty file"},
		{"comment only", "# nothing\n", "empty file"},
		{"not a mapping", "- a\n", "line 1: expected a mapping"},
		{"syntax error", "callers: {a: [}\n", "yaml:"},
		{"alias", "callers:\n  a: &x {scopes: [forecast.read]}\n  b: *x\n", "line 3: expected {scopes"},
		{"merge key", "callers:\n  a:\n    <<: {scopes: [forecast.read]}\n", `line 3: unknown key "<<"`},
		{"group not a string", "callers:\n  a: {groups: [{x: 1}]}\n", "line 2: groups: expected a string"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			_, err := LoadAuthzFile(writeAuthz(t, r.yaml), nil)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), r.want) {
				t.Fatalf("error %q, want it to contain %q", err, r.want)
			}
		})
	}
	if _, err := LoadAuthzFile(filepath.Join(t.TempDir(), "missing.yaml"), nil); err == nil {
		t.Fatal("missing file loaded")
	}
	if _, err := LoadAuthzFile("", nil); err == nil {
		t.Fatal("empty path loaded")
	}
	if _, err := LoadAuthzFile(writeAuthz(t, "callers: {}\n"), nil); err != nil {
		t.Fatalf("no callers at all: %v", err)
	}
}

func TestAuthzReload(t *testing.T) {
	path := writeAuthz(t, authzYAML)
	clk := newClock(t0)
	logger, logs := newLogger()
	a, err := loadAuthzFile(path, logger, clk.Now, defaultFileCheckInterval)
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(id string) ([]string, bool) {
		scopes, _, ok := a.Lookup(id)
		return scopes, ok
	}

	writeFile(t, path, []byte("callers:\n  dev-client: {scopes: [forecast.read, forecast.write]}\n  new-client: {}\n"))
	if s, _ := lookup("dev-client"); !slices.Equal(s, []string{ScopeRead}) {
		t.Fatalf("reloaded before the interval: %q", s)
	}
	clk.Advance(defaultFileCheckInterval)
	if s, _ := lookup("dev-client"); !slices.Equal(s, []string{ScopeRead, ScopeWrite}) {
		t.Fatalf("after reload: %q", s)
	}
	if _, ok := lookup("new-client"); !ok {
		t.Fatal("new identity not found")
	}
	if _, ok := lookup("spiffe://example.org/ns/a/sa/b"); ok {
		t.Fatal("removed identity still found")
	}

	// A broken file keeps the rules, and is logged once, naming the line.
	writeFile(t, path, []byte("callers:\n  dev-client: {scopes: [forecast.read]}\n  evil: {scopes: [forecast.root]}\n"))
	for range 3 {
		clk.Advance(defaultFileCheckInterval)
		if s, _ := lookup("dev-client"); !slices.Equal(s, []string{ScopeRead, ScopeWrite}) {
			t.Fatalf("broken file replaced the rules: %q", s)
		}
		if _, ok := lookup("evil"); ok {
			t.Fatal("broken file's identity found")
		}
	}
	if n := logs.Count("keeping the previous version"); n != 1 || !strings.Contains(logs.String(), "line 3") {
		t.Fatalf("warned %d times: %s", n, logs)
	}
	// An emptied file (a writer that truncates first) keeps the rules too.
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	clk.Advance(defaultFileCheckInterval)
	if _, ok := lookup("new-client"); !ok {
		t.Fatal("emptied file dropped the rules")
	}
	// Fixed.
	writeFile(t, path, []byte("callers:\n  fixed: {scopes: [forecast.admin]}\n"))
	clk.Advance(defaultFileCheckInterval)
	if s, ok := lookup("fixed"); !ok || !slices.Equal(s, []string{ScopeAdmin}) {
		t.Fatalf("fixed file: %q %v", s, ok)
	}
	if _, ok := lookup("dev-client"); ok {
		t.Fatal("old rules kept after a good file")
	}
}

// certificate makes a certificate for key signed by parent (self-signed
// when parent is nil).
func certificate(t testing.TB, tmpl *x509.Certificate, key *ecdsa.PrivateKey, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestCertIdentities(t *testing.T) {
	key := ecKey()
	rows := []struct {
		name string
		tmpl x509.Certificate
		want []string
	}{
		{"SPIFFE", x509.Certificate{Subject: pkix.Name{CommonName: "ignored"}, DNSNames: []string{"ignored.example"},
			URIs: []*url.URL{mustURL("spiffe://example.org/ns/a/sa/b"), mustURL("https://other.example")}},
			[]string{"spiffe://example.org/ns/a/sa/b"}},
		{"two SPIFFE IDs", x509.Certificate{URIs: []*url.URL{mustURL("spiffe://example.org/a"), mustURL("spiffe://example.org/b")}}, nil},
		{"DNS names", x509.Certificate{Subject: pkix.Name{CommonName: "ignored"}, DNSNames: []string{"a.example", "b.example"}},
			[]string{"a.example", "b.example"}},
		{"CN", x509.Certificate{Subject: pkix.Name{CommonName: "dev-client"}}, []string{"dev-client"}},
		{"CN with a non-SPIFFE URI", x509.Certificate{Subject: pkix.Name{CommonName: "dev-client"}, URIs: []*url.URL{mustURL("https://x.example")}}, nil},
		{"nothing", x509.Certificate{}, nil},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			c := certificate(t, &r.tmpl, key, nil, nil)
			if got := CertIdentities(c); !slices.Equal(got, r.want) {
				t.Fatalf("got %q, want %q", got, r.want)
			}
		})
	}
	if CertIdentities(nil) != nil {
		t.Fatal("nil certificate")
	}
}

func TestCallerFromTLS(t *testing.T) {
	a, err := LoadAuthzFile(writeAuthz(t, authzYAML), nil)
	if err != nil {
		t.Fatal(err)
	}
	key := ecKey()
	spiffe := certificate(t, &x509.Certificate{URIs: []*url.URL{mustURL("spiffe://example.org/ns/a/sa/b")}}, key, nil, nil)
	dev := certificate(t, &x509.Certificate{Subject: pkix.Name{CommonName: "dev-client"}}, key, nil, nil)
	dns := certificate(t, &x509.Certificate{DNSNames: []string{"unknown.example", "worker.internal.example"}}, key, nil, nil)
	stranger := certificate(t, &x509.Certificate{Subject: pkix.Name{CommonName: "stranger"}}, key, nil, nil)
	verified := func(c *x509.Certificate) *tls.ConnectionState {
		return &tls.ConnectionState{PeerCertificates: []*x509.Certificate{c}, VerifiedChains: [][]*x509.Certificate{{c}}}
	}

	c, err := a.CallerFromTLS(verified(spiffe))
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "mtls:spiffe://example.org/ns/a/sa/b" || c.Kind != KindMTLS || c.Issuer != "" || c.Subject != "spiffe://example.org/ns/a/sa/b" ||
		!slices.Equal(c.Scopes, []string{ScopeRead, ScopeWrite}) || !slices.Equal(c.Groups, []string{"planning"}) {
		t.Fatalf("caller %+v", c)
	}
	if c, err := a.CallerFromTLS(verified(dev)); err != nil || c.ID != "mtls:dev-client" || !c.HasScope(ScopeRead) || c.HasScope(ScopeWrite) {
		t.Fatalf("dev-client: %+v, %v", c, err)
	}
	if c, err := a.CallerFromTLS(verified(dns)); err != nil || c.ID != "mtls:worker.internal.example" || !c.HasScope(ScopeAdmin) {
		t.Fatalf("DNS: %+v, %v", c, err)
	}
	if _, err := a.CallerFromTLS(verified(stranger)); reasonOf(t, err) != "unknown client identity" {
		t.Fatalf("stranger: %v", err)
	}
	if _, err := a.CallerFromTLS(&tls.ConnectionState{PeerCertificates: []*x509.Certificate{dev}}); reasonOf(t, err) != "client certificate not verified" {
		t.Fatalf("unverified: %v", err)
	}
	for _, cs := range []*tls.ConnectionState{nil, {}} {
		if _, err := a.CallerFromTLS(cs); !errors.Is(err, ErrNoCredentials) {
			t.Fatalf("no certificate: %v", err)
		}
	}
}

// A real handshake on loopback: the TLS stack verifies the client
// certificate against the CA and CallerFromTLS reads r.TLS.
func TestCallerFromTLSHandshake(t *testing.T) {
	a, err := LoadAuthzFile(writeAuthz(t, authzYAML), nil)
	if err != nil {
		t.Fatal(err)
	}
	caKey, clientKey := ecKey(), ecKey2()
	ca := certificate(t, &x509.Certificate{Subject: pkix.Name{CommonName: "test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}, caKey, nil, nil)
	client := certificate(t, &x509.Certificate{URIs: []*url.URL{mustURL("spiffe://example.org/ns/a/sa/b")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, clientKey, ca, caKey)
	rogueCA := certificate(t, &x509.Certificate{Subject: pkix.Name{CommonName: "rogue"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}, clientKey, nil, nil)
	rogue := certificate(t, &x509.Certificate{URIs: []*url.URL{mustURL("spiffe://example.org/ns/a/sa/b")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, caKey, rogueCA, clientKey)
	pool := x509.NewCertPool()
	pool.AddCert(ca)

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.CallerFromTLS(r.TLS)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, c.ID)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()
	if host, _, _ := net.SplitHostPort(srv.Listener.Addr().String()); !net.ParseIP(host).IsLoopback() {
		t.Fatalf("not loopback: %s", host)
	}

	get := func(cert *x509.Certificate, key *ecdsa.PrivateKey) (int, string, error) {
		tr := srv.Client().Transport.(*http.Transport).Clone()
		if cert != nil {
			tr.TLSClientConfig.Certificates = []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}}
		}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(srv.URL)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	if code, body, err := get(client, clientKey); err != nil || code != 200 || body != "mtls:spiffe://example.org/ns/a/sa/b" {
		t.Fatalf("client: %d %q %v", code, body, err)
	}
	if code, body, err := get(nil, nil); err != nil || code != 401 || !strings.Contains(body, "no credentials") {
		t.Fatalf("no certificate: %d %q %v", code, body, err)
	}
	// The client either sends the certificate, failing the handshake, or
	// (Go's client, as the server asks for certificates of its CA) none.
	if code, body, err := get(rogue, caKey); err == nil && code != 401 {
		t.Fatalf("a certificate from another CA: %d %q", code, body)
	}
}
