package e2e_test

// Helpers of the security tests (issue "Security"). They start the real
// gateway with real TLS (certificates made here with crypto/x509), real
// signed JWTs (an ECDSA P-256 key made here, its JWK Set in a file) and
// talk to it with the generated gRPC client and net/http. Every name is
// prefixed sec so nothing collides with the other tests' helpers.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
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
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
	"github.com/forecastgw/forecast-gateway/emulator"
	"github.com/forecastgw/forecast-gateway/internal/gateway"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

const (
	secIssuer   = "https://idp.forecast.test"
	secAudience = "forecast-gateway"
	secKID      = "k1"
	secService  = "/forecast.gateway.v1.ForecastJobService/"

	secRead  = "forecast.read"
	secWrite = "forecast.read forecast.write"
	secAdmin = "forecast.read forecast.write forecast.admin"
)

// secJob is the job type the security tests drive.
var secJob = jobtype.PredictorBacktestExportJob

// secTransports are the two ways in; secBoth runs a case on each.
var secTransports = []string{"grpc", "rest"}

func secBoth(t *testing.T, fn func(t *testing.T, tr string)) {
	t.Helper()
	for _, tr := range secTransports {
		t.Run(tr, func(t *testing.T) { fn(t, tr) })
	}
}

// ---- PKI ----

// secCA is a certificate authority made for one test.
type secCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func secSerial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	return n.Add(n, big.NewInt(1))
}

func newSecCA(t testing.TB, name string) *secCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          secSerial(t),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
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
	return &secCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (ca *secCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// issue signs a leaf made from tmpl (serial, validity and key filled in)
// and returns its PEM, its key's PEM and the parsed certificate.
func (ca *secCA) issue(t testing.TB, tmpl *x509.Certificate) (certPEM, keyPEM []byte, leaf *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = secSerial(t)
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	if leaf, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), leaf
}

