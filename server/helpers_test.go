package server

// Shared test machinery: a fake upstream that speaks every ForecastAPI
// operation, calling RPCs by name (so a test is written once for every job
// type), setting request fields by their snake_case path, and taking the
// gateway's errors apart.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/forecastgw/forecast-gateway/internal/apierr"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
	"github.com/forecastgw/forecast-gateway/internal/pagetoken"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

const (
	tRegion      = "us-east-1"
	tOtherRegion = "eu-west-1"
	tAccount     = "123456789012"
	tRole        = "arn:aws:iam::123456789012:role/ForecastRole"
	tKMS         = "arn:aws:kms:us-east-1:123456789012:key/1234abcd"
	tPath        = "s3://bucket/prefix/"
)

var tStart = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)

// tArn is a Forecast ARN in the test region.
func tArn(arnType, rest string) string { return tArnIn(tRegion, arnType, rest) }

func tArnIn(region, arnType, rest string) string {
	return "arn:aws:forecast:" + region + ":" + tAccount + ":" + arnType + "/" + rest
}

// tWhatIf is the ARN of the i-th what-if forecast.
func tWhatIf(i int) string { return tArn(jobtype.WhatIfForecastArnType, fmt.Sprintf("wif_%d", i)) }

// tItemArn is the ARN of the i-th job of t that the fake upstream lists.
func tItemArn(t *jobtype.Type, i int) string { return tArn(t.ArnType, fmt.Sprintf("p/job_%05d", i)) }

func tS3() *gatewayv1.S3Config {
	return &gatewayv1.S3Config{Path: tPath, RoleArn: tRole, KmsKeyArn: tKMS}
}

func tTags() []*gatewayv1.Tag {
	return []*gatewayv1.Tag{{Key: "env", Value: "prod"}, {Key: "team", Value: "forecasting"}, {Key: "owner", Value: "me@example.com"}, {Key: "cost-center", Value: "42"}}
}

func tNTags(n int) []*gatewayv1.Tag {
	out := make([]*gatewayv1.Tag, n)
	for i := range out {
		out[i] = &gatewayv1.Tag{Key: fmt.Sprintf("k%d", i), Value: "v"}
	}
	return out
}

func tJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// ---------------------------------------------------------------------------
// The fake upstream.

// fakeCall is one recorded upstream call: the AWS operation and its input.
type fakeCall struct {
	op string
	in any
}

// fakeAPI implements every ForecastAPI operation. Strict, it fails the test
// on any call (validation must have refused the request). Otherwise it
// records each call and answers with respond, or by default: a Create
// returns an ARN made from the job name, a List serves total items (at most
// perCall a call) with NextTokens "tok-<offset>", ListTagsForResource
// returns tags, anything else an empty output.
type fakeAPI struct {
	tb      testing.TB
	strict  bool
	respond func(op string, in, out any) error
	total   int
	perCall int
	tags    []types.Tag

	mu    sync.Mutex
	calls []fakeCall
}

var _ ForecastAPI = (*fakeAPI)(nil)

func (f *fakeAPI) call(op string, in, out any) error {
	f.mu.Lock()
	f.calls = append(f.calls, fakeCall{op: op, in: in})
	f.mu.Unlock()
	if f.strict {
		f.tb.Errorf("unexpected upstream call %s %s: the gateway should have refused the request first", op, tJSON(in))
		return errors.New("unexpected upstream call")
	}
	if f.respond != nil {
		return f.respond(op, in, out)
	}
	return f.answer(op, in, out)
}

// Calls returns the calls made so far.
func (f *fakeAPI) Calls() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeAPI) Reset() {
	f.mu.Lock()
	f.calls = nil
	f.mu.Unlock()
}

// Ops returns the operation of each call.
func (f *fakeAPI) Ops() []string {
	var ops []string
	for _, c := range f.Calls() {
		ops = append(ops, c.op)
	}
	return ops
}

func (f *fakeAPI) answer(op string, in, out any) error {
	if op == jobtype.OpListTagsForResource {
		out.(*forecast.ListTagsForResourceOutput).Tags = f.tags
		return nil
	}
	for _, t := range jobtype.All {
		switch op {
		case t.CreateOp():
			name := reflect.ValueOf(in).Elem().FieldByName(t.NameMember).Interface().(*string)
			reflect.ValueOf(out).Elem().FieldByName(t.ArnMember).Set(reflect.ValueOf(aws.String(tArn(t.ArnType, "p/"+aws.ToString(name)))))
		case t.ListOp():
			return f.serveList(t, in, out)
		}
	}
	return nil
}

