package e2e_test

// Security end to end (issue "Security"): the real gateway with real TLS,
// mTLS, signed JWTs, a policy file and rate limits, driven over gRPC and
// REST with real clients. Every refusal is checked to reach no upstream
// operation.

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
	"github.com/forecastgw/forecast-gateway/emulator"
	"github.com/forecastgw/forecast-gateway/internal/gateway"
	"github.com/forecastgw/forecast-gateway/internal/ratelimit"
	"github.com/forecastgw/forecast-gateway/internal/tlsconf"
)

const (
	secRole      = "arn:aws:iam::123456789012:role/ForecastRole"
	secOwnerTag  = "forecast-gateway:owner"
	secRealm     = `Bearer realm="forecast-gateway"`
	secServiceID = "forecast.gateway.v1.ForecastJobService"
)

var secHexID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TestSecurityTLS: both listeners speak TLS 1.2 and 1.3 only, refuse
// plaintext and TLS 1.1, and serve a rotated certificate to new
// handshakes without a restart.
func TestSecurityTLS(t *testing.T) {
	s := startSecStack(t, secOptions{tls: true})
	list := secList(1, "")

	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			cfg := s.clientTLS(nil)
			cfg.MinVersion, cfg.MaxVersion = v, v
			c := s.newClient(t, cfg)
			secBoth(t, func(t *testing.T, tr string) {
				r := c.call(t, tr, list)
				r.wantOK(t)
				if r.tls == nil || r.tls.Version != v {
					t.Fatalf("connection state %+v, want %s", r.tls, tls.VersionName(v))
				}
			})
		})
	}

	t.Run("TLS 1.1 refused", func(t *testing.T) {
		cfg := s.clientTLS(nil)
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		c := s.newClient(t, cfg)
		secBoth(t, func(t *testing.T, tr string) {
			s.noUpstream(t, func() {
				err := c.transportError(t, tr, list)
				if err == nil {
					t.Fatal("a TLS 1.1 client was served")
				}
				t.Logf("refused: %v", err)
			})
		})
	})

	t.Run("plaintext refused", func(t *testing.T) {
		plain := s.newClient(t, nil) // http:// and insecure gRPC credentials
		t.Run("grpc", func(t *testing.T) {
			s.noUpstream(t, func() {
				if err := plain.transportError(t, "grpc", list); err == nil {
					t.Fatal("a plaintext gRPC call was served")
				}
			})
		})
		t.Run("rest", func(t *testing.T) {
			s.noUpstream(t, func() {
				code, body, err := plain.rawREST(t, list)
				// net/http answers a plaintext request on a TLS port with a
				// bare 400 of its own; the API never sees it.
				if err == nil && (code != http.StatusBadRequest || !strings.Contains(body, "HTTPS server")) {
					t.Fatalf("plaintext over the TLS port: HTTP %d %q", code, body)
				}
			})
		})
	})

	t.Run("certificate rotation", func(t *testing.T) {
		cfg := s.clientTLS(nil)
		addrs := []string{s.gw.GRPCAddr(), s.gw.HTTPAddr()}
		for _, a := range addrs {
			serial, err := secPeerSerial(a, cfg)
			if err != nil || serial.Cmp(s.serverLeaf.SerialNumber) != 0 {
				t.Fatalf("%s serves serial %v (%v), want %v", a, serial, err, s.serverLeaf.SerialNumber)
			}
		}
		certPEM, keyPEM, fresh := s.ca.server(t)
		if fresh.SerialNumber.Cmp(s.serverLeaf.SerialNumber) == 0 {
			t.Fatal("the new certificate has the old serial")
		}
		secWriteFile(t, s.keyFile, keyPEM)
		secWriteFile(t, s.certFile, certPEM)
		for _, a := range addrs {
			var last error
			eventually(t, 5*tlsconf.CheckInterval+5*time.Second, "new handshakes on "+a+" still get the old certificate", func() bool {
				serial, err := secPeerSerial(a, cfg)
				last = err
				return err == nil && serial.Cmp(fresh.SerialNumber) == 0
			})
			if last != nil {
				t.Fatal(last)
			}
		}
		// Real clients on new connections see it too, and the calls work.
		c := s.newClient(t, s.clientTLS(nil))
		secBoth(t, func(t *testing.T, tr string) {
			r := c.call(t, tr, list)
			r.wantOK(t)
			if r.tls == nil || len(r.tls.PeerCertificates) == 0 || r.tls.PeerCertificates[0].SerialNumber.Cmp(fresh.SerialNumber) != 0 {
				t.Fatalf("the call's connection does not carry the rotated certificate")
			}
		})
	})
}

// TestSecurityMTLS: with a client CA and an authz file, a connection needs
// a certificate of that CA; its SPIFFE identity gets the scopes the file
// grants, and an identity the file does not know is unauthenticated.
func TestSecurityMTLS(t *testing.T) {
	clientCA, otherCA := newSecCA(t, "client CA"), newSecCA(t, "another CA")
	const reader = "spiffe://forecast.test/ns/planning/sa/reader"
	s := startSecStack(t, secOptions{tls: true, clientCA: clientCA,
		authz: fmt.Sprintf("callers:\n  %q: {scopes: [forecast.read], groups: [planning]}\n", reader)})
	readerCert := clientCA.client(t, reader)
	strangerCert := clientCA.client(t, "spiffe://forecast.test/ns/planning/sa/stranger")
	foreignCert := otherCA.client(t, reader)
	list := secList(1, "")
	create := secCreate("mtls_job", s.emu.PredictorArns()[0], secRole, "s3://bucket/exports/mtls/")

	// A server certificate of the right CA has no client-auth usage.
	certPEM, keyPEM, _ := clientCA.server(t)
	serverPair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	tls11 := s.clientTLS(&readerCert)
	tls11.MinVersion, tls11.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	refused := map[string]*secClient{
		"no client certificate":           s.client,
		"certificate of another CA":       s.newClient(t, s.clientTLS(&foreignCert)),
		"certificate without client use":  s.newClient(t, s.clientTLS(&serverPair)),
		"TLS 1.1 with a good certificate": s.newClient(t, tls11),
	}
	for name, c := range refused {
		t.Run(name, func(t *testing.T) {
			secBoth(t, func(t *testing.T, tr string) {
				s.noUpstream(t, func() {
					err := c.transportError(t, tr, list)
					if err == nil {
						t.Fatal("the handshake was accepted")
					}
					t.Logf("refused: %v", err)
				})
			})
		})
	}

	t.Run("known identity with forecast.read", func(t *testing.T) {
		c := s.newClient(t, s.clientTLS(&readerCert))
		secBoth(t, func(t *testing.T, tr string) {
			c.call(t, tr, list).wantOK(t)
			var r secResult
			s.noUpstream(t, func() { r = c.call(t, tr, create) })
			r.want(t, codes.PermissionDenied, http.StatusForbidden, "INSUFFICIENT_SCOPE")
			if !strings.Contains(r.msg, "forecast.write") {
				t.Errorf("message %q does not name forecast.write", r.msg)
			}
		})
	})

	t.Run("identity not in the authz file", func(t *testing.T) {
		c := s.newClient(t, s.clientTLS(&strangerCert))
		secBoth(t, func(t *testing.T, tr string) {
			var r secResult
			s.noUpstream(t, func() { r = c.call(t, tr, list) })
			r.want(t, codes.Unauthenticated, http.StatusUnauthorized, "INVALID_CLIENT_CERTIFICATE")
			if tr == "rest" && strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token") {
				t.Errorf("a certificate refusal challenges a token: %q", r.header.Get("WWW-Authenticate"))
			}
		})
	})
}

