// Package apidoc makes the gateway's OpenAPI documents. protoc-gen-openapiv2
// writes a document from the protos (field names, types, formats and the
// proto comments as descriptions); Build completes it with what the plugin
// cannot know, so that the document describes the wire exactly:
//
//   - every error response each operation can return, with the AIP-193 body
//     the gateway sends ({"error": {"code", "message", "status",
//     "details"}}) and Retry-After where it is set;
//   - 201 Created with Location for creates, ETag and 304 for describes;
//   - required fields: request fields documented "Required." and every list
//     of a response (the gateway always sends lists, empty as []);
//   - no undocumented members (additionalProperties: false), so a response
//     with a field the document lacks fails validation;
//   - a real title, tags by job type, and how ARNs go into paths.
//
// The same document converted to OpenAPI 3 (kin-openapi's openapi2conv) is
// written beside it. `make generate` runs this (package gen); nothing in
// gen/openapi is edited by hand.
package apidoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"google.golang.org/genproto/googleapis/rpc/code"

	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

// Title is the document's title.
const Title = "Forecast job gateway"

// VersionPlaceholder is info.version in the generated documents; the
// gateway serves them with its build version instead (SetVersion).
const VersionPlaceholder = "0.0.0-unreleased"

// errorStatuses says which HTTP error statuses an operation of each kind
// can answer, besides those every operation can (commonErrors).
var errorStatuses = map[string][]int{
	"Create":   {http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType},
	"Describe": {http.StatusNotFound},
	"List":     {},
	"Delete":   {http.StatusNotFound, http.StatusConflict, http.StatusUnsupportedMediaType},
	"Stop":     {http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType},
	"Tag":      {http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType},
	"Untag":    {http.StatusNotFound, http.StatusUnsupportedMediaType},
	"ListTags": {http.StatusNotFound},
	"Watch":    {http.StatusNotFound, http.StatusNotAcceptable},
	"Wait":     {http.StatusNotFound},
}

// scopes says which scope each kind of operation needs when the gateway
// authenticates callers (internal/transport's guard enforces the same).
var scopes = map[string]string{
	"Create": "forecast.write", "Delete": "forecast.write", "Stop": "forecast.write", "Tag": "forecast.write", "Untag": "forecast.write",
	"Describe": "forecast.read", "List": "forecast.read", "ListTags": "forecast.read",
	"Watch": "forecast.read", "Wait": "forecast.read",
}

// commonErrors can come from any operation: a bad request, missing or
// refused credentials, a Host the gateway does not serve, a header block
// over the limit, the caller's rate limit, and the upstream's failures.
var commonErrors = []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusMisdirectedRequest,
	http.StatusRequestHeaderFieldsTooLarge, http.StatusTooManyRequests,
	http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusGatewayTimeout}

// statusMeaning describes each error status in the document.
var statusMeaning = map[int]string{
	http.StatusBadRequest:                  "INVALID_ARGUMENT (a BadRequest detail names each field and rule), or FAILED_PRECONDITION.",
	http.StatusNotFound:                    "NOT_FOUND: no such job (or parent).",
	http.StatusConflict:                    "ALREADY_EXISTS (a job of that name exists), or FAILED_PRECONDITION with reason RESOURCE_IN_USE (the job or its parent is in the wrong state).",
	http.StatusRequestEntityTooLarge:       "The request body is larger than the gateway accepts.",
	http.StatusUnsupportedMediaType:        "The request has a body or Content-Type that is not application/json.",
	http.StatusTooManyRequests:             "RESOURCE_EXHAUSTED: the caller's rate or concurrency limit at the gateway (reason RATE_LIMITED; Retry-After and a RetryInfo detail say when to retry), or an AWS limit (LIMIT_EXCEEDED).",
	http.StatusUnauthorized:                "UNAUTHENTICATED: no credentials (reason UNAUTHENTICATED), a bearer token the gateway refuses (INVALID_TOKEN) or a client certificate it does not know (INVALID_CLIENT_CERTIFICATE); WWW-Authenticate carries the Bearer challenge.",
	http.StatusForbidden:                   "PERMISSION_DENIED: the caller lacks the operation's scope (INSUFFICIENT_SCOPE; WWW-Authenticate names it), the policy file does not grant a role, S3 path or KMS key the request names (POLICY_DENIED; metadata.field names it), the job belongs to another caller (NOT_OWNER), or a browser page of a foreign origin sent a state-changing request (ORIGIN_NOT_ALLOWED).",
	http.StatusMisdirectedRequest:          "The Host header names a host this gateway does not serve (reason HOST_NOT_ALLOWED): a DNS-rebinding defence.",
	http.StatusNotAcceptable:               "Accept names neither application/x-ndjson nor text/event-stream (reason NOT_ACCEPTABLE).",
	http.StatusRequestHeaderFieldsTooLarge: "The request's header block is larger than the gateway accepts.",
	http.StatusInternalServerError:         "INTERNAL: a fault of the gateway or an unexpected AWS answer; nothing internal is passed on.",
	http.StatusServiceUnavailable:          "UNAVAILABLE: AWS is unreachable, failing or still throttling after retries; Retry-After says when to retry.",
	http.StatusGatewayTimeout:              "DEADLINE_EXCEEDED: the request's deadline passed before AWS answered.",
}

