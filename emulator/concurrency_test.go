package emulator_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"

	"github.com/forecastgw/forecast-gateway/emulator"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

// TestConcurrentUse mixes every kind of call on every type from many
// goroutines while the clock moves (fixtures and created jobs change
// status, deleted fixtures disappear); run with -race. Keyset walks must
// see every job that exists from start to end exactly once.
func TestConcurrentUse(t *testing.T) {
	srv, _ := start(t, emulator.Options{JobDuration: 3 * time.Second})
	c := client(srv)
	initial := map[*jobtype.Type][]emulator.JobInfo{}
	for _, typ := range jobtype.All {
		initial[typ] = srv.Jobs(typ)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	seen := make([]map[string]int, len(jobtype.All))
	var created sync.Map
	for g, typ := range jobtype.All {
		a := apis[typ]
		seen[g] = map[string]int{}
		wg.Add(3)
		go func() { // creator, moving the clock
			defer wg.Done()
			for i := 0; i < 12; i++ {
				arn, err := a.create(ctx(t), c, defaultArgs(srv, typ, fmt.Sprintf("c_%d", i)))
				if err != nil {
					errs <- err
					continue
				}
				created.Store(arn, typ)
				if err := srv.AdvanceClock(100 * time.Millisecond); err != nil {
					errs <- err
				}
			}
		}()
		go func() { // walker
			defer wg.Done()
			var next *string
			for pages := 0; pages < 1000; pages++ {
				vs, tok, err := a.list(ctx(t), c, listArgs{maxResults: aws.Int32(17), nextToken: next})
				if err != nil {
					errs <- err
					return
				}
				for _, v := range vs {
					seen[g][v.arn]++
				}
				if next = tok; next == nil {
					return
				}
			}
		}()
		go func() { // stops, deletes, tags, hooks and counters
			defer wg.Done()
			jobs := initial[typ]
			for i := 0; i < 12; i++ {
				j := jobs[(i*7)%len(jobs)]
				_, _ = c.StopResource(ctx(t), &forecast.StopResourceInput{ResourceArn: aws.String(j.Arn)})
				_ = a.del(ctx(t), c, j.Arn)
				_, _ = c.TagResource(ctx(t), &forecast.TagResourceInput{ResourceArn: aws.String(j.Arn), Tags: tagsIn(map[string]string{"n": fmt.Sprint(i)})})
				_, _ = c.ListTagsForResource(ctx(t), &forecast.ListTagsForResourceInput{ResourceArn: aws.String(j.Arn)})
				_, _ = a.describe(ctx(t), c, j.Arn)
				_ = srv.SetJobStatus(jobs[(i*11+3)%len(jobs)].Arn, "CREATE_QUEUED")
				srv.InjectFault(typ.ListOp(), emulator.Fault{Kind: emulator.FaultLatency, Latency: time.Microsecond, Count: 1})
				_ = srv.CallCount("")
				_ = srv.Statuses(typ)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for g, typ := range jobtype.All {
		final := map[string]bool{}
		for _, j := range srv.Jobs(typ) {
			final[j.Arn] = true
		}
		for _, j := range initial[typ] {
			if final[j.Arn] && seen[g][j.Arn] != 1 {
				t.Errorf("%s: %s existed throughout but was seen %d times", typ.Noun, j.Arn, seen[g][j.Arn])
			}
		}
		for arn, n := range seen[g] {
			if n != 1 {
				t.Errorf("%s: %s seen %d times", typ.Noun, arn, n)
			}
		}
	}
	created.Range(func(k, _ any) bool {
		if _, ok := srv.Job(k.(string)); !ok {
			t.Errorf("created job %s is gone", k)
		}
		return true
	})
}
