package e2e_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/proto"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
	"github.com/forecastgw/forecast-gateway/emulator"
	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

func createRequest(predictor, name string) *gatewayv1.CreatePredictorBacktestExportJobRequest {
	return &gatewayv1.CreatePredictorBacktestExportJobRequest{
		PredictorBacktestExportJobName: name,
		PredictorArn:                   predictor,
		Destination: &gatewayv1.DataDestination{S3Config: &gatewayv1.S3Config{
			Path: "s3://exports/" + name + "/", RoleArn: roleArn,
			KmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/abcd-1234",
		}},
		Tags:   []*gatewayv1.Tag{{Key: "team", Value: "forecasting"}, {Key: "cost-centre", Value: ""}},
		Format: gatewayv1.ExportFormat_EXPORT_FORMAT_PARQUET,
	}
}

// TestCreateDescribeAndFind creates a job over gRPC, checks that every
// request member reached AWS, describes it over gRPC and REST, and finds it
// in the list by predictor and by status.
func TestCreateDescribeAndFind(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	pred := env.Emu.PredictorArns()[2]
	req := createRequest(pred, "weekly_backtest")

	created, err := env.Client.CreatePredictorBacktestExportJob(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	arn := created.GetPredictorBacktestExportJobArn()
	if !strings.HasSuffix(arn, ":predictor-backtest-export-job/"+pred[strings.LastIndex(pred, "/")+1:]+"/weekly_backtest") {
		t.Fatalf("unexpected ARN %s", arn)
	}
	job, ok := env.Emu.Job(arn)
	if !ok {
		t.Fatal("the emulator has no such job")
	}
	if job.Format != "PARQUET" || job.KMSKeyArn != req.Destination.S3Config.KmsKeyArn || job.RoleArn != roleArn ||
		job.S3Path != req.Destination.S3Config.Path || job.Tags["team"] != "forecasting" || len(job.Tags) != 2 {
		t.Fatalf("request did not reach AWS intact: %+v", job)
	}

	got, err := env.Client.DescribePredictorBacktestExportJob(ctx(t), &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	direct, err := env.SDK.DescribePredictorBacktestExportJob(ctx(t), &forecast.DescribePredictorBacktestExportJobInput{PredictorBacktestExportJobArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	want := &gatewayv1.DescribePredictorBacktestExportJobResponse{
		PredictorBacktestExportJobArn:  arn,
		PredictorBacktestExportJobName: "weekly_backtest",
		PredictorArn:                   pred,
		Destination:                    req.Destination,
		Format:                         gatewayv1.ExportFormat_EXPORT_FORMAT_PARQUET,
		AwsFormat:                      "PARQUET",
		Status:                         gatewayv1.JobStatus(gatewayv1.JobStatus_value["JOB_STATUS_"+aws.ToString(direct.Status)]),
		AwsStatus:                      aws.ToString(direct.Status),
		CreationTime:                   got.GetCreationTime(),
		LastModificationTime:           got.GetLastModificationTime(),
	}
	if !proto.Equal(got, want) {
		t.Fatalf("describe:\n got %v\nwant %v", got, want)
	}
	if !got.GetCreationTime().AsTime().Equal(*direct.CreationTime) || !got.GetLastModificationTime().AsTime().Equal(*direct.LastModificationTime) {
		t.Fatalf("times differ from AWS: %v %v vs %v %v", got.GetCreationTime().AsTime(), got.GetLastModificationTime().AsTime(), direct.CreationTime, direct.LastModificationTime)
	}

	// REST, with the ARN as one path segment: PathEscape encodes '/' only,
	// QueryEscape (like encodeURIComponent) also ':'. Both must work.
	for _, seg := range []string{url.PathEscape(arn), url.QueryEscape(arn)} {
		var rest map[string]any
		code, _, re := doREST(t, env.HTTP, http.MethodGet, env.BaseURL+"/v1/predictor-backtest-export-jobs/"+seg, "", &rest)
		if code != http.StatusOK || rest["predictor_backtest_export_job_arn"] != arn || rest["aws_format"] != "PARQUET" {
			t.Fatalf("REST describe %s: HTTP %d %v %+v", seg, code, rest, re)
		}
	}

	// Findable in the list, by predictor and by its current status.
	for _, f := range []string{fmt.Sprintf("predictor_arn = %q", pred), fmt.Sprintf("status = %q", got.GetAwsStatus())} {
		arns, _ := walk(t, env, backtestListOp(), 1000, f)
		if !containsString(arns, arn) {
			t.Errorf("created job not listed with filter %s", f)
		}
	}
}

func containsString(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// TestCreateOverREST posts a JSON body with snake_case AWS member names and
// enum names, then reads the job back over REST.
func TestCreateOverREST(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	pred := env.Emu.PredictorArns()[0]
	body := fmt.Sprintf(`{"predictor_backtest_export_job_name":"rest_job","predictor_arn":%q,
		"destination":{"s3_config":{"path":"s3://bucket/rest/","role_arn":%q}},
		"tags":[{"key":"k","value":"v"}],"format":"EXPORT_FORMAT_CSV"}`, pred, roleArn)
	var out map[string]string
	code, hdr, re := doREST(t, env.HTTP, http.MethodPost, env.BaseURL+"/v1/predictor-backtest-export-jobs", body, &out)
	if code != http.StatusCreated {
		t.Fatalf("HTTP %d, want 201: %+v", code, re)
	}
	arn := out["predictor_backtest_export_job_arn"]
	if loc := hdr.Get("Location"); loc != "/v1/predictor-backtest-export-jobs/"+url.PathEscape(arn) {
		t.Fatalf("Location %q for %s", loc, arn)
	}
	var got map[string]any
	if code, _, re := doREST(t, env.HTTP, http.MethodGet, env.BaseURL+"/v1/predictor-backtest-export-jobs/"+url.PathEscape(arn), "", &got); code != http.StatusOK {
		t.Fatalf("describe HTTP %d: %+v", code, re)
	}
	if got["predictor_backtest_export_job_name"] != "rest_job" || got["format"] != "EXPORT_FORMAT_CSV" || got["status"] != "JOB_STATUS_CREATE_PENDING" {
		t.Fatalf("unexpected job %v", got)
	}
	if job, _ := env.Emu.Job(arn); job.Tags["k"] != "v" || job.Format != "CSV" {
		t.Fatalf("tags or format lost: %+v", job)
	}
}

// TestErrorMapping checks each upstream error class end to end: gRPC code,
// ErrorInfo reason and AWS request id, and the REST status and body.
func TestErrorMapping(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Emulator: emulator.Options{MaxInProgressJobs: 2}})
	preds := env.Emu.PredictorArns()
	if _, err := env.Client.CreatePredictorBacktestExportJob(ctx(t), createRequest(preds[0], "first")); err != nil {
		t.Fatal(err)
	}
	busy := preds[3]
	if err := env.Emu.SetParentStatus(busy, "CREATE_IN_PROGRESS"); err != nil {
		t.Fatal(err)
	}
	missingPred := strings.Replace(preds[0], preds[0][strings.LastIndex(preds[0], "/")+1:], "no_such_predictor", 1)
	missingJob := "arn:aws:forecast:us-east-1:123456789012:predictor-backtest-export-job/p/no_such_job"

	for _, tc := range []struct {
		name     string
		setup    func()
		call     func() error
		restCall func() (int, http.Header, restError)
		code     codes.Code
		httpCode int
		reason   string
		awsID    bool
	}{
		{
			name: "not found", code: codes.NotFound, httpCode: 404, reason: "RESOURCE_NOT_FOUND", awsID: true,
			call: func() error {
				_, err := env.Client.DescribePredictorBacktestExportJob(ctx(t), &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: missingJob})
				return err
			},
			restCall: func() (int, http.Header, restError) {
				return doREST(t, env.HTTP, http.MethodGet, env.BaseURL+"/v1/predictor-backtest-export-jobs/"+url.PathEscape(missingJob), "", nil)
			},
		},
		{
			name: "unknown predictor", code: codes.NotFound, httpCode: 404, reason: "RESOURCE_NOT_FOUND", awsID: true,
			call: func() error {
				_, err := env.Client.CreatePredictorBacktestExportJob(ctx(t), createRequest(missingPred, "x"))
				return err
			},
		},
		{
			name: "already exists", code: codes.AlreadyExists, httpCode: 409, reason: "RESOURCE_ALREADY_EXISTS", awsID: true,
			call: func() error {
				_, err := env.Client.CreatePredictorBacktestExportJob(ctx(t), createRequest(preds[0], "first"))
				return err
			},
			restCall: func() (int, http.Header, restError) {
				b, _ := json.Marshal(map[string]any{"predictor_backtest_export_job_name": "first", "predictor_arn": preds[0],
					"destination": map[string]any{"s3_config": map[string]any{"path": "s3://b/p", "role_arn": roleArn}}})
				return doREST(t, env.HTTP, http.MethodPost, env.BaseURL+"/v1/predictor-backtest-export-jobs", string(b), nil)
			},
		},
		{
			// A job in the wrong state for the request is a conflict: 409.
			name: "resource in use", code: codes.FailedPrecondition, httpCode: 409, reason: "RESOURCE_IN_USE", awsID: true,
			call: func() error {
				_, err := env.Client.CreatePredictorBacktestExportJob(ctx(t), createRequest(busy, "on_busy"))
				return err
			},
			restCall: func() (int, http.Header, restError) {
				b, _ := json.Marshal(map[string]any{"predictor_backtest_export_job_name": "on_busy", "predictor_arn": busy,
					"destination": map[string]any{"s3_config": map[string]any{"path": "s3://b/p", "role_arn": roleArn}}})
				return doREST(t, env.HTTP, http.MethodPost, env.BaseURL+"/v1/predictor-backtest-export-jobs", string(b), nil)
			},
		},
		{
			name: "limit exceeded", code: codes.ResourceExhausted, httpCode: 429, reason: "LIMIT_EXCEEDED", awsID: true,
			setup: func() {
				if _, err := env.Client.CreatePredictorBacktestExportJob(ctx(t), createRequest(preds[1], "second")); err != nil {
					t.Fatal(err)
				}
			},
			call: func() error {
				_, err := env.Client.CreatePredictorBacktestExportJob(ctx(t), createRequest(preds[2], "third"))
				return err
			},
			restCall: func() (int, http.Header, restError) {
				b, _ := json.Marshal(map[string]any{"predictor_backtest_export_job_name": "third", "predictor_arn": preds[2],
					"destination": map[string]any{"s3_config": map[string]any{"path": "s3://b/p", "role_arn": roleArn}}})
				return doREST(t, env.HTTP, http.MethodPost, env.BaseURL+"/v1/predictor-backtest-export-jobs", string(b), nil)
			},
		},
		{
			name: "throttled past retries", code: codes.Unavailable, httpCode: 503, reason: "UPSTREAM_THROTTLED", awsID: true,
			setup: func() {
				env.Emu.InjectFault(emulator.OpListForecastExportJobs, emulator.Fault{Kind: emulator.FaultThrottle})
			},
			call: func() error {
				_, err := env.Client.ListForecastExportJobs(ctx(t), &gatewayv1.ListForecastExportJobsRequest{})
				return err
			},
			restCall: func() (int, http.Header, restError) {
				return doREST(t, env.HTTP, http.MethodGet, env.BaseURL+"/v1/forecast-export-jobs", "", nil)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			defer env.Emu.ClearFaults()
			st := wantGRPCError(t, tc.call(), tc.code, tc.reason)
			for _, d := range st.Details() {
				if info, ok := d.(*errdetails.ErrorInfo); ok && tc.awsID && info.GetMetadata()["aws_request_id"] == "" {
					t.Errorf("no aws_request_id in ErrorInfo %v", info)
				}
				if ri, ok := d.(*errdetails.RetryInfo); ok && tc.code != codes.Unavailable {
					t.Errorf("unexpected RetryInfo %v", ri)
				}
			}
			if _, _, ri := relDetails(st); tc.code == codes.Unavailable && ri == nil {
				t.Error("UNAVAILABLE from throttling carries no RetryInfo")
			}
			if tc.restCall == nil {
				return
			}
			code, hdr, re := tc.restCall()
			if code != tc.httpCode || re.Error.Status != tc.code.String() && re.Error.Status != statusName(tc.code) {
				t.Fatalf("REST: HTTP %d status %q, want %d %s", code, re.Error.Status, tc.httpCode, statusName(tc.code))
			}
			if re.reason(t) != tc.reason {
				t.Errorf("REST reason %q, want %q", re.reason(t), tc.reason)
			}
			if tc.code == codes.Unavailable && hdr.Get("Retry-After") == "" {
				t.Error("REST 503 without Retry-After")
			}
		})
	}
}

func statusName(c codes.Code) string {
	return map[codes.Code]string{
		codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS", codes.FailedPrecondition: "FAILED_PRECONDITION",
		codes.ResourceExhausted: "RESOURCE_EXHAUSTED", codes.Unavailable: "UNAVAILABLE", codes.InvalidArgument: "INVALID_ARGUMENT",
	}[c]
}

// TestValidationNamesFieldsAndSkipsUpstream sends a create with every
// member wrong and expects one violation per field, over gRPC and REST, with
// no upstream call.
func TestValidationNamesFieldsAndSkipsUpstream(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	bad := &gatewayv1.CreatePredictorBacktestExportJobRequest{
		PredictorBacktestExportJobName: "9starts_with_digit",
		PredictorArn:                   "arn:aws:forecast:us-east-1:123456789012:forecast/not_a_predictor",
		Destination: &gatewayv1.DataDestination{S3Config: &gatewayv1.S3Config{
			Path: "http://bucket", RoleArn: "role", KmsKeyArn: "key",
		}},
		Tags:   []*gatewayv1.Tag{{Key: "aws:reserved", Value: "v"}, {Key: "dup"}, {Key: "dup"}},
		Format: gatewayv1.ExportFormat(7),
	}
	fields := []string{"predictor_backtest_export_job_name", "predictor_arn", "destination.s3_config.path",
		"destination.s3_config.role_arn", "destination.s3_config.kms_key_arn", "tags[0].key", "tags[2].key", "format"}
	_, err := env.Client.CreatePredictorBacktestExportJob(ctx(t), bad)
	wantGRPCError(t, err, codes.InvalidArgument, "INVALID_ARGUMENT", fields...)

	body := `{"predictor_backtest_export_job_name":"9x","predictor_arn":"nope","destination":{"s3_config":{"path":"s3:/x","role_arn":"r"}}}`
	code, _, re := doREST(t, env.HTTP, http.MethodPost, env.BaseURL+"/v1/predictor-backtest-export-jobs", body, nil)
	if code != http.StatusBadRequest || re.Error.Status != "INVALID_ARGUMENT" {
		t.Fatalf("HTTP %d %q", code, re.Error.Status)
	}
	got := re.violationFields(t)
	for _, f := range []string{"predictor_backtest_export_job_name", "predictor_arn", "destination.s3_config.path", "destination.s3_config.role_arn"} {
		if !containsString(got, f) {
			t.Errorf("REST violations %v lack %s", got, f)
		}
	}
	if n := env.Emu.CallCount(""); n != 0 {
		t.Errorf("%d upstream calls for invalid requests", n)
	}
}

// TestUnknownStatusIsKept: a status AWS adds later neither fails the call
// nor vanishes: the enum says UNSPECIFIED and aws_status carries the value.
func TestUnknownStatusIsKept(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	jobs := env.Emu.Jobs(jobtype.PredictorBacktestExportJob)
	arn := jobs[0].Arn
	if err := env.Emu.SetJobStatus(arn, "CREATE_QUEUED"); err != nil {
		t.Fatal(err)
	}
	got, err := env.Client.DescribePredictorBacktestExportJob(ctx(t), &gatewayv1.DescribePredictorBacktestExportJobRequest{PredictorBacktestExportJobArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetStatus() != gatewayv1.JobStatus_JOB_STATUS_UNSPECIFIED || got.GetAwsStatus() != "CREATE_QUEUED" {
		t.Fatalf("status %v / %q", got.GetStatus(), got.GetAwsStatus())
	}
	resp, err := env.Client.ListPredictorBacktestExportJobs(ctx(t), &gatewayv1.ListPredictorBacktestExportJobsRequest{PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if s := resp.GetPredictorBacktestExportJobs()[0]; s.GetPredictorBacktestExportJobArn() != arn || s.GetAwsStatus() != "CREATE_QUEUED" {
		t.Fatalf("list: %v", s)
	}
	var rest map[string]any
	doREST(t, env.HTTP, http.MethodGet, env.BaseURL+"/v1/predictor-backtest-export-jobs/"+url.PathEscape(arn), "", &rest)
	if rest["aws_status"] != "CREATE_QUEUED" {
		t.Fatalf("REST: %v", rest)
	}
}

// TestDiscoverability covers what a person with grpcurl or curl meets:
// health, reflection and the OpenAPI document.
func TestDiscoverability(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	hc, err := healthpb.NewHealthClient(env.Conn).Check(ctx(t), &healthpb.HealthCheckRequest{Service: "forecast.gateway.v1.ForecastJobService"})
	if err != nil || hc.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", hc, err)
	}

	stream, err := reflectionpb.NewServerReflectionClient(env.Conn).ServerReflectionInfo(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	rr, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	_ = stream.CloseSend()
	var names []string
	for _, s := range rr.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	if !containsString(names, "forecast.gateway.v1.ForecastJobService") || !containsString(names, "grpc.health.v1.Health") {
		t.Fatalf("reflection lists %v", names)
	}

	var doc struct {
		Swagger string                    `json:"swagger"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if code, _, _ := doREST(t, env.HTTP, http.MethodGet, env.BaseURL+"/openapi.json", "", &doc); code != http.StatusOK {
		t.Fatalf("openapi.json: HTTP %d", code)
	}
	// Every route of every job type, whatever the path parameter is called.
	methodsAt := func(prefix, suffix string) []string {
		for p, ops := range doc.Paths {
			if rest, ok := strings.CutPrefix(p, prefix); ok && strings.HasPrefix(rest, "{") && strings.HasSuffix(rest, "}"+suffix) && !strings.Contains(rest[:len(rest)-len(suffix)], "/") {
				return slices.Sorted(maps.Keys(ops))
			}
		}
		return nil
	}
	for _, jt := range jobtype.All {
		coll := "/v1/" + jt.Collection
		if got := slices.Sorted(maps.Keys(doc.Paths[coll])); !slices.Equal(got, []string{"get", "post"}) {
			t.Errorf("OpenAPI %s: %v, want get and post", coll, got)
		}
		if got := methodsAt(coll+"/", ""); !slices.Equal(got, []string{"delete", "get"}) {
			t.Errorf("OpenAPI %s/{arn}: %v, want delete and get", coll, got)
		}
		if got := methodsAt(coll+"/", ":stop"); jt.Stoppable != slices.Equal(got, []string{"post"}) {
			t.Errorf("OpenAPI %s/{arn}:stop: %v (stoppable %v)", coll, got, jt.Stoppable)
		}
	}
	if got := methodsAt("/v1/tags/", ""); !slices.Equal(got, []string{"delete", "get", "post"}) {
		t.Errorf("OpenAPI /v1/tags/{arn}: %v", got)
	}
}