// server issues a server certificate for 127.0.0.1 and localhost.
func (ca *secCA) server(t testing.TB) (certPEM, keyPEM []byte, leaf *x509.Certificate) {
	t.Helper()
	return ca.issue(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "forecast-gateway"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
}

// client issues a client certificate whose identity is a SPIFFE ID.
func (ca *secCA) client(t testing.TB, spiffeID string) tls.Certificate {
	t.Helper()
	u, err := url.Parse(spiffeID)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, _ := ca.issue(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "client"},
		URIs:        []*url.URL{u},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// secWriteFile writes data to path atomically (a temporary file renamed
// over it), as an operator rotating files should.
func secWriteFile(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// ---- JWT ----

// secSigner is an issuer's ECDSA P-256 key and its JWK Set.
type secSigner struct {
	key  *ecdsa.PrivateKey
	jwks []byte
}

func newSecSigner(t testing.TB) *secSigner {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := key.PublicKey.Bytes() // 0x04 | X | Y
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	jwks, err := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "x": b64(pt[1:33]), "y": b64(pt[33:65]),
		"kid": secKID, "alg": "ES256", "use": "sig",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return &secSigner{key: key, jwks: jwks}
}

// secrets are the encodings of the private key that must never be logged.
func (s *secSigner) secrets(t testing.TB) []string {
	t.Helper()
	d, err := s.key.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		t.Fatal(err)
	}
	return []string{base64.RawURLEncoding.EncodeToString(d), base64.StdEncoding.EncodeToString(p8)[:40], fmt.Sprintf("%x", d)}
}

// claims are valid claims for sub with scope (a space-separated list;
// "" leaves the claim out).
func secClaims(sub, scope string) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{"iss": secIssuer, "aud": secAudience, "sub": sub,
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()}
	if scope != "" {
		c["scope"] = scope
	}
	return c
}

// sign signs claims with ES256 and the key's kid.
func (s *secSigner) sign(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["kid"] = secKID
	out, err := tok.SignedString(s.key)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// token is a valid token for sub with scope.
func (s *secSigner) token(t testing.TB, sub, scope string) string {
	t.Helper()
	return s.sign(t, secClaims(sub, scope))
}

// secCallerID is the caller id the gateway gives a token's subject.
func secCallerID(sub string) string { return "jwt:" + secIssuer + "|" + sub }

// ---- the stack ----

// secOptions say what to start. The zero value is a plaintext loopback
// gateway without authentication.
type secOptions struct {
	emu emulator.Options
	// cfg is applied over the defaults: loopback port 0, the stack's
	// emulator as the upstream (cfg.Upstream.CallTimeout is kept), no
	// rate limits, a 1h health interval, a discarding logger.
	cfg gateway.Config
	// tls serves both listeners with a certificate of the stack's CA.
	tls bool
	// clientCA, with authz (the YAML of an authz file), turns on mTLS.
	clientCA *secCA
	authz    string
	// jwt verifies bearer tokens of the stack's signer.
	jwt bool
	// policy is the YAML of a policy file.
	policy string
}

// secStack is a running emulator and gateway.
type secStack struct {
	emu    *emulator.Server
	clock  *emulator.FakeClock
	gw     *gateway.Gateway
	ca     *secCA     // signs the server certificate
	signer *secSigner // the JWT issuer's key
	dir    string
	// certFile and keyFile serve TLS (tests rotate them).
	certFile, keyFile string
	serverLeaf        *x509.Certificate
	tls               bool
	client            *secClient // TLS when on, no client certificate, no token

	mu      sync.Mutex
	closers []func()
}

// startSecStack starts the stack and registers its teardown, which also
// fails the test if goroutines leaked.
func startSecStack(t testing.TB, o secOptions) *secStack {
	t.Helper()
	before := runtime.NumGoroutine()
	s := &secStack{ca: newSecCA(t, "forecast-gateway test CA"), signer: newSecSigner(t), dir: t.TempDir(), tls: o.tls}

	if o.emu.Logger == nil {
		o.emu.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.emu.Clock == nil {
		s.clock = emulator.NewFakeClock(time.Now().Truncate(time.Second))
		o.emu.Clock = s.clock
	}
	if o.emu.JobDuration == 0 {
		o.emu.JobDuration = 60 * time.Second
	}
	s.emu = emulator.New(o.emu)
	if err := s.emu.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("starting emulator: %v", err)
	}

	cfg := o.cfg
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = "127.0.0.1:0"
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = "127.0.0.1:0"
	}
	cfg.Upstream = gateway.Upstream{Kind: gateway.UpstreamEmulator, EndpointURL: s.emu.URL(), Region: s.emu.Options().Region,
		CallTimeout: cfg.Upstream.CallTimeout, RetryMaxAttempts: cfg.Upstream.RetryMaxAttempts}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Security.RateLimits == nil {
		cfg.Security.RateLimits = gateway.NoRateLimits
	}
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = time.Hour // probes must not disturb call counts
	}
	sec := &cfg.Security
	if o.tls || o.clientCA != nil {
		s.tls = true
		certPEM, keyPEM, leaf := s.ca.server(t)
		s.certFile, s.keyFile, s.serverLeaf = filepath.Join(s.dir, "server.pem"), filepath.Join(s.dir, "server-key.pem"), leaf
		secWriteFile(t, s.certFile, certPEM)
		secWriteFile(t, s.keyFile, keyPEM)
		sec.TLSCertFile, sec.TLSKeyFile = s.certFile, s.keyFile
	}
	if o.clientCA != nil {
		sec.ClientCAFile = filepath.Join(s.dir, "client-ca.pem")
		secWriteFile(t, sec.ClientCAFile, o.clientCA.pem)
	}
	if o.authz != "" {
		sec.AuthzFile = filepath.Join(s.dir, "authz.yaml")
		secWriteFile(t, sec.AuthzFile, []byte(o.authz))
	}
	if o.jwt {
		sec.JWKSFile = filepath.Join(s.dir, "jwks.json")
		secWriteFile(t, sec.JWKSFile, s.signer.jwks)
		sec.JWTIssuer, sec.JWTAudience = secIssuer, secAudience
	}
	if o.policy != "" {
		sec.PolicyFile = filepath.Join(s.dir, "policy.yaml")
		secWriteFile(t, sec.PolicyFile, []byte(o.policy))
	}
	var err error
	if s.gw, err = gateway.Start(context.Background(), cfg); err != nil {
		_ = s.emu.Close()
		t.Fatalf("starting gateway: %v", err)
	}
	t.Cleanup(func() {
		s.mu.Lock()
		closers := s.closers
		s.mu.Unlock()
		for _, c := range closers {
			c()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.gw.Shutdown(ctx); err != nil {
			t.Errorf("gateway shutdown: %v", err)
		}
		_ = s.emu.Close()
		testenv.CheckGoroutines(t, before)
	})
	s.client = s.newClient(t, s.clientTLS(nil))
	// The counters show only what the test does (Start probed once).
	s.emu.ResetCallCounts()
	return s
}

// clientTLS is a client configuration trusting the stack's CA, with a
// client certificate when cert is not nil; nil when TLS is off.
func (s *secStack) clientTLS(cert *tls.Certificate) *tls.Config {
	if !s.tls {
		return nil
	}
	c := &tls.Config{RootCAs: s.ca.pool(), MinVersion: tls.VersionTLS12}
	if cert != nil {
		c.Certificates = []tls.Certificate{*cert}
	}
	return c
}

func (s *secStack) onClose(f func()) {
	s.mu.Lock()
	s.closers = append(s.closers, f)
	s.mu.Unlock()
}

// upstreamCalls is the number of calls that reached the emulator's
// operations (all when op is "").
func (s *secStack) upstreamCalls(op string) int64 { return s.emu.CallCount(op) }

// noUpstream runs fn and fails the test if it made any upstream call of
// ops (of any operation when ops is empty).
func (s *secStack) noUpstream(t testing.TB, fn func(), ops ...string) {
	t.Helper()
	if len(ops) == 0 {
		ops = []string{""}
	}
	before := make([]int64, len(ops))
	for i, op := range ops {
		before[i] = s.emu.CallCount(op)
	}
	fn()
	for i, op := range ops {
		if n := s.emu.CallCount(op) - before[i]; n != 0 {
			name := op
			if name == "" {
				name = "any operation"
			}
			t.Errorf("%d upstream call(s) of %s for a refused request", n, name)
		}
	}
}

// ---- clients ----

// secClient talks to a stack over both transports, as one caller.
type secClient struct {
	conn     *grpc.ClientConn
	http     *http.Client
	base     string // REST base URL
	grpcAddr string
	token    string          // bearer token; "" sends none
	ctx      context.Context // the calls' parent context; nil: Background
}

// newClient dials the stack with tlsCfg (nil: plaintext); closed with the
// stack.
func (s *secStack) newClient(t testing.TB, tlsCfg *tls.Config) *secClient {
	t.Helper()
	c := &secClient{grpcAddr: s.gw.GRPCAddr()}
	creds := insecure.NewCredentials()
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	c.base = "http://" + s.gw.HTTPAddr()
	if tlsCfg != nil {
		creds = credentials.NewTLS(tlsCfg.Clone())
		tr.TLSClientConfig = tlsCfg.Clone()
		c.base = "https://" + s.gw.HTTPAddr()
	}
	var err error
	if c.conn, err = grpc.NewClient(c.grpcAddr, grpc.WithTransportCredentials(creds)); err != nil {
		t.Fatalf("gRPC client: %v", err)
	}
	c.http = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	s.onClose(func() {
		_ = c.conn.Close()
		tr.CloseIdleConnections()
	})
	return c
}

// as is the same connections with another bearer token.
func (c *secClient) as(token string) *secClient {
	cp := *c
	cp.token = token
	return &cp
}

// within is the same client making its calls under ctx (to cancel them).
func (c *secClient) within(ctx context.Context) *secClient {
	cp := *c
	cp.ctx = ctx
	return &cp
}

// secOp is one API call, described for both transports.
type secOp struct {
	rpc              string // method of ForecastJobService
	req              string // its request as JSON (proto field names)
	verb, path, body string // the same call over REST
	// header is sent as REST headers and as gRPC metadata; "Host" sets
	// the REST Host header only.
	header map[string]string
	// auth are authorization values sent after the client's token.
	auth []string
}

func (o secOp) with(key, value string) secOp {
	h := map[string]string{}
	for k, v := range o.header {
		h[k] = v
	}
	h[key] = value
	o.header = h
	return o
}

// secResult is a call's outcome as either transport reports it.
type secResult struct {
	transport string
	code      codes.Code
	msg       string
	reason    string
	meta      map[string]string // ErrorInfo metadata
	fields    map[string]string // BadRequest: field -> description
	retry     time.Duration     // RetryInfo
	http      int               // REST status
	header    http.Header       // REST headers, or gRPC header metadata
	out       map[string]any    // the response (proto field names)
	elapsed   time.Duration
	tls       *tls.ConnectionState
}

func (r secResult) String() string {
	return fmt.Sprintf("%s: %v %s (HTTP %d) fields %v meta %v: %s", r.transport, r.code, r.reason, r.http, r.fields, r.meta, r.msg)
}

// want checks the code, the ErrorInfo reason (when not "") and, over REST,
// the HTTP status.
func (r secResult) want(t testing.TB, c codes.Code, httpStatus int, reason string) {
	t.Helper()
	if r.code != c {
		t.Fatalf("got %v, want %v", r, c)
	}
	if reason != "" && r.reason != reason {
		t.Errorf("reason %q, want %q (%v)", r.reason, reason, r)
	}
	if r.transport == "rest" && r.http != httpStatus {
		t.Errorf("HTTP %d, want %d (%v)", r.http, httpStatus, r)
	}
}

func (r secResult) wantOK(t testing.TB) {
	t.Helper()
	if r.code != codes.OK {
		t.Fatalf("got %v, want success", r)
	}
}

// wantField checks INVALID_ARGUMENT naming field, with rule in its
// description when rule is not "".
func (r secResult) wantField(t testing.TB, field, rule string) {
	t.Helper()
	r.want(t, codes.InvalidArgument, http.StatusBadRequest, "")
	desc, ok := r.fields[field]
	if !ok {
		t.Fatalf("no violation of %s in %v", field, r)
	}
	if rule != "" && !strings.Contains(desc, "(rule: "+rule+")") {
		t.Errorf("violation of %s is %q, want rule %s", field, desc, rule)
	}
}

var secCodeByName = func() map[string]codes.Code {
	m := map[string]codes.Code{}
	for n, name := range code.Code_name {
		m[name] = codes.Code(n)
	}
	return m
}()

// secWatchdog is a context that is cancelled after a while but carries no
// deadline, so a gRPC call made with it sends none.
func secWatchdog(t testing.TB) context.Context { return secWatchdogIn(t, nil) }

func secWatchdogIn(t testing.TB, parent context.Context) context.Context {
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	timer := time.AfterFunc(30*time.Second, cancel)
	t.Cleanup(func() { timer.Stop(); cancel() })
	return ctx
}

// call makes op over transport tr.
func (c *secClient) call(t testing.TB, tr string, op secOp) secResult {
	t.Helper()
	if tr == "grpc" {
		return c.grpcCall(t, op)
	}
	return c.restCall(t, op)
}

func secMessage(t testing.TB, name string) proto.Message {
	t.Helper()
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName("forecast.gateway.v1." + name))
	if err != nil {
		t.Fatalf("message %s: %v", name, err)
	}
	return mt.New().Interface()
}

