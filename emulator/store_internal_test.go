package emulator

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

// TestIndex checks the chunked index against a sorted slice through
// random inserts and removals large enough to split and drop chunks.
func TestIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var x index
	var ref []*job
	pool := make([]*job, 3000)
	for i := range pool {
		pool[i] = &job{cs: rng.Int64N(500), arn: fmt.Sprintf("arn:%05d", i)}
	}
	in := map[*job]bool{}
	for step := 0; step < 20000; step++ {
		j := pool[rng.IntN(len(pool))]
		if in[j] {
			x.remove(j)
			ref = slices.DeleteFunc(ref, func(o *job) bool { return o == j })
		} else {
			x.insert(j)
			ref = append(ref, j)
		}
		in[j] = !in[j]
		if step%997 != 0 {
			continue
		}
		slices.SortFunc(ref, func(a, b *job) int {
			if before(a, b) {
				return -1
			}
			return 1
		})
		var got []*job
		it := x.seek(nil)
		for j := it.next(); j != nil; j = it.next() {
			got = append(got, j)
		}
		if !slices.Equal(got, ref) || x.n != len(ref) {
			t.Fatalf("step %d: index has %d (n=%d), want %d", step, len(got), x.n, len(ref))
		}
		for _, ch := range x.chunks {
			if len(ch) == 0 || len(ch) >= 2*chunkSize {
				t.Fatalf("chunk of %d", len(ch))
			}
		}
		// Seeking after any job lands on its successor.
		for k := 0; k < 20 && len(ref) > 0; k++ {
			i := rng.IntN(len(ref))
			it := x.seek(&cursor{cs: ref[i].cs, arn: ref[i].arn})
			next := it.next()
			if (i+1 < len(ref) && next != ref[i+1]) || (i+1 == len(ref) && next != nil) {
				t.Fatalf("seek after %d wrong", i)
			}
		}
	}
}

// TestListMatchesBruteForce drives the store of every type with random
// creates, deletes, stops, forced statuses and clock moves, and checks
// every filtered, cursored walk against a plain scan of Jobs() in list
// order.
func TestListMatchesBruteForce(t *testing.T) {
	for _, typ := range jobtype.All {
		t.Run(typ.Noun, func(t *testing.T) {
			clk := NewFakeClock(DefaultFixtureEnd)
			s := New(Options{Clock: clk, JobDuration: 20 * time.Second, Predictors: 4, BacktestJobsPerPredictor: 40, Forecasts: 3,
				ExportJobsPerForecast: 40, Datasets: 3, ImportJobsPerDataset: 40, Explainabilities: 3, ExportsPerExplainability: 40,
				WhatIfForecasts: 4, WhatIfExports: 120})
			k := kindOf[typ]
			rng := rand.New(rand.NewPCG(1, uint64(k.idx)))
			parents := s.ParentArns(typ)
			statuses := []string{"ACTIVE", "CREATE_PENDING", "CREATE_IN_PROGRESS", "CREATE_FAILED", "CREATE_QUEUED", "DELETE_PENDING", "CREATE_STOPPED"}
			body := func(arn string) []byte { return []byte(fmt.Sprintf(`{%q:%q}`, typ.ArnMember, arn)) }
			for step := 0; step < 1500; step++ {
				now := clk.Now()
				s.store.advance(now)
				all := s.Jobs(typ)
				switch rng.IntN(12) {
				case 0: // create
					p := parents[rng.IntN(len(parents))]
					j := &job{k: k, name: fmt.Sprintf("n%d", step), hidx: -1, roleArn: "arn:aws:iam::123456789012:role/R", format: "CSV"}
					if typ.Parent.ArnType == "" {
						j.whatIf = []string{p}
					} else {
						j.parent = p
					}
					if e := s.create(j, nil, now); e != nil {
						t.Fatal(e)
					}
				case 1:
					_ = s.SetJobStatus(all[rng.IntN(len(all))].Arn, statuses[rng.IntN(len(statuses))])
				case 2:
					_, _ = s.opDelete(k, body(all[rng.IntN(len(all))].Arn), now)
				case 3:
					_, _ = s.opStop([]byte(fmt.Sprintf(`{"ResourceArn":%q}`, all[rng.IntN(len(all))].Arn)), now)
				case 4:
					clk.Advance(time.Duration(rng.IntN(8000)) * time.Millisecond)
				default:
					var fs []filter
					for n := rng.IntN(3); n > 0; n-- {
						if rng.IntN(2) == 0 {
							v := parents[rng.IntN(len(parents))]
							if typ.Filter.Self {
								v = all[rng.IntN(len(all))].Arn
							}
							fs = append(fs, filter{key: typ.Filter.AWSKey, value: v, not: rng.IntN(3) == 0})
						} else {
							fs = append(fs, filter{status: true, key: "Status", value: statuses[rng.IntN(len(statuses))], not: rng.IntN(3) == 0})
						}
					}
					var want []string
					for _, j := range all {
						if matchInfo(typ, j, fs) {
							want = append(want, j.Arn)
						}
					}
					limit := 1 + rng.IntN(20)
					var c *cursor
					var got []string
					for {
						var page []*job
						more := s.store.list(k, query{filters: fs, after: c, limit: limit}, func(j *job) { page = append(page, j) })
						for _, j := range page {
							got = append(got, j.arn)
						}
						if !more {
							break
						}
						if len(page) != limit {
							t.Fatalf("short page %d with more", len(page))
						}
						last := page[len(page)-1]
						c = &cursor{cs: last.cs, arn: last.arn}
					}
					if !slices.Equal(got, want) {
						t.Fatalf("step %d filters %+v: got %d, want %d", step, fs, len(got), len(want))
					}
				}
			}
			// The in-flight count matches a recount.
			n := 0
			for _, j := range s.store.byArn {
				if j.k == k && j.apiCreated && running(j.status) {
					n++
				}
			}
			if got := s.store.tables[k.idx].inFlight; got != n {
				t.Fatalf("inFlight %d, recount %d", got, n)
			}
		})
	}
}

