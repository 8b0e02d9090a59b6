// Package pagetoken issues the gateway's own AIP-158 page tokens.
//
// AWS NextTokens must never reach clients: they are upstream implementation
// details, and a client that can read or edit them could page through a
// listing it did not ask for. So every token handed out is an AES-GCM sealed
// envelope around the upstream NextToken, bound to the list method, the
// canonical filter and the caller it was issued for, and stamped with an
// expiry no later than AWS's own 24 hours. Opening a token tells apart
// every way it can be bad (malformed, foreign key, tampered, expired, wrong
// method, wrong caller, wrong filter) so the gateway can answer
// INVALID_ARGUMENT with a useful message. Binding the caller means a token
// that leaks (a log, a shared link) pages nothing for anyone else.
//
// The page size is deliberately not bound: AIP-158 lets clients change
// page_size between pages.
//
// Wire format (version 2), URL-safe base64 without padding:
//
//	version(1) | key id(4) | nonce(12) | AES-GCM(plaintext) with AAD = version|key id
//	plaintext = expiry unix seconds(8, big endian) | method hash(8) | caller hash(16) | filter hash(16) | upstream token
//
// (Version 1 had no caller hash; its tokens are refused as unsupported,
// which asks the client to restart its listing.)
//
// Hashes are truncated SHA-256; the filter itself is not stored, only bound.
package pagetoken

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/forecastgw/forecast-gateway/internal/awsrules"
)

const (
	// DefaultTTL is the lifetime of a token when Options.TTL is zero: an hour
	// short of AWS's 24-hour NextToken lifetime, so a token the gateway still
	// accepts never carries an upstream token AWS has already expired.
	DefaultTTL = 23 * time.Hour
	// MaxTTL is AWS's NextToken lifetime; longer TTLs are clamped to it.
	MaxTTL = 24 * time.Hour
	// MaxUpstreamLen is the longest upstream token Seal accepts (AWS's
	// documented NextToken maximum).
	MaxUpstreamLen = awsrules.NextTokenMaxLen
)

const (
	version     = 2
	keyIDLen    = 4
	nonceLen    = 12
	tagLen      = 16
	headerLen   = 1 + keyIDLen + nonceLen
	expiryLen   = 8
	methodHLen  = 8
	callerHLen  = 16
	filterHLen  = 16
	callerOff   = expiryLen + methodHLen
	filterOff   = callerOff + callerHLen
	fixedPlain  = filterOff + filterHLen
	minRawLen   = headerLen + fixedPlain + tagLen
	maxRawLen   = minRawLen + MaxUpstreamLen
	maxTokenLen = (maxRawLen*8 + 5) / 6 // unpadded base64 length of maxRawLen bytes
)

// enc is strict so that every token has exactly one encoding: a changed
// trailing character can never decode to the same bytes and open.
var enc = base64.RawURLEncoding.Strict()

// Sentinel errors, for errors.Is. Open returns them wrapped in *Error, whose
// message is safe to show clients.
var (
	ErrMalformed   = errors.New("malformed page token")
	ErrUnknownKey  = errors.New("page token sealed with an unknown key")
	ErrTampered    = errors.New("page token failed authentication")
	ErrExpired     = errors.New("page token expired")
	ErrWrongMethod = errors.New("page token issued for another method")
	ErrWrongFilter = errors.New("page token issued for another filter")
	ErrWrongCaller = errors.New("page token issued to another caller")
)

// Error is what Open returns. Kind is one of the sentinel errors; Msg is a
// client-facing explanation that never contains the upstream token or key
// material.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return "page token: " + e.Msg }

// Is makes errors.Is(err, ErrExpired) and friends work.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Kind }

