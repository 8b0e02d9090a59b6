package emulator_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"

	"github.com/forecastgw/forecast-gateway/emulator"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

// lifecycleOpts: 1m CREATE_PENDING, 5m CREATE_IN_PROGRESS, 2m
// CREATE_STOPPING, 2m DELETE_PENDING + 2m DELETE_IN_PROGRESS.
func lifecycleOpts(o emulator.Options) emulator.Options {
	o.JobDuration, o.StopDuration, o.DeleteDuration = 6*time.Minute, 2*time.Minute, 4*time.Minute
	return small(o)
}

func hasETA(t *jobtype.Type) bool {
	return t == jobtype.DatasetImportJob || t == jobtype.WhatIfForecastExport
}

// refValue is the value of t's non-status List filter that matches j.
func refValue(t *jobtype.Type, j emulator.JobInfo) string {
	if t.Filter.Self {
		return j.Arn
	}
	return j.ParentArn
}

func is(key, value string) types.Filter {
	return types.Filter{Key: aws.String(key), Value: aws.String(value), Condition: types.FilterConditionStringIs}
}

// tracker checks one job through Describe, List and the Go API at once.
type tracker struct {
	t       *testing.T
	srv     *emulator.Server
	c       *forecast.Client
	typ     *jobtype.Type
	arn     string
	created time.Time
}

