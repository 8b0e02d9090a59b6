package server

// The job types under test, one row each. Everything else the tests need
// about a type comes from internal/jobtype (names, ARN types, parents,
// filter keys, stoppability) and from the proto and SDK shapes by
// reflection, so a sixth type is one more row here.

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/forecastgw/forecast-gateway/internal/jobtype"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

type jobCase struct {
	t *jobtype.Type
	// loc is the Create request's S3 location field: "destination" for
	// exports, "data_source" for imports.
	loc string
	// full returns valid Create requests that together set every field of
	// the request to a non-default value (one request cannot always: a
	// dataset import's time_zone excludes use_geolocation_for_time_zone).
	full func() []proto.Message
	// required are the fields a minimal Create needs besides the name, the
	// parent and the location's path and role.
	required map[string]any
}

var jobCases = []jobCase{
	{
		t: jobtype.DatasetImportJob, loc: "data_source",
		full: func() []proto.Message {
			base := func() *gatewayv1.CreateDatasetImportJobRequest {
				return &gatewayv1.CreateDatasetImportJobRequest{
					DatasetImportJobName: "import_1",
					DatasetArn:           tArn("dataset", "ds_1"),
					DataSource:           &gatewayv1.DataSource{S3Config: tS3()},
					TimestampFormat:      "yyyy-MM-dd HH:mm:ss",
					GeolocationFormat:    gatewayv1.GeolocationFormat_GEOLOCATION_FORMAT_CC_POSTALCODE,
					Format:               gatewayv1.ImportFormat_IMPORT_FORMAT_PARQUET,
					ImportMode:           gatewayv1.ImportMode_IMPORT_MODE_INCREMENTAL,
					Tags:                 tTags(),
				}
			}
			oneZone := base()
			oneZone.TimeZone = "America/Los_Angeles"
			fromLocation := base()
			fromLocation.UseGeolocationForTimeZone = true
			fromLocation.GeolocationFormat = gatewayv1.GeolocationFormat_GEOLOCATION_FORMAT_LAT_LONG
			return []proto.Message{oneZone, fromLocation}
		},
	},
	{
		t: jobtype.ForecastExportJob, loc: "destination",
		full: func() []proto.Message {
			return []proto.Message{&gatewayv1.CreateForecastExportJobRequest{
				ForecastExportJobName: "export_1",
				ForecastArn:           tArn("forecast", "f_1"),
				Destination:           &gatewayv1.DataDestination{S3Config: tS3()},
				Tags:                  tTags(),
				Format:                gatewayv1.ExportFormat_EXPORT_FORMAT_PARQUET,
			}}
		},
	},
	{
		t: jobtype.PredictorBacktestExportJob, loc: "destination",
		full: func() []proto.Message {
			return []proto.Message{&gatewayv1.CreatePredictorBacktestExportJobRequest{
				PredictorBacktestExportJobName: "backtest_1",
				PredictorArn:                   tArn("predictor", "p_1"),
				Destination:                    &gatewayv1.DataDestination{S3Config: tS3()},
				Tags:                           tTags(),
				Format:                         gatewayv1.ExportFormat_EXPORT_FORMAT_PARQUET,
			}}
		},
	},
	{
		t: jobtype.ExplainabilityExport, loc: "destination",
		full: func() []proto.Message {
			return []proto.Message{&gatewayv1.CreateExplainabilityExportRequest{
				ExplainabilityExportName: "explain_1",
				ExplainabilityArn:        tArn("explainability", "x_1"),
				Destination:              &gatewayv1.DataDestination{S3Config: tS3()},
				Tags:                     tTags(),
				Format:                   gatewayv1.ExportFormat_EXPORT_FORMAT_PARQUET,
			}}
		},
	},
	{
		t: jobtype.WhatIfForecastExport, loc: "destination",
		full: func() []proto.Message {
			return []proto.Message{&gatewayv1.CreateWhatIfForecastExportRequest{
				WhatIfForecastExportName: "whatif_1",
				WhatIfForecastArns:       []string{tWhatIf(1), tWhatIf(2), tWhatIf(3)},
				Destination:              &gatewayv1.DataDestination{S3Config: tS3()},
				Tags:                     tTags(),
				Format:                   gatewayv1.ExportFormat_EXPORT_FORMAT_PARQUET,
			}}
		},
		required: map[string]any{"what_if_forecast_arns": []string{tWhatIf(1)}},
	},
}

