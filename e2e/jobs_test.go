package e2e_test

// The job family end to end: one row per job type drives the same lifecycle
// over gRPC and over REST, against the emulator, with the emulator's clock
// driven by the test. Adding a job type is adding a row.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
	"github.com/forecastgw/forecast-gateway/emulator"
	"github.com/forecastgw/forecast-gateway/internal/apierr"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

const (
	roleArn       = "arn:aws:iam::123456789012:role/ForecastRole"
	cannotAssume  = "arn:aws:iam::123456789012:role/CannotAssumeRole"
	serviceMethod = "/forecast.gateway.v1.ForecastJobService/"
)

// jobRow is one job type as these tests drive it.
type jobRow struct {
	t *jobtype.Type
	// createBody is the JSON (proto field names) of a valid Create request
	// for a job called name, made from the emulator's fixtures.
	createBody func(emu *emulator.Server, name, role string) string
	// filterValue is the value of the type's ARN filter that selects the
	// job created by createBody.
	filterValue func(emu *emulator.Server, arn string) string
}

func exportBody(t *jobtype.Type, parentArn, name, role string) string {
	return fmt.Sprintf(`{%q: %q, %q: %q, "destination": {"s3_config": {"path": "s3://bucket/exports/%s/", "role_arn": %q}},
		"format": "EXPORT_FORMAT_PARQUET", "tags": [{"key": "team", "value": "planning"}]}`,
		t.NameField, name, t.Parent.Field, parentArn, name, role)
}

var jobRows = []jobRow{
	{
		t: jobtype.DatasetImportJob,
		createBody: func(emu *emulator.Server, name, role string) string {
			return fmt.Sprintf(`{"dataset_import_job_name": %q, "dataset_arn": %q,
				"data_source": {"s3_config": {"path": "s3://bucket/data/", "role_arn": %q}},
				"time_zone": "America/Los_Angeles", "timestamp_format": "yyyy-MM-dd HH:mm:ss",
				"format": "IMPORT_FORMAT_CSV", "import_mode": "IMPORT_MODE_INCREMENTAL",
				"tags": [{"key": "team", "value": "planning"}]}`, name, emu.DatasetArns()[0], role)
		},
		filterValue: func(emu *emulator.Server, _ string) string { return emu.DatasetArns()[0] },
	},
	{
		t: jobtype.ForecastExportJob,
		createBody: func(emu *emulator.Server, name, role string) string {
			return exportBody(jobtype.ForecastExportJob, emu.ForecastArns()[0], name, role)
		},
		filterValue: func(emu *emulator.Server, _ string) string { return emu.ForecastArns()[0] },
	},
	{
		t: jobtype.PredictorBacktestExportJob,
		createBody: func(emu *emulator.Server, name, role string) string {
			return exportBody(jobtype.PredictorBacktestExportJob, emu.PredictorArns()[0], name, role)
		},
		filterValue: func(emu *emulator.Server, _ string) string { return emu.PredictorArns()[0] },
	},
	{
		t: jobtype.ExplainabilityExport,
		createBody: func(emu *emulator.Server, name, role string) string {
			return exportBody(jobtype.ExplainabilityExport, emu.ExplainabilityArns()[0], name, role)
		},
		filterValue: func(emu *emulator.Server, _ string) string { return emu.ExplainabilityArns()[0] },
	},
	{
		t: jobtype.WhatIfForecastExport,
		createBody: func(emu *emulator.Server, name, role string) string {
			arns, _ := json.Marshal(emu.WhatIfForecastArns()[:2])
			return fmt.Sprintf(`{"what_if_forecast_export_name": %q, "what_if_forecast_arns": %s,
				"destination": {"s3_config": {"path": "s3://bucket/what-if/", "role_arn": %q}},
				"tags": [{"key": "team", "value": "planning"}]}`, name, arns, role)
		},
		filterValue: func(_ *emulator.Server, arn string) string { return arn },
	},
}

// callErr is a failed call as either transport reports it.
type callErr struct {
	code   codes.Code
	reason string
	fields []string // BadRequest field violations
	http   int      // REST only
	msg    string
}

