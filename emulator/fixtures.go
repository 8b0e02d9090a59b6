package emulator

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/forecastgw/forecast-gateway/internal/awsrules"
)

// Fixture generation is deterministic: the same Options give byte-identical
// fixtures, so tests and benchmarks can rely on them.

var fixtureDomains = []string{
	"retail_demand", "web_traffic", "inventory", "energy_load",
	"ride_sharing", "workforce", "cash_flow", "supply_chain",
}

// fixtureStatuses weights ACTIVE (as in a real account) while still giving
// every status of awsrules.Statuses to any parent with 12 or more jobs.
var fixtureStatuses = append([]string{"ACTIVE", "ACTIVE", "ACTIVE"}, awsrules.Statuses...)

var failureMessages = []string{
	"AccessDeniedException: Amazon Forecast could not assume the IAM role. Make sure the role exists and trusts forecast.amazonaws.com.",
	"InvalidInputException: The S3 bucket does not exist or Amazon Forecast cannot write to it.",
	"An internal error occurred while exporting. Retry the job.",
	"KMSAccessDeniedException: The IAM role cannot use the KMS key.",
}

const fixtureSpan = 60 * 24 * time.Hour // fixture jobs are spread over 60 days

func (s *Server) arn(typ, path string) string {
	return fmt.Sprintf("arn:aws:forecast:%s:%s:%s/%s", s.opts.Region, s.opts.Account, typ, path)
}

func (s *Server) loadFixtures() {
	o := s.opts
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 0x5eed))
	end := o.FixtureEnd.Truncate(time.Second)
	var jobs []*job
	gen := func(k JobKind, parents, perParent int, suffix, jobPrefix string) {
		for p := 0; p < parents; p++ {
			pname := fmt.Sprintf("%s_%s_%02d", fixtureDomains[p%len(fixtureDomains)], suffix, p+1)
			par := &parent{kind: k, arn: s.arn(kinds[k].parentType, pname), name: pname, status: "ACTIVE"}
			s.store.parents[par.arn] = par
			s.store.order[k] = append(s.store.order[k], par.arn)
			var prev time.Time
			for i := 0; i < perParent; i++ {
				name := fmt.Sprintf("%s_%03d", jobPrefix, i+1)
				created := end.Add(-time.Duration(rng.Int64N(int64(fixtureSpan)))).Truncate(time.Minute)
				if i%7 == 6 {
					created = prev // deliberate ties exercise the ARN tie-break
				}
				prev = created
				st := fixtureStatuses[(i+p)%len(fixtureStatuses)]
				j := &job{
					kind: k, name: name, parent: par.arn,
					arn:     s.arn(kinds[k].jobType, pname+"/"+name),
					created: created, cs: created.Unix(),
					status: st, lastMod: created,
					roleArn: fmt.Sprintf("arn:aws:iam::%s:role/ForecastServiceRole", o.Account),
				}
				if st != "CREATE_PENDING" {
					j.lastMod = created.Add(time.Duration(1+rng.IntN(120)) * time.Minute)
				}
				switch st {
				case "CREATE_FAILED", "DELETE_FAILED":
					j.message = failureMessages[rng.IntN(len(failureMessages))]
				case "CREATE_STOPPED":
					j.message = "The job was stopped by a StopResource request."
				}
				if i%4 == 1 {
					j.kmsKeyArn = fmt.Sprintf("arn:aws:kms:%s:%s:key/%08x-%04x-4%03x-8%03x-%012x", o.Region, o.Account,
						rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Int64N(1<<48))
				}
				switch k {
				case DatasetImportJob:
					j.s3Path = fmt.Sprintf("s3://forecast-%s-data/%s/%s/", o.Account, pname, created.Format("2006-01-02"))
					j.importMode = "FULL"
					if i%4 == 3 {
						j.importMode = "INCREMENTAL"
					}
				default:
					j.s3Path = fmt.Sprintf("s3://forecast-%s-exports/%s/%s/", o.Account, pname, name)
					j.format = "CSV"
					if i%3 == 2 {
						j.format = "PARQUET"
					}
				}
				jobs = append(jobs, j)
			}
		}
	}
	gen(BacktestExportJob, o.Predictors, o.BacktestJobsPerPredictor, "predictor", "backtest_export")
	gen(ForecastExportJob, o.Forecasts, o.ExportJobsPerForecast, "forecast", "forecast_export")
	gen(DatasetImportJob, o.Datasets, o.ImportJobsPerDataset, "dataset", "dataset_import")
	s.store.bulkLoad(jobs)
}