// TestSecurityJWT: bearer tokens are verified (signature, algorithm,
// issuer, audience, expiry) and their scopes enforced per method, with the
// RFC 6750 challenges over REST; health and reflection need no token.
func TestSecurityJWT(t *testing.T) {
	// The JWK Set file is looked at every 200ms (the last subtest rotates
	// it).
	s := startSecStack(t, secOptions{tls: true, jwt: true, cfg: gateway.Config{Security: gateway.Security{JWKSRefreshInterval: 200 * time.Millisecond}}})
	arn := s.emu.Jobs(secJob)[0].Arn
	list := secList(1, "")

	t.Run("no token", func(t *testing.T) {
		secBoth(t, func(t *testing.T, tr string) {
			var r secResult
			s.noUpstream(t, func() { r = s.client.call(t, tr, list) })
			r.want(t, codes.Unauthenticated, http.StatusUnauthorized, "UNAUTHENTICATED")
			if tr == "rest" {
				if got := r.header.Get("WWW-Authenticate"); got != secRealm {
					t.Errorf("WWW-Authenticate %q, want %q", got, secRealm)
				}
			}
		})
	})

	other := newSecSigner(t)
	mutate := func(f func(jwt.MapClaims)) string {
		c := secClaims("mallory", secWrite)
		f(c)
		return s.signer.sign(t, c)
	}
	noneTok, err := jwt.NewWithClaims(jwt.SigningMethodNone, secClaims("mallory", secWrite)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	// HS256 keyed with the published public key: the classic confusion.
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, secClaims("mallory", secWrite))
	hs.Header["kid"] = secKID
	hsTok, err := hs.SignedString(s.signer.jwks)
	if err != nil {
		t.Fatal(err)
	}
	uk := jwt.NewWithClaims(jwt.SigningMethodES256, secClaims("mallory", secWrite))
	uk.Header["kid"] = "k2"
	unknownKID, err := uk.SignedString(s.signer.key)
	if err != nil {
		t.Fatal(err)
	}
	bad := []struct{ name, token, why string }{
		{"expired", mutate(func(c jwt.MapClaims) {
			c["exp"], c["iat"] = time.Now().Add(-time.Hour).Unix(), time.Now().Add(-2*time.Hour).Unix()
		}), "token expired"},
		{"wrong issuer", mutate(func(c jwt.MapClaims) { c["iss"] = "https://evil.test" }), "wrong issuer"},
		{"wrong audience", mutate(func(c jwt.MapClaims) { c["aud"] = "another-service" }), "wrong audience"},
		{"signed by another key", other.sign(t, secClaims("mallory", secWrite)), "signature invalid"},
		{"alg none", noneTok, "algorithm not allowed"},
		{"HS256", hsTok, "algorithm not allowed"},
		{"not yet valid", mutate(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }), "token not yet valid"},
		{"no exp", mutate(func(c jwt.MapClaims) { delete(c, "exp") }), "no exp claim"},
		{"unknown kid", unknownKID, "unknown key id"},
		{"no sub", mutate(func(c jwt.MapClaims) { delete(c, "sub") }), "no sub claim"},
		{"too long", mutate(func(c jwt.MapClaims) { c["pad"] = strings.Repeat("x", 9000) }), "token too long"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			c := s.client.as(tc.token)
			secBoth(t, func(t *testing.T, tr string) {
				var r secResult
				s.noUpstream(t, func() { r = c.call(t, tr, list) })
				r.want(t, codes.Unauthenticated, http.StatusUnauthorized, "INVALID_TOKEN")
				if !strings.Contains(r.msg, tc.why) {
					t.Errorf("message %q does not say %q", r.msg, tc.why)
				}
				if strings.Contains(r.msg, tc.token) {
					t.Errorf("the message quotes the token")
				}
				if tr == "rest" {
					if got, want := r.header.Get("WWW-Authenticate"), secRealm+`, error="invalid_token"`; got != want {
						t.Errorf("WWW-Authenticate %q, want %q", got, want)
					}
				}
			})
		})
	}

	t.Run("two authorization values", func(t *testing.T) {
		c := s.client.as(s.signer.token(t, "twice", secWrite))
		op := list
		op.auth = []string{"Bearer " + s.signer.token(t, "someone-else", secWrite)}
		secBoth(t, func(t *testing.T, tr string) {
			var r secResult
			s.noUpstream(t, func() { r = c.call(t, tr, op) })
			r.want(t, codes.Unauthenticated, http.StatusUnauthorized, "INVALID_TOKEN")
		})
	})

	t.Run("accepted variants", func(t *testing.T) {
		for name, claims := range map[string]jwt.MapClaims{
			"aud list":              {"aud": []string{"another-service", secAudience}},
			"expired within leeway": {"exp": time.Now().Add(-10 * time.Second).Unix()},
		} {
			c := secClaims("variant", secRead)
			for k, v := range claims {
				c[k] = v
			}
			tok := s.signer.sign(t, c)
			t.Run(name, func(t *testing.T) {
				secBoth(t, func(t *testing.T, tr string) { s.client.as(tok).call(t, tr, list).wantOK(t) })
			})
		}
		t.Run("lower-case scheme", func(t *testing.T) {
			op := list
			op.auth = []string{"bearer " + s.signer.token(t, "lower", secRead)}
			secBoth(t, func(t *testing.T, tr string) { s.client.call(t, tr, op).wantOK(t) })
		})
	})

	t.Run("read scope", func(t *testing.T) {
		c := s.client.as(s.signer.token(t, "reader", secRead))
		create := secCreate("jwt_reader_job", s.emu.PredictorArns()[0], secRole, "s3://bucket/exports/jwt/")
		secBoth(t, func(t *testing.T, tr string) {
			for _, op := range []secOp{list, secDescribe(arn), secListTags(arn)} {
				c.call(t, tr, op).wantOK(t)
			}
			for _, op := range []secOp{create, secDelete(arn), secStop(arn), secTag(arn, "team", "x"), secUntag(arn, "team")} {
				t.Run(op.rpc, func(t *testing.T) {
					var r secResult
					s.noUpstream(t, func() { r = c.call(t, tr, op) })
					r.want(t, codes.PermissionDenied, http.StatusForbidden, "INSUFFICIENT_SCOPE")
					if !strings.Contains(r.msg, "forecast.write") || r.meta["scope"] != "forecast.write" {
						t.Errorf("the refusal does not name forecast.write: %v", r)
					}
					if tr == "rest" {
						if got, want := r.header.Get("WWW-Authenticate"), secRealm+`, error="insufficient_scope", scope="forecast.write"`; got != want {
							t.Errorf("WWW-Authenticate %q, want %q", got, want)
						}
					}
				})
			}
		})
	})

	t.Run("scp list claim", func(t *testing.T) {
		scp := func(sub string, scopes ...string) *secClient {
			c := secClaims(sub, "")
			c["scp"] = scopes
			return s.client.as(s.signer.sign(t, c))
		}
		reader, writer := scp("scp-reader", "forecast.read"), scp("scp-writer", "forecast.read", "forecast.write")
		secBoth(t, func(t *testing.T, tr string) {
			reader.call(t, tr, list).wantOK(t)
			var r secResult
			s.noUpstream(t, func() { r = reader.call(t, tr, secTag(arn, "scp", tr)) })
			r.want(t, codes.PermissionDenied, http.StatusForbidden, "INSUFFICIENT_SCOPE")
			writer.call(t, tr, secTag(arn, "scp", tr)).wantOK(t)
		})
	})

	t.Run("health and reflection without a token", func(t *testing.T) {
		s.noUpstream(t, func() {
			hc := healthpb.NewHealthClient(s.client.conn)
			for _, svc := range []string{"", secServiceID} {
				resp, err := hc.Check(secWatchdog(t), &healthpb.HealthCheckRequest{Service: svc})
				if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
					t.Fatalf("health %q: %v %v", svc, resp, err)
				}
			}
			services, err := secReflect(s.client.conn)
			if err != nil || !slices.Contains(services, secServiceID) {
				t.Fatalf("reflection: %v %v", services, err)
			}
		})
	})

	t.Run("reflection disabled", func(t *testing.T) {
		s2 := startSecStack(t, secOptions{tls: true, jwt: true, cfg: gateway.Config{Security: gateway.Security{DisableReflection: true}}})
		_, err := secReflect(s2.client.conn)
		if status.Code(err) != codes.Unimplemented {
			t.Fatalf("reflection with DisableReflection: %v, want Unimplemented", err)
		}
		resp, err := healthpb.NewHealthClient(s2.client.conn).Check(secWatchdog(t), &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health: %v %v", resp, err)
		}
	})

	t.Run("JWKS rotation", func(t *testing.T) {
		oldTok := s.signer.token(t, "rotating", secRead)
		s.client.as(oldTok).call(t, "grpc", list).wantOK(t)
		next := newSecSigner(t)
		secWriteFile(t, filepath.Join(s.dir, "jwks.json"), next.jwks)
		newTok := next.token(t, "rotating", secRead)
		eventually(t, 10*time.Second, "a token of the new key is still refused", func() bool {
			return s.client.as(newTok).call(t, "grpc", list).code == codes.OK
		})
		secBoth(t, func(t *testing.T, tr string) {
			s.client.as(newTok).call(t, tr, list).wantOK(t)
			var r secResult
			s.noUpstream(t, func() { r = s.client.as(oldTok).call(t, tr, list) })
			r.want(t, codes.Unauthenticated, http.StatusUnauthorized, "INVALID_TOKEN")
		})
	})
}

