package emulator

import (
	"net/http"
	"strings"
	"time"
)

// SigV4 checks, as AWS applies them before any operation runs. Everything
// AWS can check without the caller's secret key is checked: the header's
// shape, the credential scope (date, region, service, terminator) and the
// request time against the wall clock (never the emulator clock, which
// tests move by days). The signature value itself is not verified: the
// emulator knows no secret keys, so any access key id and secret work.

const (
	sigV4Algorithm = "AWS4-HMAC-SHA256"
	sigV4Service   = "forecast"
	amzDateFormat  = "20060102T150405Z"
	maxRequestSkew = 15 * time.Minute
)

func incomplete(format string, args ...any) *apiError {
	return newErr(ErrIncompleteSignature, format, args...)
}

func invalidSignature(format string, args ...any) *apiError {
	return newErr(ErrInvalidSignature, format, args...)
}

// checkSigV4 returns the error AWS answers a request whose Authorization
// or X-Amz-Date header is missing or malformed, or nil.
func checkSigV4(r *http.Request, region string, wallNow time.Time) *apiError {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return newErr(ErrMissingAuthenticationToken, "Missing Authentication Token")
	}
	params := map[string]string{}
	if algo, rest, _ := strings.Cut(auth, " "); algo == sigV4Algorithm {
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
			params[k] = v
		}
	}
	cred, signed, sig := params["Credential"], params["SignedHeaders"], params["Signature"]
	amzDate := r.Header.Get("X-Amz-Date")
	var missing []string
	if cred == "" {
		missing = append(missing, "Authorization header requires 'Credential' parameter.")
	}
	if sig == "" {
		missing = append(missing, "Authorization header requires 'Signature' parameter.")
	}
	if signed == "" {
		missing = append(missing, "Authorization header requires 'SignedHeaders' parameter.")
	}
	if amzDate == "" {
		missing = append(missing, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if len(missing) > 0 {
		return incomplete("%s Authorization=%s", strings.Join(missing, " "), auth)
	}
	if !isHex64(sig) {
		return incomplete("Signature must be 64 lowercase hexadecimal characters (a hex-encoded HMAC-SHA256), got '%s'.", sig)
	}
	scope := strings.Split(cred, "/")
	if len(scope) != 5 || scope[0] == "" {
		return incomplete("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", cred)
	}
	if scope[4] != "aws4_request" {
		return incomplete("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'.", scope[4])
	}
	at, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return incomplete("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", amzDate)
	}
	if scope[1] != amzDate[:8] {
		return invalidSignature("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", scope[1], amzDate[:8], amzDate)
	}
	if scope[2] != region {
		return invalidSignature("Credential should be scoped to a valid region.")
	}
	if scope[3] != sigV4Service {
		return invalidSignature("Credential should be scoped to correct service: '%s'.", sigV4Service)
	}
	now := wallNow.UTC()
	if earliest := now.Add(-maxRequestSkew); at.Before(earliest) {
		return invalidSignature("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			amzDate, earliest.Format(amzDateFormat), now.Format(amzDateFormat))
	}
	if latest := now.Add(maxRequestSkew); at.After(latest) {
		return invalidSignature("Signature not yet current: %s is still later than %s (%s + 15 min.)",
			amzDate, latest.Format(amzDateFormat), now.Format(amzDateFormat))
	}
	return nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
