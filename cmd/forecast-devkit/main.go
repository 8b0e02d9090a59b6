// Command forecast-devkit makes, with Go alone (no openssl), what a
// developer needs to run the gateway locally with TLS, mutual TLS and JWTs:
//
//	forecast-devkit certs --out DIR   a development CA, a server certificate
//	                                  and a client certificate (SPIFFE URI SAN)
//	forecast-devkit jwks --out DIR    an ES256 signing key and its JWKS
//	forecast-devkit token --key DIR/signing-key.pem --iss ISS --aud AUD --sub SUB
//	                                  prints one signed JWT
//
// Everything it makes is for development only: the CA key is not kept, so
// certificates are re-made together by running certs again.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const name = "forecast-devkit"

// Default values, also used in the hints printed.
const (
	defaultHosts    = "localhost,127.0.0.1,::1"
	defaultClientID = "spiffe://forecast-gateway.local/client/dev"
	defaultKID      = "dev-1"
	defaultScope    = "forecast.read forecast.write"
	hintIssuer      = "https://forecast-devkit.local"
	hintAudience    = "forecast-gateway"
	clientCN        = "dev-client"
)

const usage = `forecast-devkit makes TLS certificates, mTLS client certificates and JWTs
for running the gateway locally (development only).

Usage:
  forecast-devkit certs --out DIR [--hosts localhost,127.0.0.1,::1]
                        [--client-id spiffe://forecast-gateway.local/client/dev] [--valid 720h]
  forecast-devkit jwks  --out DIR [--kid dev-1]
  forecast-devkit token --key DIR/signing-key.pem --iss ISS --aud AUD --sub SUB
                        [--kid dev-1] [--scope "forecast.read forecast.write"] [--groups g1,g2] [--ttl 1h]

Run "forecast-devkit COMMAND --help" for the flags of a command.
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// errUsage is a command-line mistake: exit status 2.
type errUsage struct{ msg string }

func (e errUsage) Error() string { return e.msg }

func usageErr(format string, a ...any) error { return errUsage{fmt.Sprintf(format, a...)} }

// run executes one command and returns the exit status: 0, 1 when the work
// failed, 2 for a command-line mistake.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "certs":
		err = certsCmd(rest, stdout)
	case "jwks":
		err = jwksCmd(rest, stdout)
	case "token":
		err = tokenCmd(rest, stdout)
	default:
		err = usageErr("unknown command %q (want certs, jwks or token; see %s --help)", cmd, name)
	}
	var ue errUsage
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s: %s\n", name, ue.msg)
		return 2
	default:
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
}

// parse parses the flags of a command. --help prints the flags to stdout
// and returns flag.ErrHelp; any mistake becomes one errUsage line.
func parse(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fmt.Fprintf(stdout, "Usage of %s %s:\n", name, fs.Name())
		fs.PrintDefaults()
		return flag.ErrHelp
	case err != nil:
		return usageErr("%s: %v (see %s %s --help)", fs.Name(), err, name, fs.Name())
	case fs.NArg() > 0:
		return usageErr("%s: unexpected argument %q: every setting is a --flag", fs.Name(), fs.Arg(0))
	}
	return nil
}

// ---- certs ----

type certsFlags struct {
	out, hosts, clientID string
	valid                time.Duration
}

func certsCmd(args []string, stdout io.Writer) error {
	var f certsFlags
	fs := flag.NewFlagSet("certs", flag.ContinueOnError)
	fs.StringVar(&f.out, "out", "", "directory to write ca.pem, server.pem, server-key.pem, client.pem and client-key.pem to (required)")
	fs.StringVar(&f.hosts, "hosts", defaultHosts, "comma-separated DNS names and IP addresses of the server certificate")
	fs.StringVar(&f.clientID, "client-id", defaultClientID, "URI SAN of the client certificate (a SPIFFE ID)")
	fs.DurationVar(&f.valid, "valid", 720*time.Hour, "validity of the certificates")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	if f.out == "" {
		return usageErr("certs: --out is required")
	}
	if f.valid <= 0 {
		return usageErr("certs: --valid must be positive, got %s", f.valid)
	}
	dnsNames, ips, err := parseHosts(f.hosts)
	if err != nil {
		return usageErr("certs: --hosts: %v", err)
	}
	clientURI, err := url.Parse(f.clientID)
	if err != nil || clientURI.Scheme == "" || (clientURI.Host == "" && clientURI.Opaque == "") {
		return usageErr("certs: --client-id must be an absolute URI such as %s, got %q", defaultClientID, f.clientID)
	}
	return writeCerts(f, dnsNames, ips, clientURI, stdout)
}

func parseHosts(s string) (dnsNames []string, ips []net.IP, err error) {
	for h := range strings.SplitSeq(s, ",") {
		h = strings.TrimSpace(h)
		switch {
		case h == "":
			continue
		case net.ParseIP(h) != nil:
			ips = append(ips, net.ParseIP(h))
		case validDNSName(h):
			dnsNames = append(dnsNames, strings.ToLower(h))
		default:
			return nil, nil, fmt.Errorf("%q is neither an IP address nor a DNS name (no ports or schemes)", h)
		}
	}
	if len(dnsNames)+len(ips) == 0 {
		return nil, nil, errors.New("no host given")
	}
	return dnsNames, ips, nil
}

func validDNSName(h string) bool {
	h = strings.TrimPrefix(h, "*.")
	if len(h) > 253 || h == "" {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func writeCerts(f certsFlags, dnsNames []string, ips []net.IP, clientURI *url.URL, stdout io.Writer) error {
	now := time.Now()
	notBefore, notAfter := now.Add(-5*time.Minute), now.Add(f.valid) // a little clock skew

	caKey, err := newKey()
	if err != nil {
		return err
	}
	caTmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "forecast-gateway development CA", Organization: []string{"forecast-gateway development"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	caDER, ca, err := sign(caTmpl, caTmpl, caKey, caKey)
	if err != nil {
		return err
	}

	serverKey, err := newKey()
	if err != nil {
		return err
	}
	cn := hostList(dnsNames, ips)[0]
	serverDER, _, err := sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: cn, Organization: []string{"forecast-gateway development"}},
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		DNSNames:    dnsNames,
		IPAddresses: ips,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, serverKey, caKey)
	if err != nil {
		return err
	}

	clientKey, err := newKey()
	if err != nil {
		return err
	}
	clientDER, _, err := sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: clientCN, Organization: []string{"forecast-gateway development"}},
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		URIs:        []*url.URL{clientURI},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca, clientKey, caKey)
	if err != nil {
		return err
	}

	serverKeyPEM, err := keyPEM(serverKey)
	if err != nil {
		return err
	}
	clientKeyPEM, err := keyPEM(clientKey)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	files := []struct {
		name, what string
		data       []byte
		mode       os.FileMode
	}{
		{"ca.pem", "development CA (trust it in clients; --client-ca-file of the gateway)", certPEM(caDER), 0o644},
		{"server.pem", "server certificate for " + strings.Join(hostList(dnsNames, ips), ", "), certPEM(serverDER), 0o644},
		{"server-key.pem", "server private key", serverKeyPEM, 0o600},
		{"client.pem", "client certificate, CN " + clientCN + ", URI SAN " + clientURI.String(), certPEM(clientDER), 0o644},
		{"client-key.pem", "client private key", clientKeyPEM, 0o600},
	}
	// Keys are written before their certificates, so that a gateway
	// reloading the files sees a matching pair as soon as it can.
	for _, i := range []int{2, 4, 0, 1, 3} {
		if err := writeFile(filepath.Join(f.out, files[i].name), files[i].data, files[i].mode); err != nil {
			return err
		}
	}
	dir := absDir(f.out)
	p := func(n string) string { return filepath.Join(dir, n) }
	fmt.Fprintf(stdout, "Wrote (valid until %s):\n", notAfter.UTC().Format(time.RFC3339))
	for _, fl := range files {
		fmt.Fprintf(stdout, "  %-40s %s\n", p(fl.name), fl.what)
	}
	host := "localhost"
	if len(dnsNames) == 0 {
		host = hostPort(ips[0].String())
	} else if !slices.Contains(dnsNames, "localhost") {
		host = dnsNames[0]
	}
	fmt.Fprintf(stdout, `
