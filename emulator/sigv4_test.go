package emulator_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/smithy-go"

	"github.com/forecastgw/forecast-gateway/emulator"
)

const (
	amzDate  = "20060102T150405Z"
	listBody = `{"MaxResults":1}`
)

// rawList sends ListForecastExportJobs with the given headers (nil values
// are left out) and returns the status and the decoded error body.
func rawList(t *testing.T, srv *emulator.Server, headers map[string]string) (*http.Response, map[string]string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), http.MethodPost, srv.URL()+"/", strings.NewReader(listBody))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonForecast.ListForecastExportJobs")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]string
	_ = json.Unmarshal(b, &m)
	return resp, m
}

// authHeader is a well-formed SigV4 Authorization value for the scope.
func authHeader(scope string) string {
	return "AWS4-HMAC-SHA256 Credential=EMULATOR/" + scope + ", SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + strings.Repeat("ab", 32)
}

// TestSigV4Header: requests without a well-formed SigV4 header get AWS's
// framework errors (HTTP 400, Coral namespace, lowercase message) and
// reach no operation.
func TestSigV4Header(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
	now := time.Now().UTC()
	date := now.Format(amzDate)
	day := date[:8]
	ok := authHeader(day + "/us-east-1/forecast/aws4_request")
	tests := []struct {
		name    string
		headers map[string]string
		typ     string // "" = accepted
		msg     string // prefix of the message
	}{
		{"well formed", map[string]string{"Authorization": ok, "X-Amz-Date": date}, "", ""},
		{"signature value is not verified", map[string]string{"Authorization": strings.Replace(ok, "abab", "0123", 1), "X-Amz-Date": date}, "", ""},
		{"no authorization", map[string]string{"X-Amz-Date": date}, "MissingAuthenticationTokenException", "Missing Authentication Token"},
		{"other scheme", map[string]string{"Authorization": "Bearer abc", "X-Amz-Date": date}, "IncompleteSignatureException",
			"Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=Bearer abc"},
		{"no x-amz-date", map[string]string{"Authorization": ok}, "IncompleteSignatureException",
			"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."},
		{"no signature", map[string]string{"Authorization": strings.Split(ok, ", Signature")[0], "X-Amz-Date": date}, "IncompleteSignatureException",
			"Authorization header requires 'Signature' parameter."},
		{"short signature", map[string]string{"Authorization": ok[:len(ok)-2], "X-Amz-Date": date}, "IncompleteSignatureException", "Signature must be 64"},
		{"four scope elements", map[string]string{"Authorization": authHeader(day + "/us-east-1/forecast"), "X-Amz-Date": date}, "IncompleteSignatureException",
			"Credential must have exactly 5 slash-delimited elements"},
		{"bad terminator", map[string]string{"Authorization": authHeader(day + "/us-east-1/forecast/aws5_request"), "X-Amz-Date": date}, "IncompleteSignatureException",
			"Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'."},
		{"bad x-amz-date", map[string]string{"Authorization": ok, "X-Amz-Date": now.Format(time.RFC3339)}, "IncompleteSignatureException",
			"Date must be in ISO-8601 'basic format'."},
		{"scope date mismatch", map[string]string{"Authorization": authHeader("20200101/us-east-1/forecast/aws4_request"), "X-Amz-Date": date}, "InvalidSignatureException",
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20200101' != '" + day + "', from '" + date + "'."},
		{"other region", map[string]string{"Authorization": authHeader(day + "/eu-west-1/forecast/aws4_request"), "X-Amz-Date": date}, "InvalidSignatureException",
			"Credential should be scoped to a valid region."},
		{"other service", map[string]string{"Authorization": authHeader(day + "/us-east-1/s3/aws4_request"), "X-Amz-Date": date}, "InvalidSignatureException",
			"Credential should be scoped to correct service: 'forecast'."},
	}
	// Refused requests are never faulted: the check comes first.
	srv.InjectFault("", emulator.Fault{Kind: emulator.FaultThrottle})
	if resp, body := rawList(t, srv, map[string]string{"X-Amz-Date": date}); resp.StatusCode != 400 || body["__type"] != "com.amazon.coral.service#MissingAuthenticationTokenException" {
		t.Fatalf("a fault won over the SigV4 check: %v", body)
	}
	srv.ClearFaults()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv.ResetCallCounts()
			resp, body := rawList(t, srv, tc.headers)
			if tc.typ == "" {
				if resp.StatusCode != http.StatusOK || srv.CallCount("") != 1 {
					t.Fatalf("status %d %v, calls %d", resp.StatusCode, body, srv.CallCount(""))
				}
				return
			}
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("X-Amzn-Errortype") != tc.typ ||
				body["__type"] != "com.amazon.coral.service#"+tc.typ || !strings.HasPrefix(body["message"], tc.msg) {
				t.Fatalf("status %d type %q body %v\nwant %s %q", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), body, tc.typ, tc.msg)
			}
			if n := srv.CallCount(""); n != 0 {
				t.Fatalf("a refused request counted as a call (%d)", n)
			}
		})
	}
}

