package transport

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/forecastgw/forecast-gateway/internal/callinfo"
)

// TestRESTEdge: the Host rule by listener, the Origin rule for
// state-changing requests, and the request id, on a handler that records
// what reached it.
func TestRESTEdge(t *testing.T) {
	type req struct {
		method, host, origin string
	}
	for _, tc := range []struct {
		name   string
		listen string
		b      Browser
		req    req
		want   int
	}{
		{"loopback listener, loopback name", "127.0.0.1:8080", Browser{}, req{"GET", "localhost:8080", ""}, 200},
		{"loopback listener, loopback address", "127.0.0.1:8080", Browser{}, req{"GET", "127.0.0.1:8080", ""}, 200},
		{"loopback listener, IPv6 loopback", "127.0.0.1:8080", Browser{}, req{"GET", "[::1]:8080", ""}, 200},
		{"loopback listener, *.localhost", "127.0.0.1:8080", Browser{}, req{"GET", "app.localhost", ""}, 200},
		{"loopback listener, rebinding name", "127.0.0.1:8080", Browser{}, req{"GET", "attacker.example:8080", ""}, 421},
		{"loopback listener, LAN address", "127.0.0.1:8080", Browser{}, req{"GET", "192.168.1.5:8080", ""}, 421},
		{"loopback listener, allowed name", "127.0.0.1:8080", Browser{AllowedHosts: []string{"Gateway.Internal"}}, req{"GET", "gateway.internal:8080", ""}, 200},
		{"open listener, any host", "0.0.0.0:8080", Browser{}, req{"GET", "anything.example", ""}, 200},
		{"open listener, host list", "0.0.0.0:8080", Browser{AllowedHosts: []string{"gw.example"}}, req{"GET", "other.example", ""}, 421},
		{"open listener, wildcard", "0.0.0.0:8080", Browser{AllowedHosts: []string{"*"}}, req{"GET", "other.example", ""}, 200},
		{"POST from own origin", "127.0.0.1:8080", Browser{}, req{"POST", "localhost:8080", "http://localhost:8080"}, 200},
		{"POST from foreign origin", "127.0.0.1:8080", Browser{}, req{"POST", "localhost:8080", "http://evil.example"}, 403},
		{"POST from null origin", "127.0.0.1:8080", Browser{}, req{"POST", "localhost:8080", "null"}, 403},
		{"DELETE from foreign origin", "127.0.0.1:8080", Browser{}, req{"DELETE", "localhost:8080", "http://evil.example"}, 403},
		{"GET from foreign origin", "127.0.0.1:8080", Browser{}, req{"GET", "localhost:8080", "http://evil.example"}, 200},
		{"POST from CORS origin", "127.0.0.1:8080", Browser{CORSAllowedOrigins: []string{"https://app.example"}}, req{"POST", "localhost:8080", "https://app.example"}, 200},
		{"POST from another port", "127.0.0.1:8080", Browser{}, req{"POST", "localhost:8080", "http://localhost:3000"}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reached *callinfo.Info
			h, err := newRESTEdge(tc.b, tc.listen, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached = callinfo.FromContext(r.Context())
			}), edgeObserver{})
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(tc.req.method, "http://x/v1/forecast-export-jobs", nil)
			r.Host = tc.req.host
			if tc.req.origin != "" {
				r.Header.Set("Origin", tc.req.origin)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("HTTP %d, want %d: %s", w.Code, tc.want, w.Body)
			}
			if tc.want == 200 && (reached == nil || reached.Transport != callinfo.REST || reached.RequestID != w.Header().Get("X-Request-Id")) {
				t.Errorf("call info %+v, X-Request-Id %q", reached, w.Header().Get("X-Request-Id"))
			}
			if tc.want != 200 && reached != nil {
				t.Error("a refused request reached the next handler")
			}
			if tc.want == 421 && !strings.Contains(w.Body.String(), reasonHostNotAllowed) {
				t.Errorf("421 body: %s", w.Body)
			}
		})
	}
}

func TestRESTEdgeConfigErrors(t *testing.T) {
	for _, b := range []Browser{
		{CORSAllowedOrigins: []string{"app.example"}},
		{CORSAllowedOrigins: []string{"https://app.example/path"}},
		{CORSAllowedOrigins: []string{"ftp://app.example"}},
		{AllowedHosts: []string{"https://gw.example"}},
		{AllowedHosts: []string{"gw.example:8080"}},
		{AllowedHosts: []string{""}},
	} {
		if _, err := newRESTEdge(b, "127.0.0.1:0", http.NotFoundHandler(), edgeObserver{}); err == nil {
			t.Errorf("%+v accepted", b)
		}
	}
}

func TestRESTEdgeRequestID(t *testing.T) {
	h, _ := newRESTEdge(Browser{}, "127.0.0.1:0", http.NotFoundHandler(), edgeObserver{})
	for in, keep := range map[string]bool{"client-id-1": true, "has space": false, "": false} {
		r := httptest.NewRequest("GET", "http://localhost/x", nil)
		r.Header.Set("X-Request-Id", in)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		got := w.Header().Get("X-Request-Id")
		if (got == in) != keep || got == "" {
			t.Errorf("X-Request-Id %q -> %q", in, got)
		}
	}
}
