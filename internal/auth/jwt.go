package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// JWTConfig configures a JWTVerifier. Exactly one of JWKSFile and JWKSURL
// must be set.
type JWTConfig struct {
	// JWKSFile is a JWK Set file, re-read when it changes (checked at most
	// every RefreshInterval, lazily, by Verify). A changed file that does
	// not parse keeps the previous keys and is logged at warn.
	JWKSFile string
	// JWKSURL is a JWK Set URL (https, or http to a loopback host), fetched
	// at start, refreshed every RefreshInterval by a goroutine, and on a
	// token with an unknown kid at most once per UnknownKIDRefreshInterval.
	// A failed refresh keeps the previous keys and is logged at warn.
	JWKSURL string
	// Issuer is the required iss.
	Issuer string
	// Audience is the required aud (the token's aud may be a string or a
	// list containing it).
	Audience string
	// Leeway applies to exp, nbf and iat. Default 30s.
	Leeway time.Duration
	// RefreshInterval: for JWKSURL how often the set is re-fetched (default
	// 1h); for JWKSFile how often the file is checked (default 2s).
	RefreshInterval time.Duration
	// UnknownKIDRefreshInterval (JWKSURL only) is the least time between
	// two fetches caused by tokens with an unknown kid. Default 5m.
	UnknownKIDRefreshInterval time.Duration
	// HTTPClient makes the JWKSURL fetches. Default: a client with a 10s
	// timeout. Its Timeout (10s when zero) also bounds each fetch.
	HTTPClient *http.Client
	// Now is the clock, for tests. Default time.Now.
	Now func() time.Time
	// Logger receives reloads and refresh failures. Default slog.Default().
	Logger *slog.Logger
}

const (
	defaultLeeway             = 30 * time.Second
	defaultFileCheckInterval  = 2 * time.Second
	defaultURLRefreshInterval = time.Hour
	defaultUnknownKIDInterval = 5 * time.Minute
	maxKIDLength              = 256
	maxClaimLength            = 1024
)

// allowedAlgs are the only signature algorithms accepted: asymmetric ones.
// "none" and HS* are never accepted, whatever the key set holds.
var allowedAlgs = []string{
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512",
	"EdDSA",
}

func allowedAlg(alg string) bool { return slices.Contains(allowedAlgs, alg) }

// JWTVerifier verifies JWT bearer tokens. It is safe for concurrent use.
type JWTVerifier struct {
	issuer  string
	parser  *jwt.Parser
	logger  *slog.Logger
	file    *reloader[keySource] // JWKSFile
	url     *keySource           // JWKSURL
	limiter *rate.Limiter        // JWKSURL: unknown-kid refreshes
	ctx     context.Context      // ends keyfunc's refresh goroutine
	cancel  context.CancelFunc
	now     func() time.Time
	leeway  time.Duration
	cache   verifiedCache
}

