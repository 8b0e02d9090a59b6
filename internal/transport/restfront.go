package transport

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/forecastgw/forecast-gateway/internal/apierr"
)

// restFront is what every REST API request meets before grpc-gateway. It
// knows each route from the OpenAPI document the gateway serves (so the
// document and the behaviour cannot drift apart) and answers, with an
// AIP-193 body:
//
//   - 431 for a header block over the limit (net/http would answer that
//     in plain text, so its own limit is set higher);
//   - 400 for a path or query that is not UTF-8;
//   - 404 for a path that is no route, 405 with Allow for a route with
//     another method;
//   - 415 for a state-changing request whose body or Content-Type is not
//     JSON (so an HTML form or text/plain from a browser changes nothing);
//   - 400 naming the parameter for an unknown, repeated or mistyped query
//     parameter (grpc-gateway's query parser would ignore or misname it);
//   - 413 for a body over the limit, and 400 naming every wrong field of a
//     body (decodeBody); a valid body is passed on in protojson's own form.
//
// It also puts an ETag on Describe responses and answers If-None-Match
// with 304.
type restFront struct {
	routes         []*route
	maxHeaderBytes int
	maxBodyBytes   int64
	next           http.Handler
	// conn reaches the service for the streaming routes, which the front
	// answers itself (reststream.go).
	conn grpc.ClientConnInterface
}

// route is one REST route of the OpenAPI document.
type route struct {
	method string
	prefix string // the path before its parameter, or the whole path
	param  string // the path parameter ("" for none); it may contain '/'
	suffix string // the path after the parameter (":stop")

	query map[string]queryParam
	body  protoreflect.MessageDescriptor // nil: the route takes no body
	etag  bool                           // a Describe: ETag and If-None-Match
	rpc   protoreflect.MethodDescriptor
	// long: the call may outlast the server's write timeout (a stream, a
	// wait for a job), which the route lifts.
	long bool
}

type queryParam struct {
	integer bool // must parse as an int32
	repeats bool // may be given more than once
}

// match reports whether path (decoded) is this route's path.
func (rt *route) match(path string) bool {
	if rt.param == "" {
		return path == rt.prefix
	}
	rest, ok := strings.CutPrefix(path, rt.prefix)
	if !ok {
		return false
	}
	rest, ok = strings.CutSuffix(rest, rt.suffix)
	return ok && rest != ""
}

// swaggerDoc is the part of a Swagger 2.0 document routing needs.
type swaggerDoc struct {
	Paths map[string]map[string]struct {
		OperationID string `json:"operationId"`
		Parameters  []struct {
			Name string `json:"name"`
			In   string `json:"in"`
			Type string `json:"type"`
		} `json:"parameters"`
	} `json:"paths"`
}

// routesFrom reads the routes of a Swagger 2.0 document; each operation id
// is the RPC name of service, whose input message is a body's type.
func routesFrom(doc []byte, service protoreflect.FullName) ([]*route, error) {
	var d swaggerDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("transport: reading the OpenAPI document: %w", err)
	}
	desc, err := protoregistry.GlobalFiles.FindDescriptorByName(service)
	if err != nil {
		return nil, fmt.Errorf("transport: %w", err)
	}
	methods := desc.(protoreflect.ServiceDescriptor).Methods()
	var routes []*route
	for _, path := range slices.Sorted(maps.Keys(d.Paths)) {
		for method, op := range d.Paths[path] {
			rt := &route{method: strings.ToUpper(method), prefix: path, query: map[string]queryParam{}}
			if open := strings.IndexByte(path, '{'); open >= 0 {
				end := strings.IndexByte(path, '}')
				rt.prefix, rt.param, rt.suffix = path[:open], path[open+1:end], path[end+1:]
			}
			m := methods.ByName(protoreflect.Name(op.OperationID))
			if m == nil {
				return nil, fmt.Errorf("transport: the OpenAPI document names %s, which %s does not have", op.OperationID, service)
			}
			rt.etag = rt.method == http.MethodGet && strings.HasPrefix(op.OperationID, "Describe")
			rt.rpc = m
			rt.long = m.IsStreamingServer() || strings.HasPrefix(op.OperationID, "Wait")
			for _, p := range op.Parameters {
				switch p.In {
				case "query":
					rt.query[p.Name] = queryParam{integer: p.Type == "integer", repeats: p.Type == "array"}
				case "body":
					rt.body = m.Input()
				}
			}
			routes = append(routes, rt)
		}
	}
	return routes, nil
}

// Reasons of the errors the REST surface itself answers.
const (
	reasonRouteNotFound    = "ROUTE_NOT_FOUND"
	reasonMethodNotAllowed = "METHOD_NOT_ALLOWED"
	reasonMediaType        = "UNSUPPORTED_MEDIA_TYPE"
	reasonHeadersTooLarge  = "HEADERS_TOO_LARGE"
	reasonBodyTooLarge     = "BODY_TOO_LARGE"
)