// serveList answers a List<Plural> call of t from a listing of f.total jobs
// whose i-th job has the ARN tItemArn(t, i).
func (f *fakeAPI) serveList(t *jobtype.Type, in, out any) error {
	inV := reflect.ValueOf(in).Elem()
	maxResults := aws.ToInt32(inV.FieldByName("MaxResults").Interface().(*int32))
	tok := inV.FieldByName("NextToken").Interface().(*string)
	if maxResults < 1 || maxResults > 100 {
		f.tb.Errorf("%s: MaxResults %d outside AWS's 1..100", t.ListOp(), maxResults)
		return &types.InvalidInputException{Message: aws.String("MaxResults")}
	}
	off := 0
	if tok != nil {
		n, err := strconv.Atoi(strings.TrimPrefix(*tok, "tok-"))
		if err != nil || !strings.HasPrefix(*tok, "tok-") {
			f.tb.Errorf("%s: NextToken %q is not one this upstream issued", t.ListOp(), *tok)
			return &types.InvalidNextTokenException{Message: aws.String("bad token")}
		}
		off = n
	}
	n := min(int(maxResults), f.total-off)
	if f.perCall > 0 {
		n = min(n, f.perCall)
	}
	items := reflect.ValueOf(out).Elem().FieldByName(t.Plural)
	if !items.IsValid() || items.Kind() != reflect.Slice {
		f.tb.Fatalf("%T has no item list %s", out, t.Plural)
	}
	list := reflect.MakeSlice(items.Type(), n, n)
	for i := range n {
		list.Index(i).FieldByName(t.ArnMember).Set(reflect.ValueOf(aws.String(tItemArn(t, off+i))))
	}
	items.Set(list)
	if off+n < f.total {
		reflect.ValueOf(out).Elem().FieldByName("NextToken").Set(reflect.ValueOf(aws.String(fmt.Sprintf("tok-%d", off+n))))
	}
	return nil
}

