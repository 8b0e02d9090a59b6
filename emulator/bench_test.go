package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/forecastgw/forecast-gateway/emulator"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

// only returns Options with fixtures of t alone: parents x perParent jobs
// (what-if forecast exports: parents what-if forecasts, parents*perParent
// exports).
func only(t *jobtype.Type, parents, perParent int) emulator.Options {
	o := emulator.Options{Clock: emulator.NewFakeClock(t0), Predictors: -1, Forecasts: -1, Datasets: -1, Explainabilities: -1, WhatIfForecasts: -1}
	switch t {
	case jobtype.DatasetImportJob:
		o.Datasets, o.ImportJobsPerDataset = parents, perParent
	case jobtype.ForecastExportJob:
		o.Forecasts, o.ExportJobsPerForecast = parents, perParent
	case jobtype.PredictorBacktestExportJob:
		o.Predictors, o.BacktestJobsPerPredictor = parents, perParent
	case jobtype.ExplainabilityExport:
		o.Explainabilities, o.ExportsPerExplainability = parents, perParent
	case jobtype.WhatIfForecastExport:
		o.WhatIfForecasts, o.WhatIfExports = parents, parents*perParent
	}
	return o
}

// BenchmarkListPage measures one 100-item page (the second, reached with a
// NextToken) through the full HTTP handler (SigV4 check and JSON included)
// at 1k and 100k jobs of each type. Indexed queries should cost about the
// same at both sizes.
func BenchmarkListPage(b *testing.B) {
	for _, typ := range jobtype.All {
		for _, size := range []struct {
			name    string
			parents int
		}{{"1k", 1}, {"100k", 100}} {
			srv := emulator.New(only(typ, size.parents, 1000))
			h := srv.Handler()
			j := srv.Jobs(typ)[0]
			key, ref := typ.Filter.AWSKey, j.ParentArn
			if typ.Filter.Self {
				ref = j.Arn
			}
			for _, f := range []struct{ name, filters string }{
				{"unfiltered", `[]`},
				{"status", `[{"Key":"Status","Value":"ACTIVE","Condition":"IS"}]`},
				{"own-key", `[{"Key":"` + key + `","Value":"` + ref + `","Condition":"IS"}]`},
				{"own-key+status", `[{"Key":"` + key + `","Value":"` + ref + `","Condition":"IS"},{"Key":"Status","Value":"ACTIVE","Condition":"IS"}]`},
			} {
				body := `{"Filters":` + f.filters + `}`
				first := call(b, h, typ.ListOp(), body)
				var out struct{ NextToken string }
				if err := json.Unmarshal(first, &out); err != nil {
					b.Fatal(err)
				}
				if out.NextToken != "" { // the single-job own-key page of what-if exports has none
					body = fmt.Sprintf(`{"Filters":%s,"NextToken":%q}`, f.filters, out.NextToken)
				}
				b.Run(typ.Noun+"/"+size.name+"/"+f.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						call(b, h, typ.ListOp(), body)
					}
				})
			}
		}
	}
}

func call(b *testing.B, h http.Handler, op, body string) []byte {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonForecast."+op)
	sign(req.Header)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	return rec.Body.Bytes()
}
