package apierr

import (
	"net/http"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Reason returns the ErrorInfo reason of st, or "".
func Reason(st *status.Status) string {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// HTTPStatus is the HTTP status a REST client gets for st: the standard
// mapping of AIP-193 (google.rpc.Code to HTTP), except that a job in the
// wrong state for the request (AWS ResourceInUseException, reason
// RESOURCE_IN_USE) is 409 Conflict, as a conflicting write is on HTTP;
// other FAILED_PRECONDITIONs stay 400.
func HTTPStatus(st *status.Status) int {
	if st.Code() == codes.FailedPrecondition && Reason(st) == ReasonResourceInUse {
		return http.StatusConflict
	}
	return httpFromCode[st.Code()]
}

// httpFromCode is google.rpc.Code's documented HTTP mapping (and
// grpc-gateway's runtime.HTTPStatusFromCode).
var httpFromCode = map[codes.Code]int{
	codes.OK:                 http.StatusOK,
	codes.Canceled:           499,
	codes.Unknown:            http.StatusInternalServerError,
	codes.InvalidArgument:    http.StatusBadRequest,
	codes.DeadlineExceeded:   http.StatusGatewayTimeout,
	codes.NotFound:           http.StatusNotFound,
	codes.AlreadyExists:      http.StatusConflict,
	codes.PermissionDenied:   http.StatusForbidden,
	codes.Unauthenticated:    http.StatusUnauthorized,
	codes.ResourceExhausted:  http.StatusTooManyRequests,
	codes.FailedPrecondition: http.StatusBadRequest,
	codes.Aborted:            http.StatusConflict,
	codes.OutOfRange:         http.StatusBadRequest,
	codes.Unimplemented:      http.StatusNotImplemented,
	codes.Internal:           http.StatusInternalServerError,
	codes.Unavailable:        http.StatusServiceUnavailable,
	codes.DataLoss:           http.StatusInternalServerError,
}