// refuse writes an AIP-193 error the REST surface produces itself.
func refuse(w http.ResponseWriter, httpCode int, c codes.Code, reason, msg string) {
	st := apierr.WithDetails(status.New(c, msg), &errdetails.ErrorInfo{Reason: reason, Domain: apierr.Domain})
	writeStatus(w, st, httpCode)
}

// invalid writes INVALID_ARGUMENT naming each field.
func invalid(w http.ResponseWriter, vs ...apierr.FieldViolation) {
	writeStatus(w, apierr.InvalidArgumentStatus(apierr.ReasonInvalidArgument, vs...), 0)
}

func (f *restFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if n := headerBytes(r); n > f.maxHeaderBytes {
		refuse(w, http.StatusRequestHeaderFieldsTooLarge, codes.InvalidArgument, reasonHeadersTooLarge,
			fmt.Sprintf("the request's header block is %d bytes; at most %d are accepted", n, f.maxHeaderBytes))
		return
	}
	rt, allow := f.find(r.Method, r.URL.Path)
	if rt == nil && !utf8.ValidString(r.URL.Path) {
		invalid(w, apierr.FieldViolation{Field: "path", Description: "must be valid UTF-8 once percent-decoded (rule: utf8)"})
		return
	}
	if rt == nil {
		if len(allow) == 0 {
			refuse(w, http.StatusNotFound, codes.NotFound, reasonRouteNotFound,
				fmt.Sprintf("no route %s; the routes are in /openapi.json", r.URL.Path))
			return
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		refuse(w, http.StatusMethodNotAllowed, codes.Unimplemented, reasonMethodNotAllowed,
			fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, strings.Join(allow, ", ")))
		return
	}
	if rt.param != "" && !utf8.ValidString(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, rt.prefix), rt.suffix)) {
		invalid(w, apierr.FieldViolation{Field: rt.param, Description: "must be valid UTF-8 once percent-decoded (rule: utf8)"})
		return
	}
	if stateChanging(r.Method) && (r.ContentLength != 0 || r.Header.Get("Content-Type") != "") {
		if mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" ||
			(params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8")) {
			refuse(w, http.StatusUnsupportedMediaType, codes.InvalidArgument, reasonMediaType,
				fmt.Sprintf("a %s with a body must send it as Content-Type: application/json, got %q", r.Method, r.Header.Get("Content-Type")))
			return
		}
	}
	if vs := checkQuery(r, rt); len(vs) > 0 {
		invalid(w, vs...)
		return
	}
	if !f.readBody(w, r, rt) {
		return
	}
	if rt.rpc.IsStreamingServer() {
		f.serveStream(w, r, rt)
		return
	}
	if rt.long {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	}
	if rt.etag {
		f.withETag(w, r)
		return
	}
	f.next.ServeHTTP(w, r)
}

// find returns the route of method and path, or the methods the path
// allows when method is not one of them. A route whose path ends in a
// verb (":stop") is more specific than one whose parameter swallows it.
func (f *restFront) find(method, path string) (*route, []string) {
	var matched []*route
	for _, rt := range f.routes {
		if rt.match(path) {
			matched = append(matched, rt)
		}
	}
	if slices.ContainsFunc(matched, func(rt *route) bool { return rt.suffix != "" }) {
		matched = slices.DeleteFunc(matched, func(rt *route) bool { return rt.suffix == "" && rt.param != "" })
	}
	var allow []string
	for _, rt := range matched {
		if rt.method == method {
			return rt, nil
		}
		allow = append(allow, rt.method)
	}
	slices.Sort(allow)
	return nil, slices.Compact(allow)
}

func stateChanging(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// headerBytes approximates what net/http counts against MaxHeaderBytes:
// the request line and every header line.
func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n + len(r.Host) + 8
}

// checkQuery refuses unknown, repeated and mistyped query parameters.
func checkQuery(r *http.Request, rt *route) []apierr.FieldViolation {
	if r.URL.RawQuery == "" {
		return nil
	}
	q, err := urlQuery(r)
	if err != nil {
		return []apierr.FieldViolation{{Field: "query", Description: "is not a valid query string: " + err.Error() + " (rule: syntax)"}}
	}
	var vs []apierr.FieldViolation
	for _, name := range slices.Sorted(maps.Keys(q)) {
		values := q[name]
		p, ok := rt.query[name]
		switch {
		case !utf8.ValidString(name):
			vs = append(vs, apierr.FieldViolation{Field: "query", Description: "parameter names must be valid UTF-8 (rule: utf8)"})
		case !ok:
			accepted := "none"
			if len(rt.query) > 0 {
				accepted = strings.Join(slices.Sorted(maps.Keys(rt.query)), ", ")
			}
			vs = append(vs, apierr.FieldViolation{Field: name, Description: "is not a parameter of this route; it accepts: " + accepted + " (rule: unknown_field)"})
		case len(values) > 1 && !p.repeats:
			vs = append(vs, apierr.FieldViolation{Field: name, Description: fmt.Sprintf("is given %d times; give it once (rule: unique)", len(values))})
		default:
			for _, v := range values {
				if !utf8.ValidString(v) {
					vs = append(vs, apierr.FieldViolation{Field: name, Description: "must be valid UTF-8 once percent-decoded (rule: utf8)"})
					break
				}
				if _, err := strconv.ParseInt(v, 10, 32); p.integer && err != nil {
					vs = append(vs, apierr.FieldViolation{Field: name, Description: fmt.Sprintf("must be an integer (32-bit), got %q (rule: type)", v)})
				}
			}
		}
	}
	return vs
}