// skewedSigner signs like the SDK's own signer, at a shifted time.
type skewedSigner struct{ skew time.Duration }

func (s skewedSigner) SignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string, at time.Time, optFns ...func(*v4.SignerOptions)) error {
	return v4.NewSigner().SignHTTP(ctx, creds, r, payloadHash, service, region, at.Add(s.skew), optFns...)
}

// TestSigV4ThroughSDK: the real client with static credentials works; one
// configured for another region, or signing 20 minutes off the wall clock
// (the emulator's fake clock is days ahead and does not matter), gets the
// error AWS gives.
func TestSigV4ThroughSDK(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
	list := func(c *forecast.Client) error {
		_, err := c.ListForecastExportJobs(ctx(t), &forecast.ListForecastExportJobsInput{MaxResults: aws.Int32(1)})
		return err
	}
	if err := list(client(srv)); err != nil {
		t.Fatal(err)
	}
	expect := func(err error, code, msg string) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != code || !strings.HasPrefix(ae.ErrorMessage(), msg) {
			t.Fatalf("got %v, want %s: %s", err, code, msg)
		}
	}
	expect(list(client(srv, maxAttempts(1), func(o *forecast.Options) { o.Region = "eu-west-1" })),
		"InvalidSignatureException", "Credential should be scoped to a valid region.")
	expect(list(client(srv, maxAttempts(1), func(o *forecast.Options) { o.HTTPSignerV4 = skewedSigner{-20 * time.Minute} })),
		"InvalidSignatureException", "Signature expired: ")
	expect(list(client(srv, maxAttempts(1), func(o *forecast.Options) { o.HTTPSignerV4 = skewedSigner{20 * time.Minute} })),
		"InvalidSignatureException", "Signature not yet current: ")
	// Within 15 minutes is fine.
	if err := list(client(srv, maxAttempts(1), func(o *forecast.Options) { o.HTTPSignerV4 = skewedSigner{-14 * time.Minute} })); err != nil {
		t.Fatal(err)
	}
	expect(list(forecast.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()), Credentials: aws.AnonymousCredentials{}},
		maxAttempts(1))), "MissingAuthenticationTokenException", "Missing Authentication Token")
}

// TestSigV4Expired checks the exact wording with a request signed by the
// SDK's signer 20 minutes in the past.
func TestSigV4Expired(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
	req, err := http.NewRequestWithContext(ctx(t), http.MethodPost, srv.URL()+"/", strings.NewReader(listBody))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonForecast.ListForecastExportJobs")
	sum := sha256.Sum256([]byte(listBody))
	signedAt := time.Now().Add(-20 * time.Minute).UTC()
	creds, _ := credentials.NewStaticCredentialsProvider("EMULATOR", "EMULATOR", "").Retrieve(ctx(t))
	if err := v4.NewSigner().SignHTTP(ctx(t), creds, req, hex.EncodeToString(sum[:]), "forecast", "us-east-1", signedAt); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&body)
	msg := body["message"]
	// "Signature expired: <x-amz-date> is now earlier than <now-15m> (<now> - 15 min.)"
	prefix := "Signature expired: " + signedAt.Format(amzDate) + " is now earlier than "
	if resp.StatusCode != 400 || body["__type"] != "com.amazon.coral.service#InvalidSignatureException" ||
		!strings.HasPrefix(msg, prefix) || !strings.HasSuffix(msg, " - 15 min.)") {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	var earliest, now string
	if _, err := splitExpired(strings.TrimPrefix(msg, prefix), &earliest, &now); err != nil {
		t.Fatalf("%q: %v", msg, err)
	}
	e, err1 := time.Parse(amzDate, earliest)
	n, err2 := time.Parse(amzDate, now)
	if err1 != nil || err2 != nil || n.Sub(e) != 15*time.Minute || n.Sub(signedAt) < 20*time.Minute-time.Second {
		t.Fatalf("times in %q", msg)
	}
}

// splitExpired splits "<earliest> (<now> - 15 min.)".
func splitExpired(s string, earliest, now *string) (int, error) {
	a, rest, ok := strings.Cut(s, " (")
	b, _, ok2 := strings.Cut(rest, " - ")
	if !ok || !ok2 {
		return 0, errors.New("unexpected shape")
	}
	*earliest, *now = a, b
	return 2, nil
}