func (c jobCase) name() string { return c.t.Noun }

// jobArn is the ARN of a job of this type in the test region.
func (c jobCase) jobArn() string { return tArn(c.t.ArnType, "parent_1/job_1") }

// parentArn is the ARN of a parent in the test region, or "".
func (c jobCase) parentArn() string {
	if c.t.Parent.ArnType == "" {
		return ""
	}
	return tArn(c.t.Parent.ArnType, "parent_1")
}

// minimal is the smallest valid Create request.
func (c jobCase) minimal() map[string]any {
	m := map[string]any{
		c.t.NameField:                 "job_1",
		c.loc + ".s3_config.path":     tPath,
		c.loc + ".s3_config.role_arn": tRole,
	}
	if c.t.Parent.Field != "" {
		m[c.t.Parent.Field] = c.parentArn()
	}
	for k, v := range c.required {
		m[k] = v
	}
	return m
}

// minimalReq is minimal as a request.
func (c jobCase) minimalReq(tb testing.TB) proto.Message {
	req := newReq(tb, "Create"+c.t.Noun)
	for k, v := range c.minimal() {
		pset(tb, req, k, v)
	}
	return req
}

// expand replaces $name, $parent, $loc and $arn in a field path; ok is
// false when the type has no such field (no parent).
func (c jobCase) expand(path string) (string, bool) {
	if strings.Contains(path, "$parent") && c.t.Parent.Field == "" {
		return "", false
	}
	r := strings.NewReplacer("$name", c.t.NameField, "$parent", c.t.Parent.Field, "$loc", c.loc, "$arn", c.t.ArnField)
	return r.Replace(path), true
}

// The RPC methods of a type.
func (c jobCase) create() string   { return "Create" + c.t.Noun }
func (c jobCase) describe() string { return "Describe" + c.t.Noun }
func (c jobCase) list() string     { return "List" + c.t.Plural }
func (c jobCase) del() string      { return "Delete" + c.t.Noun }

// stop is the Stop RPC, "" when the type is not stoppable.
func (c jobCase) stop() string { return c.t.StopMethod() }

// arnMethods are the RPCs that take only the job's ARN.
func (c jobCase) arnMethods() []string {
	ms := []string{c.describe(), c.del()}
	if c.stop() != "" {
		ms = append(ms, c.stop())
	}
	return ms
}

// ---------------------------------------------------------------------------
// The catalogue itself.

// TestJobCasesCoverEveryType: every type of the catalogue has a row, so the
// generic tests run for it.
func TestJobCasesCoverEveryType(t *testing.T) {
	var got, want []string
	for _, c := range jobCases {
		got = append(got, c.t.Noun)
	}
	for _, jt := range jobtype.All {
		want = append(want, jt.Noun)
	}
	if !slices.Equal(got, want) {
		t.Errorf("jobCases = %v, want a row for each of jobtype.All %v", got, want)
	}
	for _, c := range jobCases {
		if _, ok := c.expand("$loc"); !ok || (c.loc != "destination" && c.loc != "data_source") {
			t.Errorf("%s: loc %q", c.name(), c.loc)
		}
	}
}