// urlQuery parses the query string, reporting malformed escapes (which
// r.URL.Query would silently drop).
func urlQuery(r *http.Request) (map[string][]string, error) {
	q := map[string][]string{}
	for part := range strings.SplitSeq(r.URL.RawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, err
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return nil, err
		}
		q[key] = append(q[key], val)
	}
	return q, nil
}

// readBody enforces the body limit and, for a route that takes a body,
// decodes it (decodeBody) and passes it on as protojson writes it. A route
// without a body refuses one: it would be ignored.
func (f *restFront) readBody(w http.ResponseWriter, r *http.Request, rt *route) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return true
	}
	tooLarge := func() bool {
		refuse(w, http.StatusRequestEntityTooLarge, codes.InvalidArgument, reasonBodyTooLarge,
			fmt.Sprintf("request body is larger than %d bytes", f.maxBodyBytes))
		return false
	}
	if r.ContentLength > f.maxBodyBytes {
		return tooLarge()
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, f.maxBodyBytes+1))
	if err != nil {
		invalid(w, apierr.FieldViolation{Field: "body", Description: "could not be read: " + err.Error() + " (rule: syntax)"})
		return false
	}
	if int64(len(body)) > f.maxBodyBytes {
		return tooLarge()
	}
	if rt.body == nil {
		if len(bytes.TrimSpace(body)) > 0 {
			invalid(w, apierr.FieldViolation{Field: "body", Description: fmt.Sprintf("%s %s takes no body (rule: unknown_field)", rt.method, r.URL.Path)})
			return false
		}
		r.Body = http.NoBody
		return true
	}
	msg, err := protoregistry.GlobalTypes.FindMessageByName(rt.body.FullName())
	if err != nil {
		writeStatus(w, status.Convert(apierr.Internal()), 0)
		return false
	}
	m := msg.New()
	if vs := decodeBody(body, m, map[string]bool{rt.param: rt.param != ""}); len(vs) > 0 {
		invalid(w, vs...)
		return false
	}
	canonical, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m.Interface())
	if err != nil {
		writeStatus(w, status.Convert(apierr.Internal()), 0)
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(canonical))
	r.ContentLength = int64(len(canonical))
	return true
}

// withETag serves a Describe: the response carries an ETag (a hash of the
// whole body), and a request whose If-None-Match names it gets 304 and no
// body, so a poller downloads nothing when nothing changed.
func (f *restFront) withETag(w http.ResponseWriter, r *http.Request) {
	rec := &bufferedResponse{header: http.Header{}, code: http.StatusOK}
	f.next.ServeHTTP(rec, r)
	h := w.Header()
	for k, v := range rec.header {
		h[k] = v
	}
	if rec.code != http.StatusOK {
		w.WriteHeader(rec.code)
		_, _ = w.Write(rec.body.Bytes())
		return
	}
	sum := sha256.Sum256(rec.body.Bytes())
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	h.Set("ETag", etag)
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		h.Del("Content-Type")
		h.Del("Content-Length")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(rec.body.Bytes())
}

// etagMatches applies If-None-Match (RFC 9110 13.1.2, weak comparison).
func etagMatches(header, etag string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
	}
	return false
}

// bufferedResponse holds a response until it is complete.
type bufferedResponse struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) WriteHeader(code int)        { b.code = code }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }

// routeOf is the route template of a request for logs and metrics: the
// OpenAPI path of its route ("/v1/dataset-import-jobs/{dataset_import_job_arn}"),
// the page it asks for (/docs/, /openapi.json), or "other" (a 404 must not
// make a new metric series per path).
func (f *restFront) routeOf(method, path string) string {
	if rt, allow := f.find(method, path); rt != nil || len(allow) > 0 {
		if rt == nil {
			for _, r := range f.routes {
				if r.match(path) {
					rt = r
					break
				}
			}
		}
		if rt != nil {
			if rt.param == "" {
				return rt.prefix
			}
			return rt.prefix + "{" + rt.param + "}" + rt.suffix
		}
	}
	switch {
	case path == "/openapi.json" || path == "/openapi3.json" || path == "/docs":
		return path
	case strings.HasPrefix(path, "/docs/"):
		return "/docs/"
	}
	return "other"
}
