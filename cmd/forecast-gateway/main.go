// Command forecast-gateway serves the Forecast job API over gRPC and
// REST/JSON in front of Amazon Forecast, or in front of the embedded
// emulator (the default, for local use and demos).
//
// main only parses and checks flags; internal/gateway assembles and runs
// the gateway.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/forecastgw/forecast-gateway/emulator"
	"github.com/forecastgw/forecast-gateway/internal/gateway"
	"github.com/forecastgw/forecast-gateway/internal/pagetoken"
	"github.com/forecastgw/forecast-gateway/internal/ratelimit"
	"github.com/forecastgw/forecast-gateway/internal/upstream"
	"github.com/forecastgw/forecast-gateway/internal/version"
	"github.com/forecastgw/forecast-gateway/server"
)

type flags struct {
	cfg          gateway.Config
	drainTimeout time.Duration
	logLevel     slog.Level
	logFormat    string // json or text
	version      bool
}

// EnvPrefix prefixes the environment variable of every flag:
// --grpc-addr is FORECAST_GATEWAY_GRPC_ADDR. A flag on the command line wins.
const EnvPrefix = "FORECAST_GATEWAY_"

// listFlag is a comma-separated list flag.
type listFlag struct{ v *[]string }

func (l listFlag) String() string {
	if l.v == nil {
		return ""
	}
	return strings.Join(*l.v, ",")
}

func (l listFlag) Set(s string) error {
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item == "" {
			return fmt.Errorf("empty item in %q", s)
		}
		*l.v = append(*l.v, item)
	}
	return nil
}

// limitFlag is a rate limit flag (ratelimit.ParseLimit).
type limitFlag struct{ l *ratelimit.Limit }

func (f limitFlag) String() string {
	if f.l == nil {
		return ""
	}
	return f.l.String()
}

func (f limitFlag) Set(s string) error {
	l, err := ratelimit.ParseLimit(s)
	if err == nil {
		*f.l = l
	}
	return err
}

