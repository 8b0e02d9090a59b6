package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/forecastgw/forecast-gateway/internal/auth"
	"github.com/forecastgw/forecast-gateway/internal/policy"
	"github.com/forecastgw/forecast-gateway/internal/ratelimit"
	"github.com/forecastgw/forecast-gateway/internal/tlsconf"
	"github.com/forecastgw/forecast-gateway/internal/transport"
)

// Security configures who may call the gateway, over what, and how much.
// The zero value is right for loopback development only: no TLS, no
// authentication, default rate limits; Start refuses it on a non-loopback
// listener unless AllowUnauthenticated is set.
type Security struct {
	// TLS on both listeners; the files are re-read when they change.
	TLSCertFile, TLSKeyFile string
	// ClientCAFile requires client certificates signed by these CAs (mTLS).
	ClientCAFile string
	// AuthzFile maps client-certificate identities to scopes and groups.
	AuthzFile string

	// JWT bearer tokens: a JWK Set from a file (re-read on change) or a
	// URL (cached, refreshed), and the issuer and audience every token
	// must name.
	JWKSFile, JWKSURL      string
	JWTIssuer, JWTAudience string
	JWTLeeway              time.Duration // exp/nbf leeway; default 30s
	JWKSHTTPTimeout        time.Duration // one JWKSURL fetch; default 10s
	JWKSRefreshInterval    time.Duration // default: 1h for a URL, 2s for a file

	// AllowUnauthenticated serves non-loopback listeners without
	// authentication (something in front of the gateway authenticates).
	AllowUnauthenticated bool
	// DisableReflection turns gRPC server reflection off.
	DisableReflection bool
	// PolicyFile: see internal/policy. "": the policy rules are off.
	PolicyFile string
	// RateLimits: nil is DefaultRateLimits; a Config without Limits (see
	// NoRateLimits) turns them off.
	RateLimits *ratelimit.Config
	// AllowedHosts and CORSAllowedOrigins: see transport.Browser.
	AllowedHosts       []string
	CORSAllowedOrigins []string
	// EphemeralPageTokenKeys lets AWS mode on a non-loopback listener run
	// without page-token keys (tokens then die with the process).
	EphemeralPageTokenKeys bool
	// AuditLogger receives the audit lines; default: the gateway's logger.
	AuditLogger *slog.Logger
}

// DefaultRateLimits are per caller and per replica. A List with page_size
// 1000 costs 10 (its upstream calls), so the read burst leaves room for
// it. Forecast's own quotas on create jobs in progress are small, hence
// the separate, tight create class.
var DefaultRateLimits = ratelimit.Config{Limits: map[ratelimit.Class]ratelimit.Limit{
	ratelimit.Read:   {Rate: 20, Burst: 40, Concurrency: 16},
	ratelimit.Write:  {Rate: 5, Burst: 10, Concurrency: 4},
	ratelimit.Create: {Rate: 1, Burst: 3, Concurrency: 2},
}}

// NoRateLimits turns rate limits off (benchmarks, tests).
var NoRateLimits = &ratelimit.Config{}

// security is Security, built: what the transport enforces, and what
// must be closed at shutdown.
type security struct {
	transport transport.Security
	browser   transport.Browser
	tls       *tls.Config
	policy    *policy.File // nil: policy rules off
	jwt       *auth.JWTVerifier
}

func (s *security) close() {
	if s.policy != nil {
		s.policy.Close()
	}
	if s.jwt != nil {
		s.jwt.Close()
	}
}

