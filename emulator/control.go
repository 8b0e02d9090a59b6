package emulator

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// The control endpoint lets tools outside the process drive the emulator
// clock and its credentials on the same listener as the AWS protocol:
//
//	GET  /_emulator/clock                 -> {"now":"2026-01-08T12:00:00Z"}
//	POST /_emulator/clock?advance=90s     -> {"now":"2026-01-08T12:01:30Z"}
//	GET  /_emulator/credentials           -> {"accessKeyIds":["AKIDCI"]}
//	PUT  /_emulator/credentials  <JSON list of Credential, [] = any key>
//	                                      -> {"accessKeyIds":[...]}
//
// It needs no signature but answers only loopback peers (403 otherwise).
// Errors are JSON too: {"error":"..."}.
const controlPathPrefix = "/_emulator/"

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	if !isLoopback(r.RemoteAddr) {
		controlReply(w, http.StatusForbidden, "error", "the emulator control endpoint only answers loopback clients, not "+r.RemoteAddr)
		return
	}
	switch r.URL.Path {
	case controlPathPrefix + "clock":
	case controlPathPrefix + "credentials":
		s.serveControlCredentials(w, r)
		return
	default:
		controlReply(w, http.StatusNotFound, "error", "unknown control endpoint "+r.URL.Path+"; the clock is at "+controlPathPrefix+"clock, the credentials at "+controlPathPrefix+"credentials")
		return
	}
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost:
		v := r.URL.Query().Get("advance")
		d, err := time.ParseDuration(v)
		if err != nil {
			controlReply(w, http.StatusBadRequest, "error", "advance must be a Go duration such as 90s or 2h, got "+strconv.Quote(v))
			return
		}
		if err := s.AdvanceClock(d); err != nil {
			controlReply(w, http.StatusBadRequest, "error", err.Error())
			return
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		controlReply(w, http.StatusMethodNotAllowed, "error", "the clock answers GET and POST")
		return
	}
	controlReply(w, http.StatusOK, "now", s.Now().UTC().Format(time.RFC3339Nano))
}

// serveControlCredentials shows (access key ids only, never secrets) or
// replaces the known credentials.
func (s *Server) serveControlCredentials(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPut:
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
		if err != nil {
			controlReply(w, http.StatusBadRequest, "error", "reading the body: "+err.Error())
			return
		}
		creds, err := ParseCredentials(data)
		if err != nil {
			controlReply(w, http.StatusBadRequest, "error", err.Error())
			return
		}
		s.SetCredentials(creds)
	default:
		w.Header().Set("Allow", "GET, PUT")
		controlReply(w, http.StatusMethodNotAllowed, "error", "the credentials answer GET and PUT")
		return
	}
	ids := []string{}
	for _, c := range s.credentials() {
		ids = append(ids, c.AccessKeyID)
	}
	var jw jsonWriter
	jw.begin()
	jw.strings("accessKeyIds", ids)
	controlWrite(w, http.StatusOK, jw.end())
}

func controlReply(w http.ResponseWriter, code int, key, value string) {
	var jw jsonWriter
	jw.begin()
	jw.str(key, value)
	controlWrite(w, code, jw.end())
}

func controlWrite(w http.ResponseWriter, code int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// isLoopback reports whether a RemoteAddr ("host:port") is a loopback
// address.
func isLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
