package emulator_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/smithy-go"

	"github.com/forecastgw/forecast-gateway/emulator"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

const (
	msgInvalidToken = "The security token included in the request is invalid."
	msgExpiredToken = "The security token included in the request is expired"
	msgBadSignature = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	ciPrincipal     = "arn:aws:iam::123456789012:user/ci"
)

// countingTransport counts the HTTP attempts the SDK makes.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// keyClient is the SDK client signing with the given key (the default
// retryer: up to 3 attempts) and counting its HTTP attempts.
func keyClient(srv *emulator.Server, akid, secret, token string) (*forecast.Client, *countingTransport) {
	tr := &countingTransport{}
	return client(srv, func(o *forecast.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(akid, secret, token)
		o.HTTPClient = &http.Client{Transport: tr}
	}), tr
}

func testCredentials() []emulator.Credential {
	return []emulator.Credential{
		{AccessKeyID: "AKIDCI", SecretAccessKey: "ci-secret", Principal: ciPrincipal,
			Deny: []string{emulator.OpDeleteForecastExportJob, "forecast:tagresource"}},
		{AccessKeyID: "ASIATEMP", SecretAccessKey: "temp-secret", SessionToken: "token-1", Expires: time.Now().Add(time.Hour)},
		{AccessKeyID: "AKIDOLD", SecretAccessKey: "old-secret", Expires: time.Now().Add(-time.Minute)},
		{AccessKeyID: "AKIDREADONLY", SecretAccessKey: "ro-secret", Deny: []string{"*"}},
	}
}

// wantAPIError fails unless err is the API error code with exactly msg.
func wantAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || ae.ErrorMessage() != msg {
		t.Fatalf("got %v\nwant %s: %s", err, code, msg)
	}
}

// TestCredentials: with Options.Credentials the emulator authenticates like
// AWS; each refusal reaches the SDK as the AWS error code and message, in
// one attempt (none is retried), and is not counted as an operation call.
func TestCredentials(t *testing.T) {
	srv, _ := start(t, small(emulator.Options{Credentials: testCredentials()}))
	fea := srv.ForecastArns()[0]
	list := func(c *forecast.Client) error {
		_, err := c.ListForecastExportJobs(ctx(t), &forecast.ListForecastExportJobsInput{MaxResults: aws.Int32(1)})
		return err
	}
	del := func(c *forecast.Client) error {
		_, err := c.DeleteForecastExportJob(ctx(t), &forecast.DeleteForecastExportJobInput{
			ForecastExportJobArn: aws.String(srv.Jobs(jobtype.ForecastExportJob)[0].Arn)})
		return err
	}
	tag := func(c *forecast.Client) error { return tagResource(t, c, fea, map[string]string{"k": "v"}) }
	tests := []struct {
		name                string
		akid, secret, token string
		call                func(*forecast.Client) error
		code, msg           string // "" = accepted
	}{
		{"right key", "AKIDCI", "ci-secret", "", list, "", ""},
		{"right key, allowed op", "AKIDCI", "ci-secret", "", func(c *forecast.Client) error { _, err := listTags(t, c, fea); return err }, "", ""},
		{"wrong secret", "AKIDCI", "not-the-secret", "", list, "InvalidSignatureException", msgBadSignature},
		{"unknown key", "AKIDNOBODY", "ci-secret", "", list, "UnrecognizedClientException", msgInvalidToken},
		{"session token", "ASIATEMP", "temp-secret", "token-1", list, "", ""},
		{"session token missing", "ASIATEMP", "temp-secret", "", list, "UnrecognizedClientException", msgInvalidToken},
		{"session token wrong", "ASIATEMP", "temp-secret", "token-2", list, "UnrecognizedClientException", msgInvalidToken},
		{"session token wrong secret", "ASIATEMP", "ci-secret", "token-1", list, "InvalidSignatureException", msgBadSignature},
		{"token for a long-term key", "AKIDCI", "ci-secret", "token-1", list, "UnrecognizedClientException", msgInvalidToken},
		{"expired", "AKIDOLD", "old-secret", "", list, "ExpiredTokenException", msgExpiredToken},
		{"denied op", "AKIDCI", "ci-secret", "", del, "AccessDeniedException",
			"User: " + ciPrincipal + " is not authorized to perform: forecast:DeleteForecastExportJob on resource: *"},
		{"denied with forecast: prefix", "AKIDCI", "ci-secret", "", tag, "AccessDeniedException",
			"User: " + ciPrincipal + " is not authorized to perform: forecast:TagResource on resource: *"},
		{"deny *, default principal", "AKIDREADONLY", "ro-secret", "", list, "AccessDeniedException",
			"User: arn:aws:iam::123456789012:user/AKIDREADONLY is not authorized to perform: forecast:ListForecastExportJobs on resource: *"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv.ResetCallCounts()
			c, tr := keyClient(srv, tc.akid, tc.secret, tc.token)
			err := tc.call(c)
			if tc.code == "" {
				if err != nil || srv.CallCount("") != 1 {
					t.Fatalf("%v, calls %d", err, srv.CallCount(""))
				}
				return
			}
			wantAPIError(t, err, tc.code, tc.msg)
			if n := tr.n.Load(); n != 1 {
				t.Fatalf("%d attempts, want 1 (not retried)", n)
			}
			if n := srv.CallCount(""); n != 0 {
				t.Fatalf("a refused request counted as a call (%d)", n)
			}
		})
	}
}