func (e *callErr) String() string {
	if e == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%v %s (HTTP %d) %v: %s", e.code, e.reason, e.http, e.fields, e.msg)
}

// jobAPI is one transport's view of the job API. Results are JSON objects
// with the proto field names, as REST sends them.
type jobAPI interface {
	name() string
	create(t *testing.T, r jobRow, body string) (string, *callErr)
	describe(t *testing.T, r jobRow, arn string) (map[string]any, *callErr)
	list(t *testing.T, r jobRow, filter string) ([]map[string]any, *callErr)
	delete(t *testing.T, r jobRow, arn string) *callErr
	stop(t *testing.T, r jobRow, arn string) *callErr
	tag(t *testing.T, arn string, tags map[string]string) *callErr
	untag(t *testing.T, arn string, keys ...string) *callErr
	listTags(t *testing.T, arn string) (map[string]string, *callErr)
}

// grpcAPI calls the gateway's gRPC listener with the generated message
// types (found by name, so one code path serves every job type).
type grpcAPI struct{ env *testenv.Env }

func (grpcAPI) name() string { return "grpc" }

func newMessage(t *testing.T, name string) proto.Message {
	t.Helper()
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName("forecast.gateway.v1." + name))
	if err != nil {
		t.Fatalf("message %s: %v", name, err)
	}
	return mt.New().Interface()
}

// invoke calls method with the request given as JSON and returns the
// response as a JSON object.
func (g grpcAPI) invoke(t *testing.T, method, reqJSON string) (map[string]any, *callErr) {
	t.Helper()
	req, resp := newMessage(t, method+"Request"), newMessage(t, method+"Response")
	if err := protojson.Unmarshal([]byte(reqJSON), req); err != nil {
		t.Fatalf("%s request %s: %v", method, reqJSON, err)
	}
	if err := g.env.Conn.Invoke(ctx(t), serviceMethod+method, req, resp); err != nil {
		st := status.Convert(err)
		info, br, _ := relDetails(st)
		ce := &callErr{code: st.Code(), reason: info.GetReason(), msg: st.Message()}
		for _, v := range br.GetFieldViolations() {
			ce.fields = append(ce.fields, v.GetField())
		}
		return nil, ce
	}
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out, nil
}

func arnJSON(r jobRow, arn string) string { return fmt.Sprintf(`{%q: %q}`, r.t.ArnField, arn) }

func (g grpcAPI) create(t *testing.T, r jobRow, body string) (string, *callErr) {
	out, err := g.invoke(t, r.t.CreateOp(), body)
	if err != nil {
		return "", err
	}
	return out[r.t.ArnField].(string), nil
}

func (g grpcAPI) describe(t *testing.T, r jobRow, arn string) (map[string]any, *callErr) {
	return g.invoke(t, r.t.DescribeOp(), arnJSON(r, arn))
}

func (g grpcAPI) list(t *testing.T, r jobRow, filter string) ([]map[string]any, *callErr) {
	req, _ := json.Marshal(map[string]any{"filter": filter, "page_size": 1000})
	out, err := g.invoke(t, r.t.ListOp(), string(req))
	if err != nil {
		return nil, err
	}
	return items(out[listMember(r)]), nil
}

func (g grpcAPI) delete(t *testing.T, r jobRow, arn string) *callErr {
	_, err := g.invoke(t, r.t.DeleteOp(), arnJSON(r, arn))
	return err
}

func (g grpcAPI) stop(t *testing.T, r jobRow, arn string) *callErr {
	_, err := g.invoke(t, r.t.StopMethod(), arnJSON(r, arn))
	return err
}

func (g grpcAPI) tag(t *testing.T, arn string, tags map[string]string) *callErr {
	body, _ := json.Marshal(map[string]any{"resource_arn": arn, "tags": tagList(tags)})
	_, err := g.invoke(t, "TagResource", string(body))
	return err
}

