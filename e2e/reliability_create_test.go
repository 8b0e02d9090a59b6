package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
	"github.com/forecastgw/forecast-gateway/emulator"
	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/internal/gateway"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

func relJobsNamed(env *testenv.Env, name string) []emulator.JobInfo {
	var out []emulator.JobInfo
	for _, j := range env.Emu.Jobs(jobtype.PredictorBacktestExportJob) {
		if j.Name == name {
			out = append(out, j)
		}
	}
	return out
}

// TestReliabilityCreateRetryAfterTimeout: a Create whose client timed out
// and is retried yields exactly one job, whichever side of the upstream
// call the timeout fell on.
func TestReliabilityCreateRetryAfterTimeout(t *testing.T) {
	// loseResponse makes the gateway hold the answer of the first Create
	// named lost_response until the client has given up: the job exists
	// upstream but the client never hears so.
	// It holds the answer until the test says the client has given up (not
	// until the server's own deadline: that fires about when the client's
	// does, and the answer could still reach the client first).
	var lost atomic.Bool
	clientGaveUp := make(chan struct{})
	loseResponse := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		resp, err := h(ctx, req)
		if r, ok := req.(*gatewayv1.CreatePredictorBacktestExportJobRequest); ok && r.GetPredictorBacktestExportJobName() == "lost_response" && lost.CompareAndSwap(false, true) {
			select {
			case <-clientGaveUp:
			case <-time.After(30 * time.Second):
			}
		}
		return resp, err
	}
	env := testenv.Start(t, testenv.Options{Gateway: gateway.Config{UnaryInterceptors: []grpc.UnaryServerInterceptor{loseResponse}}})
	const clientTimeout = 250 * time.Millisecond
	create := func(name string, timeout time.Duration) (*gatewayv1.CreatePredictorBacktestExportJobResponse, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return env.Client.CreatePredictorBacktestExportJob(ctx, relValidCreate(env, name))
	}

	t.Run("timeout before the upstream acted", func(t *testing.T) {
		env.Emu.InjectFault(emulator.OpCreatePredictorBacktestExportJob, emulator.Fault{Kind: emulator.FaultLatency, Latency: 5 * time.Second, Count: 1})
		if _, err := create("slow_upstream", clientTimeout); status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("first attempt: %v, want DeadlineExceeded", err)
		}
		eventually(t, 5*time.Second, "the upstream create was not cancelled",
			func() bool { return env.Emu.CanceledCount(emulator.OpCreatePredictorBacktestExportJob) == 1 })
		if n := len(relJobsNamed(env, "slow_upstream")); n != 0 {
			t.Fatalf("%d jobs after a cancelled create, want 0", n)
		}
		r, err := create("slow_upstream", 10*time.Second)
		if err != nil {
			t.Fatalf("retry: %v", err)
		}
		if js := relJobsNamed(env, "slow_upstream"); len(js) != 1 || js[0].Arn != r.GetPredictorBacktestExportJobArn() {
			t.Fatalf("jobs %v, want exactly the one the retry returned (%s)", js, r.GetPredictorBacktestExportJobArn())
		}
	})

	t.Run("timeout after the upstream acted", func(t *testing.T) {
		_, err := create("lost_response", clientTimeout)
		close(clientGaveUp)
		if status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("first attempt: %v, want DeadlineExceeded", err)
		}
		js := relJobsNamed(env, "lost_response")
		if len(js) != 1 {
			t.Fatalf("%d jobs after the first attempt, want 1 (made, answer lost)", len(js))
		}
		_, err = create("lost_response", 10*time.Second)
		st := status.Convert(err)
		info, _, _ := relDetails(st)
		if st.Code() != codes.AlreadyExists || info.GetReason() != "RESOURCE_ALREADY_EXISTS" {
			t.Fatalf("retry: %v (reason %q), want AlreadyExists RESOURCE_ALREADY_EXISTS", err, info.GetReason())
		}
		if n := len(relJobsNamed(env, "lost_response")); n != 1 {
			t.Fatalf("%d jobs after the retry, want 1", n)
		}
		// The REST retry says the same, as 409.
		r := relDo(t, env.HTTP, relCtx(t, 10*time.Second), http.MethodPost, env.BaseURL+"/v1/predictor-backtest-export-jobs", "application/json", relValidCreateJSON(env, "lost_response"))
		if r.Code != http.StatusConflict || r.Err.reason() != "RESOURCE_ALREADY_EXISTS" {
			t.Fatalf("REST retry: HTTP %d reason %q, want 409 RESOURCE_ALREADY_EXISTS", r.Code, r.Err.reason())
		}
		// And the job is there to describe.
		d, err := env.Client.DescribePredictorBacktestExportJob(relCtx(t, 10*time.Second), &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: js[0].Arn})
		if err != nil || d.GetPredictorBacktestExportJobName() != "lost_response" {
			t.Fatalf("describe: %v %v", d, err)
		}
	})
}

