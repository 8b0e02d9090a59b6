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

// TestBudget: attempts of one operation share a bucket; an attempt whose
// context cannot wait for a token fails at once with ErrBudget (counted as
// throttled), and other operations are not affected.
func TestBudget(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	var seen []Call
	c, err := NewForecastClient(context.Background(), Options{Emulator: true, EndpointURL: srv.URL, Region: "us-east-1",
		Budget: Budget{Rate: 1, Burst: 2}, Observer: func(_ context.Context, c Call) { seen = append(seen, c) }})
	if err != nil {
		t.Fatal(err)
	}
	list := func(timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		_, err := c.ListForecastExportJobs(ctx, &forecast.ListForecastExportJobsInput{})
		return err
	}
	for range 2 {
		if err := list(time.Second); err != nil {
			t.Fatal(err)
		}
	}
	err = list(100 * time.Millisecond) // the bucket is empty; a token is 1s away
	var b *ErrBudget
	if !errors.As(err, &b) || b.Operation != "ListForecastExportJobs" {
		t.Fatalf("third call: %v, want ErrBudget", err)
	}
	if calls != 2 {
		t.Errorf("%d calls reached the server, want 2", calls)
	}
	if got := seen[len(seen)-1].Outcome; got != OutcomeThrottled {
		t.Errorf("outcome %q, want throttled", got)
	}
	// Another operation has its own bucket.
	if _, err := c.ListDatasetImportJobs(context.Background(), &forecast.ListDatasetImportJobsInput{}); err != nil {
		t.Errorf("another operation: %v", err)
	}
}
