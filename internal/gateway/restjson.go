package gateway

import (
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// restJSON is the REST marshaler. It has protojson's semantics (proto field
// names, zero values omitted, enums by name, RFC 3339 timestamps) but
// encodes this API's response messages by hand: protojson's reflection
// costs several microseconds and about 21 allocations per job, which made
// JSON encoding the largest cost of a REST list page. Anything else, and
// any value the fast path cannot encode exactly as protojson would (invalid
// UTF-8, an out-of-range timestamp, a nil list element), goes to protojson,
// so results and errors stay protojson's. restjson_test.go checks the two
// agree on random messages.
type restJSON struct {
	*runtime.JSONPb
}

var jsonBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// Marshal implements runtime.Marshaler.
func (m restJSON) Marshal(v any) ([]byte, error) {
	bp := jsonBufs.Get().(*[]byte)
	w := jsonWriter{buf: (*bp)[:0], ok: true}
	handled := w.response(v)
	var out []byte
	if handled && w.ok {
		out = append([]byte(nil), w.buf...)
	}
	*bp = w.buf
	jsonBufs.Put(bp)
	if out != nil {
		return out, nil
	}
	return m.JSONPb.Marshal(v)
}

// jsonWriter appends one JSON document; ok turns false when a value needs
// protojson (the caller then discards the buffer).
type jsonWriter struct {
	buf  []byte
	ok   bool
	more bool // a member was written in the current object
}

func (w *jsonWriter) response(v any) bool {
	switch r := v.(type) {
	case *gatewayv1.ListPredictorBacktestExportJobsResponse:
		w.open()
		w.list("predictor_backtest_export_jobs", len(r.GetPredictorBacktestExportJobs()), func(i int) { w.backtestSummary(r.PredictorBacktestExportJobs[i]) })
		w.str("next_page_token", r.GetNextPageToken())
		w.close()
	case *gatewayv1.ListForecastExportJobsResponse:
		w.open()
		w.list("forecast_export_jobs", len(r.GetForecastExportJobs()), func(i int) { w.forecastExportSummary(r.ForecastExportJobs[i]) })
		w.str("next_page_token", r.GetNextPageToken())
		w.close()
	case *gatewayv1.ListDatasetImportJobsResponse:
		w.open()
		w.list("dataset_import_jobs", len(r.GetDatasetImportJobs()), func(i int) { w.datasetImportSummary(r.DatasetImportJobs[i]) })
		w.str("next_page_token", r.GetNextPageToken())
		w.close()
	case *gatewayv1.DescribePredictorBacktestExportJobResponse:
		if r == nil {
			return false
		}
		w.open()
		w.str("predictor_backtest_export_job_arn", r.PredictorBacktestExportJobArn)
		w.str("predictor_backtest_export_job_name", r.PredictorBacktestExportJobName)
		w.str("predictor_arn", r.PredictorArn)
		w.destination("destination", r.Destination)
		w.enum("format", int32(r.Format), gatewayv1.ExportFormat_name)
		w.str("aws_format", r.AwsFormat)
		w.enum("status", int32(r.Status), gatewayv1.JobStatus_name)
		w.str("aws_status", r.AwsStatus)
		w.str("message", r.Message)
		w.timestamp("creation_time", r.CreationTime)
		w.timestamp("last_modification_time", r.LastModificationTime)
		w.close()
	case *gatewayv1.CreatePredictorBacktestExportJobResponse:
		if r == nil {
			return false
		}
		w.open()
		w.str("predictor_backtest_export_job_arn", r.PredictorBacktestExportJobArn)
		w.close()
	default:
		return false
	}
	return true
}

func (w *jsonWriter) backtestSummary(s *gatewayv1.PredictorBacktestExportJobSummary) {
	if s == nil {
		w.ok = false
		return
	}
	w.open()
	w.str("predictor_backtest_export_job_arn", s.PredictorBacktestExportJobArn)
	w.str("predictor_backtest_export_job_name", s.PredictorBacktestExportJobName)
	w.destination("destination", s.Destination)
	w.enum("status", int32(s.Status), gatewayv1.JobStatus_name)
	w.str("aws_status", s.AwsStatus)
	w.str("message", s.Message)
	w.timestamp("creation_time", s.CreationTime)
	w.timestamp("last_modification_time", s.LastModificationTime)
	w.close()
}

func (w *jsonWriter) forecastExportSummary(s *gatewayv1.ForecastExportJobSummary) {
	if s == nil {
		w.ok = false
		return
	}
	w.open()
	w.str("forecast_export_job_arn", s.ForecastExportJobArn)
	w.str("forecast_export_job_name", s.ForecastExportJobName)
	w.destination("destination", s.Destination)
	w.enum("status", int32(s.Status), gatewayv1.JobStatus_name)
	w.str("aws_status", s.AwsStatus)
	w.str("message", s.Message)
	w.timestamp("creation_time", s.CreationTime)
	w.timestamp("last_modification_time", s.LastModificationTime)
	w.close()
}

func (w *jsonWriter) datasetImportSummary(s *gatewayv1.DatasetImportJobSummary) {
	if s == nil {
		w.ok = false
		return
	}
	w.open()
	w.str("dataset_import_job_arn", s.DatasetImportJobArn)
	w.str("dataset_import_job_name", s.DatasetImportJobName)
	if s.DataSource != nil {
		w.key("data_source")
		w.open()
		w.s3Config(s.DataSource.S3Config)
		w.close()
	}
	w.enum("status", int32(s.Status), gatewayv1.JobStatus_name)
	w.str("aws_status", s.AwsStatus)
	w.str("message", s.Message)
	w.timestamp("creation_time", s.CreationTime)
	w.timestamp("last_modification_time", s.LastModificationTime)
	w.enum("import_mode", int32(s.ImportMode), gatewayv1.ImportMode_name)
	w.str("aws_import_mode", s.AwsImportMode)
	w.close()
}

func (w *jsonWriter) destination(name string, d *gatewayv1.DataDestination) {
	if d == nil {
		return
	}
	w.key(name)
	w.open()
	w.s3Config(d.S3Config)
	w.close()
}

func (w *jsonWriter) s3Config(c *gatewayv1.S3Config) {
	if c == nil {
		return
	}
	w.key("s3_config")
	w.open()
	w.str("path", c.Path)
	w.str("role_arn", c.RoleArn)
	w.str("kms_key_arn", c.KmsKeyArn)
	w.close()
}

func (w *jsonWriter) open() {
	w.buf = append(w.buf, '{')
	w.more = false
}

func (w *jsonWriter) close() {
	w.buf = append(w.buf, '}')
	w.more = true // the closed object is a member of its parent
}

func (w *jsonWriter) key(name string) {
	if w.more {
		w.buf = append(w.buf, ',')
	}
	w.buf = append(w.buf, '"')
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, '"', ':')
	w.more = true
}