// fakeDo records a call of op and answers it with a fresh output.
func fakeDo[Out, In any](f *fakeAPI, op string, in *In) (*Out, error) {
	out := new(Out)
	if err := f.call(op, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

type fOpt = func(*forecast.Options)

func (f *fakeAPI) CreateDatasetImportJob(_ context.Context, in *forecast.CreateDatasetImportJobInput, _ ...fOpt) (*forecast.CreateDatasetImportJobOutput, error) {
	return fakeDo[forecast.CreateDatasetImportJobOutput](f, "CreateDatasetImportJob", in)
}

func (f *fakeAPI) DescribeDatasetImportJob(_ context.Context, in *forecast.DescribeDatasetImportJobInput, _ ...fOpt) (*forecast.DescribeDatasetImportJobOutput, error) {
	return fakeDo[forecast.DescribeDatasetImportJobOutput](f, "DescribeDatasetImportJob", in)
}

func (f *fakeAPI) ListDatasetImportJobs(_ context.Context, in *forecast.ListDatasetImportJobsInput, _ ...fOpt) (*forecast.ListDatasetImportJobsOutput, error) {
	return fakeDo[forecast.ListDatasetImportJobsOutput](f, "ListDatasetImportJobs", in)
}

func (f *fakeAPI) DeleteDatasetImportJob(_ context.Context, in *forecast.DeleteDatasetImportJobInput, _ ...fOpt) (*forecast.DeleteDatasetImportJobOutput, error) {
	return fakeDo[forecast.DeleteDatasetImportJobOutput](f, "DeleteDatasetImportJob", in)
}

func (f *fakeAPI) CreateForecastExportJob(_ context.Context, in *forecast.CreateForecastExportJobInput, _ ...fOpt) (*forecast.CreateForecastExportJobOutput, error) {
	return fakeDo[forecast.CreateForecastExportJobOutput](f, "CreateForecastExportJob", in)
}

func (f *fakeAPI) DescribeForecastExportJob(_ context.Context, in *forecast.DescribeForecastExportJobInput, _ ...fOpt) (*forecast.DescribeForecastExportJobOutput, error) {
	return fakeDo[forecast.DescribeForecastExportJobOutput](f, "DescribeForecastExportJob", in)
}

func (f *fakeAPI) ListForecastExportJobs(_ context.Context, in *forecast.ListForecastExportJobsInput, _ ...fOpt) (*forecast.ListForecastExportJobsOutput, error) {
	return fakeDo[forecast.ListForecastExportJobsOutput](f, "ListForecastExportJobs", in)
}

func (f *fakeAPI) DeleteForecastExportJob(_ context.Context, in *forecast.DeleteForecastExportJobInput, _ ...fOpt) (*forecast.DeleteForecastExportJobOutput, error) {
	return fakeDo[forecast.DeleteForecastExportJobOutput](f, "DeleteForecastExportJob", in)
}

func (f *fakeAPI) CreatePredictorBacktestExportJob(_ context.Context, in *forecast.CreatePredictorBacktestExportJobInput, _ ...fOpt) (*forecast.CreatePredictorBacktestExportJobOutput, error) {
	return fakeDo[forecast.CreatePredictorBacktestExportJobOutput](f, "CreatePredictorBacktestExportJob", in)
}

func (f *fakeAPI) DescribePredictorBacktestExportJob(_ context.Context, in *forecast.DescribePredictorBacktestExportJobInput, _ ...fOpt) (*forecast.DescribePredictorBacktestExportJobOutput, error) {
	return fakeDo[forecast.DescribePredictorBacktestExportJobOutput](f, "DescribePredictorBacktestExportJob", in)
}

func (f *fakeAPI) ListPredictorBacktestExportJobs(_ context.Context, in *forecast.ListPredictorBacktestExportJobsInput, _ ...fOpt) (*forecast.ListPredictorBacktestExportJobsOutput, error) {
	return fakeDo[forecast.ListPredictorBacktestExportJobsOutput](f, "ListPredictorBacktestExportJobs", in)
}

func (f *fakeAPI) DeletePredictorBacktestExportJob(_ context.Context, in *forecast.DeletePredictorBacktestExportJobInput, _ ...fOpt) (*forecast.DeletePredictorBacktestExportJobOutput, error) {
	return fakeDo[forecast.DeletePredictorBacktestExportJobOutput](f, "DeletePredictorBacktestExportJob", in)
}

func (f *fakeAPI) CreateExplainabilityExport(_ context.Context, in *forecast.CreateExplainabilityExportInput, _ ...fOpt) (*forecast.CreateExplainabilityExportOutput, error) {
	return fakeDo[forecast.CreateExplainabilityExportOutput](f, "CreateExplainabilityExport", in)
}

func (f *fakeAPI) DescribeExplainabilityExport(_ context.Context, in *forecast.DescribeExplainabilityExportInput, _ ...fOpt) (*forecast.DescribeExplainabilityExportOutput, error) {
	return fakeDo[forecast.DescribeExplainabilityExportOutput](f, "DescribeExplainabilityExport", in)
}

func (f *fakeAPI) ListExplainabilityExports(_ context.Context, in *forecast.ListExplainabilityExportsInput, _ ...fOpt) (*forecast.ListExplainabilityExportsOutput, error) {
	return fakeDo[forecast.ListExplainabilityExportsOutput](f, "ListExplainabilityExports", in)
}

func (f *fakeAPI) DeleteExplainabilityExport(_ context.Context, in *forecast.DeleteExplainabilityExportInput, _ ...fOpt) (*forecast.DeleteExplainabilityExportOutput, error) {
	return fakeDo[forecast.DeleteExplainabilityExportOutput](f, "DeleteExplainabilityExport", in)
}

func (f *fakeAPI) CreateWhatIfForecastExport(_ context.Context, in *forecast.CreateWhatIfForecastExportInput, _ ...fOpt) (*forecast.CreateWhatIfForecastExportOutput, error) {
	return fakeDo[forecast.CreateWhatIfForecastExportOutput](f, "CreateWhatIfForecastExport", in)
}

func (f *fakeAPI) DescribeWhatIfForecastExport(_ context.Context, in *forecast.DescribeWhatIfForecastExportInput, _ ...fOpt) (*forecast.DescribeWhatIfForecastExportOutput, error) {
	return fakeDo[forecast.DescribeWhatIfForecastExportOutput](f, "DescribeWhatIfForecastExport", in)
}

func (f *fakeAPI) ListWhatIfForecastExports(_ context.Context, in *forecast.ListWhatIfForecastExportsInput, _ ...fOpt) (*forecast.ListWhatIfForecastExportsOutput, error) {
	return fakeDo[forecast.ListWhatIfForecastExportsOutput](f, "ListWhatIfForecastExports", in)
}

func (f *fakeAPI) DeleteWhatIfForecastExport(_ context.Context, in *forecast.DeleteWhatIfForecastExportInput, _ ...fOpt) (*forecast.DeleteWhatIfForecastExportOutput, error) {
	return fakeDo[forecast.DeleteWhatIfForecastExportOutput](f, "DeleteWhatIfForecastExport", in)
}

func (f *fakeAPI) StopResource(_ context.Context, in *forecast.StopResourceInput, _ ...fOpt) (*forecast.StopResourceOutput, error) {
	return fakeDo[forecast.StopResourceOutput](f, "StopResource", in)
}

func (f *fakeAPI) TagResource(_ context.Context, in *forecast.TagResourceInput, _ ...fOpt) (*forecast.TagResourceOutput, error) {
	return fakeDo[forecast.TagResourceOutput](f, "TagResource", in)
}

func (f *fakeAPI) UntagResource(_ context.Context, in *forecast.UntagResourceInput, _ ...fOpt) (*forecast.UntagResourceOutput, error) {
	return fakeDo[forecast.UntagResourceOutput](f, "UntagResource", in)
}

func (f *fakeAPI) ListTagsForResource(_ context.Context, in *forecast.ListTagsForResourceInput, _ ...fOpt) (*forecast.ListTagsForResourceOutput, error) {
	return fakeDo[forecast.ListTagsForResourceOutput](f, "ListTagsForResource", in)
}

// ---------------------------------------------------------------------------
// Servers.

// tClock is a settable clock for page tokens.
type tClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *tClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *tClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func tKeyring(tb testing.TB, b byte) *pagetoken.Keyring {
	tb.Helper()
	kr, err := pagetoken.NewKeyring([]byte(strings.Repeat(string(rune(b)), 32)))
	if err != nil {
		tb.Fatal(err)
	}
	return kr
}

var tDiscard = slog.New(slog.NewTextHandler(io.Discard, nil))

// tEnv is a server in front of a fake upstream.
type tEnv struct {
	s     *ForecastJobServer
	api   *fakeAPI
	codec *pagetoken.Codec
	clock *tClock
}

// newEnv builds a server for region ("" accepts any) whose upstream is a
// recording fake.
func newEnv(tb testing.TB, region string) *tEnv {
	tb.Helper()
	clk := &tClock{now: tStart}
	codec := pagetoken.NewCodec(tKeyring(tb, 'k'), pagetoken.Options{TTL: time.Hour, Now: clk.Now})
	api := &fakeAPI{tb: tb}
	s, err := NewForecastJobServer(Options{Forecast: api, Tokens: codec, Region: region, Logger: tDiscard})
	if err != nil {
		tb.Fatal(err)
	}
	return &tEnv{s: s, api: api, codec: codec, clock: clk}
}

// newStrictEnv is newEnv with an upstream that fails the test if called.
func newStrictEnv(tb testing.TB, region string) *tEnv {
	e := newEnv(tb, region)
	e.api.strict = true
	return e
}

// ---------------------------------------------------------------------------
// Calling RPCs by name.

var tService = gatewayv1.File_forecast_gateway_v1_forecast_job_service_proto.Services().ByName("ForecastJobService")

// newReq returns an empty request of the RPC method.
func newReq(tb testing.TB, method string) proto.Message {
	tb.Helper()
	md := tService.Methods().ByName(protoreflect.Name(method))
	if md == nil {
		tb.Fatalf("the service has no RPC %s", method)
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
	if err != nil {
		tb.Fatal(err)
	}
	return mt.New().Interface()
}

// rpc calls the server's method with req. It checks the contract of every
// RPC: a response without an error, or an error without a response.
func rpc(tb testing.TB, s *ForecastJobServer, method string, req proto.Message) (proto.Message, error) {
	tb.Helper()
	m := reflect.ValueOf(s).MethodByName(method)
	if !m.IsValid() {
		tb.Fatalf("ForecastJobServer has no method %s", method)
	}
	out := m.Call([]reflect.Value{reflect.ValueOf(context.Background()), reflect.ValueOf(req)})
	var err error
	if e := out[1].Interface(); e != nil {
		err = e.(error)
	}
	if err != nil && !out[0].IsNil() {
		tb.Errorf("%s returned a response together with the error %v", method, err)
	}
	if err == nil && out[0].IsNil() {
		tb.Errorf("%s returned neither a response nor an error", method)
	}
	if out[0].IsNil() {
		return nil, err
	}
	return out[0].Interface().(proto.Message), err
}

// rpcWith builds the request of method from field paths (see pset) and
// calls it.
func rpcWith(tb testing.TB, s *ForecastJobServer, method string, fields map[string]any) (proto.Message, error) {
	tb.Helper()
	req := newReq(tb, method)
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		pset(tb, req, k, fields[k])
	}
	return rpc(tb, s, method, req)
}

var segPattern = regexp.MustCompile(`^([a-z0-9_]+)(?:\[(\d+)\])?$`)

// pset sets the field of m at path: snake_case names joined by dots, with
// [i] to index a repeated field (growing it as needed), as in
// "destination.s3_config.path" or "tags[2].key". v nil clears the field;
// a string, bool, int (an enum number for enum fields), []string or
// []*gatewayv1.Tag sets it.
func pset(tb testing.TB, m proto.Message, path string, v any) {
	tb.Helper()
	msg := m.ProtoReflect()
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		sm := segPattern.FindStringSubmatch(seg)
		if sm == nil {
			tb.Fatalf("pset: bad path segment %q in %q", seg, path)
		}
		fd := msg.Descriptor().Fields().ByName(protoreflect.Name(sm[1]))
		if fd == nil {
			tb.Fatalf("pset: %s has no field %s (path %q)", msg.Descriptor().FullName(), sm[1], path)
		}
		idx := -1
		if sm[2] != "" {
			idx, _ = strconv.Atoi(sm[2])
		}
		last := i == len(segs)-1
		if idx >= 0 {
			lst := msg.Mutable(fd).List()
			for lst.Len() <= idx {
				lst.Append(lst.NewElement())
			}
			if !last {
				msg = lst.Get(idx).Message()
				continue
			}
			lst.Set(idx, pvalue(tb, fd, v))
			return
		}
		if !last {
			msg = msg.Mutable(fd).Message()
			continue
		}
		switch x := v.(type) {
		case nil:
			msg.Clear(fd)
		case []string:
			msg.Clear(fd)
			lst := msg.Mutable(fd).List()
			for _, s := range x {
				lst.Append(protoreflect.ValueOfString(s))
			}
		case []*gatewayv1.Tag:
			msg.Clear(fd)
			lst := msg.Mutable(fd).List()
			for _, tg := range x {
				lst.Append(protoreflect.ValueOfMessage(proto.Clone(tg).ProtoReflect()))
			}
		case proto.Message:
			msg.Set(fd, protoreflect.ValueOfMessage(proto.Clone(x).ProtoReflect()))
		default:
			msg.Set(fd, pvalue(tb, fd, v))
		}
	}
}

func pvalue(tb testing.TB, fd protoreflect.FieldDescriptor, v any) protoreflect.Value {
	tb.Helper()
	switch x := v.(type) {
	case string:
		return protoreflect.ValueOfString(x)
	case bool:
		return protoreflect.ValueOfBool(x)
	case int:
		if fd.Kind() == protoreflect.EnumKind {
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber(x))
		}
		return protoreflect.ValueOfInt32(int32(x))
	}
	tb.Fatalf("pset: cannot set %s to %T", fd.FullName(), v)
	return protoreflect.Value{}
}