// opKind is the kind of an operation, from its id (the RPC name).
func opKind(id string) string {
	for _, k := range []string{"ListTags", "Untag", "Tag", "Create", "Describe", "List", "Delete", "Stop", "Watch", "Wait"} {
		if strings.HasPrefix(id, k) {
			return k
		}
	}
	return ""
}

// Build completes protoc-gen-openapiv2's Swagger 2.0 document and converts
// it to OpenAPI 3; both are indented JSON with sorted keys.
func Build(raw []byte) (v2, v3 []byte, err error) {
	var doc openapi2.T
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, nil, fmt.Errorf("apidoc: reading the generated document: %w", err)
	}
	if err := complete(&doc); err != nil {
		return nil, nil, err
	}
	if v2, err = marshal(&doc); err != nil {
		return nil, nil, err
	}
	doc3, err := openapi2conv.ToV3(&doc)
	if err != nil {
		return nil, nil, fmt.Errorf("apidoc: converting to OpenAPI 3: %w", err)
	}
	streamContent(doc3)
	if v3, err = marshal(doc3); err != nil {
		return nil, nil, err
	}
	return v2, v3, nil
}

// streamContent gives, in the OpenAPI 3 document, a streaming operation's
// 200 its stream media types only and its errors application/json only
// (Swagger 2.0 cannot say this).
func streamContent(doc *openapi3.T) {
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if opKind(op.OperationID) != "Watch" {
				continue
			}
			for code, r := range op.Responses.Map() {
				if r.Value == nil || r.Value.Content == nil {
					continue
				}
				for media := range r.Value.Content {
					stream := media == "application/x-ndjson" || media == "text/event-stream"
					if (code == "200") != stream {
						delete(r.Value.Content, media)
					}
				}
			}
		}
	}
}

func marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("apidoc: %w", err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func complete(doc *openapi2.T) error {
	service := ""
	if len(doc.Tags) > 0 {
		service = doc.Tags[0].Description
	}
	doc.Info = openapi3.Info{
		Title:   Title,
		Version: VersionPlaceholder,
		Description: service + "\n\n" +
			"Errors have the AIP-193 body {\"error\": {\"code\", \"message\", \"status\", \"details\"}} on every " +
			"status; details carry a google.rpc.ErrorInfo (domain forecast-gateway, a stable reason) and, for " +
			"invalid requests, a google.rpc.BadRequest naming each field. A path that exists answers another " +
			"method with 405 and Allow; an unknown path is 404; a header block over the limit is 431. Every response " +
			"carries X-Request-Id (the client's own, when it sends a valid one), which the gateway's logs name.\n\n" +
			"When the gateway authenticates callers, send a bearer JWT (Authorization: Bearer <token>) or a client " +
			"certificate (mTLS); each operation names the scope it needs (forecast.read or forecast.write).",
	}
	doc.SecurityDefinitions = map[string]*openapi2.SecurityScheme{
		"bearer": {Type: "apiKey", In: "header", Name: "Authorization",
			Description: "A JWT from the issuer the gateway trusts, as \"Bearer <token>\". Its scope (or scp) claim grants forecast.read, forecast.write and forecast.admin."},
	}
	doc.Security = openapi2.SecurityRequirements{{"bearer": {}}}
	doc.Tags = tags()

	addErrorDefinitions(doc)
	requests, responses := reachable(doc)
	for name, ref := range doc.Definitions {
		s := ref.Value
		if s == nil || len(s.Properties) == 0 {
			continue
		}
		if name != "ErrorDetail" {
			s.AdditionalProperties = openapi3.AdditionalProperties{Has: ptr(false)}
		}
		for _, p := range sortedKeys(s.Properties) {
			prop := s.Properties[p].Value
			if prop == nil {
				continue // a bare $ref: no description to read (buf.gen.yaml asks for allOf)
			}
			switch {
			case requests[name] && strings.HasPrefix(prop.Description, "Required."):
				s.Required = appendUnique(s.Required, p)
			case responses[name] && prop.Type.Is("array"):
				// The gateway sends every list, empty as [].
				s.Required = appendUnique(s.Required, p)
			}
		}
	}
	for name, ref := range doc.Definitions {
		if s := ref.Value; s != nil && len(s.Enum) > 0 && requests[name] {
			s.Description += "\n\nRequests may also use AWS's spelling of a value (PARQUET for " +
				"EXPORT_FORMAT_PARQUET, ACTIVE for JOB_STATUS_ACTIVE, ...), case-sensitive as AWS is; " +
				"responses always use these names."
		}
	}

	for path, item := range doc.Paths {
		for method, op := range item.Operations() {
			if err := completeOperation(doc, path, method, op); err != nil {
				return err
			}
		}
	}
	return nil
}

// tags groups the operations by job type in browsable documentation.
func tags() openapi3.Tags {
	var out openapi3.Tags
	for _, t := range jobtype.All {
		out = append(out, &openapi3.Tag{Name: tagName(t),
			Description: fmt.Sprintf("%s: create, describe, list, delete%s. Collection /v1/%s.",
				upperFirst(t.Title)+"s", map[bool]string{true: ", stop", false: ""}[t.Stoppable], t.Collection)})
	}
	return append(out, &openapi3.Tag{Name: "Tags", Description: "Tags of a job of any type: add, remove, list. /v1/tags/{resource_arn}."})
}

func tagName(t *jobtype.Type) string { return upperFirst(t.Title) + "s" }

func upperFirst(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// tagFor is the tag of the operation at path.
func tagFor(path string) string {
	for _, t := range jobtype.All {
		if path == "/v1/"+t.Collection || strings.HasPrefix(path, "/v1/"+t.Collection+"/") {
			return tagName(t)
		}
	}
	return "Tags"
}

func completeOperation(doc *openapi2.T, path, method string, op *openapi2.Operation) error {
	kind := opKind(op.OperationID)
	extra, ok := errorStatuses[kind]
	if !ok {
		return fmt.Errorf("apidoc: %s %s: operation %q of no known kind", method, path, op.OperationID)
	}
	op.Tags = []string{tagFor(path)}
	op.Description = strings.TrimSpace(op.Description + "\n\nScope: " + scopes[kind] + " (when the gateway authenticates callers).")
	for _, p := range op.Parameters {
		if p.In == "query" && strings.HasPrefix(p.Description, "Required.") {
			p.Required = true
		}
		if p.In == "path" && p.Pattern == ".+" {
			p.Description = strings.TrimSpace(p.Description + "\n\nA job ARN contains / and :. Send it as one " +
				"percent-encoded path segment (encodeURIComponent, url.PathEscape); the raw ARN works too.")
		}
	}

	resp := op.Responses.Value("200")
	if resp == nil {
		return fmt.Errorf("apidoc: %s %s: no 200 response", method, path)
	}
	resp.Description = "OK."
	switch kind {
	case "Create":
		op.Responses.Delete("200")
		resp.Description = "Created: the job's ARN, also in Location."
		resp.Headers = map[string]*openapi2.Header{"Location": {Parameter: openapi2.Parameter{
			Type: &openapi3.Types{"string"}, Description: "The job's URL: its collection and its percent-encoded ARN."}}}
		op.Responses.Set("201", resp)
	case "Watch":
		// Swagger 2.0 has one produces list per operation: the stream's
		// media types and JSON for errors. The OpenAPI 3 document says
		// which is which (streamContent).
		op.Produces = []string{"application/x-ndjson", "text/event-stream", "application/json"}
		resp.Description = "A stream. application/x-ndjson (the default): one JSON object per line. text/event-stream " +
			"(Accept: text/event-stream): Server-Sent Events whose data is the same object, id its etag (sent back as " +
			"Last-Event-ID on reconnect) and event the kind of message (job, heartbeat). A stream that ends for another " +
			"reason than the job ending has a last object with error (an AIP-193 error body)."
		resp.Schema = &openapi2.SchemaRef{Ref: "#/definitions/WatchJobStreamLine"}
		doc.Definitions["WatchJobStreamLine"] = &openapi2.SchemaRef{Value: &openapi2.Schema{
			Type:        &openapi3.Types{"object"},
			Description: "One line (or one event's data) of a WatchJob stream: a WatchJobResponse, or, last, an error.",
			Properties: openapi2.Schemas{
				"etag":      {Value: &openapi2.Schema{Type: &openapi3.Types{"string"}, Description: "The etag of the job's state."}},
				"job":       {Ref: "#/definitions/Job"},
				"heartbeat": {Ref: "#/definitions/Heartbeat"},
				"error":     {Ref: "#/definitions/ErrorBody"},
			},
			AdditionalProperties: openapi3.AdditionalProperties{Has: ptr(false)},
		}}
	case "Describe":
		resp.Headers = map[string]*openapi2.Header{"ETag": {Parameter: openapi2.Parameter{
			Type: &openapi3.Types{"string"}, Description: "A hash of the whole response; send it back in If-None-Match."}}}
		op.Responses.Set("304", &openapi2.Response{Description: "Not Modified: the job is as the If-None-Match ETag says; no body."})
	}
	for _, status := range append(slices.Clone(commonErrors), extra...) {
		r := &openapi2.Response{Description: statusMeaning[status], Schema: &openapi2.SchemaRef{Ref: "#/definitions/Error"}}
		switch status {
		case http.StatusServiceUnavailable, http.StatusTooManyRequests:
			r.Headers = map[string]*openapi2.Header{"Retry-After": {Parameter: openapi2.Parameter{
				Type: &openapi3.Types{"integer"}, Description: "Seconds to wait before retrying, when known."}}}
		case http.StatusUnauthorized, http.StatusForbidden:
			r.Headers = map[string]*openapi2.Header{"WWW-Authenticate": {Parameter: openapi2.Parameter{
				Type: &openapi3.Types{"string"}, Description: "The RFC 6750 Bearer challenge: error=\"invalid_token\" for refused credentials, error=\"insufficient_scope\" with the scope needed."}}}
		}
		op.Responses.Set(strconv.Itoa(status), r)
	}
	return nil
}

// addErrorDefinitions adds the AIP-193 error body.
func addErrorDefinitions(doc *openapi2.T) {
	var statuses []any
	for n := int32(1); n <= 16; n++ {
		statuses = append(statuses, code.Code_name[n])
	}
	str := func(desc string) *openapi2.SchemaRef {
		return &openapi2.SchemaRef{Value: &openapi2.Schema{Type: &openapi3.Types{"string"}, Description: desc}}
	}
	doc.Definitions["Error"] = &openapi2.SchemaRef{Value: &openapi2.Schema{
		Type:        &openapi3.Types{"object"},
		Description: "The AIP-193 error body of every error response.",
		Required:    []string{"error"},
		Properties:  openapi2.Schemas{"error": {Ref: "#/definitions/ErrorBody"}},
	}}
	doc.Definitions["ErrorBody"] = &openapi2.SchemaRef{Value: &openapi2.Schema{
		Type:     &openapi3.Types{"object"},
		Required: []string{"code", "message", "status"},
		Properties: openapi2.Schemas{
			"code":    {Value: &openapi2.Schema{Type: &openapi3.Types{"integer"}, Format: "int32", Description: "The HTTP status of the response."}},
			"message": str("What went wrong, for a person to read."),
			"status":  {Value: &openapi2.Schema{Type: &openapi3.Types{"string"}, Enum: statuses, Description: "The google.rpc.Code name."}},
			"details": {Value: &openapi2.Schema{Type: &openapi3.Types{"array"}, Items: &openapi2.SchemaRef{Ref: "#/definitions/ErrorDetail"},
				Description: "google.rpc error details: ErrorInfo always; BadRequest, RequestInfo, RetryInfo where they apply."}},
		},
	}}
	obj := func(desc string, props openapi2.Schemas) *openapi2.SchemaRef {
		return &openapi2.SchemaRef{Value: &openapi2.Schema{Type: &openapi3.Types{"object"}, Description: desc, Properties: props}}
	}
	doc.Definitions["ErrorDetail"] = &openapi2.SchemaRef{Value: &openapi2.Schema{
		Type: &openapi3.Types{"object"},
		Description: "One google.rpc error detail in its JSON form; @type names it. The members of the details the " +
			"gateway sends are listed (ErrorInfo: reason, domain, metadata; BadRequest: fieldViolations; " +
			"RequestInfo: requestId, servingData; RetryInfo: retryDelay); a detail type added later may carry others.",
		Required: []string{"@type"},
		Properties: openapi2.Schemas{
			"@type":  str("The detail's type URL, for example type.googleapis.com/google.rpc.ErrorInfo."),
			"reason": str("ErrorInfo: the stable reason (INVALID_ARGUMENT, RESOURCE_NOT_FOUND, ...)."),
			"domain": str("ErrorInfo: forecast-gateway."),
			"metadata": {Value: &openapi2.Schema{Type: &openapi3.Types{"object"}, Description: "ErrorInfo: aws_error_code, aws_request_id and operation, for errors that came from AWS.",
				AdditionalProperties: openapi3.AdditionalProperties{Schema: &openapi3.SchemaRef{Value: &openapi3.Schema{Type: &openapi3.Types{"string"}}}}}},
			"fieldViolations": {Value: &openapi2.Schema{Type: &openapi3.Types{"array"}, Description: "BadRequest: each broken rule of a request field.",
				Items: obj("", openapi2.Schemas{
					"field":       str("The snake_case path of the field (destination.s3_config.path, tags[2].key)."),
					"description": str("What is wrong, ending with (rule: <rule>)."),
				})}},
			"requestId":   str("RequestInfo: the AWS request id."),
			"servingData": str("RequestInfo: aws."),
			"retryDelay":  str("RetryInfo: how long to wait before retrying, as a duration (2s)."),
		},
	}}
}

// reachable returns the definitions reachable from request bodies and from
// success responses.
func reachable(doc *openapi2.T) (requests, responses map[string]bool) {
	requests, responses = map[string]bool{}, map[string]bool{}
	var walk func(seen map[string]bool, ref *openapi2.SchemaRef)
	walk = func(seen map[string]bool, ref *openapi2.SchemaRef) {
		if ref == nil {
			return
		}
		if name, ok := strings.CutPrefix(ref.Ref, "#/definitions/"); ok {
			if seen[name] {
				return
			}
			seen[name] = true
			walk(seen, doc.Definitions[name])
			return
		}
		if s := ref.Value; s != nil {
			for _, p := range s.Properties {
				walk(seen, p)
			}
			for _, a := range s.AllOf {
				walk(seen, a)
			}
			walk(seen, s.Items)
			if m := s.AdditionalProperties.Schema; m != nil {
				walk(seen, &openapi2.SchemaRef{Ref: m.Ref})
			}
		}
	}
	for _, item := range doc.Paths {
		for _, op := range item.Operations() {
			for _, p := range op.Parameters {
				walk(requests, p.Schema)
			}
			if r := op.Responses.Value("200"); r != nil {
				walk(responses, r.Schema)
			}
		}
	}
	return requests, responses
}

// SetVersion returns doc (either document) with info.version set to v.
func SetVersion(doc []byte, v string) []byte {
	quoted, _ := json.Marshal(VersionPlaceholder)
	repl, _ := json.Marshal(v)
	return bytes.Replace(doc, []byte(`"version": `+string(quoted)), []byte(`"version": `+string(repl)), 1)
}

func ptr[T any](v T) *T { return &v }

func appendUnique(xs []string, x string) []string {
	if slices.Contains(xs, x) {
		return xs
	}
	return append(xs, x)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
