package upstream

import (
	"context"
	"errors"
	"net"
	"strings"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Problem is what kind of failure an upstream error is, as far as the
// gateway's operators are concerned: the start-up check names it, and
// health reports NOT_SERVING for the service while it lasts.
type Problem int

const (
	// NoProblem: AWS answered, even if with an error about the request
	// itself (a missing job, invalid input): the upstream works.
	NoProblem Problem = iota
	// NoCredentials: the SDK found no credentials to sign with.
	NoCredentials
	// ExpiredCredentials: AWS says the credentials have expired.
	ExpiredCredentials
	// InvalidCredentials: AWS does not recognise the key or the signature.
	InvalidCredentials
	// AccessDenied: the credentials are valid but not allowed the call.
	AccessDenied
	// Unreachable: no answer (DNS, connection, TLS, timeout).
	Unreachable
)

func (p Problem) String() string {
	switch p {
	case NoProblem:
		return "none"
	case NoCredentials:
		return "no AWS credentials found"
	case ExpiredCredentials:
		return "the AWS credentials have expired"
	case InvalidCredentials:
		return "AWS does not recognise the credentials (wrong key, secret or session token)"
	case AccessDenied:
		return "the AWS identity is not allowed to call Amazon Forecast"
	case Unreachable:
		return "Amazon Forecast is unreachable"
	}
	return "unknown"
}

// IsAuth reports whether p is about the gateway's own AWS identity.
func (p Problem) IsAuth() bool {
	return p == NoCredentials || p == ExpiredCredentials || p == InvalidCredentials || p == AccessDenied
}

// AWS error codes by problem; from the AWS common errors reference and the
// SDK's own retry tables (aws/retry).
var (
	expiredCodes = map[string]bool{"ExpiredTokenException": true, "ExpiredToken": true, "RequestExpired": true, "TokenRefreshRequired": true}
	invalidCodes = map[string]bool{
		"UnrecognizedClientException": true, "InvalidClientTokenId": true, "InvalidSignatureException": true,
		"SignatureDoesNotMatch": true, "IncompleteSignature": true, "IncompleteSignatureException": true,
		"MissingAuthenticationToken": true, "MissingAuthenticationTokenException": true, "InvalidAccessKeyId": true,
	}
	deniedCodes = map[string]bool{"AccessDeniedException": true, "AccessDenied": true, "NotAuthorized": true}
)

// Diagnose classifies an error returned by the Forecast client.
func Diagnose(err error) Problem {
	if err == nil {
		return NoProblem
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch code := apiErr.ErrorCode(); {
		case expiredCodes[code]:
			return ExpiredCredentials
		case invalidCodes[code]:
			return InvalidCredentials
		case deniedCodes[code]:
			return AccessDenied
		}
		return NoProblem
	}
	var signErr *v4.SigningError
	// The SDK resolves credentials in its auth middleware and wraps the
	// failure as "get identity: ..." (there is no typed error for it).
	if errors.As(err, &signErr) || strings.Contains(err.Error(), "get identity: ") {
		return NoCredentials
	}
	var sendErr *smithyhttp.RequestSendError
	var opErr *net.OpError
	var dnsErr *net.DNSError
	if errors.As(err, &sendErr) || errors.As(err, &opErr) || errors.As(err, &dnsErr) || errors.Is(err, context.DeadlineExceeded) {
		return Unreachable
	}
	return NoProblem
}