// secReflect lists the services over gRPC server reflection.
func secReflect(conn *grpc.ClientConn) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := reflectionv1.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		return nil, err
	}
	if err := stream.Send(&reflectionv1.ServerReflectionRequest{MessageRequest: &reflectionv1.ServerReflectionRequest_ListServices{ListServices: "*"}}); err != nil {
		_, err = stream.Recv()
		return nil, err
	}
	resp, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	_ = stream.CloseSend()
	var names []string
	for _, sv := range resp.GetListServicesResponse().GetService() {
		names = append(names, sv.GetName())
	}
	return names, nil
}

// TestSecurityPageTokensBoundToCaller: a page token works only for the
// caller it was issued to.
func TestSecurityPageTokensBoundToCaller(t *testing.T) {
	s := startSecStack(t, secOptions{tls: true, jwt: true})
	a := s.client.as(s.signer.token(t, "alice", secRead))
	b := s.client.as(s.signer.token(t, "bob", secRead))
	secBoth(t, func(t *testing.T, tr string) {
		first := a.call(t, tr, secList(1, ""))
		first.wantOK(t)
		page1, next := secListed(first)
		if len(page1) != 1 || next == "" {
			t.Fatalf("first page %v, next %q: want one job and a token", page1, next)
		}
		var r secResult
		s.noUpstream(t, func() { r = b.call(t, tr, secList(1, next)) })
		r.wantField(t, "page_token", "caller_mismatch")
		if r.reason != "INVALID_PAGE_TOKEN" {
			t.Errorf("reason %q, want INVALID_PAGE_TOKEN", r.reason)
		}
		second := a.call(t, tr, secList(1, next))
		second.wantOK(t)
		if page2, _ := secListed(second); len(page2) != 1 || page2[0] == page1[0] {
			t.Fatalf("second page %v after %v", page2, page1)
		}
	})
}

