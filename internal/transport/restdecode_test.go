package transport

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

func TestDecodeBody(t *testing.T) {
	type want struct {
		field, contains string
	}
	for _, tc := range []struct {
		name  string
		body  string
		path  []string
		msg   proto.Message
		wants []want                   // violations, in order
		check func(proto.Message) bool // for valid bodies
	}{
		{name: "empty body", body: " ", msg: &gatewayv1.CreateDatasetImportJobRequest{},
			check: func(m proto.Message) bool { return proto.Equal(m, &gatewayv1.CreateDatasetImportJobRequest{}) }},
		{name: "proto names, JSON names, enum names and AWS spellings",
			body: `{"dataset_import_job_name": "a", "datasetArn": "b", "format": "PARQUET", "import_mode": "IMPORT_MODE_INCREMENTAL",
				"geolocation_format": "LAT_LONG", "use_geolocation_for_time_zone": true, "tags": [{"key": "k", "value": "v"}],
				"data_source": {"s3_config": {"path": "s3://b/p", "roleArn": "r"}}, "time_zone": null}`,
			msg: &gatewayv1.CreateDatasetImportJobRequest{},
			check: func(m proto.Message) bool {
				return proto.Equal(m, &gatewayv1.CreateDatasetImportJobRequest{
					DatasetImportJobName: "a", DatasetArn: "b", Format: gatewayv1.ImportFormat_IMPORT_FORMAT_PARQUET,
					ImportMode: gatewayv1.ImportMode_IMPORT_MODE_INCREMENTAL, GeolocationFormat: gatewayv1.GeolocationFormat_GEOLOCATION_FORMAT_LAT_LONG,
					UseGeolocationForTimeZone: true, Tags: []*gatewayv1.Tag{{Key: "k", Value: "v"}},
					DataSource: &gatewayv1.DataSource{S3Config: &gatewayv1.S3Config{Path: "s3://b/p", RoleArn: "r"}},
				})
			}},
		{name: "enum numbers", body: `{"format": 2}`, msg: &gatewayv1.CreateForecastExportJobRequest{},
			check: func(m proto.Message) bool {
				return m.(*gatewayv1.CreateForecastExportJobRequest).GetFormat() == gatewayv1.ExportFormat_EXPORT_FORMAT_PARQUET
			}},
		{name: "an AWS spelling is case-sensitive", body: `{"format": "parquet"}`, msg: &gatewayv1.CreateForecastExportJobRequest{},
			wants: []want{{"format", `must be one of EXPORT_FORMAT_UNSPECIFIED, EXPORT_FORMAT_CSV, EXPORT_FORMAT_PARQUET (or AWS's CSV, PARQUET), got "parquet" (rule: enum)`}}},
		{name: "no alias for the zero value", body: `{"format": "UNSPECIFIED"}`, msg: &gatewayv1.CreateForecastExportJobRequest{},
			wants: []want{{"format", "(rule: enum)"}}},
		{name: "every mistake at once, with its path",
			body: `{"forecast_export_job_name": 7, "destination": {"s3_config": {"path": ["x"], "kms": "k"}}, "tags": [{"key": "a"}, {"key": true}], "frmat": "CSV"}`,
			msg:  &gatewayv1.CreateForecastExportJobRequest{},
			wants: []want{
				{"destination.s3_config.kms", "unknown field; allowed fields: path, role_arn, kms_key_arn (rule: unknown_field)"},
				{"destination.s3_config.path", "must be a string, got an array (rule: type)"},
				{"forecast_export_job_name", "must be a string, got a number (rule: type)"},
				{"frmat", "allowed fields: forecast_export_job_name, forecast_arn, destination, tags, format (rule: unknown_field)"},
				{"tags[1].key", "must be a string, got a boolean (rule: type)"},
			}},
		{name: "integers", body: `{"page_size": "12x"}`, msg: &gatewayv1.ListDatasetImportJobsRequest{},
			wants: []want{{"page_size", `must be an integer (a number or a string of digits), got "12x" (rule: type)`}}},
		{name: "int32 range", body: `{"page_size": 3000000000}`, msg: &gatewayv1.ListDatasetImportJobsRequest{},
			wants: []want{{"page_size", "fits in 32 bits"}}},
		{name: "a list that is not one", body: `{"what_if_forecast_arns": "arn"}`, msg: &gatewayv1.CreateWhatIfForecastExportRequest{},
			wants: []want{{"what_if_forecast_arns", "must be a JSON array, got a string (rule: type)"}}},
		{name: "not an object", body: `[1]`, msg: &gatewayv1.TagResourceRequest{},
			wants: []want{{"body", "must be a JSON object, got an array (rule: type)"}}},
		{name: "syntax", body: `{"tags": [}`, msg: &gatewayv1.TagResourceRequest{},
			wants: []want{{"body", "is not valid JSON: invalid character '}' looking for beginning of value at byte 11 (rule: syntax)"}}},
		{name: "cut short", body: `{"tags": [`, msg: &gatewayv1.TagResourceRequest{},
			wants: []want{{"body", "it ends early"}}},
		{name: "two values", body: `{} {}`, msg: &gatewayv1.TagResourceRequest{},
			wants: []want{{"body", "more than one JSON value"}}},
		{name: "a duplicate key", body: `{"tags": [{"key": "a", "value": "b", "key": "c"}]}`, msg: &gatewayv1.TagResourceRequest{},
			wants: []want{{"body", `the key "key" is given twice in one object (rule: syntax)`}}},
		{name: "a path field in the body", body: `{"resource_arn": "x", "tags": []}`, path: []string{"resource_arn"}, msg: &gatewayv1.TagResourceRequest{},
			wants: []want{{"resource_arn", "is given by the URL path, not the body"}}},
		{name: "a bodiless message", body: `{"x": 1}`, path: []string{"dataset_import_job_arn"}, msg: &gatewayv1.StopDatasetImportJobRequest{},
			wants: []want{{"x", "allowed fields: none (rule: unknown_field)"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.msg.ProtoReflect()
			path := map[string]bool{}
			for _, p := range tc.path {
				path[p] = true
			}
			vs := decodeBody([]byte(tc.body), m, path)
			if len(vs) != len(tc.wants) {
				t.Fatalf("violations %v, want %d", vs, len(tc.wants))
			}
			for i, w := range tc.wants {
				if vs[i].Field != w.field || !strings.Contains(vs[i].Description, w.contains) {
					t.Errorf("violation %d: %q %q, want %q containing %q", i, vs[i].Field, vs[i].Description, w.field, w.contains)
				}
			}
			if tc.check != nil && !tc.check(m.Interface()) {
				t.Errorf("decoded %v", m.Interface())
			}
		})
	}
}

// TestDecodeBodyAgreesWithProtojson: on bodies protojson reads, the
// decoder gets the same message.
func TestDecodeBodyAgreesWithProtojson(t *testing.T) {
	for _, body := range []string{
		`{"predictor_backtest_export_job_name": "j", "predictor_arn": "arn", "destination": {"s3_config": {"path": "s3://x/y", "role_arn": "r", "kms_key_arn": "k"}}, "tags": [{"key": "a", "value": ""}], "format": "EXPORT_FORMAT_CSV"}`,
		`{"predictorBacktestExportJobName": "j", "tags": [], "format": 1, "destination": null}`,
		`{"tags": null, "format": "EXPORT_FORMAT_UNSPECIFIED"}`,
	} {
		var want, got gatewayv1.CreatePredictorBacktestExportJobRequest
		if err := protojson.Unmarshal([]byte(body), &want); err != nil {
			t.Fatal(err)
		}
		if vs := decodeBody([]byte(body), got.ProtoReflect(), nil); len(vs) > 0 || !proto.Equal(&got, &want) {
			t.Errorf("%s: %v %v, protojson %v", body, vs, &got, &want)
		}
	}
	if !slices.Equal([]string{enumPrefix(gatewayv1.File_forecast_gateway_v1_common_proto.Enums().ByName("GeolocationFormat"))}, []string{"GEOLOCATION_FORMAT_"}) {
		t.Error("enumPrefix")
	}
}
