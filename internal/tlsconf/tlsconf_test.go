package tlsconf

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
)

// ---- certificates ----

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key := genKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pemBlock("CERTIFICATE", der)}
}

type leafSpec struct {
	serial   int64
	cn       string
	dns      []string
	ips      []net.IP
	uris     []string
	usage    x509.ExtKeyUsage
	notAfter time.Time // zero: in an hour
}

// issue returns the certificate and key PEM of a leaf signed by ca.
func (ca *testCA) issue(t *testing.T, s leafSpec) (certPEM, keyPEM []byte) {
	t.Helper()
	key := genKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(s.serial),
		Subject:      pkix.Name{CommonName: s.cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     s.notAfter,
		DNSNames:     s.dns,
		IPAddresses:  s.ips,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{s.usage},
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().Add(time.Hour)
	}
	if s.notAfter.Before(time.Now()) && !s.notAfter.IsZero() {
		tmpl.NotBefore = s.notAfter.Add(-time.Hour)
	}
	for _, u := range s.uris {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, pu)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("CERTIFICATE", der), pemBlock("PRIVATE KEY", pk)
}

func (ca *testCA) server(t *testing.T, serial int64) (certPEM, keyPEM []byte) {
	return ca.issue(t, leafSpec{serial: serial, cn: "localhost", dns: []string{"localhost"},
		ips: []net.IP{net.IPv4(127, 0, 0, 1)}, usage: x509.ExtKeyUsageServerAuth})
}

// clientCert returns a client certificate usable in tls.Config.Certificates.
func (ca *testCA) clientCert(t *testing.T, s leafSpec) tls.Certificate {
	t.Helper()
	if s.usage == 0 {
		s.usage = x509.ExtKeyUsageClientAuth
	}
	c, k := ca.issue(t, s)
	pair, err := tls.X509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

func genKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// ---- files, clock, logs ----

type files struct {
	dir           string
	cert, key, ca string
	mtime         time.Time // bumped on every write
	mu            sync.Mutex
}

func newFiles(t *testing.T) *files {
	d := t.TempDir()
	return &files{dir: d, cert: filepath.Join(d, "cert.pem"), key: filepath.Join(d, "key.pem"),
		ca: filepath.Join(d, "ca.pem"), mtime: time.Now().Add(-time.Hour).Truncate(time.Second)}
}

// write replaces name and gives it a modification time later than any
// before, as a rotation would.
func (f *files) write(t *testing.T, name string, data []byte) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f.mtime = f.mtime.Add(time.Second)
	if err := os.Chtimes(name, f.mtime, f.mtime); err != nil {
		t.Fatal(err)
	}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// pass moves the clock past the reload throttle.
func (c *fakeClock) pass() {
	c.mu.Lock()
	c.t = c.t.Add(CheckInterval + time.Millisecond)
	c.mu.Unlock()
}

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) count(level string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), "level="+level)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLogger() (*slog.Logger, *logBuf) {
	lb := &logBuf{}
	return slog.New(slog.NewTextHandler(lb, nil)), lb
}

// ---- loopback server ----

type result struct {
	state tls.ConnectionState
	err   error
}

type server struct {
	addr    string
	results chan result
}

// serve accepts TLS connections on loopback with cfg; each connection is
// handshaken, answered "ok" when the handshake succeeded, and reported.
func serve(t *testing.T, cfg *tls.Config) *server {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{addr: ln.Addr().String(), results: make(chan result, 64)}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				tc := c.(*tls.Conn)
				_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
				err := tc.Handshake()
				if err == nil {
					_, err = tc.Write([]byte("ok"))
				}
				s.results <- result{tc.ConnectionState(), err}
			})
		}
	})
	return s
}

// dial makes one connection with cfg and returns what the client and the
// server saw. The client reads the server's "ok", so that a client
// certificate refused after the TLS 1.3 handshake is an error too.
func (s *server) dial(t *testing.T, cfg *tls.Config) (client tls.ConnectionState, clientErr error, srv result) {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", s.addr, cfg)
	if err == nil {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = io.ReadFull(c, make([]byte, 2))
		client = c.ConnectionState()
		c.Close()
	}
	select {
	case srv = <-s.results:
	case <-time.After(10 * time.Second):
		t.Fatal("server reported no handshake")
	}
	return client, err, srv
}

