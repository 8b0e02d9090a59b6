package e2e_test

// The watch figures at the sizes, as benchmarks (the tests in
// watch_figures_test.go assert the same at a few hundred jobs and 1,000
// watches):
//
//	go test -run '^$' -bench WatchFiguresListBatching -benchtime 6x ./e2e/
//	go test -run '^$' -bench WatchFiguresMemory -benchtime 1x ./e2e/
//
// BenchmarkWatchFiguresListBatching: 1,000 watched jobs of one type, none
// changing; one iteration is (at least) one poll round at a fixed
// interval; reported per round: the upstream Lists and Describes.
//
// BenchmarkWatchFiguresMemory: 10,000 open watches of 1,000 jobs; the
// gateway's per-connection stream limit is raised to 2,500
// (gateway.Config.Limits.MaxConcurrentStreams; default 256) and the
// watches are spread over 4 connections. One iteration opens them all,
// measures, closes them, and does it again (see wfMemFigures); the figures
// are the whole test process's (gateway, emulator and clients in one
// process). Run it with -benchtime 1x: RSS never goes back down, so a
// second iteration would start from the first one's peak.

import (
	"testing"
	"time"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
	"github.com/forecastgw/forecast-gateway/emulator"
	"github.com/forecastgw/forecast-gateway/internal/gateway"
	"github.com/forecastgw/forecast-gateway/internal/transport"
	"github.com/forecastgw/forecast-gateway/server"
)

func BenchmarkWatchFiguresListBatching(b *testing.B) {
	// 24 x 100 backtest export jobs, 1,000 unfinished (watched): 10 pages.
	const interval = 500 * time.Millisecond
	p := wfStartPolling(b, 24, interval)
	total := p.base
	for b.Loop() {
		total.add(p.observe(b, interval))
	}
	b.Log(total)
	total.check(b, interval, 1)
	b.ReportMetric(float64(total.watched), "watched_jobs")
	b.ReportMetric(float64(total.pages()), "ideal_lists/round")
	b.ReportMetric(total.listsPerRound, "lists/round")
	b.ReportMetric(total.describesPerRound, "describes/round")
	b.ReportMetric(total.listsPerRound+total.describesPerRound, "upstream/round")
}

func BenchmarkWatchFiguresMemory(b *testing.B) {
	const k, m, conns = 10000, 1000, 4
	w := server.WatchOptions{MinInterval: time.Second, MaxInterval: 5 * time.Second, Heartbeat: 15 * time.Second,
		MaxWatches: 2 * k, MaxWatchesPerCaller: 2 * k}
	env := testenv.Start(b, testenv.Options{
		// 2,500 backtest export jobs, 1,042 unfinished.
		Emulator: emulator.Options{Predictors: 25, BacktestJobsPerPredictor: 100},
		Gateway: gateway.Config{AdminAddr: "127.0.0.1:0", Watch: w,
			Limits: transport.Limits{MaxConcurrentStreams: k / conns}},
	})
	var f wfMemFigures
	for b.Loop() {
		f = wfMemory(b, env, k, m, conns, 50, 4<<20)
	}
	b.Log(f)
	b.ReportMetric((float64(f.open.heap)-float64(f.base.heap))/1024/k, "heap_KiB/watch")
	b.ReportMetric((float64(f.open.stacks)-float64(f.base.stacks))/1024/k, "stack_KiB/watch")
	b.ReportMetric(float64(f.open.goroutines-f.base.goroutines)/k, "goroutines/watch")
	b.ReportMetric(float64(f.open.rssKiB-f.base.rssKiB)/k, "RSS_KiB/watch")
	b.ReportMetric(float64(f.open.heap)/(1<<20), "heap_open_MiB")
	b.ReportMetric(float64(f.open.rssKiB)/1024, "RSS_open_MiB")
	b.ReportMetric(float64(f.base.heap)/(1<<20), "heap_before_MiB")
	b.ReportMetric(float64(f.closed2.heap)/(1<<20), "heap_closed_MiB")
	b.ReportMetric(float64(f.closed2.goroutines-f.base.goroutines), "goroutines_left")
	b.ReportMetric(f.openTook.Seconds(), "open_s")
}