func (g grpcAPI) untag(t *testing.T, arn string, keys ...string) *callErr {
	body, _ := json.Marshal(map[string]any{"resource_arn": arn, "tag_keys": keys})
	_, err := g.invoke(t, "UntagResource", string(body))
	return err
}

func (g grpcAPI) listTags(t *testing.T, arn string) (map[string]string, *callErr) {
	out, err := g.invoke(t, "ListTagsForResource", fmt.Sprintf(`{"resource_arn": %q}`, arn))
	if err != nil {
		return nil, err
	}
	return tagMap(out["tags"]), nil
}

// restAPI calls the gateway's REST listener with net/http.
type restAPI struct{ env *testenv.Env }

func (restAPI) name() string { return "rest" }

// do sends a request and returns the JSON object of a 2xx answer, or the
// AIP-193 error.
func (a restAPI) do(t *testing.T, method, path, body string) (map[string]any, *callErr) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx(t), method, a.env.BaseURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.env.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode/100 == 2 {
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
		return out, nil
	}
	var re restError
	if err := json.Unmarshal(raw, &re); err != nil || re.Error.Code != resp.StatusCode {
		t.Fatalf("%s %s: HTTP %d, body is not AIP-193: %s", method, path, resp.StatusCode, raw)
	}
	code, ok := codeByName[re.Error.Status]
	if !ok {
		t.Fatalf("%s %s: unknown status %q", method, path, re.Error.Status)
	}
	return nil, &callErr{code: code, reason: re.reason(t), fields: re.violationFields(t), http: resp.StatusCode, msg: re.Error.Message}
}

var codeByName = func() map[string]codes.Code {
	m := map[string]codes.Code{}
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		m[statusName(c)] = c
	}
	return m
}()

func item(r jobRow, arn string) string { return "/v1/" + r.t.Collection + "/" + url.PathEscape(arn) }

func (a restAPI) create(t *testing.T, r jobRow, body string) (string, *callErr) {
	out, err := a.do(t, http.MethodPost, "/v1/"+r.t.Collection, body)
	if err != nil {
		return "", err
	}
	return out[r.t.ArnField].(string), nil
}

func (a restAPI) describe(t *testing.T, r jobRow, arn string) (map[string]any, *callErr) {
	return a.do(t, http.MethodGet, item(r, arn), "")
}

func (a restAPI) list(t *testing.T, r jobRow, filter string) ([]map[string]any, *callErr) {
	out, err := a.do(t, http.MethodGet, "/v1/"+r.t.Collection+"?page_size=1000&filter="+url.QueryEscape(filter), "")
	if err != nil {
		return nil, err
	}
	return items(out[listMember(r)]), nil
}

func (a restAPI) delete(t *testing.T, r jobRow, arn string) *callErr {
	_, err := a.do(t, http.MethodDelete, item(r, arn), "")
	return err
}

func (a restAPI) stop(t *testing.T, r jobRow, arn string) *callErr {
	_, err := a.do(t, http.MethodPost, item(r, arn)+":stop", "")
	return err
}

func (a restAPI) tag(t *testing.T, arn string, tags map[string]string) *callErr {
	body, _ := json.Marshal(map[string]any{"tags": tagList(tags)})
	_, err := a.do(t, http.MethodPost, "/v1/tags/"+url.PathEscape(arn), string(body))
	return err
}

func (a restAPI) untag(t *testing.T, arn string, keys ...string) *callErr {
	q := url.Values{"tag_keys": keys}
	_, err := a.do(t, http.MethodDelete, "/v1/tags/"+url.PathEscape(arn)+"?"+q.Encode(), "")
	return err
}

func (a restAPI) listTags(t *testing.T, arn string) (map[string]string, *callErr) {
	out, err := a.do(t, http.MethodGet, "/v1/tags/"+url.PathEscape(arn), "")
	if err != nil {
		return nil, err
	}
	return tagMap(out["tags"]), nil
}

// listMember is the JSON member holding a List response's jobs:
// "dataset_import_jobs", "explainability_exports", ...
func listMember(r jobRow) string {
	var b strings.Builder
	for i, c := range r.t.Plural {
		if c >= 'A' && c <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			c += 'a' - 'A'
		}
		b.WriteRune(c)
	}
	return b.String()
}