// TestSecurityPolicy: the policy file limits the roles and S3 paths a
// caller's creates may use; jobs carry their owner, and only the owner or
// an admin may change them; the owner tag cannot be set or removed by
// clients.
func TestSecurityPolicy(t *testing.T) {
	const (
		roleA     = "arn:aws:iam::123456789012:role/TeamARole"
		otherRole = "arn:aws:iam::123456789012:role/OtherRole"
		pathA     = "s3://bucket-a/team/exports/"
	)
	policy := fmt.Sprintf("version: 1\ngrants:\n  - name: team-a\n    callers: [%q]\n    role_arns: [%q]\n    s3_prefixes: [\"s3://bucket-a/team/\"]\n",
		secCallerID("alice"), roleA)
	s := startSecStack(t, secOptions{tls: true, jwt: true, policy: policy})
	alice := s.client.as(s.signer.token(t, "alice", secWrite))
	bob := s.client.as(s.signer.token(t, "bob", secWrite))
	admin := s.client.as(s.signer.token(t, "root", secAdmin))
	parent := s.emu.PredictorArns()[0]
	wantOwner := "jwt:" + secIssuer + "=7Calice" // the caller id, '|' escaped for AWS tag values
	changes := []string{secJob.DeleteOp(), emulator.OpStopResource, emulator.OpTagResource, emulator.OpUntagResource}

	// Per transport: j[0] the owner deletes, j[1] the admin stops, j[2]
	// the owner stops, j[3] the admin deletes.
	jobs := map[string][]string{}
	t.Run("create within the grant", func(t *testing.T) {
		secBoth(t, func(t *testing.T, tr string) {
			for i := range 4 {
				r := alice.call(t, tr, secCreate(fmt.Sprintf("policy_%s_%d", tr, i), parent, roleA, pathA, "team", "a"))
				r.wantOK(t)
				arn, _ := r.out[secJob.ArnField].(string)
				jobs[tr] = append(jobs[tr], arn)
			}
			r := alice.call(t, tr, secListTags(jobs[tr][0]))
			r.wantOK(t)
			if tags := secTags(r); tags[secOwnerTag] != wantOwner || tags["team"] != "a" {
				t.Fatalf("tags %v, want %s=%s and the client's", tags, secOwnerTag, wantOwner)
			}
			if j, ok := s.emu.Job(jobs[tr][0]); !ok || j.Tags[secOwnerTag] != wantOwner {
				t.Fatalf("the emulator holds tags %v", j.Tags)
			}
		})
	})
	if t.Failed() {
		t.FailNow()
	}

	t.Run("denied", func(t *testing.T) {
		cases := []struct {
			name   string
			c      *secClient
			role   string
			path   string
			field  string
			policy bool
		}{
			{"another role", alice, otherRole, pathA, "destination.s3_config.role_arn", true},
			{"another bucket", alice, roleA, "s3://bucket-b/team/exports/", "destination.s3_config.path", true},
			{"a path outside the prefix", alice, roleA, "s3://bucket-a/other/", "destination.s3_config.path", true},
			{"a caller without a grant", bob, roleA, pathA, "", true},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				secBoth(t, func(t *testing.T, tr string) {
					var r secResult
					s.noUpstream(t, func() {
						r = tc.c.call(t, tr, secCreate("denied_"+tr, parent, tc.role, tc.path))
					})
					r.want(t, codes.PermissionDenied, http.StatusForbidden, "POLICY_DENIED")
					if got := r.header.Get("WWW-Authenticate"); got != "" {
						t.Errorf("WWW-Authenticate %q on a policy refusal", got)
					}
					if tc.field != "" && r.meta["field"] != tc.field {
						t.Errorf("ErrorInfo field %q, want %q (%v)", r.meta["field"], tc.field, r)
					}
				})
			})
		}
	})

	t.Run("reserved tag keys", func(t *testing.T) {
		secBoth(t, func(t *testing.T, tr string) {
			j := jobs[tr][0]
			cases := []struct {
				op    secOp
				field string
			}{
				{secCreate("reserved_"+tr, parent, roleA, pathA, secOwnerTag, "bob"), "tags[0].key"},
				{secTag(j, secOwnerTag, "bob"), "tags[0].key"},
				{secTag(j, "team", "b", "Forecast-Gateway:Owner", "bob"), "tags[1].key"},
				{secUntag(j, secOwnerTag), "tag_keys[0]"},
			}
			for _, tc := range cases {
				for _, c := range []*secClient{alice, admin} {
					var r secResult
					s.noUpstream(t, func() { r = c.call(t, tr, tc.op) })
					r.wantField(t, tc.field, "reserved")
				}
			}
		})
	})

	notOwner := func(t *testing.T, tr string, c *secClient, op secOp) {
		t.Helper()
		var r secResult
		s.noUpstream(t, func() { r = c.call(t, tr, op) }, changes...)
		r.want(t, codes.PermissionDenied, http.StatusForbidden, "NOT_OWNER")
		if got := r.header.Get("WWW-Authenticate"); got != "" {
			t.Errorf("WWW-Authenticate %q on a refusal that no token can fix", got)
		}
	}
	t.Run("another writer may not change the job", func(t *testing.T) {
		secBoth(t, func(t *testing.T, tr string) {
			j := jobs[tr][0]
			for _, op := range []secOp{secDelete(j), secStop(j), secTag(j, "k", "v"), secUntag(j, "team")} {
				notOwner(t, tr, bob, op)
			}
		})
	})

	t.Run("a job without owner is the admins'", func(t *testing.T) {
		var fixture string // a job made outside the gateway: no owner tag
		for _, j := range s.emu.Jobs(secJob) {
			if _, owned := j.Tags[secOwnerTag]; !owned {
				fixture = j.Arn
				break
			}
		}
		secBoth(t, func(t *testing.T, tr string) {
			for _, c := range []*secClient{alice, bob} {
				notOwner(t, tr, c, secTag(fixture, "k", "v"))
			}
			admin.call(t, tr, secTag(fixture, "k", tr)).wantOK(t)
		})
	})

	t.Run("admin and owner may", func(t *testing.T) {
		secBoth(t, func(t *testing.T, tr string) {
			j := jobs[tr]
			for _, c := range []*secClient{admin, alice} {
				c.call(t, tr, secTag(j[0], "stage", "test")).wantOK(t)
				c.call(t, tr, secUntag(j[0], "stage")).wantOK(t)
			}
			admin.call(t, tr, secStop(j[1])).wantOK(t)
			alice.call(t, tr, secStop(j[2])).wantOK(t)
			for _, arn := range j[1:3] {
				if job, _ := s.emu.Job(arn); job.Status != "CREATE_STOPPING" {
					t.Errorf("%s is %s after Stop", arn, job.Status)
				}
			}
			r := bob.call(t, tr, secListTags(j[0]))
			r.wantOK(t)
			if tags := secTags(r); tags[secOwnerTag] != wantOwner || tags["stage"] != "" {
				t.Errorf("tags after the admin's and owner's changes: %v", tags)
			}
		})
	})

	// Delete needs ACTIVE: let the jobs finish.
	s.clock.Advance(2 * s.emu.Options().JobDuration)
	t.Run("delete", func(t *testing.T) {
		secBoth(t, func(t *testing.T, tr string) {
			j := jobs[tr]
			for _, arn := range []string{j[0], j[3]} {
				if job, _ := s.emu.Job(arn); job.Status != "ACTIVE" {
					t.Fatalf("%s is %s, want ACTIVE", arn, job.Status)
				}
			}
			notOwner(t, tr, bob, secDelete(j[3]))
			alice.call(t, tr, secDelete(j[0])).wantOK(t)
			admin.call(t, tr, secDelete(j[3])).wantOK(t)
			for _, arn := range []string{j[0], j[3]} {
				if job, _ := s.emu.Job(arn); job.Status != "DELETE_PENDING" {
					t.Errorf("%s is %s after Delete", arn, job.Status)
				}
			}
		})
	})
}