func clientConfig(ca *testCA) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return &tls.Config{RootCAs: pool, ServerName: "localhost"}
}

// setup writes a server pair (serial 1) from ca, and the client CA bundle
// when clientCA is set, and returns a Reloader on a fake clock.
func setup(t *testing.T, ca *testCA, clientCA []byte) (*Reloader, *files, *fakeClock, *logBuf) {
	t.Helper()
	f := newFiles(t)
	c, k := ca.server(t, 1)
	f.write(t, f.cert, c)
	f.write(t, f.key, k)
	cfg := Config{CertFile: f.cert, KeyFile: f.key}
	if clientCA != nil {
		f.write(t, f.ca, clientCA)
		cfg.ClientCAFile = f.ca
	}
	clock := &fakeClock{t: time.Now()}
	log, lb := newLogger()
	cfg.Logger, cfg.Now = log, clock.Now
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r, f, clock, lb
}

func serial(st tls.ConnectionState) int64 {
	if len(st.PeerCertificates) == 0 {
		return -1
	}
	return st.PeerCertificates[0].SerialNumber.Int64()
}

// ---- tests ----

func TestVersionsAndALPN(t *testing.T) {
	ca := newCA(t, "server CA")
	r, _, _, _ := setup(t, ca, nil)
	cfg := r.ServerConfig()
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Fatalf("MinVersion = %x", cfg.MinVersion)
	}
	srv := serve(t, cfg)
	tests := []struct {
		name      string
		min, max  uint16
		protos    []string
		wantErr   bool
		wantProto string
	}{
		{name: "TLS 1.3", min: tls.VersionTLS13, max: tls.VersionTLS13},
		{name: "TLS 1.2", min: tls.VersionTLS12, max: tls.VersionTLS12},
		{name: "TLS 1.1 refused", min: tls.VersionTLS10, max: tls.VersionTLS11, wantErr: true},
		{name: "TLS 1.0 refused", min: tls.VersionTLS10, max: tls.VersionTLS10, wantErr: true},
		{name: "ALPN h2 (gRPC)", protos: []string{"h2"}, wantProto: "h2"},
		{name: "ALPN http/1.1 (curl without --http2)", protos: []string{"http/1.1"}, wantProto: "http/1.1"},
		{name: "ALPN h2 preferred", protos: []string{"h2", "http/1.1"}, wantProto: "h2"},
		{name: "ALPN h2 over TLS 1.2", min: tls.VersionTLS12, max: tls.VersionTLS12, protos: []string{"h2"}, wantProto: "h2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cc := clientConfig(ca)
			cc.MinVersion, cc.MaxVersion, cc.NextProtos = tc.min, tc.max, tc.protos
			st, err, sr := srv.dial(t, cc)
			if tc.wantErr {
				if err == nil || sr.err == nil {
					t.Fatalf("handshake succeeded (client err %v, server err %v), want refused", err, sr.err)
				}
				if !strings.Contains(sr.err.Error(), "version") {
					t.Errorf("server error %q does not mention the version", sr.err)
				}
				return
			}
			if err != nil || sr.err != nil {
				t.Fatalf("client err %v, server err %v", err, sr.err)
			}
			if tc.max != 0 && st.Version != tc.max {
				t.Errorf("version %x, want %x", st.Version, tc.max)
			}
			if st.NegotiatedProtocol != tc.wantProto {
				t.Errorf("ALPN %q, want %q", st.NegotiatedProtocol, tc.wantProto)
			}
			if id := identity(&sr.state); id != "" {
				t.Errorf("Identity without client certificate = %q, want empty", id)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	ca := newCA(t, "server CA")
	r, f, clock, logs := setup(t, ca, nil)
	srv := serve(t, r.ServerConfig())
	pair := func(serial int64) func(t *testing.T) {
		return func(t *testing.T) {
			c, k := ca.server(t, serial)
			f.write(t, f.cert, c)
			f.write(t, f.key, k)
		}
	}
	steps := []struct {
		name       string
		change     func(t *testing.T)
		pass       bool // move the clock past the throttle first
		wantSerial int64
		wantWarns  int // in total so far
		wantInfos  int
	}{
		{name: "initial pair", wantSerial: 1},
		{name: "rotated files are not looked at within the interval", change: pair(2), wantSerial: 1},
		{name: "after the interval the new pair is served", pass: true, wantSerial: 2, wantInfos: 1},
		{name: "unchanged files are not reloaded", pass: true, wantSerial: 2, wantInfos: 1},
		{name: "new certificate with the old key keeps the old pair", pass: true, wantSerial: 2, wantWarns: 1, wantInfos: 1,
			change: func(t *testing.T) { c, _ := ca.server(t, 3); f.write(t, f.cert, c) }},
		{name: "the same failure is logged once", pass: true, wantSerial: 2, wantWarns: 1, wantInfos: 1},
		{name: "certificate not PEM keeps the old pair", pass: true, wantSerial: 2, wantWarns: 2, wantInfos: 1,
			change: func(t *testing.T) { f.write(t, f.cert, []byte("garbage\n")) }},
		{name: "key file removed keeps the old pair", pass: true, wantSerial: 2, wantWarns: 3, wantInfos: 1,
			change: func(t *testing.T) {
				if err := os.Remove(f.key); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "a good pair is served again", change: pair(4), pass: true, wantSerial: 4, wantWarns: 3, wantInfos: 2},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.change != nil {
				s.change(t)
			}
			if s.pass {
				clock.pass()
			}
			st, err, sr := srv.dial(t, clientConfig(ca))
			if err != nil || sr.err != nil {
				t.Fatalf("client err %v, server err %v", err, sr.err)
			}
			if got := serial(st); got != s.wantSerial {
				t.Errorf("served serial %d, want %d", got, s.wantSerial)
			}
			if got := r.Certificate().Leaf.SerialNumber.Int64(); got != s.wantSerial {
				t.Errorf("Certificate() serial %d, want %d", got, s.wantSerial)
			}
			if w, i := logs.count("WARN"), logs.count("INFO"); w != s.wantWarns || i != s.wantInfos {
				t.Errorf("%d warn and %d info lines, want %d and %d:\n%s", w, i, s.wantWarns, s.wantInfos, logs)
			}
		})
	}
	if !strings.Contains(logs.String(), f.key) {
		t.Errorf("warnings do not name the key file:\n%s", logs)
	}
}

func TestNew(t *testing.T) {
	ca := newCA(t, "server CA")
	goodCert, goodKey := ca.server(t, 1)
	_, otherKey := ca.server(t, 2)
	expCert, expKey := ca.issue(t, leafSpec{serial: 3, cn: "localhost", dns: []string{"localhost"},
		usage: x509.ExtKeyUsageServerAuth, notAfter: time.Now().Add(-time.Minute)})
	tests := []struct {
		name          string
		cert, key, cA []byte // nil: file absent
		noClientCA    bool
		wantErr       []string // substrings; "{cert}", "{key}", "{ca}" stand for the paths
		wantWarn      string
	}{
		{name: "good pair", cert: goodCert, key: goodKey, noClientCA: true},
		{name: "good pair and client CA", cert: goodCert, key: goodKey, cA: ca.pem},
		{name: "missing certificate", key: goodKey, noClientCA: true, wantErr: []string{"{cert}", "does not exist"}},
		{name: "certificate not PEM", cert: []byte("not a certificate"), key: goodKey, noClientCA: true,
			wantErr: []string{"certificate file {cert}", "not PEM"}},
		{name: "certificate file holds only a key", cert: goodKey, key: goodKey, noClientCA: true,
			wantErr: []string{"certificate file {cert}", "no CERTIFICATE block"}},
		{name: "corrupt certificate", cert: pemBlock("CERTIFICATE", []byte("junk")), key: goodKey, noClientCA: true,
			wantErr: []string{"certificate file {cert}", "certificate 1"}},
		{name: "missing key", cert: goodCert, noClientCA: true, wantErr: []string{"key file {key}", "does not exist"}},
		{name: "key not PEM", cert: goodCert, key: []byte("secret"), noClientCA: true, wantErr: []string{"key file {key}", "not PEM"}},
		{name: "key file holds a certificate", cert: goodCert, key: goodCert, noClientCA: true,
			wantErr: []string{"key file {key}", "certificate rather than a key"}},
		{name: "key does not match certificate", cert: goodCert, key: otherKey, noClientCA: true,
			wantErr: []string{"key file {key} does not match certificate file {cert}"}},
		{name: "missing client CA", cert: goodCert, key: goodKey, wantErr: []string{"client CA file {ca}", "does not exist"}},
		{name: "client CA not PEM", cert: goodCert, key: goodKey, cA: []byte("nope"), wantErr: []string{"client CA file {ca}", "not PEM"}},
		{name: "client CA without certificates", cert: goodCert, key: goodKey, cA: goodKey,
			wantErr: []string{"client CA file {ca}", "no CERTIFICATE block"}},
		{name: "expired certificate only warns", cert: expCert, key: expKey, noClientCA: true, wantWarn: "expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFiles(t)
			for _, w := range []struct {
				name string
				data []byte
			}{{f.cert, tc.cert}, {f.key, tc.key}, {f.ca, tc.cA}} {
				if w.data != nil {
					f.write(t, w.name, w.data)
				}
			}
			log, logs := newLogger()
			cfg := Config{CertFile: f.cert, KeyFile: f.key, Logger: log}
			if !tc.noClientCA {
				cfg.ClientCAFile = f.ca
			}
			r, err := New(cfg)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatal("New succeeded, want an error")
				}
				for _, w := range tc.wantErr {
					w = strings.NewReplacer("{cert}", f.cert, "{key}", f.key, "{ca}", f.ca).Replace(w)
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.ServerConfig() == nil || r.Certificate() == nil {
				t.Fatal("no config or certificate")
			}
			if tc.wantWarn != "" && !strings.Contains(logs.String(), tc.wantWarn) {
				t.Errorf("log %q does not warn %q", logs, tc.wantWarn)
			}
			if tc.wantWarn == "" && logs.count("WARN") > 0 {
				t.Errorf("unexpected warning: %s", logs)
			}
			wantAuth := tls.NoClientCert
			if !tc.noClientCA {
				wantAuth = tls.RequireAndVerifyClientCert
			}
			if got := r.ServerConfig().ClientAuth; got != wantAuth {
				t.Errorf("ClientAuth = %v, want %v", got, wantAuth)
			}
		})
	}
	if _, err := New(Config{CertFile: "x"}); err == nil {
		t.Error("New without a key file succeeded")
	}
}