func items(v any) []map[string]any {
	list, _ := v.([]any)
	out := make([]map[string]any, len(list))
	for i, x := range list {
		out[i], _ = x.(map[string]any)
	}
	return out
}

func tagList(tags map[string]string) []map[string]string {
	var out []map[string]string
	for k, v := range tags {
		out = append(out, map[string]string{"key": k, "value": v})
	}
	return out
}

func tagMap(v any) map[string]string {
	out := map[string]string{}
	for _, x := range items(v) {
		k, _ := x["key"].(string)
		val, _ := x["value"].(string)
		out[k] = val
	}
	return out
}

func awsStatus(job map[string]any) string { s, _ := job["aws_status"].(string); return s }

// startLifecycleEnv starts a stack whose emulator clock the test drives.
func startLifecycleEnv(t *testing.T) (*testenv.Env, *emulator.FakeClock) {
	clk := emulator.NewFakeClock(time.Now().Truncate(time.Second))
	env := testenv.Start(t, testenv.Options{Emulator: emulator.Options{Clock: clk, JobDuration: 60 * time.Second}})
	return env, clk
}

// TestJobLifecycle: for every job type over gRPC and REST, create a job and
// follow it to ACTIVE (describe, list with its filter, tags), delete it
// (refused while running, then DELETE_PENDING, then gone), stop another
// (where AWS can), and see a job whose role cannot be assumed fail. The
// emulator, read directly with the AWS SDK, agrees at every step.
func TestJobLifecycle(t *testing.T) {
	for _, row := range jobRows {
		for _, mk := range []func(*testenv.Env) jobAPI{
			func(e *testenv.Env) jobAPI { return grpcAPI{e} },
			func(e *testenv.Env) jobAPI { return restAPI{e} },
		} {
			env, clk := startLifecycleEnv(t)
			api := mk(env)
			t.Run(row.t.Noun+"/"+api.name(), func(t *testing.T) { lifecycle(t, env, clk, api, row) })
		}
	}
}

