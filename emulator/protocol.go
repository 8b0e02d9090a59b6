package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Operation names, as in X-Amz-Target: AmazonForecast.<op>.
const (
	OpCreatePredictorBacktestExportJob   = "CreatePredictorBacktestExportJob"
	OpDescribePredictorBacktestExportJob = "DescribePredictorBacktestExportJob"
	OpListPredictorBacktestExportJobs    = "ListPredictorBacktestExportJobs"
	OpListForecastExportJobs             = "ListForecastExportJobs"
	OpListDatasetImportJobs              = "ListDatasetImportJobs"
)

// Operations lists every operation the emulator serves.
var Operations = []string{
	OpCreatePredictorBacktestExportJob,
	OpDescribePredictorBacktestExportJob,
	OpListPredictorBacktestExportJobs,
	OpListForecastExportJobs,
	OpListDatasetImportJobs,
}

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
)

var errNamespace = map[string]string{
	ErrThrottling:         "com.amazon.coral.availability#",
	ErrSerialization:      "com.amazon.coral.service#",
	ErrUnknownOperation:   "com.amazon.coral.service#",
	ErrInternalFailure:    "com.amazon.coral.service#",
	ErrServiceUnavailable: "com.amazon.coral.availability#",
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
	body, _ := json.Marshal(map[string]string{"__type": ns + e.typ, key: e.msg})
	h := w.Header()
	h.Set("X-Amzn-Errortype", e.typ)
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, &apiError{http.StatusInternalServerError, ErrInternalFailure, "encoding response: " + err.Error()})
		return
	}
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

// epoch is a timestamp sent as epoch seconds, the awsJson wire format.
// Times are whole seconds, so the value is an integer: the SDK's decoder
// truncates float*1000, so fractional values could come back 1 ms early.
type epoch struct{ time.Time }

func (t epoch) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, t.Unix(), 10), nil
}

// Request shapes: pointers tell absent (null) members from empty ones.
type (
	s3ConfigIn struct {
		Path      *string `json:"Path"`
		RoleArn   *string `json:"RoleArn"`
		KMSKeyArn *string `json:"KMSKeyArn"`
	}
	destinationIn struct {
		S3Config *s3ConfigIn `json:"S3Config"`
	}
	tagIn struct {
		Key   *string `json:"Key"`
		Value *string `json:"Value"`
	}
	filterIn struct {
		Key       *string `json:"Key"`
		Value     *string `json:"Value"`
		Condition *string `json:"Condition"`
	}
	createIn struct {
		PredictorBacktestExportJobName *string        `json:"PredictorBacktestExportJobName"`
		PredictorArn                   *string        `json:"PredictorArn"`
		Destination                    *destinationIn `json:"Destination"`
		Format                         *string        `json:"Format"`
		Tags                           []*tagIn       `json:"Tags"`
	}
	describeIn struct {
		PredictorBacktestExportJobArn *string `json:"PredictorBacktestExportJobArn"`
	}
	listIn struct {
		Filters    []*filterIn `json:"Filters"`
		MaxResults *int32      `json:"MaxResults"`
		NextToken  *string     `json:"NextToken"`
	}
)

// Response shapes.
type (
	s3ConfigOut struct {
		Path      string `json:"Path"`
		RoleArn   string `json:"RoleArn"`
		KMSKeyArn string `json:"KMSKeyArn,omitempty"`
	}
	locationOut struct {
		S3Config s3ConfigOut `json:"S3Config"`
	}
	createOut struct {
		PredictorBacktestExportJobArn string `json:"PredictorBacktestExportJobArn"`
	}
	describeOut struct {
		PredictorBacktestExportJobArn  string      `json:"PredictorBacktestExportJobArn"`
		PredictorBacktestExportJobName string      `json:"PredictorBacktestExportJobName"`
		PredictorArn                   string      `json:"PredictorArn"`
		Destination                    locationOut `json:"Destination"`
		Status                         string      `json:"Status"`
		Message                        string      `json:"Message,omitempty"`
		CreationTime                   epoch       `json:"CreationTime"`
		LastModificationTime           epoch       `json:"LastModificationTime"`
		Format                         string      `json:"Format,omitempty"`
	}
	backtestSummary struct {
		PredictorBacktestExportJobArn  string      `json:"PredictorBacktestExportJobArn"`
		PredictorBacktestExportJobName string      `json:"PredictorBacktestExportJobName"`
		Destination                    locationOut `json:"Destination"`
		Status                         string      `json:"Status"`
		Message                        string      `json:"Message,omitempty"`
		CreationTime                   epoch       `json:"CreationTime"`
		LastModificationTime           epoch       `json:"LastModificationTime"`
	}
	exportSummary struct {
		ForecastExportJobArn  string      `json:"ForecastExportJobArn"`
		ForecastExportJobName string      `json:"ForecastExportJobName"`
		Destination           locationOut `json:"Destination"`
		Status                string      `json:"Status"`
		Message               string      `json:"Message,omitempty"`
		CreationTime          epoch       `json:"CreationTime"`
		LastModificationTime  epoch       `json:"LastModificationTime"`
	}
	importSummary struct {
		DatasetImportJobArn  string      `json:"DatasetImportJobArn"`
		DatasetImportJobName string      `json:"DatasetImportJobName"`
		DataSource           locationOut `json:"DataSource"`
		Status               string      `json:"Status"`
		Message              string      `json:"Message,omitempty"`
		CreationTime         epoch       `json:"CreationTime"`
		LastModificationTime epoch       `json:"LastModificationTime"`
		ImportMode           string      `json:"ImportMode,omitempty"`
	}
	listBacktestOut struct {
		PredictorBacktestExportJobs []backtestSummary `json:"PredictorBacktestExportJobs"`
		NextToken                   string            `json:"NextToken,omitempty"`
	}
	listExportOut struct {
		ForecastExportJobs []exportSummary `json:"ForecastExportJobs"`
		NextToken          string          `json:"NextToken,omitempty"`
	}
	listImportOut struct {
		DatasetImportJobs []importSummary `json:"DatasetImportJobs"`
		NextToken         string          `json:"NextToken,omitempty"`
	}
)

func location(j *JobInfo) locationOut {
	return locationOut{S3Config: s3ConfigOut{Path: j.S3Path, RoleArn: j.RoleArn, KMSKeyArn: j.KMSKeyArn}}
}

// decodeBody parses the JSON request body into v. An empty body counts as
// {} (the SDK always sends at least {}).
func decodeBody(body []byte, v any) *apiError {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return newErr(ErrSerialization, "Unexpected value type for member '%s': expected %s", te.Field, te.Type)
		}
		return newErr(ErrSerialization, "Malformed JSON request body: %v", err)
	}
	return nil
}