func (c *secClient) grpcCall(t testing.TB, op secOp) secResult {
	t.Helper()
	req, resp := secMessage(t, op.rpc+"Request"), secMessage(t, op.rpc+"Response")
	if err := protojson.Unmarshal([]byte(op.req), req); err != nil {
		t.Fatalf("%s request %s: %v", op.rpc, op.req, err)
	}
	ctx := secWatchdogIn(t, c.ctx)
	var md []string
	if c.token != "" {
		md = append(md, "authorization", "Bearer "+c.token)
	}
	for _, v := range op.auth {
		md = append(md, "authorization", v)
	}
	for k, v := range op.header {
		if !strings.EqualFold(k, "Host") {
			md = append(md, strings.ToLower(k), v)
		}
	}
	if len(md) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, md...)
	}
	var hdr metadata.MD
	var p peer.Peer
	start := time.Now()
	err := c.conn.Invoke(ctx, secService+op.rpc, req, resp, grpc.Header(&hdr), grpc.Peer(&p))
	r := secResult{transport: "grpc", elapsed: time.Since(start), header: http.Header{}}
	for k, vs := range hdr {
		r.header[http.CanonicalHeaderKey(k)] = vs
	}
	if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok {
		r.tls = &ti.State
	}
	if err != nil {
		st := status.Convert(err)
		r.code, r.msg, r.fields = st.Code(), st.Message(), map[string]string{}
		for _, d := range st.Details() {
			switch d := d.(type) {
			case *errdetails.ErrorInfo:
				r.reason, r.meta = d.GetReason(), d.GetMetadata()
			case *errdetails.BadRequest:
				for _, v := range d.GetFieldViolations() {
					r.fields[v.GetField()] = v.GetDescription()
				}
			case *errdetails.RetryInfo:
				r.retry = d.GetRetryDelay().AsDuration()
			}
		}
		return r
	}
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &r.out); err != nil {
		t.Fatal(err)
	}
	return r
}

