package server

// Benchmarks of the gateway's own work per call, for every job type: the
// translation of a 100-item AWS List page and of a Describe answer, and
// the request checks before a Create, a Describe and a List. Run with
// go test -run '^$' -bench . ./server/

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"
	"google.golang.org/protobuf/proto"

	"github.com/forecastgw/forecast-gateway/internal/jobtype"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// benchItem fills the AWS shape v (a summary or a Describe output) of a
// job of t the way the emulator does: ARN, name, S3 location, status,
// times, and where the shape has them the parent, format, import mode,
// what-if forecasts and field statistics. Reflection is used at setup
// only.
func benchItem(v reflect.Value, t *jobtype.Type, i int) {
	t0 := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	ct, mt := t0.Add(-time.Duration(i)*time.Minute), t0.Add(-time.Duration(i)*time.Second)
	set := func(member string, x any) {
		if f := v.FieldByName(member); f.IsValid() {
			f.Set(reflect.ValueOf(x).Convert(f.Type()))
		}
	}
	set(t.ArnMember, aws.String(tArn(t.ArnType, fmt.Sprintf("parent_%02d/job_%04d", i%25, i))))
	set(t.NameMember, aws.String(fmt.Sprintf("job_%04d", i)))
	if t.Parent.Member != "" {
		set(t.Parent.Member, aws.String(tArn(t.Parent.ArnType, fmt.Sprintf("parent_%02d", i%25))))
	}
	s3 := &types.S3Config{Path: aws.String(fmt.Sprintf("s3://bench-bucket/jobs/job_%04d/", i)), RoleArn: aws.String("arn:aws:iam::123456789012:role/ForecastS3Access")}
	set("Destination", &types.DataDestination{S3Config: s3})
	set("DataSource", &types.DataSource{S3Config: s3})
	set("Status", aws.String("ACTIVE"))
	set("Format", aws.String("PARQUET"))
	set("ImportMode", types.ImportModeFull)
	set("CreationTime", &ct)
	set("LastModificationTime", &mt)
	set("WhatIfForecastArns", []string{tWhatIf(i % 7), tWhatIf(i%7 + 1)})
	stats := map[string]types.Statistics{}
	for _, f := range []string{"item_id", "timestamp", "target_value"} {
		stats[f] = types.Statistics{Count: aws.Int32(1000), CountDistinct: aws.Int32(90), CountNull: aws.Int32(0), Min: aws.String("0"), Max: aws.String("99"), Avg: aws.Float64(49.5)}
	}
	set("FieldStatistics", stats)
}

func benchConvertPage[T any, P proto.Message](b *testing.B, t *jobtype.Type, conv func(T) P) {
	items := make([]T, 100)
	for i := range items {
		benchItem(reflect.ValueOf(&items[i]).Elem(), t, i)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = convertAll(items, conv)
	}
}

func benchConvertDescribe[O any, P proto.Message](b *testing.B, t *jobtype.Type, conv func(*O) P) {
	out := new(O)
	benchItem(reflect.ValueOf(out).Elem(), t, 0)
	b.ReportAllocs()
	for b.Loop() {
		_ = conv(out)
	}
}

var benchConv = converter{unknown: func(string, string) {}}

// BenchmarkConvertListPage100 is the translation of one 100-item AWS List
// page into the proto items, per type.
func BenchmarkConvertListPage100(b *testing.B) {
	c := benchConv
	b.Run("DatasetImportJob", func(b *testing.B) { benchConvertPage(b, datasetImportJobs, c.datasetImportSummary) })
	b.Run("ForecastExportJob", func(b *testing.B) { benchConvertPage(b, forecastExportJobs, c.forecastExportSummary) })
	b.Run("PredictorBacktestExportJob", func(b *testing.B) { benchConvertPage(b, backtestJobs, c.backtestSummary) })
	b.Run("ExplainabilityExport", func(b *testing.B) { benchConvertPage(b, explainabilityExports, c.explainabilitySummary) })
	b.Run("WhatIfForecastExport", func(b *testing.B) { benchConvertPage(b, whatIfExports, c.whatIfExportSummary) })
}

