package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/forecastgw/forecast-gateway/emulator"
)

// BenchmarkListPage measures one 100-item page (the second, reached with a
// NextToken) through the full HTTP handler at 1k and 100k backtest jobs.
// Indexed queries should cost about the same at both sizes.
func BenchmarkListPage(b *testing.B) {
	for _, size := range []struct {
		name       string
		predictors int
	}{{"1k", 1}, {"100k", 100}} {
		srv := emulator.New(emulator.Options{
			Clock:      emulator.NewFakeClock(t0),
			Predictors: size.predictors, BacktestJobsPerPredictor: 1000,
			Forecasts: -1, Datasets: -1,
		})
		h := srv.Handler()
		pred := srv.PredictorArns()[0]
		for _, f := range []struct{ name, filters string }{
			{"unfiltered", `[]`},
			{"parent", `[{"Key":"PredictorArn","Value":"` + pred + `","Condition":"IS"}]`},
			{"status", `[{"Key":"Status","Value":"ACTIVE","Condition":"IS"}]`},
			{"parent+status", `[{"Key":"PredictorArn","Value":"` + pred + `","Condition":"IS"},{"Key":"Status","Value":"ACTIVE","Condition":"IS"}]`},
		} {
			first := call(b, h, `{"Filters":`+f.filters+`}`)
			var out struct{ NextToken string }
			if err := json.Unmarshal(first, &out); err != nil || out.NextToken == "" {
				b.Fatalf("no second page: %s", first[:min(len(first), 200)])
			}
			body := fmt.Sprintf(`{"Filters":%s,"NextToken":%q}`, f.filters, out.NextToken)
			b.Run(size.name+"/"+f.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					call(b, h, body)
				}
			})
		}
	}
}

func call(b *testing.B, h http.Handler, body string) []byte {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonForecast.ListPredictorBacktestExportJobs")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	return rec.Body.Bytes()
}
