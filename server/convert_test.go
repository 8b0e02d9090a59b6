package server

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/forecastgw/forecast-gateway/internal/awsrules"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

var (
	ctCreated  = time.Date(2024, 3, 1, 12, 30, 45, 123456789, time.UTC)
	ctModified = time.Date(2024, 3, 2, 8, 0, 0, 500, time.FixedZone("x", 3600))
)

// ctRecorder records UnknownEnumFunc calls.
type ctRecorder struct{ calls [][2]string }

func (r *ctRecorder) conv() converter {
	return converter{unknown: func(field, value string) { r.calls = append(r.calls, [2]string{field, value}) }}
}

// ctAllSet fails the test unless every exported field of the struct v points
// to (or is) a non-zero value, recursing into pointers to structs, so a
// fixture really populates every member of an AWS type (a member added by
// an SDK upgrade makes this fail until the fixture and converter cover it).
func ctAllSet(t *testing.T, path string, v any, skip ...string) {
	t.Helper()
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			t.Errorf("fixture: %s is nil", path)
			return
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		if rv.IsZero() {
			t.Errorf("fixture: %s is zero", path)
		}
		return
	}
	for i := 0; i < rv.NumField(); i++ {
		f := rv.Type().Field(i)
		if !f.IsExported() || slices.Contains(skip, f.Name) {
			continue
		}
		fv := rv.Field(i)
		if _, isTime := fv.Interface().(*time.Time); isTime {
			if fv.IsNil() {
				t.Errorf("fixture: %s.%s is nil", path, f.Name)
			}
			continue
		}
		ctAllSet(t, path+"."+f.Name, fv.Interface(), skip...)
	}
}

// ctAllPopulated fails the test unless every field of m (recursively) is
// populated, so the expected message covers every proto field.
func ctAllPopulated(t *testing.T, m proto.Message) {
	t.Helper()
	var walk func(path string, m protoreflect.Message)
	walk = func(path string, m protoreflect.Message) {
		fields := m.Descriptor().Fields()
		for i := 0; i < fields.Len(); i++ {
			fd := fields.Get(i)
			if !m.Has(fd) {
				t.Errorf("%s.%s is not populated", path, fd.Name())
				continue
			}
			if fd.Message() != nil && !fd.IsList() && !fd.IsMap() && fd.Message().FullName() != "google.protobuf.Timestamp" {
				walk(path+"."+string(fd.Name()), m.Get(fd).Message())
			}
		}
	}
	walk(string(m.ProtoReflect().Descriptor().Name()), m.ProtoReflect())
}

func ctS3() *types.S3Config {
	return &types.S3Config{
		Path:      aws.String("s3://bucket/out/"),
		RoleArn:   aws.String("arn:aws:iam::123456789012:role/R"),
		KMSKeyArn: aws.String("arn:aws:kms:us-east-1:123456789012:key/k1"),
	}
}

func ctS3Proto() *gatewayv1.S3Config {
	return &gatewayv1.S3Config{
		Path:      "s3://bucket/out/",
		RoleArn:   "arn:aws:iam::123456789012:role/R",
		KmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/k1",
	}
}

