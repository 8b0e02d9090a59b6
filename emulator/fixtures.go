package emulator

import (
	"container/heap"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"time"

	"github.com/forecastgw/forecast-gateway/internal/awsrules"
)

// Fixture generation is deterministic: the same Options (and start time)
// give identical fixtures, so tests and benchmarks can rely on them. Each
// type draws from its own random stream, so resizing one type's fixtures
// leaves the others unchanged.

var fixtureDomains = []string{
	"retail_demand", "web_traffic", "inventory", "energy_load",
	"ride_sharing", "workforce", "cash_flow", "supply_chain",
}

// fixtureStatuses weights ACTIVE (as in a real account) while still giving
// every status of awsrules.Statuses to any parent with 12 or more jobs.
var fixtureStatuses = append([]string{"ACTIVE", "ACTIVE", "ACTIVE"}, awsrules.Statuses...)

var failureMessages = []string{
	"", // the assume-role failure, with the job's role (see assumeRoleMessage)
	"InvalidInputException: The S3 bucket does not exist or Amazon Forecast cannot write to it.",
	"An internal error occurred while processing the job. Retry the job.",
	"KMSAccessDeniedException: The IAM role cannot use the KMS key.",
}

// Dataset import variety: time zone, timestamp format and geolocation, in
// combinations CreateDatasetImportJob accepts.
var importVariety = []struct{ tz, tsf, geo string }{
	{"America/Los_Angeles", "yyyy-MM-dd HH:mm:ss", ""},
	{"", "yyyy-MM-dd", ""},
	{"", "yyyy-MM-dd HH:mm:ss", "LAT_LONG"}, // with UseGeolocationForTimeZone
	{"Europe/Berlin", "yyyy-MM-dd HH:mm:ss", "CC_POSTALCODE"},
	{"Asia/Tokyo", "", ""},
}

const fixtureSpan = 60 * 24 * time.Hour // fixture jobs are spread over 60 days

func (s *Server) arn(typ, path string) string {
	return fmt.Sprintf("arn:aws:forecast:%s:%s:%s/%s", s.opts.Region, s.opts.Account, typ, path)
}

