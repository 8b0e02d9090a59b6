// Command gen completes the OpenAPI document protoc-gen-openapiv2 wrote
// (apidoc.Build) and writes it back, with its OpenAPI 3 conversion beside
// it. `make generate` runs it:
//
//	go run ./internal/apidoc/gen gen/openapi/forecast_gateway.swagger.json gen/openapi/forecast_gateway.openapi3.json
package main

import (
	"fmt"
	"os"

	"github.com/forecastgw/forecast-gateway/internal/apidoc"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gen <swagger.json written by protoc-gen-openapiv2> <openapi3.json to write>")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err == nil {
		var v2, v3 []byte
		if v2, v3, err = apidoc.Build(raw); err == nil {
			if err = os.WriteFile(os.Args[1], v2, 0o644); err == nil {
				err = os.WriteFile(os.Args[2], v3, 0o644)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "apidoc:", err)
		os.Exit(1)
	}
}
