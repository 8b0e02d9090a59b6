package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// TestCallTimeout: a client that sets no deadline still gets an answer
// within CallTimeout when the upstream stalls, retries included.
func TestCallTimeout(t *testing.T) {
	release := make(chan struct{})
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer stalled.Close()
	defer close(release)

	c, err := NewForecastClient(context.Background(), Options{Emulator: true, EndpointURL: stalled.URL, Region: "us-east-1", CallTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.ListForecastExportJobs(context.Background(), &forecast.ListForecastExportJobsInput{})
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline", err)
	}
	// Generous bound for a loaded machine; without the timeout the call
	// would wait for the server forever.
	if took > 10*time.Second {
		t.Errorf("took %v with a 300ms call timeout", took)
	}
	if Diagnose(err) != Unreachable {
		t.Errorf("Diagnose = %v, want Unreachable", Diagnose(err))
	}
}

func TestDiagnose(t *testing.T) {
	api := func(code string) error {
		return &smithy.OperationError{ServiceID: "forecast", OperationName: "ListPredictors", Err: &smithy.GenericAPIError{Code: code}}
	}
	for _, tc := range []struct {
		err  error
		want Problem
	}{
		{nil, NoProblem},
		{api("ResourceNotFoundException"), NoProblem},
		{api("InvalidInputException"), NoProblem},
		{api("ThrottlingException"), NoProblem},
		{api("ExpiredTokenException"), ExpiredCredentials},
		{api("UnrecognizedClientException"), InvalidCredentials},
		{api("InvalidSignatureException"), InvalidCredentials},
		{api("AccessDeniedException"), AccessDenied},
		{&smithy.OperationError{Err: fmt.Errorf("get identity: %w", errors.New("no EC2 IMDS role found"))}, NoCredentials},
		{&smithy.OperationError{Err: &v4.SigningError{Err: errors.New("failed to retrieve credentials")}}, NoCredentials},
		{&smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: errors.New("connection refused")}}, Unreachable},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), Unreachable},
	} {
		if got := Diagnose(tc.err); got != tc.want {
			t.Errorf("Diagnose(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	for _, p := range []Problem{NoCredentials, ExpiredCredentials, InvalidCredentials, AccessDenied} {
		if !p.IsAuth() {
			t.Errorf("%v is not an auth problem", p)
		}
	}
	if Unreachable.IsAuth() || NoProblem.IsAuth() {
		t.Error("Unreachable or NoProblem counted as auth problems")
	}
}
