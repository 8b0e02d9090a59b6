package transport

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/timestamppb"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// checkSameAsProtojson requires the fast encoding of m to mean exactly what
// protojson's does (compared as decoded JSON: protojson varies whitespace on
// purpose), or both to fail with the same error.
func checkSameAsProtojson(t *testing.T, m proto.Message) {
	t.Helper()
	fast, fastErr := protojsonLike.Marshal(m)
	slow, slowErr := restMarshaler.JSONPb.Marshal(m)
	if (fastErr != nil) != (slowErr != nil) || (slowErr != nil && fastErr.Error() != slowErr.Error()) {
		t.Fatalf("%T: errors differ: fast %v, protojson %v", m, fastErr, slowErr)
	}
	if slowErr != nil {
		return
	}
	if !json.Valid(fast) {
		t.Fatalf("%T: fast output is not valid JSON:\n%s", m, fast)
	}
	var a, b any
	if err := json.Unmarshal(fast, &a); err != nil {
		t.Fatalf("fast output is not JSON: %v\n%s", err, fast)
	}
	if err := json.Unmarshal(slow, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("%T: fast and protojson differ\nfast:      %s\nprotojson: %s", m, fast, slow)
	}
}

// protojsonLike is the REST encoder without its one departure from
// protojson (empty lists written as []), so the two can be compared
// exactly; TestRESTJSONEmptyLists covers the departure.
var protojsonLike = restJSON{JSONPb: restMarshaler.JSONPb}

var tricky = []string{"", "a", "arn:aws:forecast:us-east-1:123456789012:predictor/p", `quote " and \ backslash`,
	"tab\tnew\nline\rcr", "\x00\x01\x1f\x7f", "unicode é 日本 🚀", "\u2028\u2029", "<html>&amp;", "s3://b/p/",
	"\b\f\v\x1b", "\ufffd", "\\u0000 not an escape"}

var trickyFloats = []float64{0, 1, -1, 0.5, 1e-7, 1e21, 123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1), math.Inf(-1)}

// apiMessages is every message type of the API, from its file descriptors:
// a message added to the proto is covered without touching this test.
func apiMessages(t *testing.T) []protoreflect.MessageType {
	t.Helper()
	var out []protoreflect.MessageType
	protoregistry.GlobalTypes.RangeMessages(func(mt protoreflect.MessageType) bool {
		if mt.Descriptor().ParentFile().Package() == "forecast.gateway.v1" {
			out = append(out, mt)
		}
		return true
	})
	if len(out) < 60 {
		t.Fatalf("found %d API message types, expected every request, response and resource message", len(out))
	}
	return out
}

// fill sets a random subset of m's fields to random values (lists of 0-3
// elements, unknown enum numbers included), to depth 3.
func fill(r *rand.Rand, m protoreflect.Message, depth int) {
	fds := m.Descriptor().Fields()
	for i := range fds.Len() {
		fd := fds.Get(i)
		if r.IntN(4) == 0 {
			continue
		}
		switch {
		case fd.IsList():
			l := m.Mutable(fd).List()
			for range r.IntN(4) {
				if fd.Kind() == protoreflect.MessageKind {
					if depth == 0 {
						break
					}
					e := l.NewElement()
					fill(r, e.Message(), depth-1)
					l.Append(e)
				} else {
					l.Append(randScalar(r, fd))
				}
			}
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			for range r.IntN(4) {
				k := protoreflect.ValueOfString(tricky[r.IntN(len(tricky))]).MapKey()
				if fd.MapValue().Kind() == protoreflect.MessageKind {
					v := mp.NewValue()
					fill(r, v.Message(), depth-1)
					mp.Set(k, v)
				} else {
					mp.Set(k, randScalar(r, fd.MapValue()))
				}
			}
		case fd.Kind() == protoreflect.MessageKind:
			if depth == 0 {
				continue
			}
			if fd.Message().FullName() == "google.protobuf.Timestamp" {
				m.Set(fd, protoreflect.ValueOfMessage(randTimestamp(r).ProtoReflect()))
				continue
			}
			fill(r, m.Mutable(fd).Message(), depth-1)
		default:
			m.Set(fd, randScalar(r, fd))
		}
	}
}