// parseFlags reads the command line, then environ (KEY=value pairs, as
// os.Environ) for the flags the command line did not set.
func parseFlags(args, environ []string) (flags, error) {
	var f flags
	c := &f.cfg
	u := &c.Upstream
	fs := flag.NewFlagSet("forecast-gateway", flag.ContinueOnError)
	fs.StringVar(&c.GRPCAddr, "grpc-addr", "127.0.0.1:9090", "gRPC listen address")
	fs.StringVar(&c.HTTPAddr, "http-addr", "127.0.0.1:8080", "REST/JSON listen address")
	fs.StringVar(&u.Kind, "upstream", gateway.UpstreamEmulator, "upstream: emulator (the Forecast emulator) or aws")
	fs.StringVar(&u.Region, "region", "", "AWS region (default: us-east-1 for the emulator, the AWS configuration chain for aws)")
	fs.StringVar(&u.EndpointURL, "endpoint-url", "", "with --upstream=emulator: the URL of an emulator started elsewhere (cmd/forecast-emulator; no embedded one is started); with --upstream=aws: an override of the Forecast endpoint")
	fs.StringVar(&u.EmulatorAddr, "emulator-addr", "127.0.0.1:0", "listen address of the embedded emulator")
	fs.DurationVar(&u.Emulator.Latency, "emulator-latency", 0, "latency the embedded emulator adds to every call, to make it feel remote (demos, drain and load tests)")
	fs.DurationVar(&u.Emulator.JobDuration, "emulator-job-duration", emulator.DefaultJobDuration, "how long a job of the embedded emulator takes from CREATE_PENDING to ACTIVE")
	fs.IntVar(&u.RetryMaxAttempts, "retry-max-attempts", 3, "AWS SDK attempts per upstream call, throttling retries included")
	fs.StringVar(&c.PageTokens.KeysFile, "page-token-keys-file", "", "file with page-token keys, newest first, one per line (base64 or hex, 32 bytes); re-read when it changes (rotation: add the new key first); or the keys' text in $"+gateway.PageTokenKeysEnv)
	fs.DurationVar(&c.PageTokens.TTL, "page-token-ttl", pagetoken.DefaultTTL, "lifetime of page tokens (at most 24h, AWS's NextToken lifetime)")
	fs.DurationVar(&c.HealthInterval, "health-interval", 10*time.Second, "how often the upstream is probed for grpc.health.v1")
	fs.DurationVar(&f.drainTimeout, "drain-timeout", 20*time.Second, "on SIGTERM, after --shutdown-delay: how long in-flight calls may take to finish")
	fs.TextVar(&f.logLevel, "log-level", slog.LevelInfo, "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "", "json or text (default: json, or text when stderr is a terminal)")
	fs.BoolVar(&f.version, "version", false, "print the version, commit and Go version, and exit")
	fs.StringVar(&c.AdminAddr, "admin-addr", "127.0.0.1:9091", "admin listener (plain HTTP): /healthz, /readyz, /metrics, and /debug/pprof/ with --pprof; \"\" for none")
	fs.BoolVar(&c.Pprof, "pprof", false, "serve /debug/pprof/ on the admin listener")
	fs.DurationVar(&c.Watch.MinInterval, "watch-min-interval", time.Second, "watched jobs: poll interval right after a change")
	fs.DurationVar(&c.Watch.MaxInterval, "watch-max-interval", 30*time.Second, "watched jobs: the longest poll interval while nothing changes")
	fs.DurationVar(&c.Watch.Heartbeat, "watch-heartbeat", 15*time.Second, "WatchJob: a heartbeat after this long without a change, so proxies keep streams open")
	fs.IntVar(&c.Watch.MaxWatches, "max-watches", 10000, "open WatchJob streams and WaitJob calls, in all")
	fs.IntVar(&c.Watch.MaxWatchesPerCaller, "max-watches-per-caller", 1000, "open WatchJob streams and WaitJob calls of one caller")
	fs.DurationVar(&c.DescribeCacheTTL, "describe-cache-ttl", server.DefaultDescribeCacheTTL, "how long a job in a terminal state is described from memory (staleness of changes made around this gateway; 0: off)")
	fs.DurationVar(&c.Limits.MaxConnectionAge, "grpc-max-connection-age", 0, "close each gRPC connection gracefully after this age so clients rebalance over replicas (0: never)")
	fs.DurationVar(&u.CallTimeout, "upstream-timeout", upstream.DefaultCallTimeout, "bound on each upstream call, retries included, whatever the client's deadline")
	budget := ratelimit.Limit{Rate: 25, Burst: 50}
	fs.Var(limitFlag{&budget}, "upstream-rate", "per AWS operation, for the whole process (clients, health probe and job watchers share it): attempts per second and burst (N/s,burst=N, or off); set it to your account's AWS quota")
	fs.BoolVar(&u.SkipStartupCheck, "skip-startup-check", false, "with --upstream=aws: start without the one read call that checks the AWS credentials")
	fs.DurationVar(&c.ShutdownDelay, "shutdown-delay", 0, "on SIGTERM, keep serving this long with health NOT_SERVING before draining (so load balancers stop sending first)")

	sec := &c.Security
	fs.StringVar(&sec.TLSCertFile, "tls-cert-file", "", "TLS certificate (PEM) for both listeners; re-read when it changes")
	fs.StringVar(&sec.TLSKeyFile, "tls-key-file", "", "TLS private key (PEM) for --tls-cert-file")
	fs.StringVar(&sec.ClientCAFile, "client-ca-file", "", "CA certificates (PEM): require client certificates signed by them (mTLS)")
	fs.StringVar(&sec.AuthzFile, "authz-file", "", "YAML mapping client-certificate identities to scopes and groups")
	fs.StringVar(&sec.JWKSFile, "jwks-file", "", "JSON Web Key Set file that verifies bearer JWTs; re-read when it changes")
	fs.StringVar(&sec.JWKSURL, "jwks-url", "", "JSON Web Key Set URL that verifies bearer JWTs (https; cached and refreshed)")
	fs.StringVar(&sec.JWTIssuer, "jwt-issuer", "", "required iss of bearer JWTs")
	fs.StringVar(&sec.JWTAudience, "jwt-audience", "", "required aud of bearer JWTs")
	fs.DurationVar(&sec.JWTLeeway, "jwt-leeway", 30*time.Second, "clock skew allowed on exp, nbf and iat")
	fs.StringVar(&sec.PolicyFile, "policy-file", "", "YAML policy: the IAM roles, S3 prefixes and KMS keys each caller's creates may use; turns on job ownership")
	fs.BoolVar(&sec.AllowUnauthenticated, "allow-unauthenticated", false, "serve a non-loopback listener without authentication (something in front authenticates)")
	reflection := fs.Bool("reflection", true, "serve gRPC server reflection")
	fs.Var(listFlag{&sec.AllowedHosts}, "allowed-hosts", "comma-separated Host header values the REST listener accepts besides loopback names (\"*\": any)")
	fs.Var(listFlag{&sec.CORSAllowedOrigins}, "cors-allowed-origins", "comma-separated origins (scheme://host[:port]) whose pages may call the REST API (CORS); default none")
	fs.BoolVar(&sec.EphemeralPageTokenKeys, "ephemeral-page-token-keys", false, "with --upstream=aws on a non-loopback listener: run without page-token keys (tokens die with the process)")
	limits := map[ratelimit.Class]*ratelimit.Limit{}
	for _, class := range []ratelimit.Class{ratelimit.Read, ratelimit.Write, ratelimit.Create} {
		l := gateway.DefaultRateLimits.Limits[class]
		limits[class] = &l
		fs.Var(limitFlag{&l}, "rate-limit-"+string(class), fmt.Sprintf("per caller and replica: %s calls' rate, burst and concurrency (N/s,burst=N,concurrency=N, or off)", class))
	}
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected arguments %q: every setting is a --flag", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if err := applyEnv(fs, environ, set); err != nil {
		return f, err
	}
	sec.DisableReflection = !*reflection
	if budget.Concurrency != 0 {
		return f, fmt.Errorf("--upstream-rate takes N/s and burst=N, not concurrency")
	}
	u.Budget = upstream.Budget{Rate: budget.Rate, Burst: budget.Burst}
	sec.RateLimits = &ratelimit.Config{Limits: map[ratelimit.Class]ratelimit.Limit{}}
	for class, l := range limits {
		sec.RateLimits.Limits[class] = *l
	}
	switch {
	case u.Kind != gateway.UpstreamEmulator && u.Kind != gateway.UpstreamAWS:
		return f, fmt.Errorf("--upstream must be emulator or aws, got %q", u.Kind)
	case c.PageTokens.TTL <= 0 || c.PageTokens.TTL > pagetoken.MaxTTL:
		return f, fmt.Errorf("--page-token-ttl must be more than 0 and at most %s (AWS's NextToken lifetime), got %s", pagetoken.MaxTTL, c.PageTokens.TTL)
	case c.HealthInterval <= 0:
		return f, fmt.Errorf("--health-interval must be positive, got %s", c.HealthInterval)
	case f.drainTimeout <= 0:
		return f, fmt.Errorf("--drain-timeout must be positive, got %s", f.drainTimeout)
	case u.RetryMaxAttempts < 1:
		return f, fmt.Errorf("--retry-max-attempts must be at least 1, got %d", u.RetryMaxAttempts)
	case u.Emulator.JobDuration <= 0:
		return f, fmt.Errorf("--emulator-job-duration must be positive, got %s", u.Emulator.JobDuration)
	case u.Emulator.Latency < 0:
		return f, fmt.Errorf("--emulator-latency must not be negative, got %s", u.Emulator.Latency)
	case u.CallTimeout <= 0:
		return f, fmt.Errorf("--upstream-timeout must be positive, got %s", u.CallTimeout)
	case c.ShutdownDelay < 0:
		return f, fmt.Errorf("--shutdown-delay must not be negative, got %s", c.ShutdownDelay)
	case sec.JWTLeeway < 0 || sec.JWTLeeway > 5*time.Minute:
		return f, fmt.Errorf("--jwt-leeway must be between 0 and 5m, got %s", sec.JWTLeeway)
	case c.Watch.MinInterval <= 0 || c.Watch.MaxInterval < c.Watch.MinInterval:
		return f, fmt.Errorf("--watch-min-interval must be positive and at most --watch-max-interval, got %s and %s", c.Watch.MinInterval, c.Watch.MaxInterval)
	case c.Watch.Heartbeat <= 0:
		return f, fmt.Errorf("--watch-heartbeat must be positive, got %s", c.Watch.Heartbeat)
	case c.Watch.MaxWatches < 1 || c.Watch.MaxWatchesPerCaller < 1 || c.Watch.MaxWatchesPerCaller > c.Watch.MaxWatches:
		return f, fmt.Errorf("--max-watches and --max-watches-per-caller must be at least 1, and per caller at most the total; got %d and %d", c.Watch.MaxWatches, c.Watch.MaxWatchesPerCaller)
	case c.DescribeCacheTTL < 0:
		return f, fmt.Errorf("--describe-cache-ttl must not be negative, got %s", c.DescribeCacheTTL)
	case c.Limits.MaxConnectionAge < 0:
		return f, fmt.Errorf("--grpc-max-connection-age must not be negative, got %s", c.Limits.MaxConnectionAge)
	case f.logFormat != "" && f.logFormat != "json" && f.logFormat != "text":
		return f, fmt.Errorf("--log-format must be json or text, got %q", f.logFormat)
	}
	for _, l := range []struct{ name, addr string }{{"grpc-addr", c.GRPCAddr}, {"http-addr", c.HTTPAddr}, {"admin-addr", c.AdminAddr}} {
		if l.name == "admin-addr" && l.addr == "" {
			continue
		}
		if err := checkListenAddr(l.addr); err != nil {
			return f, fmt.Errorf("--%s %q: %v", l.name, l.addr, err)
		}
	}
	// A flag that cannot apply is a mistake to report, not to ignore.
	for _, name := range []string{"skip-startup-check", "ephemeral-page-token-keys"} {
		if set[name] && u.Kind != gateway.UpstreamAWS {
			return f, fmt.Errorf("--%s applies only with --upstream=aws", name)
		}
	}
	for _, name := range []string{"emulator-addr", "emulator-latency", "emulator-job-duration"} {
		if set[name] && (u.Kind != gateway.UpstreamEmulator || u.EndpointURL != "") {
			return f, fmt.Errorf("--%s applies only to the embedded emulator (--upstream=emulator without --endpoint-url)", name)
		}
	}
	c.PageTokens.Keys = lookupEnv(environ, gateway.PageTokenKeysEnv)
	if c.DescribeCacheTTL == 0 {
		c.DescribeCacheTTL = -1 // the flag's 0 is "off"; the config's 0 is the default
	}
	return f, nil
}