func lifecycle(t *testing.T, env *testenv.Env, clk *emulator.FakeClock, api jobAPI, r jobRow) {
	emu := env.Emu
	step := func(d time.Duration) { clk.Advance(d) }
	phase := emu.Options().JobDuration / 6 // the pending phase; the rest runs

	want := func(arn, status string) map[string]any {
		t.Helper()
		job, err := api.describe(t, r, arn)
		if err != nil {
			t.Fatalf("describe %s: %v", arn, err)
		}
		if got := awsStatus(job); got != status {
			t.Fatalf("%s is %s, want %s", arn, got, status)
		}
		if got := job["status"]; got != "JOB_STATUS_"+status {
			t.Fatalf("status enum %v, want JOB_STATUS_%s", got, status)
		}
		if direct, ok := emu.Job(arn); !ok || direct.Status != status {
			t.Fatalf("the emulator has %s as %q (found %v), the gateway said %s", arn, direct.Status, ok, status)
		}
		return job
	}
	listed := func(arn, filter string) bool {
		t.Helper()
		jobs, err := api.list(t, r, filter)
		if err != nil {
			t.Fatalf("list %q: %v", filter, err)
		}
		return slices.ContainsFunc(jobs, func(j map[string]any) bool { return j[r.t.ArnField] == arn })
	}

	// Create: CREATE_PENDING, modified when created.
	name := "lifecycle_" + api.name()
	arn, cerr := api.create(t, r, r.createBody(emu, name, roleArn))
	if cerr != nil {
		t.Fatalf("create: %v", cerr)
	}
	if !strings.Contains(arn, ":"+r.t.ArnType+"/") || !strings.HasSuffix(arn, "/"+name) {
		t.Fatalf("ARN %s is not a %s named %s", arn, r.t.ArnType, name)
	}
	job := want(arn, "CREATE_PENDING")
	if job["creation_time"] == nil || job["creation_time"] != job["last_modification_time"] {
		t.Errorf("a pending job's times: created %v, modified %v", job["creation_time"], job["last_modification_time"])
	}
	if job[r.t.NameField] != name {
		t.Errorf("%s = %v, want %s", r.t.NameField, job[r.t.NameField], name)
	}

	// Running: found by its filter, tags change, delete is refused.
	step(phase + time.Second)
	want(arn, "CREATE_IN_PROGRESS")
	filter := fmt.Sprintf(`status = "CREATE_IN_PROGRESS" AND %s = %q`, r.t.Filter.Field, r.filterValue(emu, arn))
	if !listed(arn, filter) {
		t.Fatalf("list %q misses %s", filter, arn)
	}
	if listed(arn, `status = "ACTIVE"`) {
		t.Fatalf("a running job is listed as ACTIVE")
	}
	if err := api.tag(t, arn, map[string]string{"stage": "test", "team": "forecasting"}); err != nil {
		t.Fatalf("tag: %v", err)
	}
	if tags, err := api.listTags(t, arn); err != nil || len(tags) != 2 || tags["team"] != "forecasting" || tags["stage"] != "test" {
		t.Fatalf("tags after TagResource: %v %v", tags, err)
	}
	if err := api.untag(t, arn, "team", "not_there"); err != nil {
		t.Fatalf("untag: %v", err)
	}
	if tags, err := api.listTags(t, arn); err != nil || len(tags) != 1 || tags["stage"] != "test" {
		t.Fatalf("tags after UntagResource: %v %v", tags, err)
	}
	if direct, _ := emu.Job(arn); len(direct.Tags) != 1 || direct.Tags["stage"] != "test" {
		t.Fatalf("the emulator holds tags %v", direct.Tags)
	}
	err := api.delete(t, r, arn)
	if err == nil || err.code != codes.FailedPrecondition || err.reason != apierr.ReasonResourceInUse {
		t.Fatalf("delete while running: %v, want FAILED_PRECONDITION %s", err, apierr.ReasonResourceInUse)
	}
	if api.name() == "rest" && err.http != http.StatusConflict {
		t.Fatalf("delete while running over REST: HTTP %d, want 409", err.http)
	}

	// Done: ACTIVE, then deleted through DELETE_PENDING until gone.
	step(emu.Options().JobDuration)
	want(arn, "ACTIVE")
	if err := api.delete(t, r, arn); err != nil {
		t.Fatalf("delete: %v", err)
	}
	want(arn, "DELETE_PENDING")
	step(emu.Options().JobDuration)
	if _, err := api.describe(t, r, arn); err == nil || err.code != codes.NotFound {
		t.Fatalf("describe of a deleted job: %v, want NOT_FOUND", err)
	}
	if listed(arn, "") {
		t.Fatalf("a deleted job is still listed")
	}
	if _, ok := emu.Job(arn); ok {
		t.Fatalf("the emulator still has the deleted job")
	}

	// Stop another job where AWS's StopResource accepts the type.
	if r.t.Stoppable {
		other, err := api.create(t, r, r.createBody(emu, name+"_stopped", roleArn))
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if err := api.stop(t, r, other); err != nil {
			t.Fatalf("stop: %v", err)
		}
		want(other, "CREATE_STOPPING")
		step(emu.Options().JobDuration)
		want(other, "CREATE_STOPPED")
	}

	// A role Forecast cannot assume fails the job, with AWS's message.
	failing, err := api.create(t, r, r.createBody(emu, name+"_failing", cannotAssume))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	step(emu.Options().JobDuration)
	job = want(failing, "CREATE_FAILED")
	if msg, _ := job["message"].(string); !strings.Contains(msg, "could not assume") {
		t.Fatalf("CREATE_FAILED message %q", msg)
	}
}