// TestCredentialsFramework: the refusals are Coral framework errors on the
// wire (HTTP 400, X-Amzn-Errortype, __type, lowercase message), and refused
// requests are never faulted.
func TestCredentialsFramework(t *testing.T) {
	srv, _ := start(t, small(emulator.Options{Credentials: testCredentials()}))
	srv.InjectFault("", emulator.Fault{Kind: emulator.FaultThrottle})
	for _, tc := range []struct{ akid, secret, typ string }{
		{"AKIDNOBODY", "x", "UnrecognizedClientException"},
		{"AKIDCI", "x", "InvalidSignatureException"},
		{"AKIDOLD", "old-secret", "ExpiredTokenException"},
		{"AKIDREADONLY", "ro-secret", "AccessDeniedException"},
	} {
		resp, body := signedList(t, srv, tc.akid, tc.secret, "", listBody, nil)
		if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-Errortype") != tc.typ ||
			body["__type"] != "com.amazon.coral.service#"+tc.typ || body["message"] == "" {
			t.Fatalf("%s: %d %q %v", tc.akid, resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), body)
		}
	}
	if n := srv.CallCount(""); n != 0 {
		t.Fatalf("refused requests counted (%d)", n)
	}
}

// signedList sends ListForecastExportJobs signed by the SDK's signer with
// the given key; tamper, when set, changes the request after signing.
func signedList(t *testing.T, srv *emulator.Server, akid, secret, token, body string, tamper func(*http.Request)) (*http.Response, map[string]string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), http.MethodPost, srv.URL()+"/?b=2&a=x%20y&a=0", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonForecast.ListForecastExportJobs")
	req.Header.Set("X-Custom", "  a   b  ")
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: token}
	if err := v4.NewSigner().SignHTTP(ctx(t), creds, req, hex.EncodeToString(sum[:]), "forecast", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		tamper(req)
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

// TestSignatureCoversRequest: the canonical request is AWS's (query
// parameters sorted and encoded, header values trimmed and collapsed,
// repeated headers joined, the body hashed), so a request signed by the
// SDK's signer passes, and any signed part changed afterwards fails.
func TestSignatureCoversRequest(t *testing.T) {
	srv, _ := start(t, small(emulator.Options{Credentials: testCredentials()}))
	const other = `{"MaxResults":2}`
	for _, tc := range []struct {
		name   string
		tamper func(*http.Request)
		ok     bool
	}{
		{"as signed", nil, true},
		{"unsigned header added", func(r *http.Request) { r.Header.Set("X-Unsigned", "x") }, true},
		{"body changed", func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(other))
			r.ContentLength = int64(len(other))
		}, false},
		{"signed header changed", func(r *http.Request) { r.Header.Set("X-Custom", "a b c") }, false},
		{"repeated header reordered", func(r *http.Request) { r.Header["X-Multi"] = []string{"two", "one"} }, false},
		{"target changed", func(r *http.Request) { r.Header.Set("X-Amz-Target", "AmazonForecast.ListDatasetImportJobs") }, false},
		{"query changed", func(r *http.Request) { r.URL.RawQuery = "b=2&a=x%20y" }, false},
		{"declared payload hash does not match the body", func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", strings.Repeat("0", 64))
		}, false},
		{"signature altered", func(r *http.Request) {
			a := r.Header.Get("Authorization")
			last := a[len(a)-1]
			r.Header.Set("Authorization", a[:len(a)-1]+map[bool]string{true: "1", false: "0"}[last == '0'])
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := signedList(t, srv, "AKIDCI", "ci-secret", "", listBody, tc.tamper)
			if tc.ok != (resp.StatusCode == 200) {
				t.Fatalf("%d %v", resp.StatusCode, body)
			}
			if !tc.ok && (body["__type"] != "com.amazon.coral.service#InvalidSignatureException" || body["message"] != msgBadSignature) {
				t.Fatalf("%v", body)
			}
		})
	}
	// A session token is signed too.
	if resp, body := signedList(t, srv, "ASIATEMP", "temp-secret", "token-1", listBody, nil); resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	// An empty body hashes as empty.
	if resp, body := signedList(t, srv, "AKIDCI", "ci-secret", "", "", nil); resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
}

