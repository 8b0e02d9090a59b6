package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"golang.org/x/time/rate"
)

// keySource is one generation of verification keys.
type keySource struct {
	storage jwkset.Storage
	kf      keyfunc.Keyfunc
	kids    []string // for logs
}

// useWhitelist: keys declared for encryption ("use": "enc") never verify a
// signature; keys that declare no use are accepted.
var useWhitelist = []jwkset.USE{jwkset.UseSig, ""}

func newKeySource(ctx context.Context, storage jwkset.Storage) (*keySource, error) {
	kf, err := keyfunc.New(keyfunc.Options{Ctx: ctx, Storage: storage, UseWhitelist: useWhitelist})
	if err != nil {
		return nil, err
	}
	return &keySource{storage: storage, kf: kf}, nil
}

// parseJWKSFile parses a JWK Set file. It is strict: every key must be a
// supported public key (RSA, EC P-256/384/521, Ed25519) without private
// material, declaring no alg or an allowed one (or "use": "enc", kept but
// never used); symmetric keys and duplicate kids are refused.
func parseJWKSFile(data []byte) (*keySource, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %w", err)
	}
	if set.Keys == nil {
		return nil, errors.New(`not a JWK Set: no "keys" member`)
	}
	storage := jwkset.NewMemoryStorage()
	seen := map[string]bool{}
	var kids []string
	for i, raw := range set.Keys {
		var m jwkset.JWKMarshal
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		switch {
		case m.KTY == jwkset.KtyOct:
			return nil, fmt.Errorf("key %d (kid %q): symmetric keys (kty oct) are not allowed", i, m.KID)
		case m.D != "" || m.P != "" || m.Q != "" || m.K != "":
			return nil, fmt.Errorf("key %d (kid %q): contains private key material; publish only public keys", i, m.KID)
		case m.ALG != "" && !allowedAlg(string(m.ALG)) && m.USE != jwkset.UseEnc:
			// (An encryption key is kept but never verifies a signature.)
			return nil, fmt.Errorf("key %d (kid %q): algorithm %q is not allowed", i, m.KID, m.ALG)
		case m.KID != "" && seen[m.KID]:
			return nil, fmt.Errorf("key %d: duplicate kid %q", i, m.KID)
		}
		seen[m.KID] = true
		jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			return nil, fmt.Errorf("key %d (kid %q): %w", i, m.KID, err)
		}
		if err := storage.KeyWrite(context.Background(), jwk); err != nil {
			return nil, err
		}
		kids = append(kids, m.KID)
	}
	ks, err := newKeySource(context.Background(), storage)
	if err != nil {
		return nil, err
	}
	ks.kids = kids
	return ks, nil
}

// newURLSource fetches the JWK Set at u (failing if it cannot) and returns
// a source whose keys keyfunc refreshes every c.RefreshInterval, and on an
// unknown kid at most as often as limiter allows. keyfunc's refresh
// goroutine lives until life is cancelled; the first fetch ends with it too.
func newURLSource(life context.Context, u string, c JWTConfig, limiter *rate.Limiter, logger *slog.Logger) (*keySource, error) {
	safeURL, err := checkJWKSURL(u)
	if err != nil {
		return nil, err
	}
	timeout := c.HTTPClient.Timeout
	if timeout <= 0 {
		timeout = defaultHTTPTimeout
	}
	client := *c.HTTPClient
	client.Transport = limitedTransport{base: c.HTTPClient.Transport}
	// A redirect must not take the fetch to plain http (or elsewhere than
	// a URL the configuration itself would accept).
	userCheck := c.HTTPClient.CheckRedirect
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if _, err := checkJWKSURL(req.URL.String()); err != nil {
			return fmt.Errorf("redirect refused: %w", err)
		}
		if userCheck != nil {
			return userCheck(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	noErrorFirst := false
	kf, err := keyfunc.NewDefaultOverrideCtx(life, []string{u}, keyfunc.Override{
		Client:                    &client,
		HTTPTimeout:               timeout,
		NoErrorReturnFirstHTTPReq: &noErrorFirst,
		// A Verify never waits longer than one fetch for the limiter; the
		// verifier also skips the refresh when the limiter has no token.
		RateLimitWaitMax:  timeout,
		RefreshInterval:   c.RefreshInterval,
		RefreshUnknownKID: limiter,
		RefreshErrorHandlerFunc: func(string) func(context.Context, error) {
			return func(_ context.Context, err error) {
				logger.Warn("auth: JWK Set refresh failed; keeping the previous keys", "url", safeURL, "error", redact(err, u))
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("auth: JWK Set URL %s: %w", safeURL, redact(err, u))
	}
	ks, err := newKeySource(life, kf.Storage())
	if err != nil {
		return nil, err
	}
	keys, err := ks.storage.KeyReadAll(life)
	if err != nil {
		return nil, fmt.Errorf("auth: JWK Set URL %s: %w", safeURL, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("auth: JWK Set URL %s: no usable keys", safeURL)
	}
	for _, k := range keys {
		ks.kids = append(ks.kids, k.Marshal().KID)
	}
	return ks, nil
}

// checkJWKSURL requires an absolute https URL, or http to a loopback host,
// and returns the URL without user information and query for logs.
func checkJWKSURL(u string) (string, error) {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return "", errors.New("auth: JWKSURL must be an absolute http(s) URL")
	}
	safe := (&url.URL{Scheme: p.Scheme, Host: p.Host, Path: p.Path}).String()
	switch p.Scheme {
	case "https":
	case "http":
		host := p.Hostname()
		ip := net.ParseIP(host)
		if !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
			return "", fmt.Errorf("auth: JWKSURL %s: plain http is only allowed to a loopback host; use https", safe)
		}
	default:
		return "", fmt.Errorf("auth: JWKSURL %s: scheme must be https", safe)
	}
	return safe, nil
}

// redact hides the secrets a URL may carry (password, query) in an error
// message, keeping the error chain.
func redact(err error, u string) error {
	p, perr := url.Parse(u)
	if err == nil || perr != nil {
		return err
	}
	var secrets []string
	if pw, ok := p.User.Password(); ok && pw != "" {
		secrets = append(secrets, pw, url.QueryEscape(pw), url.PathEscape(pw))
	}
	if p.RawQuery != "" {
		secrets = append(secrets, p.RawQuery)
	}
	if len(secrets) == 0 {
		return err
	}
	msg := err.Error()
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, "REDACTED")
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// maxJWKSResponse bounds a JWK Set response body.
const maxJWKSResponse = 1 << 20

// limitedTransport fails a response body read past maxJWKSResponse bytes.
type limitedTransport struct{ base http.RoundTripper }

func (t limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: maxJWKSResponse}
	return resp, nil
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, fmt.Errorf("JWK Set response larger than %d bytes", maxJWKSResponse)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

const defaultHTTPTimeout = 10 * time.Second