// pstr returns the string field name of m.
func pstr(tb testing.TB, m proto.Message, name string) string {
	tb.Helper()
	fd := m.ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(name))
	if fd == nil {
		tb.Fatalf("%s has no field %s", m.ProtoReflect().Descriptor().FullName(), name)
	}
	return m.ProtoReflect().Get(fd).String()
}

// listItems returns the items of a List response (its one repeated message
// field) and its next_page_token.
func listItems(tb testing.TB, resp proto.Message) ([]proto.Message, string) {
	tb.Helper()
	if resp == nil {
		return nil, ""
	}
	r := resp.ProtoReflect()
	var items []proto.Message
	found := false
	fields := r.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.IsList() && fd.Message() != nil {
			found = true
			lst := r.Get(fd).List()
			for j := 0; j < lst.Len(); j++ {
				items = append(items, lst.Get(j).Message().Interface())
			}
		}
	}
	if !found {
		tb.Fatalf("%s has no item list", r.Descriptor().FullName())
	}
	return items, pstr(tb, resp, "next_page_token")
}

// ---------------------------------------------------------------------------
// Errors.

// tStatus is a gateway error taken apart.
type tStatus struct {
	st   *status.Status
	info *errdetails.ErrorInfo
	bad  *errdetails.BadRequest
}

