package transport

import (
	"io/fs"
	"net/http"
	"strings"

	swaggerfiles "github.com/swaggo/files/v2"
	"google.golang.org/grpc/codes"

	"github.com/forecastgw/forecast-gateway/gen/openapi"
	"github.com/forecastgw/forecast-gateway/internal/apidoc"
)

// apiDocs serves the API's description: the OpenAPI documents (with the
// build's version) and a browsable page at /docs (Swagger UI, from the
// copy embedded by github.com/swaggo/files/v2, so it works offline) whose
// "Try it out" calls this same listener.
type apiDocs struct {
	v2, v3 []byte
}

func newAPIDocs(version string) *apiDocs {
	return &apiDocs{v2: apidoc.SetVersion(openapi.Document, version), v3: apidoc.SetVersion(openapi.Document3, version)}
}

func (d *apiDocs) serveV2(w http.ResponseWriter, _ *http.Request) { serveJSON(w, d.v2) }
func (d *apiDocs) serveV3(w http.ResponseWriter, _ *http.Request) { serveJSON(w, d.v3) }

func serveJSON(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// docsInitializer replaces Swagger UI's: it loads this gateway's document,
// shows no URL bar (the page documents this API only) and turns off the
// validator badge, which would call validator.swagger.io.
const docsInitializer = `window.onload = function() {
  window.ui = SwaggerUIBundle({
    url: "/openapi3.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
};
`

// ui serves /docs/ from the embedded Swagger UI.
func (d *apiDocs) ui() http.Handler {
	files := http.StripPrefix("/docs/", http.FileServerFS(swaggerFS{swaggerfiles.FS}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/docs/swagger-initializer.js" {
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			_, _ = w.Write([]byte(docsInitializer))
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/docs/")
		if name == "" {
			name = "index.html"
		}
		// Source maps are not served: not needed, and most of the bytes.
		if _, err := fs.Stat(swaggerfiles.FS, name); err != nil || strings.HasSuffix(name, ".map") {
			refuse(w, http.StatusNotFound, codes.NotFound, reasonRouteNotFound, "no page "+r.URL.Path)
			return
		}
		files.ServeHTTP(w, r)
	})
}

// swaggerFS is the embedded Swagger UI.
type swaggerFS struct{ fs.FS }