func ctEqual(t *testing.T, got, want proto.Message) {
	t.Helper()
	if !proto.Equal(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

func TestBacktestSummaryAllFields(t *testing.T) {
	in := types.PredictorBacktestExportJobSummary{
		PredictorBacktestExportJobArn:  aws.String("arn:aws:forecast:us-east-1:123456789012:predictor-backtest-export-job/p/j"),
		PredictorBacktestExportJobName: aws.String("j"),
		Destination:                    &types.DataDestination{S3Config: ctS3()},
		Status:                         aws.String("CREATE_IN_PROGRESS"),
		Message:                        aws.String("working on it"),
		CreationTime:                   aws.Time(ctCreated),
		LastModificationTime:           aws.Time(ctModified),
	}
	ctAllSet(t, "PredictorBacktestExportJobSummary", in)
	want := &gatewayv1.PredictorBacktestExportJobSummary{
		PredictorBacktestExportJobArn:  "arn:aws:forecast:us-east-1:123456789012:predictor-backtest-export-job/p/j",
		PredictorBacktestExportJobName: "j",
		Destination:                    &gatewayv1.DataDestination{S3Config: ctS3Proto()},
		Status:                         gatewayv1.JobStatus_JOB_STATUS_CREATE_IN_PROGRESS,
		AwsStatus:                      "CREATE_IN_PROGRESS",
		Message:                        "working on it",
		CreationTime:                   timestamppb.New(ctCreated),
		LastModificationTime:           timestamppb.New(ctModified),
	}
	ctAllPopulated(t, want)
	var rec ctRecorder
	got := rec.conv().backtestSummary(in)
	ctEqual(t, got, want)
	if len(rec.calls) != 0 {
		t.Errorf("UnknownEnumFunc called %v for known values", rec.calls)
	}
	if !got.GetCreationTime().AsTime().Equal(ctCreated) || !got.GetLastModificationTime().AsTime().Equal(ctModified) {
		t.Errorf("times = %v, %v; want %v, %v", got.GetCreationTime().AsTime(), got.GetLastModificationTime().AsTime(), ctCreated, ctModified)
	}
}

func TestForecastExportSummaryAllFields(t *testing.T) {
	in := types.ForecastExportJobSummary{
		ForecastExportJobArn:  aws.String("arn:aws:forecast:us-east-1:123456789012:forecast-export-job/f/e"),
		ForecastExportJobName: aws.String("e"),
		Destination:           &types.DataDestination{S3Config: ctS3()},
		Status:                aws.String("CREATE_FAILED"),
		Message:               aws.String("access denied"),
		CreationTime:          aws.Time(ctCreated),
		LastModificationTime:  aws.Time(ctModified),
	}
	ctAllSet(t, "ForecastExportJobSummary", in)
	want := &gatewayv1.ForecastExportJobSummary{
		ForecastExportJobArn:  "arn:aws:forecast:us-east-1:123456789012:forecast-export-job/f/e",
		ForecastExportJobName: "e",
		Destination:           &gatewayv1.DataDestination{S3Config: ctS3Proto()},
		Status:                gatewayv1.JobStatus_JOB_STATUS_CREATE_FAILED,
		AwsStatus:             "CREATE_FAILED",
		Message:               "access denied",
		CreationTime:          timestamppb.New(ctCreated),
		LastModificationTime:  timestamppb.New(ctModified),
	}
	ctAllPopulated(t, want)
	var rec ctRecorder
	ctEqual(t, rec.conv().forecastExportSummary(in), want)
	if len(rec.calls) != 0 {
		t.Errorf("UnknownEnumFunc called %v for known values", rec.calls)
	}
}

func TestDatasetImportSummaryAllFields(t *testing.T) {
	in := types.DatasetImportJobSummary{
		DatasetImportJobArn:  aws.String("arn:aws:forecast:us-east-1:123456789012:dataset-import-job/d/i"),
		DatasetImportJobName: aws.String("i"),
		DataSource:           &types.DataSource{S3Config: ctS3()},
		Status:               aws.String("ACTIVE"),
		Message:              aws.String("done"),
		CreationTime:         aws.Time(ctCreated),
		LastModificationTime: aws.Time(ctModified),
		ImportMode:           types.ImportModeIncremental,
	}
	ctAllSet(t, "DatasetImportJobSummary", in)
	want := &gatewayv1.DatasetImportJobSummary{
		DatasetImportJobArn:  "arn:aws:forecast:us-east-1:123456789012:dataset-import-job/d/i",
		DatasetImportJobName: "i",
		DataSource:           &gatewayv1.DataSource{S3Config: ctS3Proto()},
		Status:               gatewayv1.JobStatus_JOB_STATUS_ACTIVE,
		AwsStatus:            "ACTIVE",
		Message:              "done",
		CreationTime:         timestamppb.New(ctCreated),
		LastModificationTime: timestamppb.New(ctModified),
		ImportMode:           gatewayv1.ImportMode_IMPORT_MODE_INCREMENTAL,
		AwsImportMode:        "INCREMENTAL",
	}
	ctAllPopulated(t, want)
	var rec ctRecorder
	ctEqual(t, rec.conv().datasetImportSummary(in), want)
	if len(rec.calls) != 0 {
		t.Errorf("UnknownEnumFunc called %v for known values", rec.calls)
	}
}

func TestDescribeResponseAllFields(t *testing.T) {
	in := &forecast.DescribePredictorBacktestExportJobOutput{
		PredictorBacktestExportJobArn:  aws.String("arn:aws:forecast:us-east-1:123456789012:predictor-backtest-export-job/p/j"),
		PredictorBacktestExportJobName: aws.String("j"),
		PredictorArn:                   aws.String("arn:aws:forecast:us-east-1:123456789012:predictor/p"),
		Destination:                    &types.DataDestination{S3Config: ctS3()},
		Format:                         aws.String("PARQUET"),
		Status:                         aws.String("DELETE_PENDING"),
		Message:                        aws.String("bye"),
		CreationTime:                   aws.Time(ctCreated),
		LastModificationTime:           aws.Time(ctModified),
	}
	ctAllSet(t, "DescribePredictorBacktestExportJobOutput", in, "ResultMetadata")
	want := &gatewayv1.DescribePredictorBacktestExportJobResponse{
		PredictorBacktestExportJobArn:  "arn:aws:forecast:us-east-1:123456789012:predictor-backtest-export-job/p/j",
		PredictorBacktestExportJobName: "j",
		PredictorArn:                   "arn:aws:forecast:us-east-1:123456789012:predictor/p",
		Destination:                    &gatewayv1.DataDestination{S3Config: ctS3Proto()},
		Format:                         gatewayv1.ExportFormat_EXPORT_FORMAT_PARQUET,
		AwsFormat:                      "PARQUET",
		Status:                         gatewayv1.JobStatus_JOB_STATUS_DELETE_PENDING,
		AwsStatus:                      "DELETE_PENDING",
		Message:                        "bye",
		CreationTime:                   timestamppb.New(ctCreated),
		LastModificationTime:           timestamppb.New(ctModified),
	}
	ctAllPopulated(t, want)
	var rec ctRecorder
	ctEqual(t, rec.conv().describeResponse(in), want)
	if len(rec.calls) != 0 {
		t.Errorf("UnknownEnumFunc called %v for known values", rec.calls)
	}
}

func TestConvertNilMembers(t *testing.T) {
	var rec ctRecorder
	c := rec.conv()
	tests := []struct {
		name string
		got  func() proto.Message
		want proto.Message
	}{
		{"backtest empty", func() proto.Message { return c.backtestSummary(types.PredictorBacktestExportJobSummary{}) },
			&gatewayv1.PredictorBacktestExportJobSummary{}},
		{"backtest empty destination", func() proto.Message {
			return c.backtestSummary(types.PredictorBacktestExportJobSummary{Destination: &types.DataDestination{}})
		}, &gatewayv1.PredictorBacktestExportJobSummary{Destination: &gatewayv1.DataDestination{}}},
		{"backtest empty s3", func() proto.Message {
			return c.backtestSummary(types.PredictorBacktestExportJobSummary{Destination: &types.DataDestination{S3Config: &types.S3Config{}}})
		}, &gatewayv1.PredictorBacktestExportJobSummary{Destination: &gatewayv1.DataDestination{S3Config: &gatewayv1.S3Config{}}}},
		{"forecast export empty", func() proto.Message { return c.forecastExportSummary(types.ForecastExportJobSummary{}) },
			&gatewayv1.ForecastExportJobSummary{}},
		{"dataset import empty", func() proto.Message { return c.datasetImportSummary(types.DatasetImportJobSummary{}) },
			&gatewayv1.DatasetImportJobSummary{}},
		{"dataset import empty source", func() proto.Message {
			return c.datasetImportSummary(types.DatasetImportJobSummary{DataSource: &types.DataSource{}})
		}, &gatewayv1.DatasetImportJobSummary{DataSource: &gatewayv1.DataSource{}}},
		{"describe empty", func() proto.Message { return c.describeResponse(&forecast.DescribePredictorBacktestExportJobOutput{}) },
			&gatewayv1.DescribePredictorBacktestExportJobResponse{}},
		{"describe empty strings", func() proto.Message {
			return c.describeResponse(&forecast.DescribePredictorBacktestExportJobOutput{Status: aws.String(""), Format: aws.String("")})
		}, &gatewayv1.DescribePredictorBacktestExportJobResponse{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.got()
			ctEqual(t, got, tt.want)
			// Absent sub-messages must be nil, not empty messages.
			r := got.ProtoReflect()
			fields := r.Descriptor().Fields()
			wr := tt.want.ProtoReflect()
			for i := 0; i < fields.Len(); i++ {
				fd := fields.Get(i)
				if fd.Message() != nil && r.Has(fd) != wr.Has(fd) {
					t.Errorf("%s: Has = %v, want %v", fd.Name(), r.Has(fd), wr.Has(fd))
				}
			}
		})
	}
	if len(rec.calls) != 0 {
		t.Errorf("UnknownEnumFunc called %v for absent values", rec.calls)
	}
}

func TestConvertUnknownEnums(t *testing.T) {
	tests := []struct {
		name      string
		convert   func(c converter) proto.Message
		want      proto.Message
		wantCalls [][2]string
	}{
		{
			name: "backtest status",
			convert: func(c converter) proto.Message {
				return c.backtestSummary(types.PredictorBacktestExportJobSummary{Status: aws.String("UPDATE_PENDING")})
			},
			want:      &gatewayv1.PredictorBacktestExportJobSummary{AwsStatus: "UPDATE_PENDING"},
			wantCalls: [][2]string{{"status", "UPDATE_PENDING"}},
		},
		{
			name: "backtest lower-case status",
			convert: func(c converter) proto.Message {
				return c.backtestSummary(types.PredictorBacktestExportJobSummary{Status: aws.String("active")})
			},
			want:      &gatewayv1.PredictorBacktestExportJobSummary{AwsStatus: "active"},
			wantCalls: [][2]string{{"status", "active"}},
		},
		{
			name: "status named like the proto zero value",
			convert: func(c converter) proto.Message {
				return c.backtestSummary(types.PredictorBacktestExportJobSummary{Status: aws.String("UNSPECIFIED")})
			},
			want:      &gatewayv1.PredictorBacktestExportJobSummary{AwsStatus: "UNSPECIFIED"},
			wantCalls: [][2]string{{"status", "UNSPECIFIED"}},
		},
		{
			name: "forecast export status",
			convert: func(c converter) proto.Message {
				return c.forecastExportSummary(types.ForecastExportJobSummary{Status: aws.String("PAUSED")})
			},
			want:      &gatewayv1.ForecastExportJobSummary{AwsStatus: "PAUSED"},
			wantCalls: [][2]string{{"status", "PAUSED"}},
		},
		{
			name: "dataset import status and mode",
			convert: func(c converter) proto.Message {
				return c.datasetImportSummary(types.DatasetImportJobSummary{Status: aws.String("ACTIVE"), ImportMode: "APPEND"})
			},
			want: &gatewayv1.DatasetImportJobSummary{
				Status: gatewayv1.JobStatus_JOB_STATUS_ACTIVE, AwsStatus: "ACTIVE",
				AwsImportMode: "APPEND",
			},
			wantCalls: [][2]string{{"import_mode", "APPEND"}},
		},
		{
			name: "dataset import both unknown",
			convert: func(c converter) proto.Message {
				return c.datasetImportSummary(types.DatasetImportJobSummary{Status: aws.String("ARCHIVED"), ImportMode: "APPEND"})
			},
			want:      &gatewayv1.DatasetImportJobSummary{AwsStatus: "ARCHIVED", AwsImportMode: "APPEND"},
			wantCalls: [][2]string{{"status", "ARCHIVED"}, {"import_mode", "APPEND"}},
		},
		{
			name: "describe format",
			convert: func(c converter) proto.Message {
				return c.describeResponse(&forecast.DescribePredictorBacktestExportJobOutput{Format: aws.String("JSON"), Status: aws.String("ACTIVE")})
			},
			want: &gatewayv1.DescribePredictorBacktestExportJobResponse{
				AwsFormat: "JSON",
				Status:    gatewayv1.JobStatus_JOB_STATUS_ACTIVE, AwsStatus: "ACTIVE",
			},
			wantCalls: [][2]string{{"format", "JSON"}},
		},
		{
			name: "describe status and format",
			convert: func(c converter) proto.Message {
				return c.describeResponse(&forecast.DescribePredictorBacktestExportJobOutput{Format: aws.String("csv"), Status: aws.String("NEW")})
			},
			want:      &gatewayv1.DescribePredictorBacktestExportJobResponse{AwsFormat: "csv", AwsStatus: "NEW"},
			wantCalls: [][2]string{{"status", "NEW"}, {"format", "csv"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec ctRecorder
			ctEqual(t, tt.convert(rec.conv()), tt.want)
			if !reflect.DeepEqual(rec.calls, tt.wantCalls) {
				t.Errorf("UnknownEnumFunc calls = %v, want %v", rec.calls, tt.wantCalls)
			}
			// A second conversion reports again: deduplication is the
			// callback's business, not the converter's.
			rec.calls = nil
			tt.convert(rec.conv())
			if !reflect.DeepEqual(rec.calls, tt.wantCalls) {
				t.Errorf("second call: UnknownEnumFunc calls = %v, want %v", rec.calls, tt.wantCalls)
			}
			// Without a callback the conversion still works.
			ctEqual(t, tt.convert(converter{}), tt.want)
		})
	}
}

func TestConvertKnownStatuses(t *testing.T) {
	if len(awsrules.Statuses) == 0 {
		t.Fatal("awsrules.Statuses is empty")
	}
	for _, s := range awsrules.Statuses {
		t.Run(s, func(t *testing.T) {
			n, ok := gatewayv1.JobStatus_value["JOB_STATUS_"+s]
			if !ok || n == 0 {
				t.Fatalf("proto JobStatus has no value JOB_STATUS_%s", s)
			}
			want := gatewayv1.JobStatus(n)
			var rec ctRecorder
			c := rec.conv()
			checks := []struct {
				name string
				got  gatewayv1.JobStatus
				raw  string
			}{
				{"backtest", c.backtestSummary(types.PredictorBacktestExportJobSummary{Status: aws.String(s)}).GetStatus(),
					c.backtestSummary(types.PredictorBacktestExportJobSummary{Status: aws.String(s)}).GetAwsStatus()},
				{"forecast export", c.forecastExportSummary(types.ForecastExportJobSummary{Status: aws.String(s)}).GetStatus(),
					c.forecastExportSummary(types.ForecastExportJobSummary{Status: aws.String(s)}).GetAwsStatus()},
				{"dataset import", c.datasetImportSummary(types.DatasetImportJobSummary{Status: aws.String(s)}).GetStatus(),
					c.datasetImportSummary(types.DatasetImportJobSummary{Status: aws.String(s)}).GetAwsStatus()},
				{"describe", c.describeResponse(&forecast.DescribePredictorBacktestExportJobOutput{Status: aws.String(s)}).GetStatus(),
					c.describeResponse(&forecast.DescribePredictorBacktestExportJobOutput{Status: aws.String(s)}).GetAwsStatus()},
			}
			for _, ch := range checks {
				if ch.got != want || ch.raw != s {
					t.Errorf("%s: status %q -> (%v, %q), want (%v, %q)", ch.name, s, ch.got, ch.raw, want, s)
				}
			}
			if len(rec.calls) != 0 {
				t.Errorf("UnknownEnumFunc called %v for known status", rec.calls)
			}
		})
	}
	// Every non-zero proto status is an AWS status: no invented values.
	for name, n := range gatewayv1.JobStatus_value {
		if n != 0 && !awsrules.IsKnownStatus(name[len("JOB_STATUS_"):]) {
			t.Errorf("proto value %s is not in awsrules.Statuses", name)
		}
	}
}

func TestConvertKnownFormatsAndModes(t *testing.T) {
	var rec ctRecorder
	c := rec.conv()
	for _, f := range awsrules.Formats {
		n, ok := gatewayv1.ExportFormat_value["EXPORT_FORMAT_"+f]
		if !ok {
			t.Errorf("proto ExportFormat has no EXPORT_FORMAT_%s", f)
			continue
		}
		got := c.describeResponse(&forecast.DescribePredictorBacktestExportJobOutput{Format: aws.String(f)})
		if got.GetFormat() != gatewayv1.ExportFormat(n) || got.GetAwsFormat() != f {
			t.Errorf("format %q -> (%v, %q), want (%v, %q)", f, got.GetFormat(), got.GetAwsFormat(), gatewayv1.ExportFormat(n), f)
		}
		if back := formatToAWS[gatewayv1.ExportFormat(n)]; back != f {
			t.Errorf("formatToAWS[%v] = %q, want %q", gatewayv1.ExportFormat(n), back, f)
		}
	}
	for _, m := range types.ImportMode("").Values() {
		n, ok := gatewayv1.ImportMode_value["IMPORT_MODE_"+string(m)]
		if !ok {
			t.Errorf("proto ImportMode has no IMPORT_MODE_%s", m)
			continue
		}
		got := c.datasetImportSummary(types.DatasetImportJobSummary{ImportMode: m})
		if got.GetImportMode() != gatewayv1.ImportMode(n) || got.GetAwsImportMode() != string(m) {
			t.Errorf("import mode %q -> (%v, %q), want (%v, %q)", m, got.GetImportMode(), got.GetAwsImportMode(), gatewayv1.ImportMode(n), m)
		}
	}
	if len(rec.calls) != 0 {
		t.Errorf("UnknownEnumFunc called %v for known values", rec.calls)
	}
}

// ctJSON renders AWS input structs (pointers dereferenced) for messages.
func ctJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func TestCreateInput(t *testing.T) {
	base := func() *gatewayv1.CreatePredictorBacktestExportJobRequest {
		return &gatewayv1.CreatePredictorBacktestExportJobRequest{
			PredictorBacktestExportJobName: "job_1",
			PredictorArn:                   "arn:aws:forecast:us-east-1:123456789012:predictor/p1",
			Destination: &gatewayv1.DataDestination{S3Config: &gatewayv1.S3Config{
				Path:      "s3://bucket/x",
				RoleArn:   "arn:aws:iam::123456789012:role/R",
				KmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/k",
			}},
			Tags:   []*gatewayv1.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: ""}},
			Format: gatewayv1.ExportFormat_EXPORT_FORMAT_PARQUET,
		}
	}
	baseWant := func() *forecast.CreatePredictorBacktestExportJobInput {
		return &forecast.CreatePredictorBacktestExportJobInput{
			PredictorBacktestExportJobName: aws.String("job_1"),
			PredictorArn:                   aws.String("arn:aws:forecast:us-east-1:123456789012:predictor/p1"),
			Destination: &types.DataDestination{S3Config: &types.S3Config{
				Path:      aws.String("s3://bucket/x"),
				RoleArn:   aws.String("arn:aws:iam::123456789012:role/R"),
				KMSKeyArn: aws.String("arn:aws:kms:us-east-1:123456789012:key/k"),
			}},
			Tags:   []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("")}},
			Format: aws.String("PARQUET"),
		}
	}
	tests := []struct {
		name   string
		mutate func(*gatewayv1.CreatePredictorBacktestExportJobRequest)
		want   func(*forecast.CreatePredictorBacktestExportJobInput)
	}{
		{"all fields", func(*gatewayv1.CreatePredictorBacktestExportJobRequest) {}, func(*forecast.CreatePredictorBacktestExportJobInput) {}},
		{"csv",
			func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
				r.Format = gatewayv1.ExportFormat_EXPORT_FORMAT_CSV
			},
			func(w *forecast.CreatePredictorBacktestExportJobInput) { w.Format = aws.String("CSV") }},
		{"format unspecified is omitted",
			func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
				r.Format = gatewayv1.ExportFormat_EXPORT_FORMAT_UNSPECIFIED
			},
			func(w *forecast.CreatePredictorBacktestExportJobInput) { w.Format = nil }},
		{"kms empty is omitted",
			func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) { r.Destination.S3Config.KmsKeyArn = "" },
			func(w *forecast.CreatePredictorBacktestExportJobInput) { w.Destination.S3Config.KMSKeyArn = nil }},
		{"no tags",
			func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) { r.Tags = nil },
			func(w *forecast.CreatePredictorBacktestExportJobInput) { w.Tags = nil }},
		{"empty tag list",
			func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) { r.Tags = []*gatewayv1.Tag{} },
			func(w *forecast.CreatePredictorBacktestExportJobInput) { w.Tags = nil }},
		{"tag order kept",
			func(r *gatewayv1.CreatePredictorBacktestExportJobRequest) {
				r.Tags = []*gatewayv1.Tag{{Key: "z", Value: "26"}, {Key: "日本", Value: "語"}, {Key: "a", Value: "1"}}
			},
			func(w *forecast.CreatePredictorBacktestExportJobInput) {
				w.Tags = []types.Tag{
					{Key: aws.String("z"), Value: aws.String("26")},
					{Key: aws.String("日本"), Value: aws.String("語")},
					{Key: aws.String("a"), Value: aws.String("1")},
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base()
			tt.mutate(r)
			before := proto.Clone(r)
			want := baseWant()
			tt.want(want)
			got := createInput(r)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("createInput:\n got  %s\n want %s", ctJSON(got), ctJSON(want))
			}
			if !proto.Equal(r, before) {
				t.Errorf("createInput modified its request: got %v, want %v", r, before)
			}
		})
	}
	// The fixture of "all fields" sets every member of the AWS input.
	ctAllSet(t, "CreatePredictorBacktestExportJobInput", createInput(base()))
}