func matchInfo(typ *jobtype.Type, j JobInfo, fs []filter) bool {
	for _, f := range fs {
		v := j.Status
		switch {
		case f.status:
		case typ.Filter.Self:
			v = j.Arn
		default:
			v = j.ParentArn
		}
		if (v == f.value) == f.not {
			return false
		}
	}
	return true
}

// BenchmarkStoreList isolates the index walk (no HTTP, no JSON) for one
// 100-item page after a cursor, at 1k and 100k jobs. IS_NOT-only queries
// are the documented worst case: they walk the full order.
func BenchmarkStoreList(b *testing.B) {
	for _, size := range []struct {
		name  string
		preds int
	}{{"1k", 1}, {"100k", 100}} {
		clk := NewFakeClock(DefaultFixtureEnd)
		s := New(Options{Clock: clk, Predictors: size.preds, BacktestJobsPerPredictor: 1000, Forecasts: -1, Datasets: -1,
			Explainabilities: -1, WhatIfForecasts: -1})
		k := kindOf[jobtype.PredictorBacktestExportJob]
		pred := s.PredictorArns()[0]
		all := s.Jobs(k.t)
		mid := all[len(all)/2]
		c := &cursor{cs: mid.CreationTime.Unix(), arn: mid.Arn}
		for _, f := range []struct {
			name string
			fs   []filter
		}{
			{"unfiltered", nil},
			{"parent", []filter{{key: "PredictorArn", value: pred}}},
			{"status", []filter{{status: true, key: "Status", value: "ACTIVE"}}},
			{"parent+status", []filter{{key: "PredictorArn", value: pred}, {status: true, key: "Status", value: "ACTIVE"}}},
			{"not-active", []filter{{status: true, key: "Status", value: "ACTIVE", not: true}}},
		} {
			b.Run(size.name+"/"+f.name, func(b *testing.B) {
				for b.Loop() {
					s.store.list(k, query{filters: f.fs, after: c, limit: 100}, func(*job) {})
				}
			})
		}
	}
}