// TestReliabilityCreatesAreListedAndDescribed: concurrent creates over
// gRPC and REST all succeed, and every one is then found exactly once by a
// paginated list (gRPC and REST) and by describe.
func TestReliabilityCreatesAreListedAndDescribed(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx := relCtx(t, 60*time.Second)
	const perTransport = 20
	predictor := env.Emu.PredictorArns()[0]

	var mu sync.Mutex
	created := map[string]string{} // arn -> name
	var wg sync.WaitGroup
	for i := range perTransport {
		wg.Add(2)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("grpc_job_%02d", i)
			r, err := env.Client.CreatePredictorBacktestExportJob(ctx, relValidCreate(env, name))
			if err != nil {
				t.Errorf("create %s: %v", name, err)
				return
			}
			mu.Lock()
			created[r.GetPredictorBacktestExportJobArn()] = name
			mu.Unlock()
		}()
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("rest_job_%02d", i)
			r := relDo(t, env.HTTP, ctx, http.MethodPost, env.BaseURL+"/v1/predictor-backtest-export-jobs", "application/json", relValidCreateJSON(env, name))
			var out struct {
				Arn string `json:"predictor_backtest_export_job_arn"`
			}
			if r.Code != http.StatusCreated || json.Unmarshal(r.Raw, &out) != nil || out.Arn == "" {
				t.Errorf("REST create %s: HTTP %d %s", name, r.Code, r.Raw)
				return
			}
			mu.Lock()
			created[out.Arn] = name
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(created) != 2*perTransport {
		t.Fatalf("%d distinct ARNs from %d creates", len(created), 2*perTransport)
	}
	filter := fmt.Sprintf("predictor_arn = %q", predictor)

	// gRPC, small pages.
	seen := map[string]int{}
	token := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("pagination does not end")
		}
		r, err := env.Client.ListPredictorBacktestExportJobs(ctx, &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: 7, PageToken: token, Filter: filter})
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range r.GetPredictorBacktestExportJobs() {
			seen[j.GetPredictorBacktestExportJobArn()]++
		}
		if token = r.GetNextPageToken(); token == "" {
			break
		}
	}
	// REST, other page size.
	seenREST := map[string]int{}
	token = ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("REST pagination does not end")
		}
		q := url.Values{"page_size": {"11"}, "filter": {filter}}
		if token != "" {
			q.Set("page_token", token)
		}
		r := relDo(t, env.HTTP, ctx, http.MethodGet, env.BaseURL+"/v1/predictor-backtest-export-jobs?"+q.Encode(), "", nil)
		var out struct {
			Jobs []struct {
				Arn string `json:"predictor_backtest_export_job_arn"`
			} `json:"predictor_backtest_export_jobs"`
			Next string `json:"next_page_token"`
		}
		if r.Code != http.StatusOK || json.Unmarshal(r.Raw, &out) != nil {
			t.Fatalf("REST list: HTTP %d %.300s", r.Code, r.Raw)
		}
		for _, j := range out.Jobs {
			seenREST[j.Arn]++
		}
		if token = out.Next; token == "" {
			break
		}
	}
	for arn, name := range created {
		if seen[arn] != 1 || seenREST[arn] != 1 {
			t.Errorf("%s (%s) listed %d times over gRPC and %d over REST, want once each", name, arn, seen[arn], seenREST[arn])
		}
		d, err := env.Client.DescribePredictorBacktestExportJob(ctx, &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: arn})
		if err != nil || d.GetPredictorBacktestExportJobName() != name || d.GetPredictorArn() != predictor {
			t.Errorf("describe %s: %v %v", arn, d, err)
		}
		r := relDo(t, env.HTTP, ctx, http.MethodGet, env.BaseURL+"/v1/predictor-backtest-export-jobs/"+url.PathEscape(arn), "", nil)
		if r.Code != http.StatusOK {
			t.Errorf("REST describe %s: HTTP %d", arn, r.Code)
		}
	}
	for arn, n := range seen {
		if n != 1 {
			t.Errorf("%s listed %d times", arn, n)
		}
	}
}