// expect asserts the job's status, LastModificationTime and (for the types
// that have it) EstimatedTimeRemainingInMinutes (0 = absent), everywhere
// the job is visible.
func (tr *tracker) expect(status string, lastMod time.Time, eta int64) view {
	t := tr.t
	t.Helper()
	a := apis[tr.typ]
	d, err := a.describe(ctx(t), tr.c, tr.arn)
	if err != nil {
		t.Fatalf("describe: %v", err)
	}
	if d.status != status || !d.lastMod.Equal(lastMod) || !d.created.Equal(tr.created) {
		t.Fatalf("describe: status %s lastMod %v created %v, want %s %v %v", d.status, d.lastMod, d.created, status, lastMod, tr.created)
	}
	switch {
	case !hasETA(tr.typ) && d.eta != nil:
		t.Fatalf("%s has no EstimatedTimeRemainingInMinutes, got %d", tr.typ.Noun, *d.eta)
	case hasETA(tr.typ) && eta == 0 && d.eta != nil:
		t.Fatalf("EstimatedTimeRemainingInMinutes %d in %s, want none", *d.eta, status)
	case hasETA(tr.typ) && eta != 0 && (d.eta == nil || *d.eta != eta):
		t.Fatalf("EstimatedTimeRemainingInMinutes %v, want %d", d.eta, eta)
	}
	j, ok := tr.srv.Job(tr.arn)
	if !ok || j.Status != status || !j.LastModificationTime.Equal(lastMod) {
		t.Fatalf("Job(): %v %s %v", ok, j.Status, j.LastModificationTime)
	}
	// The list agrees, found through the status index and the type's key.
	vs, _, err := a.list(ctx(t), tr.c, listArgs{filters: []types.Filter{is("Status", status), is(tr.typ.Filter.AWSKey, refValue(tr.typ, j))}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, v := range vs {
		if v.arn == tr.arn {
			found = v.status == status && v.lastMod.Equal(lastMod)
		}
	}
	if !found {
		t.Fatalf("job not listed under status %s with lastMod %v", status, lastMod)
	}
	return d
}

// gone asserts the job no longer exists anywhere, tags included.
func (tr *tracker) gone() {
	t := tr.t
	t.Helper()
	_, err := apis[tr.typ].describe(ctx(t), tr.c, tr.arn)
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("describe of a deleted job: %v", err)
	}
	if _, ok := tr.srv.Job(tr.arn); ok {
		t.Fatal("Job() still finds the deleted job")
	}
	for _, j := range tr.srv.Jobs(tr.typ) {
		if j.Arn == tr.arn {
			t.Fatal("Jobs() still lists the deleted job")
		}
	}
	arns, _, err := apis[tr.typ].paginate(ctx(t), tr.c, listArgs{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range arns {
		if a == tr.arn {
			t.Fatal("List still shows the deleted job")
		}
	}
	_, err = tr.c.ListTagsForResource(ctx(t), &forecast.ListTagsForResourceInput{ResourceArn: aws.String(tr.arn)})
	if !errors.As(err, &nf) {
		t.Fatalf("tags of a deleted job: %v", err)
	}
}

func wantErr[E error](t *testing.T, err error, contains string) {
	t.Helper()
	var e E
	if !errors.As(err, &e) {
		t.Fatalf("got %v (%T), want %T", err, err, e)
	}
	if !strings.Contains(err.Error(), contains) {
		t.Fatalf("error %q does not mention %q", err, contains)
	}
}

// TestLifecycle drives one job of every type through create, the two
// creation phases, a refused delete, delete and disappearance, on the
// fake clock.
func TestLifecycle(t *testing.T) {
	for _, typ := range jobtype.All {
		t.Run(typ.Noun, func(t *testing.T) {
			srv, clk := start(t, lifecycleOpts(emulator.Options{}))
			c := client(srv)
			a := apis[typ]
			created := clk.Now()
			arn, err := a.create(ctx(t), c, defaultArgs(srv, typ, "life"))
			if err != nil {
				t.Fatal(err)
			}
			tr := &tracker{t, srv, c, typ, arn, created}
			tr.expect("CREATE_PENDING", created, 6) // LastModificationTime = CreationTime
			clk.Advance(59 * time.Second)
			tr.expect("CREATE_PENDING", created, 6) // 5m01s left
			clk.Advance(time.Second)
			tr.expect("CREATE_IN_PROGRESS", created.Add(time.Minute), 5)
			clk.Advance(150 * time.Second)
			tr.expect("CREATE_IN_PROGRESS", clk.Now(), 3) // the current time while in progress
			wantErr[*types.ResourceInUseException](t, a.del(ctx(t), c, arn), "CREATE_IN_PROGRESS")
			clk.Advance(149 * time.Second)
			tr.expect("CREATE_IN_PROGRESS", clk.Now(), 1) // never below 1
			clk.Advance(time.Second)
			tr.expect("ACTIVE", created.Add(6*time.Minute), 0)
			clk.Advance(time.Hour)
			tr.expect("ACTIVE", created.Add(6*time.Minute), 0)

			deleted := clk.Now()
			if err := a.del(ctx(t), c, arn); err != nil {
				t.Fatal(err)
			}
			tr.expect("DELETE_PENDING", deleted, 0)
			clk.Advance(2*time.Minute - time.Second)
			tr.expect("DELETE_PENDING", deleted, 0)
			clk.Advance(time.Second)
			tr.expect("DELETE_IN_PROGRESS", deleted.Add(2*time.Minute), 0)
			wantErr[*types.ResourceInUseException](t, a.del(ctx(t), c, arn), "DELETE_IN_PROGRESS")
			clk.Advance(2 * time.Minute)
			tr.gone()

			// The name is free again, and the new job starts from scratch.
			again, err := a.create(ctx(t), c, defaultArgs(srv, typ, "life"))
			if err != nil || again != arn {
				t.Fatalf("re-create: %v %s", err, again)
			}
			(&tracker{t, srv, c, typ, arn, clk.Now()}).expect("CREATE_PENDING", clk.Now(), 6)
		})
	}
}

// TestStop covers StopResource on every type: CREATE_PENDING and
// CREATE_IN_PROGRESS jobs stop via CREATE_STOPPING; every other status,
// and what-if forecast exports, are InvalidInputException.
func TestStop(t *testing.T) {
	stop := func(c *forecast.Client, t *testing.T, arn string) error {
		_, err := c.StopResource(ctx(t), &forecast.StopResourceInput{ResourceArn: aws.String(arn)})
		return err
	}
	for _, typ := range jobtype.All {
		t.Run(typ.Noun, func(t *testing.T) {
			srv, clk := start(t, lifecycleOpts(emulator.Options{}))
			c := client(srv)
			a := apis[typ]
			if !typ.Stoppable {
				arn, err := a.create(ctx(t), c, defaultArgs(srv, typ, "unstoppable"))
				if err != nil {
					t.Fatal(err)
				}
				wantErr[*types.InvalidInputException](t, stop(c, t, arn), "does not support what-if forecast exports")
				(&tracker{t, srv, c, typ, arn, clk.Now()}).expect("CREATE_PENDING", clk.Now(), 6)
				return
			}
			for _, tc := range []struct {
				name  string
				after time.Duration // from creation to the stop
			}{{"pending", 30 * time.Second}, {"in_progress", 3 * time.Minute}} {
				created := clk.Now()
				arn, err := a.create(ctx(t), c, defaultArgs(srv, typ, "stop_"+tc.name))
				if err != nil {
					t.Fatal(err)
				}
				tr := &tracker{t, srv, c, typ, arn, created}
				clk.Advance(tc.after)
				stopped := clk.Now()
				if err := stop(c, t, arn); err != nil {
					t.Fatal(err)
				}
				tr.expect("CREATE_STOPPING", stopped, 0)
				clk.Advance(time.Minute)
				tr.expect("CREATE_STOPPING", clk.Now(), 0) // the current time while stopping
				wantErr[*types.InvalidInputException](t, stop(c, t, arn), "CREATE_STOPPING")
				clk.Advance(time.Minute)
				d := tr.expect("CREATE_STOPPED", stopped.Add(2*time.Minute), 0)
				if d.message == "" {
					t.Fatal("stopped job has no Message")
				}
				clk.Advance(time.Hour) // it never finishes
				tr.expect("CREATE_STOPPED", stopped.Add(2*time.Minute), 0)
				wantErr[*types.InvalidInputException](t, stop(c, t, arn), "CREATE_STOPPED")
				wantErr[*types.ResourceInUseException](t, a.del(ctx(t), c, arn), "CREATE_STOPPED")
			}
			// An ACTIVE job cannot be stopped; an unknown one is not found.
			active := srv.Jobs(typ)
			for _, j := range active {
				if j.Status == "ACTIVE" {
					wantErr[*types.InvalidInputException](t, stop(c, t, j.Arn), "ACTIVE")
					break
				}
			}
			wantErr[*types.ResourceNotFoundException](t, stop(c, t, active[0].Arn+"_nope"), active[0].Arn+"_nope")
		})
	}
}

// TestStopParents: predictors, forecasts and Explainabilities are
// stoppable resources too (they never run here unless a test says so);
// datasets and what-if forecasts are not.
func TestStopParents(t *testing.T) {
	srv, _ := start(t, small(emulator.Options{}))
	c := client(srv)
	stop := func(arn string) error {
		_, err := c.StopResource(ctx(t), &forecast.StopResourceInput{ResourceArn: aws.String(arn)})
		return err
	}
	for _, arns := range [][]string{srv.PredictorArns(), srv.ForecastArns(), srv.ExplainabilityArns()} {
		wantErr[*types.InvalidInputException](t, stop(arns[0]), "ACTIVE")
		if err := srv.SetParentStatus(arns[1], "CREATE_IN_PROGRESS"); err != nil {
			t.Fatal(err)
		}
		if err := stop(arns[1]); err != nil {
			t.Fatal(err)
		}
		wantErr[*types.ResourceNotFoundException](t, stop(arns[0]+"x"), arns[0]+"x")
	}
	// A stopped predictor cannot be exported.
	_, err := apis[jobtype.PredictorBacktestExportJob].create(ctx(t), c, defaultArgs(srv, jobtype.PredictorBacktestExportJob, "from_stopped"))
	wantErr[*types.ResourceInUseException](t, err, "CREATE_STOPPED")
	wantErr[*types.InvalidInputException](t, stop(srv.DatasetArns()[0]), "does not support datasets")
	wantErr[*types.InvalidInputException](t, stop(srv.WhatIfForecastArns()[0]), "does not support what-if forecasts")
	// Unknown ARNs are not found, whatever their type.
	for _, arn := range []string{srv.DatasetArns()[0] + "x", srv.Jobs(jobtype.WhatIfForecastExport)[0].Arn + "x",
		"arn:aws:forecast:us-east-1:123456789012:dataset-group/nope"} {
		wantErr[*types.ResourceNotFoundException](t, stop(arn), arn)
	}
}

// TestDocumentedFailures: a role whose name contains CannotAssume fails
// the job when its pending phase ends; one containing CannotDelete makes
// the deletion end in DELETE_FAILED.
func TestDocumentedFailures(t *testing.T) {
	for _, typ := range jobtype.All {
		t.Run(typ.Noun, func(t *testing.T) {
			srv, clk := start(t, lifecycleOpts(emulator.Options{}))
			c := client(srv)
			a := apis[typ]

			args := defaultArgs(srv, typ, "cannot_assume")
			args.role = "arn:aws:iam::123456789012:role/service-role/CannotAssumeRole"
			created := clk.Now()
			arn, err := a.create(ctx(t), c, args)
			if err != nil {
				t.Fatal(err)
			}
			tr := &tracker{t, srv, c, typ, arn, created}
			tr.expect("CREATE_PENDING", created, 6)
			clk.Advance(time.Minute)
			d := tr.expect("CREATE_FAILED", created.Add(time.Minute), 0)
			want := "AccessDeniedException: Amazon Forecast could not assume the IAM role " + args.role + ". Make sure the role exists and trusts forecast.amazonaws.com."
			if d.message != want {
				t.Fatalf("message %q\nwant    %q", d.message, want)
			}
			clk.Advance(time.Hour)
			tr.expect("CREATE_FAILED", created.Add(time.Minute), 0)
			if err := a.del(ctx(t), c, arn); err != nil { // CREATE_FAILED is deletable
				t.Fatal(err)
			}
			clk.Advance(4 * time.Minute)
			tr.gone()

			args = defaultArgs(srv, typ, "cannot_delete")
			args.role = "arn:aws:iam::123456789012:role/ForecastCannotDeleteRole"
			created = clk.Now()
			if arn, err = a.create(ctx(t), c, args); err != nil {
				t.Fatal(err)
			}
			tr = &tracker{t, srv, c, typ, arn, created}
			clk.Advance(6 * time.Minute)
			tr.expect("ACTIVE", created.Add(6*time.Minute), 0)
			deleted := clk.Now()
			if err := a.del(ctx(t), c, arn); err != nil {
				t.Fatal(err)
			}
			tr.expect("DELETE_PENDING", deleted, 0)
			clk.Advance(2 * time.Minute)
			tr.expect("DELETE_IN_PROGRESS", deleted.Add(2*time.Minute), 0)
			clk.Advance(2 * time.Minute)
			d = tr.expect("DELETE_FAILED", deleted.Add(4*time.Minute), 0)
			if !strings.Contains(d.message, args.role) || !strings.HasPrefix(d.message, "AccessDeniedException: ") {
				t.Fatalf("DELETE_FAILED message %q", d.message)
			}
			wantErr[*types.ResourceInUseException](t, a.del(ctx(t), c, arn), "DELETE_FAILED")
		})
	}
}

// TestMaxInProgressJobs: the limit counts API-created jobs of one type
// while CREATE_PENDING or CREATE_IN_PROGRESS; fixtures, other types and
// stopped or finished jobs do not count.
func TestMaxInProgressJobs(t *testing.T) {
	for _, typ := range jobtype.All {
		t.Run(typ.Noun, func(t *testing.T) {
			srv, clk := start(t, lifecycleOpts(emulator.Options{MaxInProgressJobs: 2}))
			c := client(srv)
			a := apis[typ]
			first, err := a.create(ctx(t), c, defaultArgs(srv, typ, "one"))
			if err != nil {
				t.Fatal(err)
			}
			clk.Advance(2 * time.Minute) // in progress counts too
			if _, err := a.create(ctx(t), c, defaultArgs(srv, typ, "two")); err != nil {
				t.Fatal(err)
			}
			_, err = a.create(ctx(t), c, defaultArgs(srv, typ, "three"))
			wantErr[*types.LimitExceededException](t, err, "limit of 2")
			other := jobtype.ForecastExportJob
			if typ == other {
				other = jobtype.DatasetImportJob
			}
			if _, err := apis[other].create(ctx(t), c, defaultArgs(srv, other, "other_type")); err != nil {
				t.Fatalf("another type is limited separately: %v", err)
			}
			if typ.Stoppable {
				if _, err := c.StopResource(ctx(t), &forecast.StopResourceInput{ResourceArn: aws.String(first)}); err != nil {
					t.Fatal(err)
				}
			} else {
				clk.Advance(4 * time.Minute) // the first one finishes
			}
			if _, err := a.create(ctx(t), c, defaultArgs(srv, typ, "three")); err != nil {
				t.Fatalf("after one left the running states: %v", err)
			}
		})
	}
}

// TestFixturesMove: fixtures seeded in a transitional status move on the
// clock from the emulator's start, staggered within their phase, and end
// where the rules say (deleted fixtures disappear).
func TestFixturesMove(t *testing.T) {
	clk := emulator.NewFakeClock(t0)
	srv := emulator.New(emulator.Options{Clock: clk})
	initial := map[*jobtype.Type][]emulator.JobInfo{}
	for _, typ := range jobtype.All {
		initial[typ] = srv.Jobs(typ)
		count := map[string]int{}
		for _, j := range initial[typ] {
			count[j.Status]++
			switch j.Status {
			case "CREATE_PENDING":
				if !j.LastModificationTime.Equal(j.CreationTime) {
					t.Fatalf("%s: pending fixture lastMod %v != creation %v", typ.Noun, j.LastModificationTime, j.CreationTime)
				}
			case "CREATE_IN_PROGRESS", "CREATE_STOPPING":
				if !j.LastModificationTime.Equal(t0) {
					t.Fatalf("%s: %s fixture lastMod %v, want now", typ.Noun, j.Status, j.LastModificationTime)
				}
			}
		}
		for _, st := range []string{"CREATE_PENDING", "CREATE_IN_PROGRESS", "CREATE_STOPPING", "DELETE_PENDING", "DELETE_IN_PROGRESS"} {
			if count[st] == 0 {
				t.Fatalf("%s: no fixture in %s", typ.Noun, st)
			}
		}
	}
	// Half of the pending phase (30s/6 = 5s): some pending fixtures have
	// started, not all.
	clk.Advance(2500 * time.Millisecond)
	for _, typ := range jobtype.All {
		pending := 0
		for _, j := range srv.Jobs(typ) {
			if j.Status == "CREATE_PENDING" {
				pending++
			}
		}
		if pending == 0 {
			t.Fatalf("%s: every pending fixture started at once", typ.Noun)
		}
	}
	clk.Advance(emulator.DefaultJobDuration)
	end := t0.Add(emulator.DefaultJobDuration)
	for _, typ := range jobtype.All {
		now := map[string]emulator.JobInfo{}
		for _, j := range srv.Jobs(typ) {
			now[j.Arn] = j
		}
		for _, j := range initial[typ] {
			got, ok := now[j.Arn]
			want := ""
			switch j.Status {
			case "DELETE_PENDING", "DELETE_IN_PROGRESS":
				if ok {
					t.Fatalf("%s: %s fixture %s still there as %s", typ.Noun, j.Status, j.Arn, got.Status)
				}
				continue
			case "CREATE_PENDING", "CREATE_IN_PROGRESS":
				want = "ACTIVE"
			case "CREATE_STOPPING":
				want = "CREATE_STOPPED"
			default:
				if !ok || got.Status != j.Status || !got.LastModificationTime.Equal(j.LastModificationTime) {
					t.Fatalf("%s: settled fixture %s changed: %+v", typ.Noun, j.Arn, got)
				}
				continue
			}
			if !ok || got.Status != want {
				t.Fatalf("%s: %s fixture is %s, want %s", typ.Noun, j.Status, got.Status, want)
			}
			if lm := got.LastModificationTime; lm.Before(t0) || lm.After(end) {
				t.Fatalf("%s: transition at %v, outside [%v, %v]", typ.Noun, lm, t0, end)
			}
		}
	}
}

// TestSetJobStatusFreezes: a forced status (known to AWS or not) sticks
// whatever the clock does; Delete and Stop still apply their rules.
func TestSetJobStatusFreezes(t *testing.T) {
	srv, clk := start(t, lifecycleOpts(emulator.Options{}))
	c := client(srv)
	for _, typ := range jobtype.All {
		a := apis[typ]
		arn, err := a.create(ctx(t), c, defaultArgs(srv, typ, "frozen"))
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.SetJobStatus(arn, "CREATE_QUEUED"); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Hour)
		if j, _ := srv.Job(arn); j.Status != "CREATE_QUEUED" || j.Type != typ {
			t.Fatalf("%s: forced status lost: %+v", typ.Noun, j)
		}
		vs, _, err := a.list(ctx(t), c, listArgs{filters: []types.Filter{is("Status", "CREATE_QUEUED")}})
		if err != nil || len(vs) != 1 || vs[0].arn != arn {
			t.Fatalf("%s: list by forced status: %v %+v", typ.Noun, err, vs)
		}
		wantErr[*types.ResourceInUseException](t, a.del(ctx(t), c, arn), "CREATE_QUEUED")
		if err := srv.SetJobStatus(arn, "CREATE_FAILED"); err != nil {
			t.Fatal(err)
		}
		d, err := a.describe(ctx(t), c, arn)
		if err != nil || d.status != "CREATE_FAILED" || d.message == "" || !d.lastMod.Equal(clk.Now()) {
			t.Fatalf("%s: %v %+v", typ.Noun, err, d)
		}
		if err := srv.SetJobStatus(arn, "CREATE_IN_PROGRESS"); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Hour)
		if d, _ := a.describe(ctx(t), c, arn); d.status != "CREATE_IN_PROGRESS" || (hasETA(typ) && (d.eta == nil || *d.eta != 1)) {
			t.Fatalf("%s: frozen in progress: %+v", typ.Noun, d)
		}
	}
	if err := srv.SetJobStatus("arn:aws:forecast:us-east-1:123456789012:dataset-import-job/x/y", "ACTIVE"); err == nil {
		t.Fatal("SetJobStatus of an unknown job succeeded")
	}
}

// TestAdvanceClock: the default clock is the wall clock plus an offset
// that AdvanceClock moves; a FakeClock is advanced; other clocks and
// negative durations are refused.
func TestAdvanceClock(t *testing.T) {
	srv := emulator.New(small(emulator.Options{}))
	before := srv.Now()
	if err := srv.AdvanceClock(48 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if d := srv.Now().Sub(before); d < 48*time.Hour || d > 49*time.Hour {
		t.Fatalf("default clock moved by %v", d)
	}
	if err := srv.AdvanceClock(-time.Second); err == nil {
		t.Fatal("moving the clock backwards succeeded")
	}
	clk := emulator.NewFakeClock(t0)
	fake := emulator.New(small(emulator.Options{Clock: clk}))
	if err := fake.AdvanceClock(time.Minute); err != nil || !clk.Now().Equal(t0.Add(time.Minute)) || !fake.Now().Equal(t0.Add(time.Minute)) {
		t.Fatalf("fake clock: %v %v", err, clk.Now())
	}
	other := emulator.New(small(emulator.Options{Clock: fixedClock{}}))
	if err := other.AdvanceClock(time.Minute); err == nil {
		t.Fatal("advancing a foreign Clock succeeded")
	}
}

type fixedClock struct{}

func (fixedClock) Now() time.Time { return t0 }

// TestOptionDurations: JobDuration splits 1/6 pending, 5/6 in progress;
// Stop and Delete default to JobDuration/6; an explicit part overrides its
// share; a negative duration means zero.
func TestOptionDurations(t *testing.T) {
	type d = time.Duration
	for _, tc := range []struct {
		in                                  emulator.Options
		job, pending, running, stop, delete d
	}{
		{emulator.Options{}, 30 * time.Second, 5 * time.Second, 25 * time.Second, 5 * time.Second, 5 * time.Second},
		{emulator.Options{JobDuration: time.Hour}, time.Hour, 10 * time.Minute, 50 * time.Minute, 10 * time.Minute, 10 * time.Minute},
		{emulator.Options{JobDuration: time.Hour, PendingDuration: time.Minute}, 51 * time.Minute, time.Minute, 50 * time.Minute, 10 * time.Minute, 10 * time.Minute},
		{emulator.Options{InProgressDuration: -1, StopDuration: time.Second, DeleteDuration: -1}, 5 * time.Second, 5 * time.Second, 0, time.Second, 0},
		{emulator.Options{JobDuration: -1}, 0, 0, 0, 0, 0},
	} {
		o := emulator.New(small(tc.in)).Options()
		if o.JobDuration != tc.job || o.PendingDuration != tc.pending || o.InProgressDuration != tc.running ||
			o.StopDuration != tc.stop || o.DeleteDuration != tc.delete {
			t.Errorf("%+v: got %v %v %v %v %v", tc.in, o.JobDuration, o.PendingDuration, o.InProgressDuration, o.StopDuration, o.DeleteDuration)
		}
	}
}