// NewJWTVerifier checks c, loads the keys (reading the file, or fetching
// the URL within ctx) and returns a verifier. With JWKSURL it starts one
// goroutine (keyfunc's refresh), which runs until Close; ctx bounds only
// the first fetch. With JWKSFile no goroutine is started.
func NewJWTVerifier(ctx context.Context, c JWTConfig) (*JWTVerifier, error) {
	switch {
	case c.JWKSFile == "" && c.JWKSURL == "":
		return nil, errors.New("auth: JWT verifier: set JWKSFile or JWKSURL")
	case c.JWKSFile != "" && c.JWKSURL != "":
		return nil, errors.New("auth: JWT verifier: JWKSFile and JWKSURL are exclusive; set only one")
	case c.Issuer == "":
		return nil, errors.New("auth: JWT verifier: Issuer is required")
	case strings.Contains(c.Issuer, "|"):
		return nil, errors.New(`auth: JWT verifier: Issuer must not contain "|" (it separates issuer and subject in caller IDs)`)
	case c.Audience == "":
		return nil, errors.New("auth: JWT verifier: Audience is required")
	case c.Leeway < 0 || c.RefreshInterval < 0 || c.UnknownKIDRefreshInterval < 0:
		return nil, errors.New("auth: JWT verifier: Leeway and intervals must not be negative")
	}
	if c.Leeway == 0 {
		c.Leeway = defaultLeeway
	}
	if c.RefreshInterval == 0 {
		c.RefreshInterval = defaultURLRefreshInterval
		if c.JWKSFile != "" {
			c.RefreshInterval = defaultFileCheckInterval
		}
	}
	if c.UnknownKIDRefreshInterval == 0 {
		c.UnknownKIDRefreshInterval = defaultUnknownKIDInterval
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	life, cancel := context.WithCancel(context.WithoutCancel(ctx))
	v := &JWTVerifier{
		issuer: c.Issuer,
		logger: c.Logger,
		ctx:    life,
		cancel: cancel,
		now:    c.Now,
		leeway: c.Leeway,
		parser: jwt.NewParser(
			jwt.WithValidMethods(allowedAlgs),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(c.Leeway),
			jwt.WithIssuer(c.Issuer),
			jwt.WithAudience(c.Audience),
			jwt.WithTimeFunc(c.Now),
			jwt.WithStrictDecoding(),
		),
	}
	var kids []string
	if c.JWKSFile != "" {
		v.file = &reloader[keySource]{
			path:     c.JWKSFile,
			what:     "JWK Set file",
			interval: c.RefreshInterval,
			now:      c.Now,
			logger:   c.Logger,
			parse:    parseJWKSFile,
			loaded:   func(ks *keySource) []any { return []any{"kids", ks.kids} },
		}
		if err := v.file.load(); err != nil {
			cancel()
			return nil, err
		}
		kids = v.file.cur.Load().kids
		if len(kids) == 0 {
			cancel()
			return nil, fmt.Errorf("auth: JWK Set file %q: no keys", c.JWKSFile)
		}
	} else {
		v.limiter = rate.NewLimiter(rate.Every(c.UnknownKIDRefreshInterval), 1)
		// ctx bounds the first fetch only: cancelling it while it runs
		// cancels life, which the first fetch and the goroutine share.
		stop := context.AfterFunc(ctx, cancel)
		ks, err := newURLSource(life, c.JWKSURL, c, v.limiter, c.Logger)
		if !stop() {
			cancel()
			return nil, fmt.Errorf("auth: JWK Set URL: %w", context.Cause(ctx))
		}
		if err != nil {
			cancel()
			return nil, err
		}
		v.url = ks
		kids = ks.kids
	}
	c.Logger.Info("auth: JWT verifier ready", "issuer", c.Issuer, "audience", c.Audience, "kids", kids)
	return v, nil
}

// Close stops the JWKSURL refresh goroutine (it exits shortly after; a
// fetch in flight is cancelled). Verify keeps working with the last keys.
// Close is idempotent; it does nothing for JWKSFile.
func (v *JWTVerifier) Close() { v.cancel() }

func (v *JWTVerifier) keys() *keySource {
	if v.file != nil {
		return v.file.get()
	}
	return v.url
}

// tokenClaims are the claims read from a token. The scope, scp and groups
// claims are decoded after the signature and the registered claims are
// verified.
type tokenClaims struct {
	jwt.RegisteredClaims
	Scope  json.RawMessage `json:"scope,omitempty"`
	Scp    json.RawMessage `json:"scp,omitempty"`
	Groups json.RawMessage `json:"groups,omitempty"`
}

// Verify verifies a token (as returned by ParseBearer) and returns its
// caller. Every error is a *CredentialError. A token that verified is
// remembered (see verifiedCache), so the same token on the next calls
// costs a hash; the Caller returned is then shared and must not be
// modified.
func (v *JWTVerifier) Verify(token string) (*Caller, error) {
	switch {
	case token == "":
		return nil, credErr("malformed token", errors.New("empty token"))
	case len(token) > MaxTokenLength:
		return nil, credErr("token too long", nil)
	}
	keys, now := v.keys(), v.now()
	sum := sha256.Sum256([]byte(token))
	if c := v.cache.get(sum, now, keys); c != nil {
		return c, nil
	}
	var claims tokenClaims
	tok, err := v.parser.ParseWithClaims(token, &claims, v.keyFunc(keys))
	if err != nil {
		return nil, classify(tok, &claims, err)
	}
	sub := claims.Subject
	if sub == "" {
		return nil, credErr("no sub claim", nil)
	}
	if !validName(sub) {
		return nil, credErr("invalid sub claim", errors.New("sub is too long or has control characters"))
	}
	scope, err := scopeClaim(claims.Scope)
	if err != nil {
		return nil, credErr("invalid scope claim", fmt.Errorf("scope: %w", err))
	}
	scp, err := scopeClaim(claims.Scp)
	if err != nil {
		return nil, credErr("invalid scope claim", fmt.Errorf("scp: %w", err))
	}
	groups, err := groupsClaim(claims.Groups)
	if err != nil {
		return nil, credErr("invalid groups claim", err)
	}
	caller := &Caller{
		ID:      "jwt:" + claims.Issuer + "|" + sub,
		Kind:    KindJWT,
		Issuer:  claims.Issuer,
		Subject: sub,
		Scopes:  sortedSet(append(scope, scp...)),
		Groups:  groups,
	}
	until := now.Add(cacheTTL)
	if exp := claims.ExpiresAt.Add(v.leeway); exp.Before(until) {
		until = exp
	}
	v.cache.put(sum, verified{caller: caller, until: until, keys: keys})
	return caller, nil
}

// keyError is a refusal decided while looking up the key.
type keyError struct {
	reason string
	err    error
}

func (e *keyError) Error() string { return e.reason + ": " + e.err.Error() }
func (e *keyError) Unwrap() error { return e.err }

// keyFunc finds the key of a token whose alg the parser already checked
// against allowedAlgs. With a kid, keyfunc looks the key up (refreshing a
// URL set on an unknown kid, rate limited) and refuses a token whose alg
// differs from the key's declared alg or a key not meant for signatures.
// Without a kid, the candidates are the keys whose declared alg (if any)
// is the token's.
func (v *JWTVerifier) keyFunc(ks *keySource) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		alg := t.Method.Alg()
		if _, ok := t.Header["crit"]; ok {
			return nil, &keyError{"unsupported token header", errors.New(`"crit" header present`)}
		}
		snapshot, err := ks.storage.KeyReadAll(v.ctx)
		if err != nil {
			return nil, &keyError{"unknown key id", err}
		}
		kidValue, hasKID := t.Header[jwkset.HeaderKID]
		if !hasKID {
			return keySetFor(alg, snapshot)
		}
		kid, ok := kidValue.(string)
		if !ok || kid == "" || len(kid) > maxKIDLength {
			return nil, &keyError{"malformed token", errors.New("invalid kid header")}
		}
		if _, known := findKID(snapshot, kid); !known && (v.limiter == nil || v.limiter.Tokens() < 1) {
			// Unknown and no refresh allowed now: refuse without waiting.
			return nil, &keyError{"unknown key id", fmt.Errorf("no key with kid %q", kid)}
		}
		key, err := ks.kf.KeyfuncCtx(v.ctx)(t)
		if err != nil {
			// Tell why from the keys as they are now, without a refresh.
			snapshot, _ = ks.storage.KeyReadAll(v.ctx)
			jwk, known := findKID(snapshot, kid)
			switch m := jwk.Marshal(); {
			case !known:
				return nil, &keyError{"unknown key id", err}
			case m.ALG != "" && string(m.ALG) != alg:
				return nil, &keyError{"algorithm not allowed", err}
			case !slices.Contains(useWhitelist, m.USE):
				return nil, &keyError{"key not allowed", err}
			default:
				return nil, &keyError{"unknown key id", err}
			}
		}
		if !algFitsKey(alg, key) {
			return nil, &keyError{"algorithm not allowed", fmt.Errorf("alg %s does not fit a %T key", alg, key)}
		}
		return key, nil
	}
}