// buildSecurity checks the configuration as a whole (a combination that
// would silently not protect is an error saying what to set), then loads
// the files. On error nothing is left running.
func buildSecurity(ctx context.Context, c Security, listeners []string, aws bool, tokensConfigured bool, log *slog.Logger) (_ *security, err error) {
	jwtOn := c.JWKSFile != "" || c.JWKSURL != ""
	var problems []string
	switch {
	case (c.TLSCertFile == "") != (c.TLSKeyFile == ""):
		problems = append(problems, "TLS needs both --tls-cert-file and --tls-key-file")
	case c.ClientCAFile != "" && c.TLSCertFile == "":
		problems = append(problems, "--client-ca-file (mTLS) needs TLS: set --tls-cert-file and --tls-key-file")
	}
	if c.AuthzFile != "" && c.ClientCAFile == "" {
		problems = append(problems, "--authz-file maps client-certificate identities, so it needs --client-ca-file")
	}
	if c.ClientCAFile != "" && c.AuthzFile == "" && !jwtOn {
		problems = append(problems, "--client-ca-file verifies certificates but grants nothing without --authz-file (or JWTs: --jwks-file/--jwks-url)")
	}
	if jwtOn && (c.JWTIssuer == "" || c.JWTAudience == "") {
		problems = append(problems, "JWT verification needs --jwt-issuer and --jwt-audience")
	}
	authOn := jwtOn || c.AuthzFile != ""
	exposed := ""
	for _, l := range listeners {
		if !transport.IsLoopbackListen(l) {
			exposed = l
			break
		}
	}
	if exposed != "" && !authOn && !c.AllowUnauthenticated {
		problems = append(problems, fmt.Sprintf("%s is not a loopback address and no authentication is configured: anyone who can reach it could create jobs with the gateway's AWS identity. "+
			"Configure --jwks-file or --jwks-url (with --jwt-issuer, --jwt-audience), or --client-ca-file with --authz-file; or pass --allow-unauthenticated if something in front authenticates", exposed))
	}
	if exposed != "" && aws && !tokensConfigured && !c.EphemeralPageTokenKeys {
		problems = append(problems, fmt.Sprintf("%s is not a loopback address and no page-token keys are configured: replicas and restarts would refuse each other's page tokens. "+
			"Set --page-token-keys-file or $%s, or pass --ephemeral-page-token-keys", exposed, PageTokenKeysEnv))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("gateway: insecure or incomplete configuration:\n  - %s", strings.Join(problems, "\n  - "))
	}
	if exposed != "" && !authOn {
		log.Warn("serving a non-loopback listener WITHOUT authentication (--allow-unauthenticated)", "listener", exposed)
	}

	s := &security{browser: transport.Browser{AllowedHosts: c.AllowedHosts, CORSAllowedOrigins: c.CORSAllowedOrigins}}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if c.TLSCertFile != "" {
		r, err := tlsconf.New(tlsconf.Config{CertFile: c.TLSCertFile, KeyFile: c.TLSKeyFile, ClientCAFile: c.ClientCAFile, Logger: log})
		if err != nil {
			return nil, err
		}
		s.tls = r.ServerConfig()
	}
	a := &authenticator{}
	if jwtOn {
		jc := auth.JWTConfig{JWKSFile: c.JWKSFile, JWKSURL: c.JWKSURL, Issuer: c.JWTIssuer, Audience: c.JWTAudience,
			Leeway: c.JWTLeeway, RefreshInterval: c.JWKSRefreshInterval, Logger: log}
		if c.JWKSHTTPTimeout > 0 {
			jc.HTTPClient = newJWKSClient(c.JWKSHTTPTimeout)
		}
		if s.jwt, err = auth.NewJWTVerifier(ctx, jc); err != nil {
			return nil, err
		}
		a.jwt = s.jwt
	}
	if c.AuthzFile != "" {
		if a.authz, err = auth.LoadAuthzFile(c.AuthzFile, log); err != nil {
			return nil, err
		}
	}
	if authOn {
		s.transport.Authenticator = a
	}
	limits := DefaultRateLimits
	if c.RateLimits != nil {
		limits = *c.RateLimits
	}
	if len(limits.Limits) > 0 {
		if s.transport.Limiter, err = ratelimit.New(limits); err != nil {
			return nil, err
		}
	}
	s.transport.Audit = c.AuditLogger
	if c.PolicyFile != "" {
		if s.policy, err = policy.NewFile(policy.FileOptions{Path: c.PolicyFile, Logger: log}); err != nil {
			return nil, err
		}
		log.Info("policy file loaded: creates may use only the roles, S3 paths and KMS keys it grants; only owners and forecast.admin may change jobs", "path", c.PolicyFile)
	} else {
		log.Warn("no policy file: creates may name any IAM role, S3 path and KMS key the gateway's AWS identity can use, and any caller with forecast.write may change any job",
			"fix", "--policy-file")
	}
	return s, nil
}

// authenticator is the gateway's transport.Authenticator: a bearer token
// when one is sent (it names a person or service more precisely than the
// connection does), else the client certificate.
type authenticator struct {
	jwt   *auth.JWTVerifier // nil: bearer tokens refused
	authz *auth.AuthzFile   // nil: certificates identify nobody
}

func (a *authenticator) Authenticate(_ context.Context, authorization []string, cs *tls.ConnectionState) (*auth.Caller, error) {
	switch len(authorization) {
	case 0:
	case 1:
		token, err := auth.ParseBearer(authorization[0])
		if errors.Is(err, auth.ErrNoCredentials) {
			break
		}
		if err != nil {
			return nil, err
		}
		if a.jwt == nil {
			return nil, &auth.CredentialError{Reason: "bearer tokens are not accepted here; authenticate with a client certificate"}
		}
		return a.jwt.Verify(token)
	default:
		return nil, &auth.CredentialError{Reason: "more than one authorization value"}
	}
	if a.authz != nil {
		return a.authz.CallerFromTLS(cs)
	}
	return nil, auth.ErrNoCredentials
}

func newJWKSClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout}
}
