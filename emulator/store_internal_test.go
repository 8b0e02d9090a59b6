package emulator

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestListMatchesBruteForce drives the indexed store with random creates,
// forced statuses, clock moves and filtered, cursored queries, and checks
// every page against a plain scan of all jobs in list order.
func TestListMatchesBruteForce(t *testing.T) {
	clk := NewFakeClock(DefaultFixtureEnd)
	s := New(Options{Clock: clk, Predictors: 4, BacktestJobsPerPredictor: 40, PendingDuration: 10 * time.Second, InProgressDuration: 20 * time.Second})
	rng := rand.New(rand.NewPCG(1, 2))
	preds := s.PredictorArns()
	statuses := []string{"ACTIVE", "CREATE_PENDING", "CREATE_IN_PROGRESS", "CREATE_FAILED", "CREATE_QUEUED"}
	for step := 0; step < 2000; step++ {
		now := clk.Now()
		switch rng.IntN(10) {
		case 0: // create
			p := s.store.parents[preds[rng.IntN(len(preds))]]
			j := &job{kind: BacktestExportJob, name: fmt.Sprintf("n%d", step), parent: p.arn, created: now.Truncate(time.Second),
				cs: now.Unix(), dynamic: true, pending: s.opts.PendingDuration, running: s.opts.InProgressDuration}
			if e := s.create(j, now); e != nil {
				t.Fatal(e)
			}
		case 1: // force a status
			all := s.Jobs(BacktestExportJob)
			s.SetJobStatus(all[rng.IntN(len(all))].Arn, statuses[rng.IntN(len(statuses))])
		case 2:
			clk.Advance(time.Duration(rng.IntN(15)) * time.Second)
		default:
			var fs []filter
			for n := rng.IntN(3); n > 0; n-- {
				if rng.IntN(2) == 0 {
					fs = append(fs, filter{key: "PredictorArn", value: preds[rng.IntN(len(preds))], not: rng.IntN(3) == 0})
				} else {
					fs = append(fs, filter{key: "Status", value: statuses[rng.IntN(len(statuses))], not: rng.IntN(3) == 0})
				}
			}
			var want []JobInfo
			for _, j := range s.Jobs(BacktestExportJob) {
				if matchInfo(j, fs) {
					want = append(want, j)
				}
			}
			if rng.IntN(2) == 0 {
				s.store.settle(now)
			}
			limit := 1 + rng.IntN(20)
			var c *cursor
			var got []JobInfo
			for {
				page, more := s.store.list(query{kind: BacktestExportJob, filters: fs, after: c, limit: limit}, now)
				got = append(got, page...)
				if !more {
					break
				}
				if len(page) != limit {
					t.Fatalf("short page %d with more", len(page))
				}
				last := page[len(page)-1]
				c = &cursor{cs: last.CreationTime.Unix(), arn: last.Arn}
			}
			if len(got) != len(want) {
				t.Fatalf("step %d filters %+v: got %d, want %d", step, fs, len(got), len(want))
			}
			for i := range want {
				if got[i].Arn != want[i].Arn || got[i].Status != want[i].Status {
					t.Fatalf("step %d: item %d = %s/%s, want %s/%s", step, i, got[i].Arn, got[i].Status, want[i].Arn, want[i].Status)
				}
			}
		}
	}
}

func matchInfo(j JobInfo, fs []filter) bool {
	for _, f := range fs {
		v := j.Status
		if f.key == "PredictorArn" {
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
		s := New(Options{Clock: clk, Predictors: size.preds, BacktestJobsPerPredictor: 1000, Forecasts: -1, Datasets: -1})
		pred := s.PredictorArns()[0]
		all := s.Jobs(BacktestExportJob)
		mid := all[len(all)/2]
		c := &cursor{cs: mid.CreationTime.Unix(), arn: mid.Arn}
		for _, f := range []struct {
			name string
			fs   []filter
		}{
			{"unfiltered", nil},
			{"parent", []filter{{key: "PredictorArn", value: pred}}},
			{"status", []filter{{key: "Status", value: "ACTIVE"}}},
			{"parent+status", []filter{{key: "PredictorArn", value: pred}, {key: "Status", value: "ACTIVE"}}},
			{"not-active", []filter{{key: "Status", value: "ACTIVE", not: true}}},
		} {
			b.Run(size.name+"/"+f.name, func(b *testing.B) {
				for b.Loop() {
					s.store.list(query{kind: BacktestExportJob, filters: f.fs, after: c, limit: 100}, clk.Now())
				}
			})
		}
	}
}
