package emulator

import (
	"net/http"
	"strings"
	"time"
)

// SigV4 checks, as AWS applies them before any operation runs.
//
// Always (checkSigV4): the Authorization header's shape, the credential
// scope (date, region, service, terminator) and the request time against
// the wall clock (never the emulator clock, which tests move by days).
//
// Only while the emulator knows credentials (Options.Credentials,
// SetCredentials; credentials.go), in this order: the access key id must be
// known (UnrecognizedClientException), carry the key's session token in
// X-Amz-Security-Token and no token for a key without one
// (UnrecognizedClientException), and not be past its Expires
// (ExpiredTokenException); the body is then read and the signature
// recomputed from the key's secret over the canonical request
// (InvalidSignatureException on any difference); once the operation is
// known, a Deny entry answers AccessDeniedException. Without credentials any
// access key id and secret work and the signature value is not verified.

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

// sigV4Header is a well-formed SigV4 Authorization header and X-Amz-Date.
type sigV4Header struct {
	accessKeyID, date, region, service string // the credential scope
	signedHeaders, signature, amzDate  string
}

// checkSigV4 returns the parsed header, or the error AWS answers a request
// whose Authorization or X-Amz-Date header is missing or malformed.
func checkSigV4(r *http.Request, region string, wallNow time.Time) (*sigV4Header, *apiError) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return nil, newErr(ErrMissingAuthenticationToken, "Missing Authentication Token")
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
		return nil, incomplete("%s Authorization=%s", strings.Join(missing, " "), auth)
	}
	if !isHex64(sig) {
		return nil, incomplete("Signature must be 64 lowercase hexadecimal characters (a hex-encoded HMAC-SHA256), got '%s'.", sig)
	}
	scope := strings.Split(cred, "/")
	if len(scope) != 5 || scope[0] == "" {
		return nil, incomplete("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", cred)
	}
	if scope[4] != "aws4_request" {
		return nil, incomplete("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'.", scope[4])
	}
	at, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return nil, incomplete("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", amzDate)
	}
	if scope[1] != amzDate[:8] {
		return nil, invalidSignature("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", scope[1], amzDate[:8], amzDate)
	}
	if scope[2] != region {
		return nil, invalidSignature("Credential should be scoped to a valid region.")
	}
	if scope[3] != sigV4Service {
		return nil, invalidSignature("Credential should be scoped to correct service: '%s'.", sigV4Service)
	}
	now := wallNow.UTC()
	if earliest := now.Add(-maxRequestSkew); at.Before(earliest) {
		return nil, invalidSignature("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			amzDate, earliest.Format(amzDateFormat), now.Format(amzDateFormat))
	}
	if latest := now.Add(maxRequestSkew); at.After(latest) {
		return nil, invalidSignature("Signature not yet current: %s is still later than %s (%s + 15 min.)",
			amzDate, latest.Format(amzDateFormat), now.Format(amzDateFormat))
	}
	return &sigV4Header{
		accessKeyID: scope[0], date: scope[1], region: scope[2], service: scope[3],
		signedHeaders: signed, signature: sig, amzDate: amzDate,
	}, nil
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