Gateway flags (TLS on both listeners; --client-ca-file turns on mutual TLS):
  --tls-cert-file %s --tls-key-file %s --client-ca-file %s

REST:
  curl --cacert %s --cert %s --key %s https://%s:8080/v1/dataset-import-jobs

gRPC:
  grpcurl -cacert %s -cert %s -key %s %s:9090 list
`, p("server.pem"), p("server-key.pem"), p("ca.pem"),
		p("ca.pem"), p("client.pem"), p("client-key.pem"), host,
		p("ca.pem"), p("client.pem"), p("client-key.pem"), host)
	return nil
}

func hostList(dnsNames []string, ips []net.IP) []string {
	out := append([]string{}, dnsNames...)
	for _, ip := range ips {
		out = append(out, ip.String())
	}
	return out
}

func hostPort(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

func newKey() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

// sign fills a random serial and subject key ID into tmpl and signs it with
// parentKey; it returns the DER and the parsed certificate.
func sign(tmpl, parent *x509.Certificate, key, parentKey *ecdsa.PrivateKey) ([]byte, *x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial.Add(serial, big.NewInt(1)) // never 0
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, fmt.Errorf("signing %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return der, cert, nil
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// keyPEM encodes key as PKCS#8 ("PRIVATE KEY"), which Go, curl, grpcurl
// and OpenSSL all read.
func keyPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// writeFile replaces name atomically (temporary file, then rename) with
// data and mode, whatever the mode of a file it replaces.
func writeFile(name string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename: no such file
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

func absDir(dir string) string {
	if a, err := filepath.Abs(dir); err == nil {
		return a
	}
	return dir
}

// ---- jwks ----

// JWK is one JSON Web Key (RFC 7517) of an EC P-256 public key.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS is a JSON Web Key Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

func jwksCmd(args []string, stdout io.Writer) error {
	var out, kid string
	fs := flag.NewFlagSet("jwks", flag.ContinueOnError)
	fs.StringVar(&out, "out", "", "directory to write signing-key.pem and jwks.json to (required)")
	fs.StringVar(&kid, "kid", defaultKID, "key ID of the key (the kid of the JWKS entry and of token headers)")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	if out == "" {
		return usageErr("jwks: --out is required")
	}
	if strings.TrimSpace(kid) == "" {
		return usageErr("jwks: --kid must not be empty")
	}
	key, err := newKey()
	if err != nil {
		return err
	}
	jwk, err := publicJWK(&key.PublicKey, kid)
	if err != nil {
		return err
	}
	set, err := json.MarshalIndent(JWKS{Keys: []JWK{jwk}}, "", "  ")
	if err != nil {
		return err
	}
	kp, err := keyPEM(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	dir := absDir(out)
	keyFile, setFile := filepath.Join(dir, "signing-key.pem"), filepath.Join(dir, "jwks.json")
	if err := writeFile(keyFile, kp, 0o600); err != nil {
		return err
	}
	if err := writeFile(setFile, append(set, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, `Wrote:
  %-40s ES256 signing key (keep it private)
  %-40s JSON Web Key Set with its public key, kid %q