// TestCredentialsEveryOperation: signature verification accepts the SDK's
// requests for every operation the emulator serves (Create, Describe, List
// with filters and NextToken, Delete, StopResource and the tag operations
// of every type), with long-term and temporary keys.
func TestCredentialsEveryOperation(t *testing.T) {
	for _, key := range []struct{ akid, secret, token string }{{"AKIDALL", "all-secret", ""}, {"ASIATEMP", "temp-secret", "token-1"}} {
		t.Run(key.akid, func(t *testing.T) {
			creds := append(testCredentials(), emulator.Credential{AccessKeyID: "AKIDALL", SecretAccessKey: "all-secret"})
			srv, clk := start(t, lifecycleOpts(emulator.Options{Credentials: creds}))
			c, _ := keyClient(srv, key.akid, key.secret, key.token)
			c = forecast.New(c.Options(), maxAttempts(1))
			for _, typ := range jobtype.All {
				a := apis[typ]
				args := defaultArgs(srv, typ, "signed_one")
				args.tags = map[string]string{"team": "demand", "note": "spaces  and / slashes=+"}
				arn, err := a.create(ctx(t), c, args)
				if err != nil {
					t.Fatalf("%s create: %v", typ.Noun, err)
				}
				if _, err := a.describe(ctx(t), c, arn); err != nil {
					t.Fatalf("%s describe: %v", typ.Noun, err)
				}
				if _, _, err := a.paginate(ctx(t), c, listArgs{maxResults: aws.Int32(1)}); err != nil {
					t.Fatalf("%s paginate: %v", typ.Noun, err)
				}
				if err := tagResource(t, c, arn, map[string]string{"ü-ünïcode": "välue with spaces"}); err != nil {
					t.Fatalf("%s tag: %v", typ.Noun, err)
				}
				if _, err := listTags(t, c, arn); err != nil {
					t.Fatalf("%s list tags: %v", typ.Noun, err)
				}
				if err := untag(t, c, arn, "ü-ünïcode"); err != nil {
					t.Fatalf("%s untag: %v", typ.Noun, err)
				}
				if typ != jobtype.WhatIfForecastExport {
					stop, err := a.create(ctx(t), c, defaultArgs(srv, typ, "signed_two"))
					if err != nil {
						t.Fatal(err)
					}
					if _, err := c.StopResource(ctx(t), &forecast.StopResourceInput{ResourceArn: aws.String(stop)}); err != nil {
						t.Fatalf("%s stop: %v", typ.Noun, err)
					}
				}
				clk.Advance(10 * time.Minute)
				if err := a.del(ctx(t), c, arn); err != nil {
					t.Fatalf("%s delete: %v", typ.Noun, err)
				}
			}
			for _, op := range emulator.Operations {
				if srv.CallCount(op) == 0 {
					t.Errorf("%s was never called", op)
				}
			}
		})
	}
}

