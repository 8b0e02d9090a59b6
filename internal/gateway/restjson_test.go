package gateway

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// checkSameAsProtojson requires the fast encoding of m to mean exactly what
// protojson's does (compared as decoded JSON: protojson varies whitespace on
// purpose), or both to fail.
func checkSameAsProtojson(t *testing.T, m proto.Message) {
	t.Helper()
	fast, fastErr := restMarshaler.Marshal(m)
	slow, slowErr := restMarshaler.JSONPb.Marshal(m)
	if (fastErr != nil) != (slowErr != nil) {
		t.Fatalf("errors differ: fast %v, protojson %v", fastErr, slowErr)
	}
	if slowErr != nil {
		return
	}
	var a, b any
	if err := json.Unmarshal(fast, &a); err != nil {
		t.Fatalf("fast output is not JSON: %v\n%s", err, fast)
	}
	if err := json.Unmarshal(slow, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("fast and protojson differ:\nfast     %s\nprotojson %s", fast, slow)
	}
}

var tricky = []string{"", "a", "arn:aws:forecast:us-east-1:123456789012:predictor/p", `quote " and \ backslash`,
	"tab\tnew\nline\rcr", "\x00\x01\x1f\x7f", "unicode é 日本 🚀", "\u2028\u2029", "<html>&amp;", "s3://b/p/"}

func randString(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return tricky[r.IntN(len(tricky))]
	}
	var b strings.Builder
	for range r.IntN(40) {
		b.WriteRune(rune(r.IntN(0x3000)))
	}
	return b.String()
}

func randTime(r *rand.Rand) *timestamppb.Timestamp {
	switch r.IntN(6) {
	case 0:
		return nil
	case 1:
		return &timestamppb.Timestamp{}
	}
	nanos := []int32{0, 1, 120_000_000, 123_456_000, 123_456_789, 999_999_999, 1_000}[r.IntN(7)]
	return &timestamppb.Timestamp{Seconds: r.Int64N(253402300799+62135596800) - 62135596800, Nanos: nanos}
}

func randS3(r *rand.Rand) *gatewayv1.S3Config {
	if r.IntN(4) == 0 {
		return nil
	}
	return &gatewayv1.S3Config{Path: randString(r), RoleArn: randString(r), KmsKeyArn: randString(r)}
}

func randDest(r *rand.Rand) *gatewayv1.DataDestination {
	if r.IntN(4) == 0 {
		return nil
	}
	return &gatewayv1.DataDestination{S3Config: randS3(r)}
}

func randEnum(r *rand.Rand, max int32) int32 { return r.Int32N(max + 3) } // includes unknown numbers