func findKID(keys []jwkset.JWK, kid string) (jwkset.JWK, bool) {
	for _, k := range keys {
		if k.Marshal().KID == kid {
			return k, true
		}
	}
	return jwkset.JWK{}, false
}

type publicKeyer interface{ Public() crypto.PublicKey }

// keySetFor returns the keys a token without kid may be verified with:
// signature keys whose declared alg, if any, is the token's.
func keySetFor(alg string, keys []jwkset.JWK) (any, error) {
	var set jwt.VerificationKeySet
	for _, k := range keys {
		m := k.Marshal()
		if m.ALG != "" && string(m.ALG) != alg || !slices.Contains(useWhitelist, m.USE) {
			continue
		}
		key := k.Key()
		if pk, ok := key.(publicKeyer); ok {
			key = pk.Public()
		}
		if !algFitsKey(alg, key) {
			continue
		}
		set.Keys = append(set.Keys, key)
	}
	if len(set.Keys) == 0 {
		return nil, &keyError{"no matching key", fmt.Errorf("no key for alg %s and no kid in the token", alg)}
	}
	return set, nil
}

// algFitsKey reports whether a token of alg may be verified with key: the
// key type (and curve) must be the algorithm's. A symmetric key never fits.
func algFitsKey(alg string, key any) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return k.Curve == elliptic.P256()
		case "ES384":
			return k.Curve == elliptic.P384()
		case "ES512":
			return k.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// classify turns an error of the parser into a *CredentialError.