func newErr(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

type key struct {
	id   [keyIDLen]byte
	aead cipher.AEAD
}

// Keyring holds the sealing keys. The first key seals; every key opens, so
// operators rotate by prepending a new key and dropping the oldest once its
// tokens have expired (MaxTTL later).
type Keyring struct {
	keys []key
}

// NewKeyring builds a keyring from raw AES keys (16, 24 or 32 bytes; 32 is
// recommended), newest first. The keys are not retained beyond their ciphers.
func NewKeyring(keys ...[]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("pagetoken: no keys")
	}
	kr := &Keyring{keys: make([]key, 0, len(keys))}
	for i, k := range keys {
		switch len(k) {
		case 16, 24, 32:
		default:
			return nil, fmt.Errorf("pagetoken: key %d is %d bytes; want 16, 24 or 32 (32 recommended)", i+1, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("pagetoken: key %d: %v", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("pagetoken: key %d: %v", i+1, err)
		}
		sum := sha256.Sum256(k)
		var id [keyIDLen]byte
		copy(id[:], sum[:])
		for j, prev := range kr.keys {
			if prev.id == id {
				return nil, fmt.Errorf("pagetoken: key %d duplicates key %d (same key id); remove one", i+1, j+1)
			}
		}
		kr.keys = append(kr.keys, key{id: id, aead: aead})
	}
	return kr, nil
}

// RandomKeyring returns a keyring with one fresh random 32-byte key, for
// when no keys are configured. Its tokens die with the process and are not
// accepted by other replicas, so callers should log a warning.
func RandomKeyring() (*Keyring, error) {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("pagetoken: random key: %v", err)
	}
	return NewKeyring(k)
}

func (kr *Keyring) lookup(id []byte) cipher.AEAD {
	for i := range kr.keys {
		if string(kr.keys[i].id[:]) == string(id) {
			return kr.keys[i].aead
		}
	}
	return nil
}

// ParseKeys decodes operator-supplied keys from text such as a key file or an
// environment variable: one key per line or comma-separated, each standard
// or URL-safe base64 (padding optional) or hex. Blank entries and everything
// after a # are ignored. Errors name the bad entry (by number and line) and
// the reason, never the key material.
func ParseKeys(text string) ([][]byte, error) {
	var keys [][]byte
	n := 0
	for lineNo, line := range strings.Split(text, "\n") {
		line, _, _ = strings.Cut(line, "#")
		for field := range strings.SplitSeq(line, ",") {
			field = strings.TrimSpace(field)
			if field == "" {
				continue
			}
			n++
			k, err := decodeKey(field)
			if err != nil {
				return nil, fmt.Errorf("pagetoken: key entry %d (line %d): %v", n, lineNo+1, err)
			}
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("pagetoken: no keys found")
	}
	return keys, nil
}

func validKeyLen(n int) bool { return n == 16 || n == 24 || n == 32 }

func decodeKey(s string) ([]byte, error) {
	// Hex first, but only when it yields a valid key size: 32 hex digits
	// are also valid base64 (of 24 bytes), and hex is what such a string
	// almost certainly is.
	if isHex(s) && validKeyLen(len(s)/2) {
		return hex.DecodeString(s)
	}
	b64 := strings.TrimRight(s, "=")
	if strings.ContainsAny(b64, "+/") && strings.ContainsAny(b64, "-_") {
		return nil, errors.New("mixes standard and URL-safe base64 alphabets")
	}
	b64 = strings.NewReplacer("-", "+", "_", "/").Replace(b64)
	k, err := base64.RawStdEncoding.DecodeString(b64)
	switch {
	case err == nil && validKeyLen(len(k)):
		return k, nil
	case isHex(s):
		return nil, fmt.Errorf("hex key decodes to %d bytes; want 16, 24 or 32 (32 recommended)", len(s)/2)
	case err != nil:
		return nil, errors.New("not valid base64 or hex")
	default:
		return nil, fmt.Errorf("decodes to %d bytes; want 16, 24 or 32 (32 recommended)", len(k))
	}
}

func isHex(s string) bool {
	if len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// Options configure a Codec.
type Options struct {
	// TTL is how long a token stays valid. Zero or negative means
	// DefaultTTL; more than MaxTTL is clamped to MaxTTL.
	TTL time.Duration
	// Now is the clock; nil means time.Now. Tests pass a fake.
	Now func() time.Time
}

// Codec seals and opens page tokens. It is safe for concurrent use.
type Codec struct {
	kr  atomic.Pointer[Keyring]
	ttl time.Duration
	now func() time.Time
	// nonce fills a fresh nonce; tests replace it to get reproducible
	// tokens across fuzzing worker processes.
	nonce func([]byte) error
}

// NewCodec returns a Codec sealing with kr's first key. kr must not be nil.
func NewCodec(kr *Keyring, opts Options) *Codec {
	if kr == nil || len(kr.keys) == 0 {
		panic("pagetoken: NewCodec needs a keyring")
	}
	ttl := opts.TTL
	switch {
	case ttl <= 0:
		ttl = DefaultTTL
	case ttl > MaxTTL:
		ttl = MaxTTL
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	c := &Codec{ttl: ttl, now: now, nonce: randomNonce}
	c.kr.Store(kr)
	return c
}

// TTL reports the effective token lifetime (after defaulting and clamping).
func (c *Codec) TTL() time.Duration { return c.ttl }

// SetKeyring replaces the keys, for a rotation without a restart: put the
// new key first and keep the old ones, so tokens sealed before the change
// still open; tokens sealed from now on use the new key. Safe to call
// while Seal and Open run.
func (c *Codec) SetKeyring(kr *Keyring) { c.kr.Store(kr) }

func randomNonce(b []byte) error {
	_, err := rand.Read(b)
	return err
}

func methodHash(dst []byte, method string) {
	h := sha256.Sum256([]byte(method))
	copy(dst[:methodHLen], h[:])
}

func filterHash(dst []byte, filter string) {
	h := sha256.Sum256([]byte(filter))
	copy(dst[:filterHLen], h[:])
}

func callerHash(dst []byte, caller string) {
	h := sha256.Sum256([]byte("caller\x00" + caller))
	copy(dst[:callerHLen], h[:])
}

// Seal returns a token for the next page of method's listing under the
// canonical filter, for caller (an identity; "" when calls are not
// authenticated), carrying the upstream NextToken.
func (c *Codec) Seal(method, filter, caller, upstream string) (string, error) {
	if len(upstream) > MaxUpstreamLen {
		return "", fmt.Errorf("pagetoken: upstream token is %d bytes; at most %d supported", len(upstream), MaxUpstreamLen)
	}
	k := &c.kr.Load().keys[0]
	rawLen := minRawLen + len(upstream)
	encLen := enc.EncodedLen(rawLen)
	// One allocation holds the raw token followed by its encoding.
	buf := make([]byte, rawLen+encLen)
	raw, out := buf[:rawLen], buf[rawLen:]

	raw[0] = version
	copy(raw[1:], k.id[:])
	nonce := raw[1+keyIDLen : headerLen]
	if err := c.nonce(nonce); err != nil {
		return "", fmt.Errorf("pagetoken: nonce: %v", err)
	}
	p := raw[headerLen : rawLen-tagLen]
	exp := c.now().Add(c.ttl).Unix()
	binary.BigEndian.PutUint64(p, uint64(exp))
	methodHash(p[expiryLen:], method)
	callerHash(p[callerOff:], caller)
	filterHash(p[filterOff:], filter)
	copy(p[fixedPlain:], upstream)
	// Seal in place: dst is the header, plaintext follows it exactly.
	k.aead.Seal(raw[:headerLen], nonce, p, raw[:1+keyIDLen])

	enc.Encode(out, raw)
	return string(out), nil
}

// openBuf holds Open's scratch space; pooling it keeps Open at one
// allocation (the returned string).
type openBuf struct {
	txt [maxTokenLen]byte
	raw [maxRawLen]byte
}

var bufPool = sync.Pool{New: func() any { return new(openBuf) }}

// Open checks token against the method, canonical filter and caller of the
// current request and returns the upstream NextToken. Errors are *Error values
// matching one of the sentinel errors; a wrong method or filter is reported
// before expiry, as it is a client bug rather than a stale token. An empty token is the first page and
// must be handled by the caller; Open reports it as malformed.
func (c *Codec) Open(token, method, filter, caller string) (string, error) {
	if token == "" {
		return "", newErr(ErrMalformed, "empty page token")
	}
	if len(token) > maxTokenLen {
		return "", newErr(ErrMalformed, "page token is too long; use the next_page_token of a previous response unchanged")
	}
	if len(token) < enc.EncodedLen(minRawLen) {
		return "", newErr(ErrMalformed, "page token is truncated; use the next_page_token of a previous response unchanged")
	}
	// encoding/base64 skips '\r' and '\n' even in Strict mode, so without
	// this check a token with line breaks inserted would still open: a
	// string this service never issued. Only the URL-safe alphabet is valid.
	if !isURLSafeBase64(token) {
		return "", newErr(ErrMalformed, "page token is not valid; use the next_page_token of a previous response unchanged")
	}
	b := bufPool.Get().(*openBuf)
	defer bufPool.Put(b)
	txt := b.txt[:copy(b.txt[:], token)]
	n, err := enc.Decode(b.raw[:], txt)
	if err != nil {
		return "", newErr(ErrMalformed, "page token is not valid; use the next_page_token of a previous response unchanged")
	}
	raw := b.raw[:n]
	if n < minRawLen {
		return "", newErr(ErrMalformed, "page token is truncated; use the next_page_token of a previous response unchanged")
	}
	if raw[0] != version {
		return "", newErr(ErrMalformed, "page token has unsupported version %d; restart the listing without a page token", raw[0])
	}
	aead := c.kr.Load().lookup(raw[1 : 1+keyIDLen])
	if aead == nil {
		return "", newErr(ErrUnknownKey, "page token was not issued by this service or its key has been retired; restart the listing without a page token")
	}
	p, err := aead.Open(raw[headerLen:headerLen], raw[1+keyIDLen:headerLen], raw[headerLen:], raw[:1+keyIDLen])
	if err != nil {
		return "", newErr(ErrTampered, "page token is corrupt or was modified; use the next_page_token of a previous response unchanged")
	}
	var h [filterHLen]byte
	methodHash(h[:], method)
	if string(h[:methodHLen]) != string(p[expiryLen:expiryLen+methodHLen]) {
		return "", newErr(ErrWrongMethod, "page token was issued for a different method than %s", method)
	}
	callerHash(h[:], caller)
	if string(h[:]) != string(p[callerOff:filterOff]) {
		return "", newErr(ErrWrongCaller, "page token was issued to another caller; page with the tokens of your own listing")
	}
	filterHash(h[:], filter)
	if string(h[:]) != string(p[filterOff:fixedPlain]) {
		return "", newErr(ErrWrongFilter, "page token was issued for a different filter; keep the filter unchanged while paging, or restart without a page token")
	}
	exp := int64(binary.BigEndian.Uint64(p))
	if c.now().Unix() >= exp {
		return "", newErr(ErrExpired, "page token expired at %s; restart the listing without a page token",
			time.Unix(exp, 0).UTC().Format(time.RFC3339))
	}
	return string(p[fixedPlain:]), nil
}

func isURLSafeBase64(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