func randScalar(r *rand.Rand, fd protoreflect.FieldDescriptor) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if r.IntN(3) == 0 {
			return protoreflect.ValueOfString(tricky[r.IntN(len(tricky))])
		}
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte(' ' + r.IntN(95))
		}
		return protoreflect.ValueOfString(string(b))
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(r.IntN(2) == 0)
	case protoreflect.Int32Kind:
		return protoreflect.ValueOfInt32(int32(r.Uint32()))
	case protoreflect.Int64Kind:
		return protoreflect.ValueOfInt64(int64(r.Uint64()))
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(trickyFloats[r.IntN(len(trickyFloats))] * float64(r.IntN(3)-1))
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(r.Int32N(int32(fd.Enum().Values().Len()) + 3)))
	}
	panic("randScalar: add kind " + fd.Kind().String())
}

func randTimestamp(r *rand.Rand) *timestamppb.Timestamp {
	nanos := []int32{0, 1e6 * r.Int32N(1000), 1e3 * r.Int32N(1e6), r.Int32N(1e9)}[r.IntN(4)]
	return &timestamppb.Timestamp{Seconds: r.Int64N(4e9), Nanos: nanos}
}

// TestRESTJSONMatchesProtojson: every API message type, filled at random,
// encodes to what protojson writes.
func TestRESTJSONMatchesProtojson(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, mt := range apiMessages(t) {
		for range 40 {
			m := mt.New()
			fill(r, m, 3)
			checkSameAsProtojson(t, m.Interface())
		}
		checkSameAsProtojson(t, mt.New().Interface())  // empty
		checkSameAsProtojson(t, mt.Zero().Interface()) // typed nil
	}
	for _, m := range []proto.Message{
		&gatewayv1.DescribePredictorBacktestExportJobResponse{CreationTime: &timestamppb.Timestamp{Seconds: 253402300800}},
		&gatewayv1.DescribePredictorBacktestExportJobResponse{CreationTime: &timestamppb.Timestamp{Nanos: -1}},
		&gatewayv1.ListForecastExportJobsResponse{ForecastExportJobs: []*gatewayv1.ForecastExportJobSummary{{}, nil}},
		&gatewayv1.DescribeDatasetImportJobResponse{FieldStatistics: map[string]*gatewayv1.Statistics{"a": nil, "b": {}}},
	} {
		checkSameAsProtojson(t, m)
	}
}

func FuzzRESTJSONMatchesProtojson(f *testing.F) {
	f.Add("arn:aws:forecast:us-east-1:123456789012:predictor-backtest-export-job/p/j", "ACTIVE", int32(1), int64(1767225600), int32(0), 0.5)
	f.Add("q\"\\\n\x00é\u2028", "", int32(42), int64(-62135596800), int32(999999999), math.Inf(1))
	f.Add("\xff", "x", int32(-3), int64(253402300800), int32(5), 1e-9)
	f.Fuzz(func(t *testing.T, s, status string, enum int32, secs int64, nanos int32, x float64) {
		ts := &timestamppb.Timestamp{Seconds: secs, Nanos: nanos}
		dest := &gatewayv1.DataDestination{S3Config: &gatewayv1.S3Config{Path: s, RoleArn: status}}
		checkSameAsProtojson(t, &gatewayv1.ListPredictorBacktestExportJobsResponse{
			PredictorBacktestExportJobs: []*gatewayv1.PredictorBacktestExportJobSummary{{
				PredictorBacktestExportJobArn: s, Destination: dest, Status: gatewayv1.JobStatus(enum),
				AwsStatus: status, Message: s + status, CreationTime: ts, LastModificationTime: ts,
			}},
			NextPageToken: status,
		})
		n := int64(enum)
		checkSameAsProtojson(t, &gatewayv1.DescribeDatasetImportJobResponse{
			DatasetArn: s, Format: gatewayv1.ImportFormat(enum), AwsFormat: status, CreationTime: ts, DataSize: &x,
			EstimatedTimeRemainingInMinutes: &n,
			FieldStatistics:                 map[string]*gatewayv1.Statistics{s: {Avg: &x, Min: status, CountLong: &n}, status: {}},
		})
	})
}