// TestJobBadInput: each new kind of bad input is refused before any
// upstream call (INVALID_ARGUMENT naming the field), over gRPC and REST.
func TestJobBadInput(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	emu := env.Emu
	backtest := emu.Jobs(jobtype.PredictorBacktestExportJob)[0].Arn
	otherRegion := strings.Replace(backtest, ":us-east-1:", ":eu-west-1:", 1)
	rows := map[*jobtype.Type]jobRow{}
	for _, r := range jobRows {
		rows[r.t] = r
	}
	cases := []struct {
		name  string
		call  func(t *testing.T, api jobAPI) *callErr
		field string
	}{
		{"stop with an ARN of another type", func(t *testing.T, api jobAPI) *callErr {
			return api.stop(t, rows[jobtype.DatasetImportJob], backtest)
		}, "dataset_import_job_arn"},
		{"describe with an ARN of another region", func(t *testing.T, api jobAPI) *callErr {
			_, err := api.describe(t, rows[jobtype.PredictorBacktestExportJob], otherRegion)
			return err
		}, "predictor_backtest_export_job_arn"},
		{"create under a parent of another region", func(t *testing.T, api jobAPI) *callErr {
			r := rows[jobtype.ForecastExportJob]
			body := strings.Replace(r.createBody(emu, "x", roleArn), ":us-east-1:", ":eu-west-1:", 1)
			_, err := api.create(t, r, body)
			return err
		}, "forecast_arn"},
		{"a filter key of another type", func(t *testing.T, api jobAPI) *callErr {
			_, err := api.list(t, rows[jobtype.ExplainabilityExport], `predictor_arn = "x"`)
			return err
		}, "filter"},
		{"a reserved tag key", func(t *testing.T, api jobAPI) *callErr {
			return api.tag(t, backtest, map[string]string{"AWS:owner": "me"})
		}, "tags[0].key"},
		{"untag a reserved key", func(t *testing.T, api jobAPI) *callErr {
			return api.untag(t, backtest, "aws:cloudformation:stack-name")
		}, "tag_keys[0]"},
		{"tags on a resource that is not a job", func(t *testing.T, api jobAPI) *callErr {
			_, err := api.listTags(t, emu.PredictorArns()[0])
			return err
		}, "resource_arn"},
	}
	for _, api := range []jobAPI{grpcAPI{env}, restAPI{env}} {
		for _, tc := range cases {
			t.Run(api.name()+"/"+tc.name, func(t *testing.T) {
				before := emu.CallCount("")
				err := tc.call(t, api)
				if err == nil || err.code != codes.InvalidArgument || !slices.Contains(err.fields, tc.field) {
					t.Fatalf("got %v, want INVALID_ARGUMENT naming %s", err, tc.field)
				}
				if api.name() == "rest" && err.http != http.StatusBadRequest {
					t.Fatalf("HTTP %d, want 400", err.http)
				}
				if n := emu.CallCount("") - before; n != 0 {
					t.Fatalf("%d upstream calls for a refused request", n)
				}
			})
		}
	}
}

// TestEveryRPCIsServed: the service lists the 29 RPCs of the API and each
// answers (not UNIMPLEMENTED) over gRPC.
func TestEveryRPCIsServed(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	sd, err := protoregistry.GlobalFiles.FindDescriptorByName("forecast.gateway.v1.ForecastJobService")
	if err != nil {
		t.Fatal(err)
	}
	methods := sd.(protoreflect.ServiceDescriptor).Methods()
	if methods.Len() != 29 {
		t.Fatalf("%d RPCs, want 29", methods.Len())
	}
	for i := range methods.Len() {
		m := methods.Get(i)
		req := newMessage(t, string(m.Input().Name()))
		resp := newMessage(t, string(m.Output().Name()))
		var err error
		if m.IsStreamingServer() {
			var s grpc.ClientStream
			if s, err = env.Conn.NewStream(ctx(t), &grpc.StreamDesc{ServerStreams: true}, serviceMethod+string(m.Name())); err == nil {
				if err = s.SendMsg(req); err == nil {
					_ = s.CloseSend()
					err = s.RecvMsg(resp)
				}
			}
		} else {
			err = env.Conn.Invoke(ctx(t), serviceMethod+string(m.Name()), req, resp)
		}
		if status.Code(err) == codes.Unimplemented {
			t.Errorf("%s is not implemented", m.Name())
		}
	}
	_ = context.Background
}
