package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// NextToken is an HMAC-signed keyset cursor: the sort key of the last job
// returned, the operation, a digest of the filters and the issue time. Being
// a keyset (not an offset), jobs created during a walk never shift it.

type tokenBody struct {
	Op     string `json:"o"`
	Query  string `json:"q"`
	Issued int64  `json:"i"`
	Cs     int64  `json:"c"`
	Arn    string `json:"a"`
}

// queryDigest identifies a filter set independent of filter order.
func queryDigest(fs []filter) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		c := "IS"
		if f.not {
			c = "IS_NOT"
		}
		parts[i] = f.key + "\x00" + c + "\x00" + f.value
	}
	sort.Strings(parts)
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x01")))
	return hex.EncodeToString(sum[:8])
}

func (s *Server) sign(b []byte) []byte {
	m := hmac.New(sha256.New, s.tokenKey)
	m.Write(b)
	return m.Sum(nil)[:16]
}

func (s *Server) encodeToken(op string, fs []filter, cs int64, arn string, now time.Time) string {
	b, _ := json.Marshal(tokenBody{Op: op, Query: queryDigest(fs), Issued: now.Unix(), Cs: cs, Arn: arn})
	enc := base64.RawURLEncoding
	return enc.EncodeToString(b) + "." + enc.EncodeToString(s.sign(b))
}

func (s *Server) decodeToken(tok, op string, fs []filter, now time.Time) (*cursor, *apiError) {
	invalid := newErr(ErrInvalidNextToken, "The NextToken is not valid.")
	enc := base64.RawURLEncoding
	body, sig, ok := strings.Cut(tok, ".")
	if !ok {
		return nil, invalid
	}
	b, err1 := enc.DecodeString(body)
	mac, err2 := enc.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.sign(b)) {
		return nil, invalid
	}
	var t tokenBody
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, invalid
	}
	if t.Op != op || t.Query != queryDigest(fs) {
		return nil, newErr(ErrInvalidNextToken, "The NextToken was issued for a different request; use it with the same operation and filters.")
	}
	if now.Sub(time.Unix(t.Issued, 0)) > s.opts.TokenTTL {
		return nil, newErr(ErrInvalidNextToken, "The NextToken has expired. Tokens expire after %s.", s.opts.TokenTTL)
	}
	return &cursor{cs: t.Cs, arn: t.Arn}, nil
}
