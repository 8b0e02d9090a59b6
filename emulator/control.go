package emulator

import (
	"net"
	"net/http"
	"strconv"
	"time"
)

// The control endpoint lets tools outside the process drive the emulator
// clock on the same listener as the AWS protocol:
//
//	GET  /_emulator/clock                 -> {"now":"2026-01-08T12:00:00Z"}
//	POST /_emulator/clock?advance=90s     -> {"now":"2026-01-08T12:01:30Z"}
//
// It needs no signature but answers only loopback peers (403 otherwise).
// Errors are JSON too: {"error":"..."}.
const controlPathPrefix = "/_emulator/"

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	if !isLoopback(r.RemoteAddr) {
		controlReply(w, http.StatusForbidden, "error", "the emulator control endpoint only answers loopback clients, not "+r.RemoteAddr)
		return
	}
	if r.URL.Path != controlPathPrefix+"clock" {
		controlReply(w, http.StatusNotFound, "error", "unknown control endpoint "+r.URL.Path+"; the clock is at "+controlPathPrefix+"clock")
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

func controlReply(w http.ResponseWriter, code int, key, value string) {
	var jw jsonWriter
	jw.begin()
	jw.str(key, value)
	body := jw.end()
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