func TestClientAuth(t *testing.T) {
	serverCA := newCA(t, "server CA")
	clientCA := newCA(t, "client CA")
	otherCA := newCA(t, "other CA")
	r, _, _, _ := setup(t, serverCA, clientCA.pem)
	srv := serve(t, r.ServerConfig())
	const spiffe = "spiffe://example.org/ns/team/sa/app"
	tests := []struct {
		name    string
		ca      *testCA // nil: no client certificate
		spec    leafSpec
		version uint16
		wantID  string // "" means refused
	}{
		{name: "no client certificate (TLS 1.3)", version: tls.VersionTLS13},
		{name: "no client certificate (TLS 1.2)", version: tls.VersionTLS12},
		{name: "certificate from another CA", ca: otherCA, spec: leafSpec{serial: 10, cn: "intruder", uris: []string{spiffe}}},
		{name: "server-only certificate from the client CA", ca: clientCA,
			spec: leafSpec{serial: 11, cn: "svc", usage: x509.ExtKeyUsageServerAuth}},
		{name: "expired certificate", ca: clientCA,
			spec: leafSpec{serial: 12, cn: "old", notAfter: time.Now().Add(-time.Minute)}},
		{name: "URI SAN preferred", ca: clientCA, wantID: spiffe,
			spec: leafSpec{serial: 13, cn: "app", dns: []string{"app.example.org"}, uris: []string{spiffe, "spiffe://example.org/second"}}},
		{name: "URI SAN over TLS 1.2", ca: clientCA, version: tls.VersionTLS12, wantID: spiffe,
			spec: leafSpec{serial: 14, cn: "app", uris: []string{spiffe}}},
		{name: "DNS SAN without URI SAN", ca: clientCA, wantID: "app.example.org",
			spec: leafSpec{serial: 15, cn: "app", dns: []string{"app.example.org", "b.example.org"}}},
		{name: "common name without SANs", ca: clientCA, wantID: "dev-client",
			spec: leafSpec{serial: 16, cn: "dev-client"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cc := clientConfig(serverCA)
			cc.MinVersion, cc.MaxVersion = tc.version, tc.version
			if tc.ca != nil {
				cc.Certificates = []tls.Certificate{tc.ca.clientCert(t, tc.spec)}
			}
			_, err, sr := srv.dial(t, cc)
			if tc.wantID == "" {
				if err == nil || sr.err == nil {
					t.Fatalf("accepted (client err %v, server err %v), want refused", err, sr.err)
				}
				return
			}
			if err != nil || sr.err != nil {
				t.Fatalf("client err %v, server err %v", err, sr.err)
			}
			if len(sr.state.VerifiedChains) == 0 {
				t.Error("no verified chains")
			}
			if id := identity(&sr.state); id != tc.wantID {
				t.Errorf("Identity = %q, want %q", id, tc.wantID)
			}
		})
	}
}