// TestSecurityRateLimits: per-caller, per-class budgets refuse calls
// before they reach AWS, with RESOURCE_EXHAUSTED / 429 and when to retry.
func TestSecurityRateLimits(t *testing.T) {
	limits := &ratelimit.Config{Limits: map[ratelimit.Class]ratelimit.Limit{
		ratelimit.Read:   {Rate: 0.2, Burst: 2},
		ratelimit.Create: {Rate: 50, Burst: 50, Concurrency: 1},
	}}
	s := startSecStack(t, secOptions{tls: true, jwt: true, cfg: gateway.Config{Security: gateway.Security{RateLimits: limits}}})
	arn := s.emu.Jobs(secJob)[0].Arn
	parent := s.emu.PredictorArns()[0]
	createOp := secJob.CreateOp()

	secBoth(t, func(t *testing.T, tr string) {
		a := s.client.as(s.signer.token(t, "rl-a-"+tr, secWrite))
		b := s.client.as(s.signer.token(t, "rl-b-"+tr, secRead))
		c := s.client.as(s.signer.token(t, "rl-c-"+tr, secRead))

		t.Run("read burst", func(t *testing.T) {
			a.call(t, tr, secDescribe(arn)).wantOK(t)
			a.call(t, tr, secDescribe(arn)).wantOK(t)
			var r secResult
			s.noUpstream(t, func() { r = a.call(t, tr, secDescribe(arn)) })
			r.want(t, codes.ResourceExhausted, http.StatusTooManyRequests, "RATE_LIMITED")
			if r.meta["class"] != "read" || r.meta["limit"] != "rate" {
				t.Errorf("ErrorInfo metadata %v", r.meta)
			}
			if r.retry <= 0 || r.retry > 6*time.Second {
				t.Errorf("RetryInfo %v, want about 5s (rate 0.2/s)", r.retry)
			}
			if tr == "rest" {
				ra, err := strconv.Atoi(r.header.Get("Retry-After"))
				if want := int(math.Ceil(r.retry.Seconds())); err != nil || ra != max(want, 1) {
					t.Errorf("Retry-After %q, want %d", r.header.Get("Retry-After"), want)
				}
			}
		})

		t.Run("per caller", func(t *testing.T) {
			b.call(t, tr, secDescribe(arn)).wantOK(t)
		})

		t.Run("page never admissible", func(t *testing.T) {
			var r secResult
			s.noUpstream(t, func() { r = c.call(t, tr, secList(1000, "")) })
			r.wantField(t, "page_size", "rate_limit_burst")
			// Refusing it spent nothing.
			c.call(t, tr, secList(200, "")).wantOK(t)
		})

		t.Run("create class", func(t *testing.T) {
			// a has spent its read budget; creates have their own, with one
			// create in flight at a time. The first create hangs upstream
			// until the test cancels it.
			before := s.emu.CallCount(createOp)
			s.emu.InjectFault(createOp, emulator.Fault{Kind: emulator.FaultLatency, Latency: time.Minute, Count: 1})
			hang, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan struct{})
			go func() {
				defer close(done)
				// Its outcome is a cancellation (over REST an error of
				// net/http), not an answer to check.
				_ = a.within(hang).transportError(t, tr, secCreate("rl_hung_"+tr, parent, secRole, "s3://bucket/exports/rl/"))
			}()
			eventually(t, 10*time.Second, "the first create never reached the emulator", func() bool {
				return s.emu.CallCount(createOp) == before+1
			})
			var r secResult
			s.noUpstream(t, func() {
				r = a.call(t, tr, secCreate("rl_second_"+tr, parent, secRole, "s3://bucket/exports/rl/"))
			}, createOp)
			r.want(t, codes.ResourceExhausted, http.StatusTooManyRequests, "RATE_LIMITED")
			if r.meta["class"] != "create" || r.meta["limit"] != "concurrency" {
				t.Errorf("ErrorInfo metadata %v, want class create, limit concurrency", r.meta)
			}
			// Another caller has its own slot.
			b2 := s.client.as(s.signer.token(t, "rl-d-"+tr, secWrite))
			b2.call(t, tr, secCreate("rl_other_"+tr, parent, secRole, "s3://bucket/exports/rl/")).wantOK(t)
			canceled := s.emu.CanceledCount(createOp)
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the cancelled create did not end")
			}
			// The cancellation reached the upstream call.
			eventually(t, 10*time.Second, "the emulator never saw the create cancelled", func() bool {
				return s.emu.CanceledCount(createOp) == canceled+1
			})
			// The slot is free again once the cancelled call has ended in
			// the gateway; refused attempts cost nothing.
			var third secResult
			eventually(t, 10*time.Second, "a's create slot was never freed", func() bool {
				third = a.call(t, tr, secCreate("rl_third_"+tr, parent, secRole, "s3://bucket/exports/rl/"))
				return third.code != codes.ResourceExhausted
			})
			third.wantOK(t)
		})
	})
}

