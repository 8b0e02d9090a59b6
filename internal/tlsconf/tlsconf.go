// Package tlsconf builds the TLS configuration of the gateway's listeners
// (gRPC and REST) from PEM files that may be rotated while the gateway runs.
//
// A Reloader holds the current certificate/key pair and, for mutual TLS, the
// current client CA pool. There is no background goroutine: when a handshake
// asks for the certificate and at least a second has passed since the last
// look, the files are stat'ed and, if a modification time or size changed,
// loaded again. A pair that fails to load (for example a certificate
// written before its key) leaves the previous one in service; the failure is
// logged once per change of the files, and a successful reload is logged at
// info.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// CheckInterval is the least time between two looks at the files.
const CheckInterval = time.Second

// Config names the files a Reloader serves.
type Config struct {
	// CertFile holds the server certificate, followed by any intermediates,
	// in PEM. KeyFile holds its private key in PEM (PKCS#8, SEC 1 or
	// PKCS#1).
	CertFile, KeyFile string
	// ClientCAFile, when set, holds the PEM bundle of CAs that sign client
	// certificates: clients must then present a certificate that verifies
	// against it (mutual TLS).
	ClientCAFile string
	// Logger receives reload and expiry messages; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock (for tests); nil means time.Now.
	Now func() time.Time
}

// Reloader serves a certificate/key pair and a client CA pool that follow
// their files. It is safe for concurrent use.
type Reloader struct {
	cfg Config
	log *slog.Logger
	now func() time.Time

	// nextLook is the UnixNano before which the files are not looked at;
	// the handshake that moves it forward does the look.
	nextLook atomic.Int64

	cert atomic.Pointer[tls.Certificate]
	// forClient is the config returned by GetConfigForClient: the base
	// config with the current client CA pool. Nil without ClientCAFile.
	forClient atomic.Pointer[tls.Config]
	base      *tls.Config

	mu       sync.Mutex // serializes looks; guards the fields below
	pairSeen stamp2     // files of the pair last tried (loaded or failed)
	caSeen   stamp      // client CA file last tried
}

// stamp identifies one version of a file: its modification time and size,
// or the error stat returned.
type stamp struct {
	mod  time.Time
	size int64
	err  string
}

type stamp2 [2]stamp

func (s stamp) equal(o stamp) bool {
	return s.mod.Equal(o.mod) && s.size == o.size && s.err == o.err
}

func (s stamp2) equal(o stamp2) bool { return s[0].equal(o[0]) && s[1].equal(o[1]) }

func statFile(name string) stamp {
	fi, err := os.Stat(name)
	if err != nil {
		return stamp{err: err.Error()}
	}
	return stamp{mod: fi.ModTime(), size: fi.Size()}
}

// New loads the certificate/key pair and, if set, the client CA bundle. It
// fails with an error naming the file and the problem when a file is
// missing, is not PEM, or when the key does not match the certificate. An
// expired (or not yet valid) certificate is only logged at warn.
func New(c Config) (*Reloader, error) {
	if c.CertFile == "" || c.KeyFile == "" {
		return nil, errors.New("tlsconf: both a certificate file and a key file are required")
	}
	r := &Reloader{cfg: c, log: c.Logger, now: c.Now}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.now == nil {
		r.now = time.Now
	}
	r.pairSeen = stamp2{statFile(c.CertFile), statFile(c.KeyFile)}
	cert, err := loadPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, err
	}
	r.cert.Store(cert)
	r.warnValidity(cert)

	r.base = &tls.Config{
		MinVersion: tls.VersionTLS12,
		// h2 for gRPC (and REST clients that speak HTTP/2), http/1.1 for
		// REST clients that do not.
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: r.getCertificate,
	}
	if c.ClientCAFile != "" {
		r.caSeen = statFile(c.ClientCAFile)
		pool, err := loadPool(c.ClientCAFile)
		if err != nil {
			return nil, err
		}
		r.forClient.Store(r.withPool(pool))
		// Outer and per-handshake configs both require client certificates,
		// so that a copy of the outer config never serves without them.
		r.base.ClientAuth = tls.RequireAndVerifyClientCert
		r.base.ClientCAs = pool
		r.base.GetConfigForClient = r.getConfigForClient
	}
	r.nextLook.Store(r.now().Add(CheckInterval).UnixNano())
	return r, nil
}

// ServerConfig returns the TLS configuration for both listeners (the same
// value on every call). Callers must not modify it; Clone it first.
func (r *Reloader) ServerConfig() *tls.Config { return r.base }

// Certificate returns the pair currently served (its Leaf is set), for
// example to export its expiry. It does not look at the files.
func (r *Reloader) Certificate() *tls.Certificate { return r.cert.Load() }

func (r *Reloader) withPool(pool *x509.CertPool) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: r.getCertificate,
		ClientAuth:     tls.RequireAndVerifyClientCert,
		ClientCAs:      pool,
	}
}

