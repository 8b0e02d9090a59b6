package transport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/forecastgw/forecast-gateway/internal/apierr"
)

// Server-streaming RPCs over REST (WatchJob). grpc-gateway would wrap each
// message as {"result": ...}; the REST surface sends what a client of a
// stream expects instead, chosen by Accept:
//
//   - application/x-ndjson (also for */*, application/json or no Accept):
//     one JSON object per line, the message as protojson writes it with
//     the proto field names;
//   - text/event-stream: Server-Sent Events, "id:" the message's etag (a
//     reconnecting EventSource sends it back as Last-Event-ID), "event:"
//     the kind of message (the oneof field set: job, heartbeat), "data:"
//     the same JSON.
//
// An error before the first message is an ordinary AIP-193 error response.
// A stream that ends with an error after that sends it as a last line
// {"error": {...}} (NDJSON) or an "error" event (SSE). The route lifts the
// server's write deadline: a watch lasts as long as its job.
//
// The call goes through the in-process channel like every REST call, so
// the interceptor chain (authentication, limits, logs, metrics) applies.

const (
	mediaNDJSON = "application/x-ndjson"
	mediaSSE    = "text/event-stream"
)

// reasonNotAcceptable: the Accept header names no media type a stream is
// sent as.
const reasonNotAcceptable = "NOT_ACCEPTABLE"

// streamMedia picks the stream's media type from Accept, or "".
func streamMedia(accept string) string {
	if strings.TrimSpace(accept) == "" {
		return mediaNDJSON
	}
	best, bestQ := "", -1.0
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if _, err := fmt.Sscan(v, &q); err != nil {
				continue
			}
		}
		var m string
		switch mt {
		case mediaSSE:
			m = mediaSSE
		case mediaNDJSON, "application/json", "application/*", "*/*":
			m = mediaNDJSON
		}
		if m != "" && q > 0 && q > bestQ {
			best, bestQ = m, q
		}
	}
	return best
}

// serveStream answers a route of a server-streaming RPC.
func (f *restFront) serveStream(w http.ResponseWriter, r *http.Request, rt *route) {
	media := streamMedia(r.Header.Get("Accept"))
	if media == "" {
		refuse(w, http.StatusNotAcceptable, codes.InvalidArgument, reasonNotAcceptable,
			fmt.Sprintf("this route streams %s or %s; Accept allows neither: %q", mediaNDJSON, mediaSSE, r.Header.Get("Accept")))
		return
	}
	req, err := f.streamRequest(r, rt)
	if err != nil {
		invalid(w, apierr.FieldViolation{Field: "query", Description: err.Error() + " (rule: type)"})
		return
	}
	md := metadata.MD{}
	for _, v := range r.Header.Values("Authorization") {
		md.Append("authorization", v)
	}
	for _, h := range []string{"traceparent", "tracestate"} {
		if v := r.Header.Get(h); v != "" {
			md.Set(h, v)
		}
	}
	ctx := metadata.NewOutgoingContext(r.Context(), md)
	desc := &grpc.StreamDesc{StreamName: string(rt.rpc.Name()), ServerStreams: true}
	stream, err := f.conn.NewStream(ctx, desc, "/"+string(rt.rpc.Parent().FullName())+"/"+string(rt.rpc.Name()))
	if err == nil {
		err = stream.SendMsg(req)
	}
	if err == nil {
		err = stream.CloseSend()
	}
	if err != nil {
		restErrorHandler(ctx, nil, nil, w, r, err)
		return
	}
	outType, err := protoregistry.GlobalTypes.FindMessageByName(rt.rpc.Output().FullName())
	if err != nil {
		writeStatus(w, status.Convert(apierr.Internal()), 0)
		return
	}
	first := outType.New().Interface()
	if err := stream.RecvMsg(first); err != nil {
		if errors.Is(err, io.EOF) {
			err = status.Error(codes.Internal, "the stream ended before its first message")
		}
		restErrorHandler(ctx, nil, nil, w, r, err)
		return
	}

	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // the stream outlives WriteTimeout
	h := w.Header()
	h.Set("Content-Type", media)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	for msg := first; ; {
		if err := writeStreamMessage(w, media, msg); err != nil {
			return // the client went away; the stream's context ends with it
		}
		_ = rc.Flush()
		msg = outType.New().Interface()
		if err := stream.RecvMsg(msg); err != nil {
			if !errors.Is(err, io.EOF) {
				writeStreamError(w, media, status.Convert(err))
				_ = rc.Flush()
			}
			return
		}
	}
}

// streamRequest builds the RPC's request from the path parameter and the
// query (already checked by checkQuery against the route's parameters).
func (f *restFront) streamRequest(r *http.Request, rt *route) (proto.Message, error) {
	in, err := protoregistry.GlobalTypes.FindMessageByName(rt.rpc.Input().FullName())
	if err != nil {
		return nil, err
	}
	fields := map[string]string{}
	if rt.param != "" {
		fields[rt.param] = strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, rt.prefix), rt.suffix)
	}
	q, _ := urlQuery(r)
	for k, vs := range q {
		fields[k] = vs[len(vs)-1]
	}
	// A reconnecting EventSource sends the last id it saw.
	if id := r.Header.Get("Last-Event-ID"); id != "" && in.Descriptor().Fields().ByName("last_etag") != nil {
		fields["last_etag"] = id
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	m := in.New().Interface()
	if err := (protojson.UnmarshalOptions{}).Unmarshal(b, m); err != nil {
		return nil, errors.New("a parameter does not fit its field")
	}
	return m, nil
}

func writeStreamMessage(w io.Writer, media string, m proto.Message) error {
	b, err := restMarshaler.Marshal(m)
	if err != nil {
		return err
	}
	if media == mediaNDJSON {
		_, err = w.Write(append(b, '\n'))
		return err
	}
	var buf bytes.Buffer
	r := m.ProtoReflect()
	if f := r.Descriptor().Fields().ByName("etag"); f != nil && r.Get(f).String() != "" {
		fmt.Fprintf(&buf, "id: %s\n", r.Get(f).String())
	}
	event := "message"
	if oneofs := r.Descriptor().Oneofs(); oneofs.Len() == 1 {
		if fd := r.WhichOneof(oneofs.Get(0)); fd != nil {
			event = string(fd.Name())
		}
	}
	fmt.Fprintf(&buf, "event: %s\ndata: %s\n\n", event, b)
	_, err = w.Write(buf.Bytes())
	return err
}

// writeStreamError ends a stream with an error in the stream's own
// framing: the AIP-193 body's "error" member.
func writeStreamError(w io.Writer, media string, st *status.Status) {
	rec := &bufferedResponse{header: http.Header{}}
	writeStatus(rec, st, 0)
	body := bytes.TrimSpace(rec.body.Bytes())
	if media == mediaNDJSON {
		_, _ = w.Write(append(body, '\n'))
		return
	}
	_, _ = fmt.Fprintf(w, "event: error\ndata: %s\n\n", body)
}
