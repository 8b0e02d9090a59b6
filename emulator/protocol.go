package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

// Operation names, as in X-Amz-Target: AmazonForecast.<op>.
const (
	OpCreateDatasetImportJob    = "CreateDatasetImportJob"
	OpDescribeDatasetImportJob  = "DescribeDatasetImportJob"
	OpListDatasetImportJobs     = "ListDatasetImportJobs"
	OpDeleteDatasetImportJob    = "DeleteDatasetImportJob"
	OpCreateForecastExportJob   = "CreateForecastExportJob"
	OpDescribeForecastExportJob = "DescribeForecastExportJob"
	OpListForecastExportJobs    = "ListForecastExportJobs"
	OpDeleteForecastExportJob   = "DeleteForecastExportJob"

	OpCreatePredictorBacktestExportJob   = "CreatePredictorBacktestExportJob"
	OpDescribePredictorBacktestExportJob = "DescribePredictorBacktestExportJob"
	OpListPredictorBacktestExportJobs    = "ListPredictorBacktestExportJobs"
	OpDeletePredictorBacktestExportJob   = "DeletePredictorBacktestExportJob"

	OpCreateExplainabilityExport   = "CreateExplainabilityExport"
	OpDescribeExplainabilityExport = "DescribeExplainabilityExport"
	OpListExplainabilityExports    = "ListExplainabilityExports"
	OpDeleteExplainabilityExport   = "DeleteExplainabilityExport"

	OpCreateWhatIfForecastExport   = "CreateWhatIfForecastExport"
	OpDescribeWhatIfForecastExport = "DescribeWhatIfForecastExport"
	OpListWhatIfForecastExports    = "ListWhatIfForecastExports"
	OpDeleteWhatIfForecastExport   = "DeleteWhatIfForecastExport"

	OpStopResource        = jobtype.OpStopResource
	OpTagResource         = jobtype.OpTagResource
	OpUntagResource       = jobtype.OpUntagResource
	OpListTagsForResource = jobtype.OpListTagsForResource
)

// Operations lists every operation the emulator serves: Create, Describe,
// List and Delete of each type of jobtype.All, then the four resource
// operations.
var Operations = func() []string {
	var ops []string
	for _, t := range jobtype.All {
		ops = append(ops, t.CreateOp(), t.DescribeOp(), t.ListOp(), t.DeleteOp())
	}
	return append(ops, OpStopResource, OpTagResource, OpUntagResource, OpListTagsForResource)
}()

const (
	targetPrefix = "AmazonForecast."
	contentType  = "application/x-amz-json-1.1"
)

// Error type names. Modelled Forecast errors use the service namespace;
// the generic ones the Coral framework namespaces, as AWS does. The SDK
// strips everything up to '#'.
const (
	ErrInvalidInput          = "InvalidInputException"
	ErrInvalidNextToken      = "InvalidNextTokenException"
	ErrResourceNotFound      = "ResourceNotFoundException"
	ErrResourceAlreadyExists = "ResourceAlreadyExistsException"
	ErrResourceInUse         = "ResourceInUseException"
	ErrLimitExceeded         = "LimitExceededException"
	ErrThrottling            = "ThrottlingException"
	ErrSerialization         = "SerializationException"
	ErrUnknownOperation      = "UnknownOperationException"
	ErrInternalFailure       = "InternalFailure"
	ErrServiceUnavailable    = "ServiceUnavailable"

	// SigV4 failures (see sigv4.go; the credential ones are in
	// credentials.go).
	ErrMissingAuthenticationToken = "MissingAuthenticationTokenException"
	ErrIncompleteSignature        = "IncompleteSignatureException"
	ErrInvalidSignature           = "InvalidSignatureException"
)