// identity names the client of a connection in these tests: the first
// URI SAN, DNS SAN or CN of the verified leaf. (Which identity a caller
// has is internal/auth's business: auth.CertIdentities.)
func identity(state *tls.ConnectionState) string {
	if state == nil || len(state.VerifiedChains) == 0 || len(state.VerifiedChains[0]) == 0 {
		return ""
	}
	leaf := state.VerifiedChains[0][0]
	switch {
	case len(leaf.URIs) > 0:
		return leaf.URIs[0].String()
	case len(leaf.DNSNames) > 0:
		return leaf.DNSNames[0]
	}
	return leaf.Subject.CommonName
}

func TestClientCARotation(t *testing.T) {
	serverCA := newCA(t, "server CA")
	ca1, ca2 := newCA(t, "client CA 1"), newCA(t, "client CA 2")
	r, f, clock, logs := setup(t, serverCA, ca1.pem)
	srv := serve(t, r.ServerConfig())
	client1 := ca1.clientCert(t, leafSpec{serial: 21, cn: "one", uris: []string{"spiffe://td/one"}})
	client2 := ca2.clientCert(t, leafSpec{serial: 22, cn: "two", uris: []string{"spiffe://td/two"}})
	// client1 keeps its session tickets: a resumed session must not
	// outlive the CA that verified it.
	cache1 := tls.NewLRUClientSessionCache(8)
	steps := []struct {
		name   string
		change func(t *testing.T)
		pass   bool
		client tls.Certificate
		cache  tls.ClientSessionCache
		wantID string // "" means refused
		resume bool   // want a resumed session
	}{
		{name: "CA 1 client accepted", client: client1, cache: cache1, wantID: "spiffe://td/one"},
		{name: "CA 1 client resumes", client: client1, cache: cache1, wantID: "spiffe://td/one", resume: true},
		{name: "CA 2 client refused", client: client2},
		{name: "bundle rotated to CA 2, within the interval", client: client2,
			change: func(t *testing.T) { f.write(t, f.ca, ca2.pem) }},
		{name: "after the interval CA 2 client accepted", pass: true, client: client2, wantID: "spiffe://td/two"},
		{name: "CA 1 client refused, even resuming", client: client1, cache: cache1},
		{name: "broken bundle keeps CA 2", pass: true, client: client2, wantID: "spiffe://td/two",
			change: func(t *testing.T) { f.write(t, f.ca, []byte("truncated")) }},
		{name: "bundle with both CAs", pass: true, client: client1, wantID: "spiffe://td/one",
			change: func(t *testing.T) { f.write(t, f.ca, append(append([]byte{}, ca1.pem...), ca2.pem...)) }},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.change != nil {
				s.change(t)
			}
			if s.pass {
				clock.pass()
			}
			cc := clientConfig(serverCA)
			cc.Certificates = []tls.Certificate{s.client}
			cc.ClientSessionCache = s.cache
			_, err, sr := srv.dial(t, cc)
			if s.wantID == "" {
				if err == nil || sr.err == nil {
					t.Fatalf("accepted (client err %v, server err %v, resumed %v), want refused", err, sr.err, sr.state.DidResume)
				}
				return
			}
			if err != nil || sr.err != nil {
				t.Fatalf("client err %v, server err %v", err, sr.err)
			}
			if id := identity(&sr.state); id != s.wantID {
				t.Errorf("Identity = %q, want %q", id, s.wantID)
			}
			if sr.state.DidResume != s.resume {
				t.Errorf("resumed %v, want %v", sr.state.DidResume, s.resume)
			}
		})
	}
	if n := logs.count("WARN"); n != 1 {
		t.Errorf("%d warnings, want 1 (the broken bundle):\n%s", n, logs)
	}
}