// applyEnv sets every flag the command line did not from its
// FORECAST_GATEWAY_* variable. A variable that names no flag is an error
// (a typo must not be silently ignored), as is a value the flag refuses.
func applyEnv(fs *flag.FlagSet, environ []string, set map[string]bool) error {
	for _, kv := range environ {
		key, value, _ := strings.Cut(kv, "=")
		rest, ok := strings.CutPrefix(key, EnvPrefix)
		if !ok || key == gateway.PageTokenKeysEnv || kubernetesServiceLink.MatchString(key) {
			continue
		}
		name := strings.ToLower(strings.ReplaceAll(rest, "_", "-"))
		if fs.Lookup(name) == nil || name == "version" {
			return fmt.Errorf("%s names no setting (it would be --%s); see --help", key, name)
		}
		if set[name] {
			continue // the command line wins
		}
		if err := fs.Set(name, value); err != nil {
			return fmt.Errorf("%s=%q: %v", key, value, err)
		}
		set[name] = true
	}
	return nil
}

// kubernetesServiceLink matches the variables Kubernetes puts in every
// pod of a namespace with a Service named forecast-gateway (service links:
// FORECAST_GATEWAY_SERVICE_HOST, FORECAST_GATEWAY_PORT_9090_TCP_ADDR, ...).
// They are not settings and must not stop the gateway.
var kubernetesServiceLink = regexp.MustCompile(`^` + EnvPrefix + `(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_[0-9]+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)$`)