// TestSetCredentials: the credentials can be switched while clients are
// running; nil returns to accepting any key.
func TestSetCredentials(t *testing.T) {
	srv, _ := start(t, small(emulator.Options{}))
	ci, _ := keyClient(srv, "AKIDCI", "ci-secret", "")
	anyKey, _ := keyClient(srv, "ANYTHING", "goes", "")
	list := func(c *forecast.Client) error {
		_, err := c.ListForecastExportJobs(ctx(t), &forecast.ListForecastExportJobsInput{MaxResults: aws.Int32(1)})
		return err
	}
	if err := list(ci); err != nil {
		t.Fatal(err)
	}
	if err := list(anyKey); err != nil {
		t.Fatalf("default accepts any key: %v", err)
	}
	if got := srv.Options().Credentials; got != nil {
		t.Fatalf("Options().Credentials %v, want none", got)
	}

	srv.SetCredentials(testCredentials())
	if err := list(ci); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, list(anyKey), "UnrecognizedClientException", msgInvalidToken)
	if got := srv.Options().Credentials; len(got) != 4 || got[0].AccessKeyID != "AKIDCI" {
		t.Fatalf("Options().Credentials %v", got)
	}

	// The gateway's key loses a permission, then its secret is rotated.
	srv.SetCredentials([]emulator.Credential{{AccessKeyID: "AKIDCI", SecretAccessKey: "ci-secret", Principal: ciPrincipal, Deny: []string{"ListForecastExportJobs"}}})
	wantAPIError(t, list(ci), "AccessDeniedException", "User: "+ciPrincipal+" is not authorized to perform: forecast:ListForecastExportJobs on resource: *")
	if _, err := ci.ListDatasetImportJobs(ctx(t), &forecast.ListDatasetImportJobsInput{MaxResults: aws.Int32(1)}); err != nil {
		t.Fatalf("other operations still work: %v", err)
	}
	srv.SetCredentials([]emulator.Credential{{AccessKeyID: "AKIDCI", SecretAccessKey: "rotated"}})
	wantAPIError(t, list(ci), "InvalidSignatureException", msgBadSignature)
	srv.SetCredentials([]emulator.Credential{{AccessKeyID: "AKIDCI", SecretAccessKey: "ci-secret", Expires: time.Now().Add(-time.Second)}})
	wantAPIError(t, list(ci), "ExpiredTokenException", msgExpiredToken)

	srv.SetCredentials(nil)
	if err := list(anyKey); err != nil {
		t.Fatalf("nil returns to any key: %v", err)
	}
	srv.SetCredentials([]emulator.Credential{})
	if err := list(anyKey); err != nil {
		t.Fatalf("empty returns to any key: %v", err)
	}
}

// TestSetCredentialsConcurrent flips the credentials while requests run
// (for the race detector): every answer is either a success or
// UnrecognizedClientException, depending on the set in force.
func TestSetCredentialsConcurrent(t *testing.T) {
	srv, _ := start(t, small(emulator.Options{}))
	c, _ := keyClient(srv, "AKIDCI", "ci-secret", "")
	c = forecast.New(c.Options(), maxAttempts(1))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ok, refused atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := c.ListForecastExportJobs(context.Background(), &forecast.ListForecastExportJobsInput{MaxResults: aws.Int32(1)})
				var ae smithy.APIError
				switch {
				case err == nil:
					ok.Add(1)
				case errors.As(err, &ae) && ae.ErrorCode() == "UnrecognizedClientException":
					refused.Add(1)
				default:
					t.Error(err)
					return
				}
			}
		}()
	}
	sets := [][]emulator.Credential{nil, {{AccessKeyID: "OTHER", SecretAccessKey: "x"}}, testCredentials()}
	for i := range 200 {
		srv.SetCredentials(sets[i%len(sets)])
		_ = srv.Options()
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if ok.Load() == 0 || refused.Load() == 0 {
		t.Fatalf("ok %d, refused %d: the flips were not observed", ok.Load(), refused.Load())
	}
}