// TestConcurrentRotation runs handshakes while the files rotate (for -race).
func TestConcurrentRotation(t *testing.T) {
	serverCA, clientCA := newCA(t, "server CA"), newCA(t, "client CA")
	r, f, clock, _ := setup(t, serverCA, clientCA.pem)
	srv := serve(t, r.ServerConfig())
	client := clientCA.clientCert(t, leafSpec{serial: 5, cn: "c"})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 8 {
		wg.Go(func() {
			for range 4 {
				cc := clientConfig(serverCA)
				cc.Certificates = []tls.Certificate{client}
				c, err := tls.Dial("tcp", srv.addr, cc)
				if err == nil {
					_, err = io.ReadFull(c, make([]byte, 2))
					c.Close()
				}
				if err != nil {
					errs <- fmt.Errorf("client %d: %w", i, err)
				}
			}
		})
	}
	for serial := int64(100); serial < 104; serial++ {
		c, k := serverCA.server(t, serial)
		f.write(t, f.cert, c)
		f.write(t, f.key, k)
		f.write(t, f.ca, clientCA.pem)
		clock.pass()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for range 32 {
		if sr := <-srv.results; sr.err != nil {
			t.Error("server:", sr.err)
		}
	}
}

// TestListeners serves the same config on an http.Server (HTTP/2 and
// HTTP/1.1 clients) and a gRPC server (credentials.NewTLS), with mTLS.
func TestListeners(t *testing.T) {
	serverCA, clientCA := newCA(t, "server CA"), newCA(t, "client CA")
	r, _, _, _ := setup(t, serverCA, clientCA.pem)
	client := clientCA.clientCert(t, leafSpec{serial: 7, cn: "c", uris: []string{"spiffe://td/rest"}})

	// REST.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{
		TLSConfig: r.ServerConfig(),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			fmt.Fprintf(w, "%s %s", req.Proto, identity(req.TLS))
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = hs.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { hs.Close() })
	for _, tc := range []struct {
		name   string
		h2     bool
		cert   bool
		want   string
		refuse bool
	}{
		{name: "HTTP/2", h2: true, cert: true, want: "HTTP/2.0 spiffe://td/rest"},
		{name: "HTTP/1.1", cert: true, want: "HTTP/1.1 spiffe://td/rest"},
		{name: "no client certificate", h2: true, refuse: true},
	} {
		t.Run("rest/"+tc.name, func(t *testing.T) {
			cc := clientConfig(serverCA)
			if tc.cert {
				cc.Certificates = []tls.Certificate{client}
			}
			tr := &http.Transport{TLSClientConfig: cc, ForceAttemptHTTP2: tc.h2}
			if !tc.h2 {
				tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
			}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://localhost:" + portOf(ln.Addr()) + "/")
			if tc.refuse {
				if err == nil {
					resp.Body.Close()
					t.Fatal("request without a client certificate succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if string(body) != tc.want {
				t.Errorf("got %q, want %q", body, tc.want)
			}
		})
	}

	// gRPC.
	gln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var seen sync.Map
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(r.ServerConfig())),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if p, ok := peer.FromContext(ctx); ok {
				if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok {
					seen.Store("id", identity(&ti.State))
				}
			}
			return h(ctx, req)
		}))
	healthpb.RegisterHealthServer(gs, health.NewServer())
	go func() { _ = gs.Serve(gln) }()
	t.Cleanup(gs.Stop)
	cc := clientConfig(serverCA)
	cc.Certificates = []tls.Certificate{client}
	conn, err := grpc.NewClient(gln.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(cc)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal("grpc:", err)
	}
	if id, _ := seen.Load("id"); id != "spiffe://td/rest" {
		t.Errorf("gRPC peer identity %v", id)
	}
	if r.ServerConfig().NextProtos[0] != "h2" {
		t.Errorf("NextProtos = %v", r.ServerConfig().NextProtos)
	}
}

func portOf(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}