func lookupEnv(environ []string, key string) string {
	for _, kv := range environ {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v
		}
	}
	return ""
}

// checkListenAddr refuses an address net.Listen would refuse, before
// anything starts: host:port with a port number (0 picks one).
func checkListenAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want host:port, e.g. 127.0.0.1:9090 or :9090")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

func main() {
	f, err := parseFlags(os.Args[1:], os.Environ())
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "forecast-gateway:", err)
		os.Exit(2)
	}
	if f.version {
		v := version.Get()
		fmt.Printf("forecast-gateway %s (commit %s, %s)\n", v.Version, orUnknown(v.Commit), v.GoVersion)
		return
	}
	log := newLogger(f.logFormat, f.logLevel)
	if err := run(f, log); err != nil {
		log.Error("gateway failed", "error", err)
		var opErr *net.OpError
		if errors.As(err, &opErr) && opErr.Op == "listen" {
			os.Exit(2) // an address that is taken or not ours: a configuration error
		}
		os.Exit(1)
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// newLogger writes JSON lines (for log collectors) unless asked for text,
// or by default when stderr is a terminal (a person is reading).
func newLogger(format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "" {
		format = "json"
		if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

func run(f flags, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f.cfg.Logger = log
	tp, stopTracing, err := gateway.TracingFromEnv(ctx)
	if err != nil {
		return err
	}
	defer func() {
		flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = stopTracing(flush)
	}()
	if tp != nil {
		f.cfg.Tracer = tp
		log.Info("tracing on: spans exported over OTLP/gRPC")
	}
	gw, err := gateway.Start(ctx, f.cfg)
	if err != nil {
		return err
	}
	<-ctx.Done()
	stop() // a second signal now kills the process the default way
	log.Info("signal received, draining", "shutdown_delay", f.cfg.ShutdownDelay, "drain_timeout", f.drainTimeout)
	// The drain gets its whole timeout after the shutdown delay.
	drainCtx, cancel := context.WithTimeout(context.Background(), f.cfg.ShutdownDelay+f.drainTimeout)
	defer cancel()
	return gw.Shutdown(drainCtx)
}