// TestSecurityUpstreamTimeout: a client that sends no deadline still gets
// an answer when AWS hangs: Upstream.CallTimeout bounds every call.
func TestSecurityUpstreamTimeout(t *testing.T) {
	s := startSecStack(t, secOptions{cfg: gateway.Config{Upstream: gateway.Upstream{CallTimeout: 300 * time.Millisecond}}})
	s.emu.InjectFault(secJob.ListOp(), emulator.Fault{Kind: emulator.FaultLatency, Latency: 30 * time.Second})
	t.Cleanup(s.emu.ClearFaults)
	secBoth(t, func(t *testing.T, tr string) {
		r := s.client.call(t, tr, secList(1, ""))
		r.want(t, codes.DeadlineExceeded, http.StatusGatewayTimeout, "DEADLINE_EXCEEDED")
		if r.elapsed > 5*time.Second {
			t.Errorf("answered after %v; the call timeout is 300ms", r.elapsed)
		}
	})
}

// TestSecurityHealthSplit: when AWS refuses the gateway's own credentials
// the service's health goes NOT_SERVING while the process' ("") stays
// SERVING, and it comes back when the credentials work again.
func TestSecurityHealthSplit(t *testing.T) {
	good := []emulator.Credential{{AccessKeyID: "EMULATOR", SecretAccessKey: "EMULATOR"}} // the gateway's keys in emulator mode
	s := startSecStack(t, secOptions{emu: emulator.Options{Credentials: good}, cfg: gateway.Config{HealthInterval: 100 * time.Millisecond}})
	hc := healthpb.NewHealthClient(s.client.conn)
	check := func(svc string) healthpb.HealthCheckResponse_ServingStatus {
		resp, err := hc.Check(secWatchdog(t), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			t.Fatalf("health %q: %v", svc, err)
		}
		return resp.GetStatus()
	}
	wait := func(want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		eventually(t, 10*time.Second, "service health never became "+want.String(), func() bool { return check(secServiceID) == want })
		if got := check(""); got != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("overall health %v while the service is %v", got, want)
		}
	}
	wait(healthpb.HealthCheckResponse_SERVING)
	for _, tc := range []struct {
		name  string
		creds []emulator.Credential
	}{
		{"access denied", []emulator.Credential{{AccessKeyID: "EMULATOR", SecretAccessKey: "EMULATOR", Deny: []string{"*"}}}},
		{"unknown key", []emulator.Credential{{AccessKeyID: "AKIDOTHER", SecretAccessKey: "other"}}},
		{"expired", []emulator.Credential{{AccessKeyID: "EMULATOR", SecretAccessKey: "EMULATOR", Expires: time.Now().Add(-time.Minute)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.emu.SetCredentials(tc.creds)
			wait(healthpb.HealthCheckResponse_NOT_SERVING)
			s.emu.SetCredentials(good)
			wait(healthpb.HealthCheckResponse_SERVING)
		})
	}
}

// secAWSEnv gives the AWS SDK these static credentials and nothing else
// to find.
func secAWSEnv(t *testing.T, key, secret string) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": "",
		"AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "",
		"AWS_CA_BUNDLE": "", "AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_FORECAST": "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "",
	} {
		t.Setenv(k, v)
	}
}

// secStartDirect starts a gateway with cfg (loopback port 0, a discarding
// logger, no rate limits when unset) and returns it and Start's error.
func secStartDirect(t *testing.T, cfg gateway.Config) (*gateway.Gateway, error) {
	t.Helper()
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = "127.0.0.1:0"
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = "127.0.0.1:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Security.RateLimits == nil {
		cfg.Security.RateLimits = gateway.NoRateLimits
	}
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = time.Hour
	}
	return gateway.Start(context.Background(), cfg)
}