func (w *jsonWriter) list(name string, n int, elem func(i int)) {
	if n == 0 {
		return
	}
	w.key(name)
	w.buf = append(w.buf, '[')
	for i := range n {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		elem(i)
	}
	w.buf = append(w.buf, ']')
	w.more = true
}

func (w *jsonWriter) str(name, v string) {
	if v == "" {
		return
	}
	w.key(name)
	w.quote(v)
}

// enum writes the value's name, or its number when the name is unknown (as
// protojson does); zero is omitted.
func (w *jsonWriter) enum(name string, n int32, names map[int32]string) {
	if n == 0 {
		return
	}
	w.key(name)
	if s, ok := names[n]; ok {
		w.buf = append(w.buf, '"')
		w.buf = append(w.buf, s...)
		w.buf = append(w.buf, '"')
		return
	}
	w.buf = strconv.AppendInt(w.buf, int64(n), 10)
}

// Timestamp range that protojson accepts: 0001-01-01 to 9999-12-31.
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300799
)

// timestamp writes RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits,
// protojson's format.
func (w *jsonWriter) timestamp(name string, t *timestamppb.Timestamp) {
	if t == nil {
		return
	}
	secs, nanos := t.GetSeconds(), t.GetNanos()
	if secs < minTimestampSeconds || secs > maxTimestampSeconds || nanos < 0 || nanos >= 1e9 {
		w.ok = false
		return
	}
	w.key(name)
	w.buf = append(w.buf, '"')
	w.buf = time.Unix(secs, 0).UTC().AppendFormat(w.buf, "2006-01-02T15:04:05")
	if nanos != 0 {
		digits, n := 9, nanos
		for digits > 3 && n%1000 == 0 {
			n /= 1000
			digits -= 3
		}
		w.buf = append(w.buf, '.')
		s := strconv.AppendInt(nil, int64(n), 10)
		for range digits - len(s) {
			w.buf = append(w.buf, '0')
		}
		w.buf = append(w.buf, s...)
	}
	w.buf = append(w.buf, 'Z', '"')
}

const hexDigits = "0123456789abcdef"

// quote writes s as a JSON string. Invalid UTF-8 is left to protojson,
// which rejects it.
func (w *jsonWriter) quote(s string) {
	if !utf8.ValidString(s) {
		w.ok = false
		return
	}
	w.buf = append(w.buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		w.buf = append(w.buf, s[start:i]...)
		switch c {
		case '"', '\\':
			w.buf = append(w.buf, '\\', c)
		case '\n':
			w.buf = append(w.buf, '\\', 'n')
		case '\r':
			w.buf = append(w.buf, '\\', 'r')
		case '\t':
			w.buf = append(w.buf, '\\', 't')
		default:
			w.buf = append(w.buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	w.buf = append(w.buf, s[start:]...)
	w.buf = append(w.buf, '"')
}