// decode takes a gateway error apart, failing the test unless it is a
// status with exactly one ErrorInfo of the gateway's domain.
func decode(tb testing.TB, err error) tStatus {
	tb.Helper()
	if err == nil {
		tb.Fatal("error is nil, want one")
	}
	st, ok := status.FromError(err)
	if !ok {
		tb.Fatalf("%T %v is not a gRPC status", err, err)
	}
	d := tStatus{st: st}
	for _, det := range st.Details() {
		switch v := det.(type) {
		case *errdetails.ErrorInfo:
			if d.info != nil {
				tb.Errorf("two ErrorInfo details")
			}
			d.info = v
		case *errdetails.BadRequest:
			if d.bad != nil {
				tb.Errorf("two BadRequest details")
			}
			d.bad = v
		}
	}
	if d.info == nil {
		tb.Fatalf("status %v has no ErrorInfo", st.Proto())
	}
	if d.info.GetDomain() != apierr.Domain {
		tb.Errorf("ErrorInfo domain = %q, want %q", d.info.GetDomain(), apierr.Domain)
	}
	return d
}

// viol is an expected field violation: the field path and the rule its
// description names.
type viol struct{ field, rule string }

func (v viol) String() string { return v.field + " (rule: " + v.rule + ")" }

var ruleSuffix = regexp.MustCompile(`\(rule: ([a-z_]+)\)$`)