func classify(tok *jwt.Token, claims *tokenClaims, err error) *CredentialError {
	var ke *keyError
	if errors.As(err, &ke) {
		return credErr(ke.reason, err)
	}
	if errors.Is(err, jwt.ErrTokenMalformed) || tok == nil {
		return credErr("malformed token", err)
	}
	alg, ok := tok.Header["alg"].(string)
	switch {
	case !ok:
		return credErr("malformed token", err)
	case !allowedAlg(alg):
		return credErr("algorithm not allowed", err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return credErr("signature invalid", err)
	case !errors.Is(err, jwt.ErrTokenInvalidClaims):
		return credErr("invalid token", err)
	case claims.ExpiresAt == nil:
		return credErr("no exp claim", err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return credErr("token expired", err)
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return credErr("token not yet valid", err)
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return credErr("token issued in the future", err)
	case errors.Is(err, jwt.ErrTokenInvalidIssuer) || claims.Issuer == "":
		return credErr("wrong issuer", err)
	case errors.Is(err, jwt.ErrTokenInvalidAudience) || len(claims.Audience) == 0:
		return credErr("wrong audience", err)
	}
	return credErr("invalid token", err)
}

// scopeClaim reads a scope or scp claim: a space-separated string or a
// list of strings, each an OAuth scope-token (RFC 6749, 3.3).
func scopeClaim(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var list []string
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		for _, t := range strings.Split(s, " ") {
			if t != "" {
				list = append(list, t)
			}
		}
	} else if err := json.Unmarshal(raw, &list); err != nil {
		return nil, errors.New("neither a string nor a list of strings")
	}
	for _, t := range list {
		if !validScopeToken(t) {
			return nil, errors.New("invalid scope token")
		}
	}
	return list, nil
}

func validScopeToken(t string) bool {
	if t == "" || len(t) > maxClaimLength {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// groupsClaim reads the groups claim: a list of strings.
func groupsClaim(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, errors.New("groups is not a list of strings")
	}
	for _, g := range list {
		if !validName(g) {
			return nil, errors.New("a group is empty, too long or has control characters")
		}
	}
	return sortedSet(list), nil
}

// validName: non-empty, bounded, UTF-8, no control characters.
func validName(s string) bool {
	return s != "" && len(s) <= maxClaimLength && utf8.ValidString(s) &&
		!strings.ContainsFunc(s, unicode.IsControl)
}