// BenchmarkConvertDescribe is the translation of one Describe answer, per
// type.
func BenchmarkConvertDescribe(b *testing.B) {
	c := benchConv
	b.Run("DatasetImportJob", func(b *testing.B) { benchConvertDescribe(b, datasetImportJobs, c.datasetImportJob) })
	b.Run("ForecastExportJob", func(b *testing.B) { benchConvertDescribe(b, forecastExportJobs, c.forecastExportJob) })
	b.Run("PredictorBacktestExportJob", func(b *testing.B) { benchConvertDescribe(b, backtestJobs, c.backtestJob) })
	b.Run("ExplainabilityExport", func(b *testing.B) { benchConvertDescribe(b, explainabilityExports, c.explainabilityExport) })
	b.Run("WhatIfForecastExport", func(b *testing.B) { benchConvertDescribe(b, whatIfExports, c.whatIfExport) })
}

// BenchmarkMarshalListPage100 is the gRPC wire encoding of a 100-item
// page, for scale next to the translation.
func BenchmarkMarshalListPage100(b *testing.B) {
	items := make([]types.PredictorBacktestExportJobSummary, 100)
	for i := range items {
		benchItem(reflect.ValueOf(&items[i]).Elem(), backtestJobs, i)
	}
	resp := &gatewayv1.ListPredictorBacktestExportJobsResponse{
		PredictorBacktestExportJobs: convertAll(items, benchConv.backtestSummary),
		NextPageToken:               "t",
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := proto.Marshal(resp); err != nil {
			b.Fatal(err)
		}
	}
}

func benchServer(b *testing.B) *ForecastJobServer {
	e := newStrictEnv(b, tRegion)
	return e.s
}

// BenchmarkValidateDescribe is the ARN check before every Describe,
// Delete and Stop, per type.
func BenchmarkValidateDescribe(b *testing.B) {
	s := benchServer(b)
	for _, c := range jobCases {
		b.Run(c.name(), func(b *testing.B) {
			arn := c.jobArn()
			b.ReportAllocs()
			for b.Loop() {
				if err := s.checkJobArn(c.t, arn); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// createValidators are each type's Create checks.
var createValidators = map[*jobtype.Type]func(*ForecastJobServer, proto.Message) *violations{
	datasetImportJobs: func(s *ForecastJobServer, m proto.Message) *violations {
		return s.validateDatasetImportCreate(m.(*gatewayv1.CreateDatasetImportJobRequest))
	},
	forecastExportJobs: func(s *ForecastJobServer, m proto.Message) *violations {
		return s.validateForecastExportCreate(m.(*gatewayv1.CreateForecastExportJobRequest))
	},
	backtestJobs: func(s *ForecastJobServer, m proto.Message) *violations {
		return s.validateBacktestCreate(m.(*gatewayv1.CreatePredictorBacktestExportJobRequest))
	},
	explainabilityExports: func(s *ForecastJobServer, m proto.Message) *violations {
		return s.validateExplainabilityExportCreate(m.(*gatewayv1.CreateExplainabilityExportRequest))
	},
	whatIfExports: func(s *ForecastJobServer, m proto.Message) *violations {
		return s.validateWhatIfExportCreate(m.(*gatewayv1.CreateWhatIfForecastExportRequest))
	},
}

// BenchmarkValidateCreate is every check of a Create with every field set
// (tags included), per type.
func BenchmarkValidateCreate(b *testing.B) {
	s := benchServer(b)
	for _, c := range jobCases {
		b.Run(c.name(), func(b *testing.B) {
			validate, ok := createValidators[c.t]
			if !ok {
				b.Fatalf("no Create validator for %s", c.name())
			}
			req := c.full()[0]
			b.ReportAllocs()
			for b.Loop() {
				if err := validate(s, req).err(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseListRequest is the check of a List with a two-term filter
// and a page token, per type.
func BenchmarkParseListRequest(b *testing.B) {
	e := newStrictEnv(b, tRegion)
	for _, c := range jobCases {
		b.Run(c.name(), func(b *testing.B) {
			filter := fmt.Sprintf("status = ACTIVE AND %s != %q", c.t.Filter.Field, tArn(c.t.Filter.ArnType, "p/x"))
			q, err := e.s.parseListRequest(context.Background(), c.t.ListOp(), e.s.filters[c.t], &gatewayv1.ListDatasetImportJobsRequest{Filter: filter})
			if err != nil {
				b.Fatal(err)
			}
			tok, err := e.codec.Seal(c.t.ListOp(), q.canon, "", "upstream-token")
			if err != nil {
				b.Fatal(err)
			}
			req := &gatewayv1.ListDatasetImportJobsRequest{PageSize: 250, PageToken: tok, Filter: filter}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.s.parseListRequest(context.Background(), c.t.ListOp(), e.s.filters[c.t], req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
