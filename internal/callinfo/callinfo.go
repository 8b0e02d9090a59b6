// Package callinfo carries what the gateway knows about one API call from
// the transport to the service: the request id, the transport and the peer
// (its address, and its TLS state, from which a client certificate
// identity is read). The REST front fills it from the HTTP request before
// grpc-gateway runs; for gRPC the first interceptor fills it from the
// connection. Either way the interceptors and the service read the same
// value, so a rule about the peer is written once.
//
// The package is a leaf: it imports nothing of this module.
package callinfo

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"sync/atomic"
	"time"
)

// Transports.
const (
	GRPC = "grpc"
	REST = "rest"
)

// Info is one call's facts. Its fields are set once, before the
// interceptor chain runs; what is learnt later (the caller, once
// authenticated; the outcome; the upstream calls made) is recorded through
// its methods, which are safe for concurrent use.
type Info struct {
	// RequestID identifies the call in logs, responses (x-request-id) and
	// errors. It is the client's x-request-id when that is a valid one
	// (ValidRequestID), so a caller can follow its own id through.
	RequestID string
	// Transport is GRPC or REST.
	Transport string
	// PeerAddr is the client's network address (never an identity: behind
	// a load balancer many callers share one).
	PeerAddr string
	// TLS is the connection's TLS state, nil for plaintext. Its verified
	// chains carry a client certificate when mTLS is on.
	TLS *tls.ConnectionState

	caller        atomic.Pointer[string]
	method        atomic.Pointer[string]
	code          atomic.Int32 // the gRPC code + 1; 0 while unknown
	upstreamCalls atomic.Int64
	upstreamNanos atomic.Int64
}

// SetCaller records the authenticated caller's id.
func (i *Info) SetCaller(id string) { i.caller.Store(&id) }

// Caller is the authenticated caller's id, or "" (anonymous).
func (i *Info) Caller() string {
	if p := i.caller.Load(); p != nil {
		return *p
	}
	return ""
}

// SetOutcome records the RPC the call reached ("/pkg.Service/Method")
// and its gRPC code (codes.Code as an int).
func (i *Info) SetOutcome(method string, code uint32) {
	i.method.Store(&method)
	i.code.Store(int32(code) + 1)
}

// Outcome is what SetOutcome recorded; ok is false when the call never
// reached an RPC (a REST request refused before routing).
func (i *Info) Outcome() (method string, code uint32, ok bool) {
	c := i.code.Load()
	if c == 0 {
		return "", 0, false
	}
	if p := i.method.Load(); p != nil {
		method = *p
	}
	return method, uint32(c - 1), true
}

// AddUpstream records one upstream call (its retries included) and how
// long it took.
func (i *Info) AddUpstream(d time.Duration) {
	i.upstreamCalls.Add(1)
	i.upstreamNanos.Add(int64(d))
}

// Upstream is the number of upstream calls made and their total time.
func (i *Info) Upstream() (calls int64, total time.Duration) {
	return i.upstreamCalls.Load(), time.Duration(i.upstreamNanos.Load())
}

type key struct{}

// NewContext returns ctx carrying info.
func NewContext(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, key{}, info)
}

// FromContext returns the Info of ctx, or nil.
func FromContext(ctx context.Context) *Info {
	info, _ := ctx.Value(key{}).(*Info)
	return info
}

// RequestID is the request id of ctx's call, or "".
func RequestID(ctx context.Context) string {
	if info := FromContext(ctx); info != nil {
		return info.RequestID
	}
	return ""
}

// MaxRequestIDLen bounds a client-chosen request id.
const MaxRequestIDLen = 128

// ValidRequestID reports whether a client-chosen request id may be used as
// is: 1 to 128 characters of [A-Za-z0-9._:-]. Anything else (which could
// forge log lines or carry a secret into them) is replaced by a new id.
func ValidRequestID(id string) bool {
	if id == "" || len(id) > MaxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// NewRequestID returns a random 128-bit id, hex-encoded.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// RequestIDFrom returns client if it is a valid request id, else a new one.
func RequestIDFrom(client string) string {
	if ValidRequestID(client) {
		return client
	}
	return NewRequestID()
}
