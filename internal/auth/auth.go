// Package auth tells who is calling the gateway.
//
// A caller proves its identity in one of two ways:
//
//   - a JWT bearer token (Authorization: Bearer <token>, or the gRPC
//     "authorization" metadata), verified by a [JWTVerifier] against a JWK Set
//     (a file reloaded when it changes, or a URL cached and refreshed);
//   - a client certificate (mTLS), whose identity (SPIFFE ID, DNS name or CN)
//     is mapped to scopes and groups by an [AuthzFile].
//
// Either way the result is a [Caller]. Its ID is stable and is what page
// tokens and jobs are bound to.
//
// Every refusal of a presented credential is a [*CredentialError] whose
// Reason is short and safe to show a client; the error it wraps is for logs.
// No error, and no log line of this package, contains a token.
//
// The package is a leaf: it imports nothing of this module.
package auth

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// Scopes of the API.
const (
	ScopeRead  = "forecast.read"
	ScopeWrite = "forecast.write"
	ScopeAdmin = "forecast.admin"
)

// knownScopes are the scopes an AuthzFile may grant.
var knownScopes = []string{ScopeAdmin, ScopeRead, ScopeWrite}

// Caller kinds.
const (
	KindJWT  = "jwt"
	KindMTLS = "mtls"
)

// Caller is an authenticated caller.
type Caller struct {
	// ID is the stable identity, used to bind page tokens and own jobs:
	// "jwt:" + iss + "|" + sub, or "mtls:" + certificate identity.
	ID string
	// Kind is KindJWT or KindMTLS.
	Kind string
	// Issuer is the JWT iss ("" for mTLS).
	Issuer string
	// Subject is the JWT sub, or the certificate identity (SPIFFE URI, DNS
	// name or CN).
	Subject string
	// Scopes are sorted and de-duplicated.
	Scopes []string
	// Groups are the JWT "groups" claim, or the authz file's groups for
	// mTLS; sorted and de-duplicated.
	Groups []string
}

// HasScope reports whether the caller was granted scope s. Scopes are
// matched exactly: forecast.admin does not imply the others. A nil Caller
// has no scope.
func (c *Caller) HasScope(s string) bool {
	if c == nil || s == "" {
		return false
	}
	_, ok := slices.BinarySearch(c.Scopes, s)
	return ok
}

type callerKey struct{}

// NewContext returns a copy of ctx carrying c.
func NewContext(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// FromContext returns the Caller that NewContext put in ctx.
func FromContext(ctx context.Context) (*Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(*Caller)
	return c, ok && c != nil
}

// ErrNoCredentials is returned when a request carries no credential at all
// (no Authorization header, no client certificate).
var ErrNoCredentials = errors.New("auth: no credentials")

// CredentialError is the refusal of a presented credential. Reason is short
// and safe to show a client ("token expired", "wrong audience", ...); Err is
// the underlying error, for logs. Neither contains the token.
//
// The gateway answers these with UNAUTHENTICATED (HTTP 401 with
// WWW-Authenticate: Bearer error="invalid_token").
type CredentialError struct {
	Reason string
	Err    error
}

// maxDetail bounds the underlying error's text in Error(), which may quote
// a (bounded) piece of what the client sent, such as a kid.
const maxDetail = 512

func (e *CredentialError) Error() string {
	if e.Err == nil {
		return "auth: " + e.Reason
	}
	detail := e.Err.Error()
	if len(detail) > maxDetail {
		detail = strings.ToValidUTF8(detail[:maxDetail], "") + "..."
	}
	return "auth: " + e.Reason + ": " + detail
}

func (e *CredentialError) Unwrap() error { return e.Err }

func credErr(reason string, err error) *CredentialError {
	return &CredentialError{Reason: reason, Err: err}
}

// MaxTokenLength bounds the length of a bearer token, in bytes.
const MaxTokenLength = 8 << 10

// ParseBearer takes an Authorization header (or gRPC "authorization"
// metadata) value and returns the token.
//
// It returns ErrNoCredentials for "", and a *CredentialError for anything
// that is not "Bearer <token>": the scheme is matched case-insensitively,
// followed by one or more spaces and exactly one token made only of the
// characters of a JWS compact serialisation (base64url and '.'), at most
// MaxTokenLength bytes, with nothing after it.
func ParseBearer(v string) (string, error) {
	if v == "" {
		return "", ErrNoCredentials
	}
	if len(v) > MaxTokenLength+64 {
		return "", credErr("token too long", nil)
	}
	scheme, rest, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", credErr("unsupported authorization scheme", nil)
	}
	tok := strings.TrimLeft(rest, " ")
	switch {
	case tok == "":
		return "", credErr("malformed authorization header", errors.New("no token after the Bearer scheme"))
	case len(tok) > MaxTokenLength:
		return "", credErr("token too long", nil)
	case strings.ContainsRune(tok, ' '):
		return "", credErr("malformed authorization header", errors.New("more than one token"))
	}
	for i := 0; i < len(tok); i++ {
		if !isTokenChar(rune(tok[i])) {
			return "", credErr("malformed token", errors.New("invalid character in token"))
		}
	}
	return tok, nil
}

// isTokenChar reports whether r may appear in a compact JWS: base64url
// characters and the '.' separator.
func isTokenChar(r rune) bool {
	return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' ||
		r == '-' || r == '_' || r == '.'
}

// sortedSet returns s sorted with duplicates removed (a new slice).
func sortedSet(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}