// TestSetCredentialsCopies: the emulator keeps its own copy of what it is
// given.
func TestSetCredentialsCopies(t *testing.T) {
	creds := []emulator.Credential{{AccessKeyID: "AKIDCI", SecretAccessKey: "ci-secret", Deny: []string{"ListDatasetImportJobs"}}}
	srv, _ := start(t, small(emulator.Options{Credentials: creds}))
	creds[0].SecretAccessKey = "changed"
	creds[0].Deny[0] = "*"
	c, _ := keyClient(srv, "AKIDCI", "ci-secret", "")
	if _, err := c.ListForecastExportJobs(ctx(t), &forecast.ListForecastExportJobsInput{}); err != nil {
		t.Fatal(err)
	}
	got := srv.Options().Credentials
	got[0].Deny[0] = "*"
	if _, err := c.ListForecastExportJobs(ctx(t), &forecast.ListForecastExportJobsInput{}); err != nil {
		t.Fatal(err)
	}
}

// TestCredentialsBodyLimit: with credentials the body is read before the
// signature check, so an oversized body is refused (413) and not counted.
func TestCredentialsBodyLimit(t *testing.T) {
	srv, _ := start(t, small(emulator.Options{Credentials: testCredentials(), MaxBodyBytes: 64}))
	big := `{"MaxResults":1,"NextToken":"` + strings.Repeat("x", 100) + `"}`
	resp, body := signedList(t, srv, "AKIDCI", "ci-secret", "", big, nil)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || body["__type"] != "com.amazon.coral.service#SerializationException" {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	if n := srv.CallCount(""); n != 0 {
		t.Fatalf("counted %d", n)
	}
}

// TestControlCredentials: loopback tools set and read the credentials over
// HTTP; secrets are never shown.
func TestControlCredentials(t *testing.T) {
	srv, _ := start(t, small(emulator.Options{}))
	url := srv.URL() + "/_emulator/credentials"
	send := func(method, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx(t), method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if strings.Contains(string(b), "ci-secret") {
			t.Fatalf("secret shown: %s", b)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("not JSON: %s", b)
		}
		return resp.StatusCode, m
	}
	ids := func(m map[string]any) []string {
		var out []string
		for _, v := range m["accessKeyIds"].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	if code, m := send(http.MethodGet, ""); code != 200 || len(ids(m)) != 0 {
		t.Fatalf("%d %v", code, m)
	}
	code, m := send(http.MethodPut, `[{"AccessKeyID":"AKIDCI","SecretAccessKey":"ci-secret","Deny":["TagResource"],"Expires":"2999-01-01T00:00:00Z"},
		{"AccessKeyId":"ASIATEMP","SecretAccessKey":"t","SessionToken":"tok"}]`)
	if code != 200 || !slices.Equal(ids(m), []string{"AKIDCI", "ASIATEMP"}) {
		t.Fatalf("%d %v", code, m)
	}
	c, _ := keyClient(srv, "AKIDCI", "ci-secret", "")
	if _, err := c.ListForecastExportJobs(ctx(t), &forecast.ListForecastExportJobsInput{}); err != nil {
		t.Fatal(err)
	}
	other, _ := keyClient(srv, "EMULATOR", "EMULATOR", "")
	_, err := other.ListForecastExportJobs(ctx(t), &forecast.ListForecastExportJobsInput{})
	wantAPIError(t, err, "UnrecognizedClientException", msgInvalidToken)
	for _, tc := range []struct {
		method, body string
		code         int
	}{
		{http.MethodPut, `[{"AccessKeyID":"A"}]`, 400},
		{http.MethodPut, `[{"AccessKeyID":"A","SecretAccessKey":"s","Expiration":"x"}]`, 400},
		{http.MethodPut, `{`, 400},
		{http.MethodDelete, ``, 405},
	} {
		if code, m := send(tc.method, tc.body); code != tc.code || m["error"] == nil {
			t.Fatalf("%s %s: %d %v", tc.method, tc.body, code, m)
		}
	}
	if code, m := send(http.MethodPut, `[]`); code != 200 || len(ids(m)) != 0 {
		t.Fatalf("%d %v", code, m)
	}
	if _, err := other.ListForecastExportJobs(ctx(t), &forecast.ListForecastExportJobsInput{}); err != nil {
		t.Fatalf("[] returns to any key: %v", err)
	}
}
