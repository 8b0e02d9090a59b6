package emulator_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"

	"github.com/forecastgw/forecast-gateway/emulator"
)

// TestConcurrentUse mixes every kind of call from many goroutines; run
// with -race. Paginated walks of the fixture predictors must stay exact
// while other goroutines create jobs and move the clock.
func TestConcurrentUse(t *testing.T) {
	srv, clk := start(t, emulator.Options{PendingDuration: time.Second, InProgressDuration: time.Second})
	c := client(srv)
	preds := srv.PredictorArns()
	want := len(srv.Jobs(emulator.BacktestExportJob))
	wantFE := len(srv.Jobs(emulator.ForecastExportJob))
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := 0; g < 4; g++ {
		wg.Add(3)
		go func() { // creators
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if _, err := c.CreatePredictorBacktestExportJob(ctx(t), createInput(preds[i%len(preds)], fmt.Sprintf("c_%d_%d", g, i))); err != nil {
					errs <- err
				}
				clk.Advance(100 * time.Millisecond)
			}
		}()
		go func() { // walkers over a filter that excludes created jobs' parents' new jobs
			defer wg.Done()
			p := forecast.NewListForecastExportJobsPaginator(c, &forecast.ListForecastExportJobsInput{MaxResults: aws.Int32(17)})
			n := 0
			for p.HasMorePages() && n <= wantFE {
				out, err := p.NextPage(ctx(t))
				if err != nil {
					errs <- err
					return
				}
				n += len(out.ForecastExportJobs)
			}
			if n != wantFE {
				errs <- fmt.Errorf("walk saw %d forecast export jobs, want %d", n, wantFE)
			}
		}()
		go func() { // readers, hooks and counters
			defer wg.Done()
			for i := 0; i < 20; i++ {
				_, err := c.ListPredictorBacktestExportJobs(ctx(t), &forecast.ListPredictorBacktestExportJobsInput{Filters: []types.Filter{
					{Key: aws.String("Status"), Value: aws.String("CREATE_PENDING"), Condition: types.FilterConditionStringIs}}})
				if err != nil {
					errs <- err
				}
				_ = srv.SetJobStatus(srv.Jobs(emulator.DatasetImportJob)[i].Arn, "CREATE_QUEUED")
				srv.InjectFault(emulator.OpListDatasetImportJobs, emulator.Fault{Kind: emulator.FaultLatency, Latency: time.Microsecond, Count: 1})
				_ = srv.CallCount("")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := srv.JobCount(emulator.BacktestExportJob); got != want+80 {
		t.Fatalf("%d backtest jobs, want %d", got, want+80)
	}
}
