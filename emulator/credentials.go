package emulator

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/httpbinding"
)

// Credential is one AWS access key the emulator knows (Options.Credentials,
// SetCredentials). While the emulator knows at least one, every request
// must be signed with a known key and its secret, and carry the key's
// session token; see sigv4.go.
//
// In JSON (ParseCredentials, --credentials-file, /_emulator/credentials)
// the members are named like the fields; Expires is RFC 3339.
type Credential struct {
	AccessKeyID, SecretAccessKey string
	// SessionToken, when set, must be sent in X-Amz-Security-Token (as the
	// SDK does for temporary credentials). A key without one refuses
	// requests that carry a token, as AWS does for long-term keys.
	SessionToken string
	// Expires is when the key stops working (wall clock); zero = never.
	Expires time.Time
	// Deny lists the operations answered with AccessDeniedException:
	// names such as "ListForecastExportJobs" or "forecast:TagResource"
	// (case-insensitive, like IAM actions), or "*" / "forecast:*" for all.
	Deny []string
	// Principal is the ARN named in AccessDenied messages; default
	// arn:aws:iam::<Options.Account>:user/<AccessKeyID>.
	Principal string
}

// Error types of the credential checks (Coral framework errors, like the
// SigV4 ones).
const (
	ErrUnrecognizedClient = "UnrecognizedClientException"
	ErrExpiredToken       = "ExpiredTokenException"
	ErrAccessDenied       = "AccessDeniedException"
)