func randMessages(r *rand.Rand) []proto.Message {
	n := r.IntN(30)
	bt := &gatewayv1.ListPredictorBacktestExportJobsResponse{NextPageToken: randString(r)}
	fe := &gatewayv1.ListForecastExportJobsResponse{NextPageToken: randString(r)}
	di := &gatewayv1.ListDatasetImportJobsResponse{NextPageToken: randString(r)}
	for range n {
		bt.PredictorBacktestExportJobs = append(bt.PredictorBacktestExportJobs, &gatewayv1.PredictorBacktestExportJobSummary{
			PredictorBacktestExportJobArn: randString(r), PredictorBacktestExportJobName: randString(r), Destination: randDest(r),
			Status: gatewayv1.JobStatus(randEnum(r, 9)), AwsStatus: randString(r), Message: randString(r),
			CreationTime: randTime(r), LastModificationTime: randTime(r),
		})
		fe.ForecastExportJobs = append(fe.ForecastExportJobs, &gatewayv1.ForecastExportJobSummary{
			ForecastExportJobArn: randString(r), ForecastExportJobName: randString(r), Destination: randDest(r),
			Status: gatewayv1.JobStatus(randEnum(r, 9)), AwsStatus: randString(r), Message: randString(r),
			CreationTime: randTime(r), LastModificationTime: randTime(r),
		})
		var src *gatewayv1.DataSource
		if r.IntN(4) != 0 {
			src = &gatewayv1.DataSource{S3Config: randS3(r)}
		}
		di.DatasetImportJobs = append(di.DatasetImportJobs, &gatewayv1.DatasetImportJobSummary{
			DatasetImportJobArn: randString(r), DatasetImportJobName: randString(r), DataSource: src,
			Status: gatewayv1.JobStatus(randEnum(r, 9)), AwsStatus: randString(r), Message: randString(r),
			CreationTime: randTime(r), LastModificationTime: randTime(r),
			ImportMode: gatewayv1.ImportMode(randEnum(r, 2)), AwsImportMode: randString(r),
		})
	}
	desc := &gatewayv1.DescribePredictorBacktestExportJobResponse{
		PredictorBacktestExportJobArn: randString(r), PredictorBacktestExportJobName: randString(r), PredictorArn: randString(r),
		Destination: randDest(r), Format: gatewayv1.ExportFormat(randEnum(r, 2)), AwsFormat: randString(r),
		Status: gatewayv1.JobStatus(randEnum(r, 9)), AwsStatus: randString(r), Message: randString(r),
		CreationTime: randTime(r), LastModificationTime: randTime(r),
	}
	return []proto.Message{bt, fe, di, desc, &gatewayv1.CreatePredictorBacktestExportJobResponse{PredictorBacktestExportJobArn: randString(r)}}
}

func TestRESTJSONMatchesProtojson(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		for _, m := range randMessages(r) {
			checkSameAsProtojson(t, m)
		}
	}
	// Empty messages, and values the fast path hands to protojson.
	for _, m := range []proto.Message{
		&gatewayv1.ListPredictorBacktestExportJobsResponse{},
		&gatewayv1.DescribePredictorBacktestExportJobResponse{},
		&gatewayv1.DescribePredictorBacktestExportJobResponse{Destination: &gatewayv1.DataDestination{}},
		&gatewayv1.DescribePredictorBacktestExportJobResponse{CreationTime: &timestamppb.Timestamp{Seconds: 253402300800}},
		&gatewayv1.DescribePredictorBacktestExportJobResponse{CreationTime: &timestamppb.Timestamp{Nanos: -1}},
		&gatewayv1.DescribePredictorBacktestExportJobResponse{Message: "bad \xff utf-8"},
		&gatewayv1.S3Config{Path: "not a response: protojson path"},
	} {
		checkSameAsProtojson(t, m)
	}
}

func FuzzRESTJSONMatchesProtojson(f *testing.F) {
	f.Add("arn:aws:forecast:us-east-1:123456789012:predictor-backtest-export-job/p/j", "ACTIVE", int32(1), int64(1767225600), int32(0))
	f.Add("q\"\\\n\x00é\u2028", "", int32(42), int64(-62135596800), int32(999999999))
	f.Add("\xff", "x", int32(-3), int64(253402300800), int32(5))
	f.Fuzz(func(t *testing.T, s, status string, enum int32, secs int64, nanos int32) {
		ts := &timestamppb.Timestamp{Seconds: secs, Nanos: nanos}
		dest := &gatewayv1.DataDestination{S3Config: &gatewayv1.S3Config{Path: s, RoleArn: status}}
		checkSameAsProtojson(t, &gatewayv1.ListPredictorBacktestExportJobsResponse{
			PredictorBacktestExportJobs: []*gatewayv1.PredictorBacktestExportJobSummary{{
				PredictorBacktestExportJobArn: s, Destination: dest, Status: gatewayv1.JobStatus(enum),
				AwsStatus: status, Message: s + status, CreationTime: ts, LastModificationTime: ts,
			}},
			NextPageToken: status,
		})
		checkSameAsProtojson(t, &gatewayv1.DescribePredictorBacktestExportJobResponse{
			PredictorArn: s, Format: gatewayv1.ExportFormat(enum), AwsFormat: status, CreationTime: ts,
		})
	})
}