Gateway flags (the issuer and audience are yours to choose; tokens must match them):
  --jwks-file %s --jwt-issuer %s --jwt-audience %s

A token:
  %s token --key %s --kid %s --iss %s --aud %s --sub alice
`, keyFile, setFile, kid, setFile, hintIssuer, hintAudience, name, keyFile, kid, hintIssuer, hintAudience)
	return nil
}

func publicJWK(pub *ecdsa.PublicKey, kid string) (JWK, error) {
	b, err := pub.Bytes() // 0x04 || X || Y, 32 bytes each for P-256
	if err != nil {
		return JWK{}, err
	}
	if len(b) != 65 || b[0] != 4 {
		return JWK{}, errors.New("unexpected P-256 public key encoding")
	}
	enc := base64.RawURLEncoding
	return JWK{Kty: "EC", Crv: "P-256", X: enc.EncodeToString(b[1:33]), Y: enc.EncodeToString(b[33:]),
		Kid: kid, Alg: "ES256", Use: "sig"}, nil
}

// ---- token ----

// Claims are the claims of a development token.
type Claims struct {
	Scope  string   `json:"scope,omitempty"`
	Groups []string `json:"groups,omitempty"`
	jwt.RegisteredClaims
}

func tokenCmd(args []string, stdout io.Writer) error {
	var keyFile, kid, iss, aud, sub, scope, groups string
	var ttl time.Duration
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.StringVar(&keyFile, "key", "", "PEM file of the ES256 signing key, as written by jwks (required)")
	fs.StringVar(&kid, "kid", defaultKID, "key ID put in the token header")
	fs.StringVar(&iss, "iss", "", "issuer claim (required; must match --jwt-issuer of the gateway)")
	fs.StringVar(&aud, "aud", "", "audience claim (required; must match --jwt-audience of the gateway)")
	fs.StringVar(&sub, "sub", "", "subject claim (required)")
	fs.StringVar(&scope, "scope", defaultScope, `space-separated scopes (the "scope" claim; empty: none)`)
	fs.StringVar(&groups, "groups", "", `comma-separated groups (the "groups" claim; empty: none)`)
	fs.DurationVar(&ttl, "ttl", time.Hour, "lifetime of the token")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	var missing []string
	for _, r := range []struct{ flag, v string }{{"--key", keyFile}, {"--iss", iss}, {"--aud", aud}, {"--sub", sub}} {
		if strings.TrimSpace(r.v) == "" {
			missing = append(missing, r.flag)
		}
	}
	switch {
	case len(missing) > 0:
		return usageErr("token: missing required flags: %s", strings.Join(missing, ", "))
	case ttl <= 0:
		return usageErr("token: --ttl must be positive, got %s", ttl)
	case strings.TrimSpace(kid) == "":
		return usageErr("token: --kid must not be empty")
	}
	data, err := os.ReadFile(keyFile)
	if err != nil {
		return fmt.Errorf("token: --key: %w", err)
	}
	key, err := jwt.ParseECPrivateKeyFromPEM(data)
	if err != nil {
		return fmt.Errorf("token: --key %s: not a PEM EC private key: %w", keyFile, err)
	}
	if key.Curve != elliptic.P256() {
		return fmt.Errorf("token: --key %s: ES256 needs a P-256 key, got %s", keyFile, key.Curve.Params().Name)
	}
	now := time.Now()
	c := Claims{
		Scope: strings.Join(strings.Fields(scope), " "),
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    iss,
			Subject:   sub,
			Audience:  jwt.ClaimStrings{aud},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	for g := range strings.SplitSeq(groups, ",") {
		if g = strings.TrimSpace(g); g != "" {
			c.Groups = append(c.Groups, g)
		}
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	t.Header["kid"] = kid
	signed, err := t.SignedString(key)
	if err != nil {
		return fmt.Errorf("token: signing: %w", err)
	}
	fmt.Fprintln(stdout, signed)
	return nil
}