// TestRESTJSONInvalidUTF8 checks a string protojson rejects is rejected with
// protojson's own error, whichever field and message it is in.
func TestRESTJSONInvalidUTF8(t *testing.T) {
	bad := "ok then \xc3\x28 bad"
	for _, m := range []proto.Message{
		&gatewayv1.CreatePredictorBacktestExportJobResponse{PredictorBacktestExportJobArn: bad},
		&gatewayv1.ListPredictorBacktestExportJobsResponse{NextPageToken: bad},
		&gatewayv1.ListDatasetImportJobsResponse{DatasetImportJobs: []*gatewayv1.DatasetImportJobSummary{{AwsImportMode: bad}}},
		&gatewayv1.ListForecastExportJobsResponse{ForecastExportJobs: []*gatewayv1.ForecastExportJobSummary{
			{Destination: &gatewayv1.DataDestination{S3Config: &gatewayv1.S3Config{KmsKeyArn: bad}}}}},
		&gatewayv1.DescribeDatasetImportJobResponse{FieldStatistics: map[string]*gatewayv1.Statistics{bad: {}}},
		&gatewayv1.ListWhatIfForecastExportsResponse{WhatIfForecastExports: []*gatewayv1.WhatIfForecastExportSummary{{WhatIfForecastArns: []string{"ok", bad}}}},
	} {
		_, fastErr := protojsonLike.Marshal(m)
		_, slowErr := restMarshaler.JSONPb.Marshal(m)
		if fastErr == nil || slowErr == nil || fastErr.Error() != slowErr.Error() {
			t.Fatalf("%T: fast error %v, protojson error %v; want the same non-nil error", m, fastErr, slowErr)
		}
	}
}

// TestRESTJSONFastPathTaken guards the point of the encoder: an ordinary
// list page must not fall back to protojson.
func TestRESTJSONFastPathTaken(t *testing.T) {
	w := jsonWriter{ok: true}
	w.message(benchListResponse(3).ProtoReflect())
	if !w.ok || !strings.HasPrefix(string(w.buf), `{"predictor_backtest_export_jobs":[{`) {
		t.Fatalf("fast path not taken (ok=%v): %s", w.ok, w.buf)
	}
}

// TestRESTJSONEmptyLists: the REST encoder writes every list of every
// message it writes, empty ones as [], and otherwise what protojson writes.
func TestRESTJSONEmptyLists(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, mt := range apiMessages(t) {
		for range 10 {
			m := mt.New()
			fill(r, m, 3)
			out, err := restMarshaler.Marshal(m.Interface())
			if err != nil {
				continue // protojson refuses it too (TestRESTJSONMatchesProtojson)
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			checkLists(t, string(mt.Descriptor().Name()), m, got)
			plain, _ := protojsonLike.Marshal(m.Interface())
			var want map[string]any
			_ = json.Unmarshal(plain, &want)
			dropEmptyLists(got)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: beyond empty lists, the output differs:\n%s\n%s", mt.Descriptor().Name(), out, plain)
			}
		}
	}
}

// checkLists requires every list field of m (recursively) in obj.
func checkLists(t *testing.T, path string, m protoreflect.Message, obj map[string]any) {
	t.Helper()
	fds := m.Descriptor().Fields()
	for i := range fds.Len() {
		fd := fds.Get(i)
		name := string(fd.Name())
		switch {
		case fd.IsList():
			arr, ok := obj[name].([]any)
			if !ok {
				t.Fatalf("%s.%s: %v, want a JSON array", path, name, obj[name])
			}
			if fd.Message() != nil {
				for j, e := range arr {
					checkLists(t, fmt.Sprintf("%s.%s[%d]", path, name, j), m.Get(fd).List().Get(j).Message(), e.(map[string]any))
				}
			}
		case fd.Message() != nil && !fd.IsMap() && m.Has(fd) && fd.Message().FullName() != "google.protobuf.Timestamp":
			checkLists(t, path+"."+name, m.Get(fd).Message(), obj[name].(map[string]any))
		}
	}
}

func dropEmptyLists(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if arr, ok := e.([]any); ok && len(arr) == 0 {
				delete(x, k)
				continue
			}
			dropEmptyLists(e)
		}
	case []any:
		for _, e := range x {
			dropEmptyLists(e)
		}
	}
}