// secDetail is one AIP-193 detail over REST.
type secDetail struct {
	Type            string            `json:"@type"`
	Reason          string            `json:"reason"`
	Metadata        map[string]string `json:"metadata"`
	FieldViolations []struct {
		Field       string `json:"field"`
		Description string `json:"description"`
	} `json:"fieldViolations"`
	RetryDelay string `json:"retryDelay"`
}

// restRequest builds op's REST request.
func (c *secClient) restRequest(t testing.TB, op secOp) *http.Request {
	t.Helper()
	var body io.Reader
	if op.body != "" {
		body = strings.NewReader(op.body)
	}
	req, err := http.NewRequestWithContext(secWatchdogIn(t, c.ctx), op.verb, c.base+op.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if op.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for _, v := range op.auth {
		req.Header.Add("Authorization", v)
	}
	for k, v := range op.header {
		if strings.EqualFold(k, "Host") {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	return req
}

func (c *secClient) restCall(t testing.TB, op secOp) secResult {
	t.Helper()
	req := c.restRequest(t, op)
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", op.verb, op.path, err)
	}
	raw, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Every API response is checked against the OpenAPI document (see
	// conformance_test.go), as testenv's client does.
	if testenv.ResponseCheck != nil {
		testenv.ResponseCheck(t, req, resp, raw)
	}
	r := secResult{transport: "rest", elapsed: time.Since(start), http: resp.StatusCode, header: resp.Header, tls: resp.TLS}
	if resp.StatusCode/100 == 2 {
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &r.out); err != nil {
				t.Fatalf("%s %s: %v: %s", op.verb, op.path, err, raw)
			}
		}
		return r
	}
	var body struct {
		Error struct {
			Code    int               `json:"code"`
			Message string            `json:"message"`
			Status  string            `json:"status"`
			Details []json.RawMessage `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &body); err != nil || body.Error.Code != resp.StatusCode {
		t.Fatalf("%s %s: HTTP %d, body is not AIP-193: %s", op.verb, op.path, resp.StatusCode, raw)
	}
	c2, ok := secCodeByName[body.Error.Status]
	if !ok {
		t.Fatalf("%s %s: unknown status %q", op.verb, op.path, body.Error.Status)
	}
	r.code, r.msg, r.fields = c2, body.Error.Message, map[string]string{}
	for _, rd := range body.Error.Details {
		var d secDetail
		if err := json.Unmarshal(rd, &d); err != nil {
			t.Fatalf("detail %s: %v", rd, err)
		}
		switch {
		case strings.HasSuffix(d.Type, "google.rpc.ErrorInfo"):
			r.reason, r.meta = d.Reason, d.Metadata
		case strings.HasSuffix(d.Type, "google.rpc.BadRequest"):
			for _, v := range d.FieldViolations {
				r.fields[v.Field] = v.Description
			}
		case strings.HasSuffix(d.Type, "google.rpc.RetryInfo"):
			if r.retry, err = time.ParseDuration(d.RetryDelay); err != nil {
				t.Errorf("retryDelay %q: %v", d.RetryDelay, err)
			}
		}
	}
	return r
}

// ---- operations on secJob ----

func secList(pageSize int, pageToken string) secOp {
	req := map[string]any{"page_size": pageSize}
	q := url.Values{"page_size": {fmt.Sprint(pageSize)}}
	if pageToken != "" {
		req["page_token"] = pageToken
		q.Set("page_token", pageToken)
	}
	b, _ := json.Marshal(req)
	return secOp{rpc: secJob.ListOp(), req: string(b), verb: http.MethodGet, path: "/v1/" + secJob.Collection + "?" + q.Encode()}
}

func secItem(arn string) string { return "/v1/" + secJob.Collection + "/" + url.PathEscape(arn) }

func secArnReq(arn string) string { return fmt.Sprintf(`{%q: %q}`, secJob.ArnField, arn) }

func secDescribe(arn string) secOp {
	return secOp{rpc: secJob.DescribeOp(), req: secArnReq(arn), verb: http.MethodGet, path: secItem(arn)}
}

// secCreate is a valid create of a backtest export of parent, writing to
// path with role, with the given tags (key, value, key, value...).
func secCreate(name, parent, role, path string, tags ...string) secOp {
	var tl []map[string]string
	for i := 0; i+1 < len(tags); i += 2 {
		tl = append(tl, map[string]string{"key": tags[i], "value": tags[i+1]})
	}
	m := map[string]any{
		secJob.NameField:    name,
		secJob.Parent.Field: parent,
		"destination":       map[string]any{"s3_config": map[string]string{"path": path, "role_arn": role}},
		"format":            "EXPORT_FORMAT_PARQUET",
	}
	if tl != nil {
		m["tags"] = tl
	}
	b, _ := json.Marshal(m)
	return secOp{rpc: secJob.CreateOp(), req: string(b), verb: http.MethodPost, path: "/v1/" + secJob.Collection, body: string(b)}
}

func secDelete(arn string) secOp {
	return secOp{rpc: secJob.DeleteOp(), req: secArnReq(arn), verb: http.MethodDelete, path: secItem(arn)}
}

func secStop(arn string) secOp {
	return secOp{rpc: secJob.StopMethod(), req: secArnReq(arn), verb: http.MethodPost, path: secItem(arn) + ":stop"}
}

func secTag(arn string, tags ...string) secOp {
	var tl []map[string]string
	for i := 0; i+1 < len(tags); i += 2 {
		tl = append(tl, map[string]string{"key": tags[i], "value": tags[i+1]})
	}
	req, _ := json.Marshal(map[string]any{"resource_arn": arn, "tags": tl})
	body, _ := json.Marshal(map[string]any{"tags": tl})
	return secOp{rpc: "TagResource", req: string(req), verb: http.MethodPost, path: "/v1/tags/" + url.PathEscape(arn), body: string(body)}
}

func secUntag(arn string, keys ...string) secOp {
	req, _ := json.Marshal(map[string]any{"resource_arn": arn, "tag_keys": keys})
	return secOp{rpc: "UntagResource", req: string(req), verb: http.MethodDelete,
		path: "/v1/tags/" + url.PathEscape(arn) + "?" + url.Values{"tag_keys": keys}.Encode()}
}

func secListTags(arn string) secOp {
	return secOp{rpc: "ListTagsForResource", req: fmt.Sprintf(`{"resource_arn": %q}`, arn), verb: http.MethodGet, path: "/v1/tags/" + url.PathEscape(arn)}
}

// secTags reads a ListTagsForResource answer.
func secTags(r secResult) map[string]string {
	out := map[string]string{}
	list, _ := r.out["tags"].([]any)
	for _, x := range list {
		m, _ := x.(map[string]any)
		k, _ := m["key"].(string)
		v, _ := m["value"].(string)
		out[k] = v
	}
	return out
}

// secListed reads a List answer: the jobs' ARNs and the next page token.
func secListed(r secResult) ([]string, string) {
	var arns []string
	list, _ := r.out["predictor_backtest_export_jobs"].([]any)
	for _, x := range list {
		m, _ := x.(map[string]any)
		a, _ := m[secJob.ArnField].(string)
		arns = append(arns, a)
	}
	next, _ := r.out["next_page_token"].(string)
	return arns, next
}

// transportError makes op over tr and returns the failure of the
// connection (a refused handshake), or nil when the gateway answered at
// all. REST answers are not checked against the OpenAPI document here: a
// refused connection has none, and a plaintext request to a TLS port is
// answered by net/http, not by the API.
func (c *secClient) transportError(t testing.TB, tr string, op secOp) error {
	t.Helper()
	if tr == "grpc" {
		r := c.grpcCall(t, op)
		if r.code == codes.Unavailable {
			return fmt.Errorf("%s", r.msg)
		}
		return nil
	}
	resp, err := c.http.Do(c.restRequest(t, op))
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return nil
}

// rawREST makes op over REST without the OpenAPI check and returns the
// status and body, or the transport error.
func (c *secClient) rawREST(t testing.TB, op secOp) (int, string, error) {
	t.Helper()
	resp, err := c.http.Do(c.restRequest(t, op))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// secPeerSerial is the serial of the certificate addr serves to a fresh
// TLS handshake.
func secPeerSerial(addr string, cfg *tls.Config) (*big.Int, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: cfg.Clone()}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, fmt.Errorf("no peer certificate")
	}
	return certs[0].SerialNumber, nil
}