func (r *Reloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.maybeReload()
	return r.cert.Load(), nil
}

func (r *Reloader) getConfigForClient(*tls.ClientHelloInfo) (*tls.Config, error) {
	r.maybeReload()
	return r.forClient.Load(), nil
}

// maybeReload looks at the files if CheckInterval has passed since the last
// look. Exactly one of the handshakes that find the interval passed does the
// look; the others go on with what is loaded.
func (r *Reloader) maybeReload() {
	now := r.now()
	next := r.nextLook.Load()
	if now.UnixNano() < next || !r.nextLook.CompareAndSwap(next, now.Add(CheckInterval).UnixNano()) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reloadPair()
	if r.cfg.ClientCAFile != "" {
		r.reloadPool()
	}
}

func (r *Reloader) reloadPair() {
	seen := stamp2{statFile(r.cfg.CertFile), statFile(r.cfg.KeyFile)}
	if seen.equal(r.pairSeen) {
		return
	}
	r.pairSeen = seen
	cert, err := loadPair(r.cfg.CertFile, r.cfg.KeyFile)
	if err != nil {
		r.log.Warn("TLS certificate reload failed; still serving the previous certificate",
			"cert_file", r.cfg.CertFile, "key_file", r.cfg.KeyFile, "error", err)
		return
	}
	old := r.cert.Load()
	r.cert.Store(cert)
	r.log.Info("TLS certificate reloaded",
		"cert_file", r.cfg.CertFile, "subject", cert.Leaf.Subject.String(),
		"serial", cert.Leaf.SerialNumber.String(), "previous_serial", old.Leaf.SerialNumber.String(),
		"not_after", cert.Leaf.NotAfter)
	r.warnValidity(cert)
}

func (r *Reloader) reloadPool() {
	seen := statFile(r.cfg.ClientCAFile)
	if seen.equal(r.caSeen) {
		return
	}
	r.caSeen = seen
	pool, err := loadPool(r.cfg.ClientCAFile)
	if err != nil {
		r.log.Warn("client CA reload failed; still verifying clients against the previous bundle",
			"client_ca_file", r.cfg.ClientCAFile, "error", err)
		return
	}
	r.forClient.Store(r.withPool(pool))
	r.log.Info("client CA bundle reloaded", "client_ca_file", r.cfg.ClientCAFile)
}

func (r *Reloader) warnValidity(cert *tls.Certificate) {
	now := r.now()
	switch leaf := cert.Leaf; {
	case now.After(leaf.NotAfter):
		r.log.Warn("TLS certificate has expired", "cert_file", r.cfg.CertFile,
			"subject", leaf.Subject.String(), "not_after", leaf.NotAfter)
	case now.Before(leaf.NotBefore):
		r.log.Warn("TLS certificate is not valid yet", "cert_file", r.cfg.CertFile,
			"subject", leaf.Subject.String(), "not_before", leaf.NotBefore)
	}
}

// readPEM reads name and checks that it holds at least one PEM block.
func readPEM(what, name string) ([]byte, error) {
	data, err := os.ReadFile(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("tlsconf: %s %s: file does not exist", what, name)
	case err != nil:
		return nil, fmt.Errorf("tlsconf: %s %s: %w", what, name, err)
	}
	if b, _ := pem.Decode(data); b == nil {
		return nil, fmt.Errorf("tlsconf: %s %s: not PEM (no -----BEGIN block found)", what, name)
	}
	return data, nil
}

func loadPair(certFile, keyFile string) (*tls.Certificate, error) {
	certPEM, err := readPEM("certificate file", certFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := readPEM("key file", keyFile)
	if err != nil {
		return nil, err
	}
	// Check the certificate file alone first, so that its errors name it.
	var n int
	for rest := certPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		n++
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return nil, fmt.Errorf("tlsconf: certificate file %s: certificate %d: %w", certFile, n, err)
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("tlsconf: certificate file %s: no CERTIFICATE block", certFile)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		if strings.Contains(err.Error(), "does not match") {
			return nil, fmt.Errorf("tlsconf: key file %s does not match certificate file %s", keyFile, certFile)
		}
		return nil, fmt.Errorf("tlsconf: key file %s (for certificate file %s): %w", keyFile, certFile, err)
	}
	if cert.Leaf == nil { // set by X509KeyPair unless GODEBUG x509keypairleaf=0
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tlsconf: certificate file %s: %w", certFile, err)
		}
	}
	return &cert, nil
}

func loadPool(name string) (*x509.CertPool, error) {
	data, err := readPEM("client CA file", name)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	var n int
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		n++
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("tlsconf: client CA file %s: certificate %d: %w", name, n, err)
		}
		pool.AddCert(c)
	}
	if n == 0 {
		return nil, fmt.Errorf("tlsconf: client CA file %s: no CERTIFICATE block", name)
	}
	return pool, nil
}