// secServes checks a started gateway answers health (overall SERVING, the
// service's as given), then shuts it down.
func secServes(t *testing.T, g *gateway.Gateway, service healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := g.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}()
	_, port, _ := net.SplitHostPort(g.GRPCAddr())
	conn, err := grpc.NewClient("127.0.0.1:"+port, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	for svc, want := range map[string]healthpb.HealthCheckResponse_ServingStatus{"": healthpb.HealthCheckResponse_SERVING, secServiceID: service} {
		resp, err := hc.Check(secWatchdog(t), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != want {
			t.Errorf("health %q: %v %v, want %v", svc, resp, err, want)
		}
	}
}

// secJWTSecurity is a JWT configuration with a JWK Set file in dir.
func secJWTSecurity(t *testing.T) gateway.Security {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jwks.json")
	secWriteFile(t, path, newSecSigner(t).jwks)
	return gateway.Security{JWKSFile: path, JWTIssuer: secIssuer, JWTAudience: secAudience}
}

// TestSecurityStartupCheck: in AWS mode Start makes one call with the
// gateway's credentials and refuses to start, saying why, when they cannot
// work; and an exposed AWS-mode gateway needs page-token keys.
func TestSecurityStartupCheck(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() { testenv.CheckGoroutines(t, before) })
	emu := emulator.New(emulator.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Credentials: []emulator.Credential{
		{AccessKeyID: "AKIDGOOD", SecretAccessKey: "good-secret"},
		{AccessKeyID: "AKIDEXPIRED", SecretAccessKey: "expired-secret", Expires: time.Now().Add(-time.Hour)},
		{AccessKeyID: "AKIDDENIED", SecretAccessKey: "denied-secret", Deny: []string{"*"}},
	}})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	region := emu.Options().Region
	// An address nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	_ = l.Close()

	cases := []struct {
		name, key, secret, endpoint string
		skip                        bool
		want                        string // "" starts
	}{
		{"working credentials", "AKIDGOOD", "good-secret", emu.URL(), false, ""},
		{"unknown key", "AKIDUNKNOWN", "whatever", emu.URL(), false, "does not recognise the credentials"},
		{"wrong secret", "AKIDGOOD", "not-the-secret", emu.URL(), false, "does not recognise the credentials"},
		{"expired", "AKIDEXPIRED", "expired-secret", emu.URL(), false, "expired"},
		{"denied", "AKIDDENIED", "denied-secret", emu.URL(), false, "not allowed"},
		{"unreachable", "AKIDGOOD", "good-secret", closed, false, "unreachable"},
		{"skipped", "AKIDUNKNOWN", "whatever", emu.URL(), true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			secAWSEnv(t, tc.key, tc.secret)
			g, err := secStartDirect(t, gateway.Config{Upstream: gateway.Upstream{Kind: gateway.UpstreamAWS, EndpointURL: tc.endpoint,
				Region: region, SkipStartupCheck: tc.skip}})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Start: %v", err)
				}
				// Started without a check, the service is NOT_SERVING while
				// AWS refuses the credentials.
				want := healthpb.HealthCheckResponse_SERVING
				if tc.skip {
					want = healthpb.HealthCheckResponse_NOT_SERVING
				}
				secServes(t, g, want)
				return
			}
			if err == nil {
				secServes(t, g, healthpb.HealthCheckResponse_SERVING)
				t.Fatalf("Start succeeded, want an error saying %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--skip-startup-check") {
				t.Fatalf("Start: %v\nwant it to say %q and name --skip-startup-check", err, tc.want)
			}
			if strings.Contains(err.Error(), tc.secret) {
				t.Errorf("the error quotes the secret key")
			}
		})
	}

	t.Run("exposed without page-token keys", func(t *testing.T) {
		secAWSEnv(t, "AKIDGOOD", "good-secret")
		cfg := gateway.Config{GRPCAddr: "0.0.0.0:0", Upstream: gateway.Upstream{Kind: gateway.UpstreamAWS, EndpointURL: emu.URL(), Region: region},
			Security: secJWTSecurity(t)}
		g, err := secStartDirect(t, cfg)
		if err == nil {
			secServes(t, g, healthpb.HealthCheckResponse_SERVING)
			t.Fatal("Start succeeded without page-token keys on 0.0.0.0")
		}
		if !strings.Contains(err.Error(), "--page-token-keys-file") {
			t.Fatalf("Start: %v\nwant it to name --page-token-keys-file", err)
		}
		cfg.Security.EphemeralPageTokenKeys = true
		g, err = secStartDirect(t, cfg)
		if err != nil {
			t.Fatalf("Start with EphemeralPageTokenKeys: %v", err)
		}
		secServes(t, g, healthpb.HealthCheckResponse_SERVING)
	})
}

// TestSecuritySafeByDefault: a non-loopback listener needs authentication
// or an explicit AllowUnauthenticated.
func TestSecuritySafeByDefault(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() { testenv.CheckGoroutines(t, before) })
	emu := emulator.New(emulator.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	base := gateway.Config{GRPCAddr: "0.0.0.0:0", HTTPAddr: "0.0.0.0:0",
		Upstream: gateway.Upstream{Kind: gateway.UpstreamEmulator, EndpointURL: emu.URL(), Region: emu.Options().Region}}

	g, err := secStartDirect(t, base)
	if err == nil {
		secServes(t, g, healthpb.HealthCheckResponse_SERVING)
		t.Fatal("Start served 0.0.0.0 without authentication")
	}
	for _, want := range []string{"not a loopback address", "--jwks-file", "--client-ca-file", "--allow-unauthenticated"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Start: %v\nwant it to say %q", err, want)
		}
	}
	if n := emu.CallCount(""); n != 0 {
		t.Errorf("a refused configuration made %d upstream calls", n)
	}

	t.Run("AllowUnauthenticated", func(t *testing.T) {
		cfg := base
		cfg.Security.AllowUnauthenticated = true
		g, err := secStartDirect(t, cfg)
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		secServes(t, g, healthpb.HealthCheckResponse_SERVING)
	})
	t.Run("with authentication", func(t *testing.T) {
		cfg := base
		cfg.Security = secJWTSecurity(t)
		g, err := secStartDirect(t, cfg)
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		secServes(t, g, healthpb.HealthCheckResponse_SERVING)
	})
}