func (s *Server) role(name string) string {
	return fmt.Sprintf("arn:aws:iam::%s:role/%s", s.opts.Account, name)
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// loadFixtures creates the parents and jobs of every type. Jobs seeded in
// a transitional status get a schedule starting at start (the clock at
// New), staggered by a fraction of their phase derived from the ARN.
func (s *Server) loadFixtures(start time.Time) {
	o := &s.opts
	st := s.store
	end := o.FixtureEnd.Truncate(time.Second)
	var jobs []*job
	for _, k := range kinds {
		nParents, nJobs := k.fixture.sizes(o)
		rng := rand.New(rand.NewPCG(uint64(o.Seed), hash64(k.t.ArnType)))
		var parents []*parent
		for p := 0; p < nParents; p++ {
			name := fmt.Sprintf("%s_%s_%02d", fixtureDomains[p%len(fixtureDomains)], k.fixture.parentWord, p+1)
			par := &parent{arnType: k.refType, arn: s.arn(k.refType, name), name: name, status: statusActive}
			st.parents[par.arn] = par
			st.order[k.refType] = append(st.order[k.refType], par.arn)
			parents = append(parents, par)
		}
		if len(parents) == 0 {
			continue
		}
		var prev time.Time
		add := func(i, statusIdx int, name, path string, pname string, par *parent, whatIf []string) {
			created := end.Add(-time.Duration(rng.Int64N(int64(fixtureSpan)))).Truncate(time.Minute)
			if i%7 == 6 {
				created = prev // deliberate ties exercise the ARN tie-break
			}
			prev = created
			j := &job{
				k: k, name: name, arn: s.arn(k.t.ArnType, path), whatIf: whatIf,
				created: created, cs: created.Unix(), entered: created, hidx: -1,
				status: fixtureStatuses[statusIdx%len(fixtureStatuses)], roleArn: s.role("ForecastServiceRole"),
			}
			if par != nil {
				j.parent = par.arn
			}
			s.fixtureDetails(j, rng, i, pname)
			jobs = append(jobs, j)
		}
		if k.t.Parent.ArnType == "" {
			// What-if forecast exports: nJobs in all, each naming 1-3 of
			// the parents, ARN what-if-forecast-export/<name>.
			for i := 0; i < nJobs; i++ {
				name := fmt.Sprintf("%s_%03d", k.fixture.jobPrefix, i+1)
				n, first := 1+rng.IntN(min(3, len(parents))), rng.IntN(len(parents))
				refs := make([]string, n)
				for x := range refs {
					refs[x] = parents[(first+x)%len(parents)].arn
				}
				add(i, i, name, name, parents[first].name, nil, refs)
			}
			continue
		}
		for p, par := range parents {
			for i := 0; i < nJobs; i++ {
				name := fmt.Sprintf("%s_%03d", k.fixture.jobPrefix, i+1)
				add(i, i+p, name, par.name+"/"+name, par.name, par, nil)
			}
		}
	}
	st.bulkLoad(jobs)
	for _, j := range jobs {
		s.scheduleFixture(j, start)
	}
	heap.Init(&st.sched)
	st.updateNextDue()
}

// fixtureDetails fills the realistic, deterministic rest of a fixture job.
func (s *Server) fixtureDetails(j *job, rng *rand.Rand, i int, pname string) {
	o := &s.opts
	if j.status != statusPending {
		j.entered = j.created.Add(time.Duration(1+rng.IntN(120)) * time.Minute)
	}
	switch j.status {
	case statusActive, statusDeletePending, statusDeleteInProgress:
		j.activated = true
	case statusCreateFailed:
		if m := failureMessages[rng.IntN(len(failureMessages))]; m != "" {
			j.message = m
		} else {
			j.roleArn = s.role("Forecast" + cannotAssume + "Role")
			j.message = assumeRoleMessage(j.roleArn)
		}
	case statusStopped:
		j.message = stoppedMessage
	}
	if i%4 == 1 {
		j.kmsKeyArn = fmt.Sprintf("arn:aws:kms:%s:%s:key/%08x-%04x-4%03x-8%03x-%012x", o.Region, o.Account,
			rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Int64N(1<<48))
	}
	j.format = awsrules.Formats[0]
	if i%3 == 2 {
		j.format = awsrules.Formats[1]
	}
	if j.k.loc == "DataSource" {
		j.s3Path = fmt.Sprintf("s3://forecast-%s-data/%s/%s/", o.Account, pname, j.created.Format("2006-01-02"))
		j.importMode = awsrules.ImportModes[0]
		if i%4 == 3 {
			j.importMode = awsrules.ImportModes[1]
		}
		v := importVariety[i%len(importVariety)]
		j.timeZone, j.timestampFormat, j.geoFormat = v.tz, v.tsf, v.geo
		j.useGeo = v.geo != "" && v.tz == ""
	} else {
		j.s3Path = fmt.Sprintf("s3://forecast-%s-exports/%s/%s/", o.Account, pname, j.name)
	}
	if j.status == statusDeleteFailed {
		// The documented CannotDelete role, so the message and the role agree.
		j.roleArn = s.role("Forecast" + cannotDelete + "Role")
		j.message = deleteFailedMessage(j)
	}
}

// scheduleFixture gives a fixture in a transitional status the rest of its
// current phase: a fraction in (0, 1] of the phase, derived from its ARN,
// so fixtures finish at staggered times within the phase lengths.
func (s *Server) scheduleFixture(j *job, start time.Time) {
	d := s.store.dur
	frac := func(phase time.Duration) time.Duration {
		return time.Duration(float64(phase) * float64(hash64(j.arn)%1000+1) / 1000)
	}
	var due time.Time
	switch j.status {
	case statusPending:
		due = start.Add(frac(d.pending))
		j.activeAt = due.Add(d.inProgress)
	case statusInProgress:
		due = start.Add(frac(d.inProgress))
		j.activeAt = due
	case statusStopping:
		due = start.Add(frac(d.stop))
	case statusDeletePending:
		due = start.Add(frac(d.delete1))
	case statusDeleteInProgress:
		due = start.Add(frac(d.delete2))
	default:
		return
	}
	j.due = due
	j.hidx = len(s.store.sched)
	s.store.sched = append(s.store.sched, j)
}