// TestServiceMethodsFollowCatalogue: the service has exactly Create,
// Describe, List and Delete of every type, Stop of the stoppable ones, the
// three tag RPCs and the two watch RPCs (29 today); no Stop RPC for a type
// StopResource does not accept.
func TestServiceMethodsFollowCatalogue(t *testing.T) {
	var want []string
	for _, c := range jobCases {
		want = append(want, c.create(), c.describe(), c.list(), c.del())
		if c.t.Stoppable {
			want = append(want, c.stop())
		}
	}
	want = append(want, "TagResource", "UntagResource", "ListTagsForResource", "WatchJob", "WaitJob")
	var got []string
	for i := 0; i < tService.Methods().Len(); i++ {
		got = append(got, string(tService.Methods().Get(i).Name()))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("service methods:\n got  %v\n want %v", got, want)
	}
	if len(got) != 29 {
		t.Errorf("%d RPCs, want 29", len(got))
	}
	for _, c := range jobCases {
		if c.t.Stoppable {
			continue
		}
		name := "Stop" + c.t.Noun
		if tService.Methods().ByName(protoreflect.Name(name)) != nil {
			t.Errorf("RPC %s exists though StopResource does not accept a %s", name, c.t.Title)
		}
		if _, ok := reflect.TypeOf(&ForecastJobServer{}).MethodByName(name); ok {
			t.Errorf("ForecastJobServer has a method %s though the type is not stoppable", name)
		}
		if _, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName("forecast.gateway.v1." + name + "Request")); err == nil {
			t.Errorf("message %sRequest exists though the type is not stoppable", name)
		}
	}
}

// TestEveryRPCImplemented: no RPC falls through to the Unimplemented
// server; with an empty request each either answers or refuses the input.
func TestEveryRPCImplemented(t *testing.T) {
	e := newEnv(t, tRegion)
	for i := 0; i < tService.Methods().Len(); i++ {
		name := string(tService.Methods().Get(i).Name())
		if tService.Methods().Get(i).IsStreamingServer() {
			continue // WatchJob: server/watch_test.go
		}
		t.Run(name, func(t *testing.T) {
			_, err := rpc(t, e.s, name, newReq(t, name))
			if code := status.Code(err); code != codes.OK && code != codes.InvalidArgument {
				t.Errorf("%s(empty) = %v, want OK or InvalidArgument", name, err)
			}
		})
	}
}

// TestForecastAPIFollowsCatalogue: the upstream seam has exactly the AWS
// operations of the catalogue, with the SDK's names, and each type's
// operation names are methods of *forecast.Client's interface.
func TestForecastAPIFollowsCatalogue(t *testing.T) {
	want := []string{jobtype.OpStopResource, jobtype.OpTagResource, jobtype.OpUntagResource, jobtype.OpListTagsForResource}
	for _, jt := range jobtype.All {
		want = append(want, jt.CreateOp(), jt.DescribeOp(), jt.ListOp(), jt.DeleteOp())
	}
	api := reflect.TypeOf((*ForecastAPI)(nil)).Elem()
	var got []string
	for i := 0; i < api.NumMethod(); i++ {
		got = append(got, api.Method(i).Name)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("ForecastAPI methods:\n got  %v\n want %v", got, want)
	}
}

// TestNewForecastJobServerOptions: the required options are required.
func TestNewForecastJobServerOptions(t *testing.T) {
	e := newEnv(t, tRegion)
	if _, err := NewForecastJobServer(Options{Tokens: e.codec}); err == nil {
		t.Error("no error without Options.Forecast")
	}
	if _, err := NewForecastJobServer(Options{Forecast: e.api}); err == nil {
		t.Error("no error without Options.Tokens")
	}
	s, err := NewForecastJobServer(Options{Forecast: e.api, Tokens: e.codec})
	if err != nil || s.log == nil {
		t.Errorf("NewForecastJobServer without a logger = %v, %v; want a server with the default logger", s, err)
	}
	// The filter of every List has the status and the type's own key.
	for _, c := range jobCases {
		var names, keys []string
		for _, f := range s.filters[c.t] {
			names = append(names, f.Name)
			keys = append(keys, f.AWSKey)
		}
		if !slices.Equal(names, []string{"status", c.t.Filter.Field}) || !slices.Equal(keys, []string{"Status", c.t.Filter.AWSKey}) {
			t.Errorf("%s filter fields = %v %v", c.name(), names, keys)
		}
	}
}