// TestSecurityAuditLog: writes, refusals and rate-limited calls each leave
// an audit line saying who did what with which outcome under which request
// id, and nothing in the whole log reveals a token or a key.
func TestSecurityAuditLog(t *testing.T) {
	logs := &jsonLog{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	limits := &ratelimit.Config{Limits: map[ratelimit.Class]ratelimit.Limit{ratelimit.Read: {Rate: 0.1, Burst: 1}}}
	s := startSecStack(t, secOptions{tls: true, jwt: true, cfg: gateway.Config{Logger: logger, Security: gateway.Security{RateLimits: limits}}})
	arn := s.emu.Jobs(secJob)[0].Arn
	parent := s.emu.PredictorArns()[0]

	type want struct{ id, method, outcome, caller string }
	var wants []want
	var tokens []string
	secBoth(t, func(t *testing.T, tr string) {
		sub := "auditor-" + tr
		tok := s.signer.token(t, sub, secWrite)
		bad := newSecSigner(t).token(t, sub, secWrite)
		tokens = append(tokens, tok, bad)
		c := s.client.as(tok)

		id := "audit-create-" + tr
		c.call(t, tr, secCreate("audit_"+tr, parent, secRole, "s3://bucket/exports/audit/").with("X-Request-Id", id)).wantOK(t)
		wants = append(wants, want{id, secJob.CreateOp(), "OK", secCallerID(sub)})

		refused := func(c *secClient, id string, code codes.Code, httpStatus int, reason string) {
			t.Helper()
			var r secResult
			s.noUpstream(t, func() { r = c.call(t, tr, secDescribe(arn).with("X-Request-Id", id)) })
			r.want(t, code, httpStatus, reason)
		}
		id = "audit-anonymous-" + tr
		refused(s.client, id, codes.Unauthenticated, http.StatusUnauthorized, "UNAUTHENTICATED")
		wants = append(wants, want{id, secJob.DescribeOp(), "Unauthenticated", "anonymous"})

		id = "audit-bad-token-" + tr
		refused(s.client.as(bad), id, codes.Unauthenticated, http.StatusUnauthorized, "INVALID_TOKEN")
		wants = append(wants, want{id, secJob.DescribeOp(), "Unauthenticated", "anonymous"})

		c.call(t, tr, secDescribe(arn)).wantOK(t)
		id = "audit-limited-" + tr
		refused(c, id, codes.ResourceExhausted, http.StatusTooManyRequests, "RATE_LIMITED")
		wants = append(wants, want{id, secJob.DescribeOp(), "ResourceExhausted", secCallerID(sub)})
	})

	records := logs.records(t)
	for _, w := range wants {
		found := false
		for _, r := range records {
			if r["msg"] == "audit" && r["request_id"] == w.id {
				found = true
				if r["method"] != w.method || r["outcome"] != w.outcome || r["caller"] != w.caller {
					t.Errorf("audit line %v, want method %s, outcome %s, caller %s", r, w.method, w.outcome, w.caller)
				}
			}
		}
		if !found {
			t.Errorf("no audit line with request_id %s", w.id)
		}
	}

	secrets := s.signer.secrets(t)
	for _, tok := range tokens {
		parts := strings.Split(tok, ".")
		secrets = append(secrets, tok, parts[2], parts[1]+"."+parts[2])
	}
	for i, line := range logs.lines() {
		for _, sec := range secrets {
			if strings.Contains(line, sec) {
				t.Errorf("log line %d contains a secret (%.12s...): %s", i, sec, line)
			}
		}
		if strings.Contains(strings.ToLower(line), "bearer ey") {
			t.Errorf("log line %d contains a bearer token: %s", i, line)
		}
	}
	t.Logf("%d log lines, %d audit lines checked", len(records), len(wants))
}

// TestSecurityRequestID: every answer carries the request id, the
// client's when it is a valid one, else a new one.
func TestSecurityRequestID(t *testing.T) {
	s := startSecStack(t, secOptions{tls: true, jwt: true})
	c := s.client.as(s.signer.token(t, "rid", secRead))
	list := secList(1, "")
	secBoth(t, func(t *testing.T, tr string) {
		r := c.call(t, tr, list.with("X-Request-Id", "client-id_1.2:3"))
		r.wantOK(t)
		if got := r.header.Get("X-Request-Id"); got != "client-id_1.2:3" {
			t.Errorf("valid client id: x-request-id %q", got)
		}
		for _, sent := range []string{"a b", strings.Repeat("x", 129), ""} {
			op := list
			if sent != "" {
				op = list.with("X-Request-Id", sent)
			}
			r := c.call(t, tr, op)
			r.wantOK(t)
			if got := r.header.Get("X-Request-Id"); !secHexID.MatchString(got) {
				t.Errorf("sent %q: x-request-id %q, want a new 32-hex id", sent, got)
			}
		}
		var refused secResult
		s.noUpstream(t, func() { refused = s.client.call(t, tr, list.with("X-Request-Id", "refused-1")) })
		refused.want(t, codes.Unauthenticated, http.StatusUnauthorized, "UNAUTHENTICATED")
		if got := refused.header.Get("X-Request-Id"); got != "refused-1" {
			t.Errorf("refused call: x-request-id %q, want refused-1", got)
		}
	})
}

// TestSecurityRESTEdge: the REST listener refuses foreign Host headers
// (DNS rebinding) and state-changing requests from foreign pages, before
// any upstream call; allowed CORS origins pass.
func TestSecurityRESTEdge(t *testing.T) {
	s := startSecStack(t, secOptions{tls: true, jwt: true, cfg: gateway.Config{Security: gateway.Security{CORSAllowedOrigins: []string{"https://app.forecast.test"}}}})
	c := s.client.as(s.signer.token(t, "browser", secWrite))
	parent := s.emu.PredictorArns()[0]
	create := func(name string) secOp { return secCreate(name, parent, secRole, "s3://bucket/exports/edge/") }

	var r secResult
	s.noUpstream(t, func() { r = c.call(t, "rest", secList(1, "").with("Host", "evil.example")) })
	r.want(t, codes.InvalidArgument, http.StatusMisdirectedRequest, "HOST_NOT_ALLOWED")

	s.noUpstream(t, func() { r = c.call(t, "rest", create("edge_foreign").with("Origin", "https://evil.example")) })
	r.want(t, codes.PermissionDenied, http.StatusForbidden, "ORIGIN_NOT_ALLOWED")

	r = c.call(t, "rest", create("edge_allowed").with("Origin", "https://app.forecast.test"))
	r.wantOK(t)
	if got := r.header.Get("Access-Control-Allow-Origin"); got != "https://app.forecast.test" {
		t.Errorf("Access-Control-Allow-Origin %q", got)
	}
}

// TestSecurityRESTMetadataHeaders: a REST client cannot smuggle gRPC
// metadata with Grpc-Metadata-* headers; a valid token sent that way, and
// not as Authorization, authenticates nobody.
func TestSecurityRESTMetadataHeaders(t *testing.T) {
	s := startSecStack(t, secOptions{tls: true, jwt: true})
	token := s.signer.token(t, "smuggler", secWrite)
	var r secResult
	s.noUpstream(t, func() {
		r = s.client.call(t, "rest", secList(1, "").with("Grpc-Metadata-Authorization", "Bearer "+token))
	})
	r.want(t, codes.Unauthenticated, http.StatusUnauthorized, "UNAUTHENTICATED")
	// The same token as Authorization works: the refusal was the header.
	s.client.as(token).call(t, "rest", secList(1, "")).wantOK(t)
}