var errNamespace = map[string]string{
	ErrThrottling:                 "com.amazon.coral.availability#",
	ErrSerialization:              "com.amazon.coral.service#",
	ErrUnknownOperation:           "com.amazon.coral.service#",
	ErrInternalFailure:            "com.amazon.coral.service#",
	ErrServiceUnavailable:         "com.amazon.coral.availability#",
	ErrMissingAuthenticationToken: "com.amazon.coral.service#",
	ErrIncompleteSignature:        "com.amazon.coral.service#",
	ErrInvalidSignature:           "com.amazon.coral.service#",
	ErrUnrecognizedClient:         "com.amazon.coral.service#",
	ErrExpiredToken:               "com.amazon.coral.service#",
	ErrAccessDenied:               "com.amazon.coral.service#",
}

// apiError is an error response.
type apiError struct {
	status int
	typ    string
	msg    string
}

func (e *apiError) Error() string { return e.typ + ": " + e.msg }

func newErr(typ, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: typ, msg: fmt.Sprintf(format, args...)}
}

// writeError sends an error the way the aws-sdk-go-v2 awsjson protocol
// decodes it: X-Amzn-Errortype names the type (it wins over the body), the
// body carries __type and the message. Forecast's modelled exceptions have a
// member named "Message" and the SDK matches member names exactly, so they
// get "Message"; the framework errors use AWS's lowercase "message" (the SDK
// reads that case-insensitively for generic errors).
func writeError(w http.ResponseWriter, e *apiError) {
	ns, generic := errNamespace[e.typ]
	if !generic {
		ns = "com.amazonaws.forecast#"
	}
	key := "Message"
	if generic {
		key = "message"
	}
	var jw jsonWriter
	jw.begin()
	jw.str("__type", ns+e.typ)
	jw.str(key, e.msg)
	body := jw.end()
	h := w.Header()
	h.Set("X-Amzn-Errortype", e.typ)
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

func writeBody(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// newRequestID returns a UUID-v4-shaped id like AWS's x-amzn-RequestId.
func newRequestID() string {
	a, b := rand.Uint64(), rand.Uint64()
	a = a&^0xf000 | 0x4000
	b = b&^(3<<62) | 2<<62
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

// jsonWriter appends one JSON document to a byte slice without reflection
// or maps, so a 100-item list page costs a few allocations. Members are
// written in call order; comma tracks whether a separator is due.
type jsonWriter struct {
	b     []byte
	comma bool
}

func (w *jsonWriter) begin() { w.b = append(w.b, '{'); w.comma = false }

func (w *jsonWriter) end() []byte { w.b = append(w.b, '}'); return w.b }

func (w *jsonWriter) key(k string) {
	if w.comma {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
	w.comma = false
}

func (w *jsonWriter) str(k, v string) {
	w.key(k)
	w.b = appendJSONString(w.b, v)
	w.comma = true
}

// optStr writes k only when v is not empty (absent optional members).
func (w *jsonWriter) optStr(k, v string) {
	if v != "" {
		w.str(k, v)
	}
}

// epoch writes a timestamp as epoch seconds, the awsJson wire format.
// Times are whole seconds, so the value is an integer: the SDK's decoder
// truncates float*1000, so fractional values could come back 1 ms early.
func (w *jsonWriter) epoch(k string, t time.Time) { w.int(k, t.Unix()) }

func (w *jsonWriter) int(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
	w.comma = true
}

func (w *jsonWriter) float(k string, v float64) {
	w.key(k)
	w.b = strconv.AppendFloat(w.b, v, 'g', -1, 64)
	w.comma = true
}

func (w *jsonWriter) bool(k string, v bool) {
	w.key(k)
	w.b = strconv.AppendBool(w.b, v)
	w.comma = true
}

func (w *jsonWriter) object(k string) { w.key(k); w.b = append(w.b, '{') }

func (w *jsonWriter) closeObject() { w.b = append(w.b, '}'); w.comma = true }

func (w *jsonWriter) array(k string) { w.key(k); w.b = append(w.b, '[') }

func (w *jsonWriter) closeArray() { w.b = append(w.b, ']'); w.comma = true }

// element starts an object element of the open array.
func (w *jsonWriter) element() {
	if w.comma {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, '{')
	w.comma = false
}

func (w *jsonWriter) strElement(v string) {
	if w.comma {
		w.b = append(w.b, ',')
	}
	w.b = appendJSONString(w.b, v)
	w.comma = true
}

func (w *jsonWriter) strings(k string, vs []string) {
	w.array(k)
	w.comma = false
	for _, v := range vs {
		w.strElement(v)
	}
	w.closeArray()
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced by U+FFFD (as
// encoding/json does).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// members is a decoded JSON request object whose members are read by name,
// so one generic decoder serves every operation's differently named
// members. A member of the wrong JSON type is a SerializationException, as
// from AWS; null counts as absent.
type members map[string]json.RawMessage

// decodeMembers parses a request body that must be a JSON object. An empty
// body counts as {} (the SDK always sends at least {}).
func decodeMembers(body []byte) (members, *apiError) {
	if len(bytes.TrimSpace(body)) == 0 {
		return members{}, nil
	}
	var m members
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, serializationError("", err)
	}
	if m == nil { // the body was null
		m = members{}
	}
	return m, nil
}

func serializationError(member string, err error) *apiError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if member == "" {
			member = te.Field
		}
		if member == "" {
			return newErr(ErrSerialization, "Expected a JSON object, got %s", te.Value)
		}
		return newErr(ErrSerialization, "Unexpected value type for member '%s': expected %s, got %s", member, te.Type, te.Value)
	}
	return newErr(ErrSerialization, "Malformed JSON request body: %v", err)
}

// raw returns the member's JSON, nil when absent or null.
func (m members) raw(name string) json.RawMessage {
	r := m[name]
	if len(r) == 0 || string(r) == "null" {
		return nil
	}
	return r
}

// str decodes an optional string member; nil when absent.
func (m members) str(name string) (*string, *apiError) {
	r := m.raw(name)
	if r == nil {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(r, &s); err != nil {
		return nil, serializationError(name, err)
	}
	return &s, nil
}

func (m members) boolean(name string) (bool, *apiError) {
	r := m.raw(name)
	if r == nil {
		return false, nil
	}
	var v bool
	if err := json.Unmarshal(r, &v); err != nil {
		return false, serializationError(name, err)
	}
	return v, nil
}

// object decodes a nested structure member; nil when absent.
func (m members) object(name string) (members, *apiError) {
	r := m.raw(name)
	if r == nil {
		return nil, nil
	}
	var out members
	if err := json.Unmarshal(r, &out); err != nil {
		return nil, serializationError(name, err)
	}
	return out, nil
}

// strList decodes a list of strings; nil elements stay nil so validation
// can report them; present reports whether the member was sent.
func (m members) strList(name string) (list []*string, present bool, e *apiError) {
	r := m.raw(name)
	if r == nil {
		return nil, false, nil
	}
	if err := json.Unmarshal(r, &list); err != nil {
		return nil, true, serializationError(name, err)
	}
	return list, true, nil
}

// tagIn is one Tag of a request; pointers tell absent members.
type tagIn struct {
	Key   *string `json:"Key"`
	Value *string `json:"Value"`
}

func (m members) tags(name string) (list []*tagIn, present bool, e *apiError) {
	r := m.raw(name)
	if r == nil {
		return nil, false, nil
	}
	if err := json.Unmarshal(r, &list); err != nil {
		return nil, true, serializationError(name, err)
	}
	return list, true, nil
}

// listIn is the input of every List operation.
type listIn struct {
	Filters    []*filterIn `json:"Filters"`
	MaxResults *int32      `json:"MaxResults"`
	NextToken  *string     `json:"NextToken"`
}

type filterIn struct {
	Key       *string `json:"Key"`
	Value     *string `json:"Value"`
	Condition *string `json:"Condition"`
}

func decodeList(body []byte) (*listIn, *apiError) {
	var in listIn
	if len(bytes.TrimSpace(body)) == 0 {
		return &in, nil
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, serializationError("", err)
	}
	return &in, nil
}