// gotViolations returns the violations of an INVALID_ARGUMENT error with
// their rules, and the ErrorInfo reason.
func gotViolations(tb testing.TB, err error) ([]viol, []string, string) {
	tb.Helper()
	d := decode(tb, err)
	if d.st.Code() != codes.InvalidArgument {
		tb.Fatalf("code = %v (%v), want InvalidArgument", d.st.Code(), err)
	}
	if d.bad == nil || len(d.bad.GetFieldViolations()) == 0 {
		tb.Fatalf("INVALID_ARGUMENT without field violations: %v", err)
	}
	var vs []viol
	var descs []string
	for _, fv := range d.bad.GetFieldViolations() {
		m := ruleSuffix.FindStringSubmatch(fv.GetDescription())
		rule := ""
		switch {
		case m != nil:
			rule = m[1]
		case fv.GetField() != "filter":
			// Filter syntax errors carry the parser's position and message
			// and, unlike every other field, no rule (as before the reshape).
			tb.Errorf("%s: description %q does not end in (rule: <rule>)", fv.GetField(), fv.GetDescription())
		}
		if !strings.Contains(d.st.Message(), fv.GetField()+": ") {
			tb.Errorf("status message %q does not name %s", d.st.Message(), fv.GetField())
		}
		vs = append(vs, viol{fv.GetField(), rule})
		descs = append(descs, fv.GetDescription())
	}
	return vs, descs, d.info.GetReason()
}

// wantViolations checks that err is INVALID_ARGUMENT with reason
// INVALID_ARGUMENT naming exactly want (in any order); want nil means err
// must be nil. It returns the descriptions.
func wantViolations(tb testing.TB, err error, want []viol) []string {
	tb.Helper()
	if len(want) == 0 {
		if err != nil {
			tb.Fatalf("unexpected error: %v", err)
		}
		return nil
	}
	if err == nil {
		tb.Fatalf("no error, want violations %v", want)
	}
	got, descs, reason := gotViolations(tb, err)
	if reason != apierr.ReasonInvalidArgument {
		tb.Errorf("reason = %q, want %q", reason, apierr.ReasonInvalidArgument)
	}
	gs, ws := violStrings(got), violStrings(want)
	if !slices.Equal(gs, ws) {
		tb.Errorf("violations:\n got  %q\n want %q\n descriptions: %q", gs, ws, descs)
	}
	return descs
}

func violStrings(vs []viol) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	slices.Sort(out)
	return out
}