// AWS's messages, word for word.
const (
	msgInvalidToken      = "The security token included in the request is invalid."
	msgExpiredToken      = "The security token included in the request is expired"
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

// credentialSet is the immutable set of known keys, swapped atomically by
// SetCredentials; nil means any key is accepted.
type credentialSet struct {
	list  []Credential // as given (first of duplicate keys wins in byKey)
	byKey map[string]*Credential
}

func newCredentialSet(creds []Credential) *credentialSet {
	if len(creds) == 0 {
		return nil
	}
	cs := &credentialSet{list: cloneCredentials(creds), byKey: make(map[string]*Credential, len(creds))}
	for i := range cs.list {
		c := &cs.list[i]
		if _, dup := cs.byKey[c.AccessKeyID]; !dup {
			cs.byKey[c.AccessKeyID] = c
		}
	}
	return cs
}

func cloneCredentials(creds []Credential) []Credential {
	if len(creds) == 0 {
		return nil
	}
	out := slices.Clone(creds)
	for i := range out {
		out[i].Deny = slices.Clone(out[i].Deny)
	}
	return out
}

// SetCredentials replaces the known credentials at run time (safe for
// concurrent use; requests already past the check are not affected).
// nil or empty returns to accepting any key with an unverified signature.
func (s *Server) SetCredentials(creds []Credential) { s.creds.Store(newCredentialSet(creds)) }

// credentials returns a copy of the known credentials (nil: any key).
func (s *Server) credentials() []Credential {
	if cs := s.creds.Load(); cs != nil {
		return cloneCredentials(cs.list)
	}
	return nil
}

// ParseCredentials decodes a JSON list of Credential, e.g.
//
//	[{"AccessKeyID":"AKIDCI","SecretAccessKey":"s3cr3t","Deny":["DeleteForecastExportJob"]},
//	 {"AccessKeyID":"ASIATEMP","SecretAccessKey":"t","SessionToken":"tok","Expires":"2026-01-01T00:00:00Z"}]
//
// Unknown members are errors; every entry needs an AccessKeyID and a
// SecretAccessKey. null or [] is an empty list (accept any key).
func ParseCredentials(data []byte) ([]Credential, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var creds []Credential
	if err := dec.Decode(&creds); err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	if dec.More() {
		return nil, errors.New("credentials: trailing data after the JSON list")
	}
	for i, c := range creds {
		if c.AccessKeyID == "" || c.SecretAccessKey == "" {
			return nil, fmt.Errorf("credentials: entry %d needs AccessKeyID and SecretAccessKey", i)
		}
	}
	return creds, nil
}

// authenticate applies the checks that need no body: the access key must
// be known, carry its session token, and not be expired.
func (cs *credentialSet) authenticate(r *http.Request, h *sigV4Header, wallNow time.Time) (*Credential, *apiError) {
	c := cs.byKey[h.accessKeyID]
	if c == nil {
		return nil, newErr(ErrUnrecognizedClient, msgInvalidToken)
	}
	tok, sent := r.Header[http.CanonicalHeaderKey("X-Amz-Security-Token")]
	if c.SessionToken == "" && sent ||
		c.SessionToken != "" && (len(tok) != 1 || !hmac.Equal([]byte(tok[0]), []byte(c.SessionToken))) {
		return nil, newErr(ErrUnrecognizedClient, msgInvalidToken)
	}
	if !c.Expires.IsZero() && wallNow.After(c.Expires) {
		return nil, newErr(ErrExpiredToken, msgExpiredToken)
	}
	return c, nil
}

// authorize answers AccessDeniedException when c may not call op.
func (c *Credential) authorize(op, account string) *apiError {
	for _, d := range c.Deny {
		d = strings.TrimSpace(d)
		if len(d) > len("forecast:") && strings.EqualFold(d[:len("forecast:")], "forecast:") {
			d = d[len("forecast:"):]
		}
		if d == "*" || strings.EqualFold(d, op) {
			p := c.Principal
			if p == "" {
				p = "arn:aws:iam::" + account + ":user/" + c.AccessKeyID
			}
			return newErr(ErrAccessDenied, "User: %s is not authorized to perform: forecast:%s on resource: *", p, op)
		}
	}
	return nil
}

// verifySignature recomputes the SigV4 signature of r (AWS's algorithm:
// canonical request, string to sign, derived signing key) with secret and
// compares it with the one sent.
func verifySignature(r *http.Request, h *sigV4Header, body []byte, secret string) *apiError {
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if v := r.Header.Get("X-Amz-Content-Sha256"); v != "" {
		// A declared hash must describe the body actually sent.
		if v != payloadHash && v != "UNSIGNED-PAYLOAD" {
			return newErr(ErrInvalidSignature, msgSignatureMismatch)
		}
		payloadHash = v
	}
	canonical := canonicalRequest(r, h.signedHeaders, payloadHash)
	creq := sha256.Sum256([]byte(canonical))
	scope := h.date + "/" + h.region + "/" + h.service + "/aws4_request"
	stringToSign := sigV4Algorithm + "\n" + h.amzDate + "\n" + scope + "\n" + hex.EncodeToString(creq[:])
	key := hmacSHA256([]byte("AWS4"+secret), h.date)
	key = hmacSHA256(key, h.region)
	key = hmacSHA256(key, h.service)
	key = hmacSHA256(key, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(key, stringToSign))
	if !hmac.Equal([]byte(want), []byte(h.signature)) {
		return newErr(ErrInvalidSignature, msgSignatureMismatch)
	}
	return nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// canonicalRequest builds the SigV4 canonical request: method, URI-encoded
// path (each segment encoded again, as for every service but S3), sorted
// encoded query, the headers named in SignedHeaders (lowercase name, values
// trimmed with inner runs of spaces collapsed, repeated values joined by
// commas), the SignedHeaders list and the payload hash.
func canonicalRequest(r *http.Request, signedHeaders, payloadHash string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(httpbinding.EscapePath(path, false))
	b.WriteByte('\n')
	q := r.URL.Query()
	for k := range q {
		sort.Strings(q[k])
	}
	b.WriteString(strings.ReplaceAll(q.Encode(), "+", "%20"))
	b.WriteByte('\n')
	for _, name := range strings.Split(signedHeaders, ";") {
		b.WriteString(name)
		b.WriteByte(':')
		for i, v := range headerValues(r, name) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(stripExcessSpaces(v))
		}
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(signedHeaders)
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// headerValues returns the values of a signed header as the client had
// them, including those net/http moves out of r.Header.
func headerValues(r *http.Request, name string) []string {
	switch name {
	case "host":
		return []string{r.Host}
	case "content-length":
		if v := r.Header.Values("Content-Length"); len(v) > 0 {
			return v
		}
		if r.ContentLength >= 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	case "transfer-encoding":
		if len(r.TransferEncoding) > 0 {
			return []string{strings.Join(r.TransferEncoding, ",")}
		}
	}
	return r.Header.Values(name)
}

// stripExcessSpaces trims leading and trailing spaces and collapses inner
// runs of spaces to one, as SigV4 canonical header values require.
func stripExcessSpaces(s string) string {
	s = strings.Trim(s, " ")
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
