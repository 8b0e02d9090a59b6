package emulator_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"

	"github.com/forecastgw/forecast-gateway/emulator"
	"github.com/forecastgw/forecast-gateway/internal/awsrules"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

func nameOf(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

// TestCreateDescribeMembers: every member sent to Create comes back from
// Describe, the ARN has the documented shape, and the defaults (Format
// CSV, ImportMode FULL, no KMS key) apply when members are absent.
func TestCreateDescribeMembers(t *testing.T) {
	for _, typ := range jobtype.All {
		t.Run(typ.Noun, func(t *testing.T) {
			srv, clk := start(t, small(emulator.Options{}))
			c := client(srv)
			a := apis[typ]
			args := defaultArgs(srv, typ, "members")
			arn, err := a.create(ctx(t), c, args)
			if err != nil {
				t.Fatal(err)
			}
			want := "arn:aws:forecast:us-east-1:123456789012:" + typ.ArnType + "/"
			if typ.Parent.ArnType != "" {
				want += nameOf(args.parent) + "/"
			}
			if want += "members"; arn != want {
				t.Fatalf("arn %s, want %s", arn, want)
			}
			d, err := a.describe(ctx(t), c, arn)
			if err != nil {
				t.Fatal(err)
			}
			if d.arn != arn || d.name != "members" || d.parent != args.parent || !slices.Equal(d.whatIf, args.whatIf) ||
				d.format != "PARQUET" || !d.created.Equal(clk.Now()) || d.status != "CREATE_PENDING" ||
				aws.ToString(d.s3.Path) != args.path || aws.ToString(d.s3.RoleArn) != roleArn || aws.ToString(d.s3.KMSKeyArn) != kmsArn {
				t.Fatalf("describe: %+v", d)
			}
			if j, _ := srv.Job(arn); j.Tags["team"] != "demand" || j.Type != typ || !slices.Equal(j.WhatIfForecastArns, args.whatIf) {
				t.Fatalf("Job(): %+v", j)
			}

			bare := defaultArgs(srv, typ, "bare")
			bare.format, bare.kms, bare.tags = "", "", nil
			arn, err = a.create(ctx(t), c, bare)
			if err != nil {
				t.Fatal(err)
			}
			d, err = a.describe(ctx(t), c, arn)
			if err != nil || d.format != "CSV" || d.s3.KMSKeyArn != nil {
				t.Fatalf("defaults: %v format %q kms %v", err, d.format, d.s3.KMSKeyArn)
			}
			if typ == jobtype.DatasetImportJob && (d.importMode != "FULL" || d.timeZone != "" || d.useGeo) {
				t.Fatalf("import defaults: %+v", d)
			}
		})
	}
}

// TestDatasetImportMembers covers CreateDatasetImportJob's own members,
// its cross-member rules, and DataSize/FieldStatistics once ACTIVE.
func TestDatasetImportMembers(t *testing.T) {
	srv, clk := start(t, lifecycleOpts(emulator.Options{}))
	c := client(srv, noClientValidation)
	a := apis[jobtype.DatasetImportJob]
	tests := []struct {
		name    string
		mod     func(*createArgs)
		wantErr string // "" = accepted and echoed
	}{
		{"time zone", func(a *createArgs) {
			a.timeZone, a.timestampFormat, a.importMode = "America/Los_Angeles", "yyyy-MM-dd HH:mm:ss", types.ImportModeIncremental
		}, ""},
		{"geolocation", func(a *createArgs) { a.useGeo, a.geo, a.timestampFormat = true, "LAT_LONG", "yyyy-MM-dd" }, ""},
		{"postal code with time zone", func(a *createArgs) { a.geo, a.timeZone = "CC_POSTALCODE", "Europe/Berlin" }, ""},
		{"time zone and geolocation", func(a *createArgs) { a.useGeo, a.geo, a.timeZone = true, "LAT_LONG", "UTC" }, "TimeZone cannot be set when UseGeolocationForTimeZone is true"},
		{"geolocation without format", func(a *createArgs) { a.useGeo = true }, "GeolocationFormat is required when UseGeolocationForTimeZone is true"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := defaultArgs(srv, jobtype.DatasetImportJob, fmt.Sprintf("import_%d", i))
			tc.mod(&args)
			arn, err := a.create(ctx(t), c, args)
			if tc.wantErr != "" {
				wantErr[*types.InvalidInputException](t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d, err := a.describe(ctx(t), c, arn)
			if err != nil {
				t.Fatal(err)
			}
			mode := string(args.importMode)
			if mode == "" {
				mode = "FULL"
			}
			if d.timeZone != args.timeZone || d.timestampFormat != args.timestampFormat || d.geo != args.geo ||
				d.useGeo != args.useGeo || d.importMode != mode {
				t.Fatalf("describe %+v, sent %+v", d, args)
			}
			vs, _, err := a.list(ctx(t), c, listArgs{filters: []types.Filter{is("DatasetArn", args.parent), is("Status", "CREATE_PENDING")}})
			i := slices.IndexFunc(vs, func(v view) bool { return v.arn == arn })
			if err != nil || i < 0 || vs[i].importMode != mode {
				t.Fatalf("summary ImportMode: %v %+v", err, vs)
			}
		})
	}

	arn, err := a.create(ctx(t), c, defaultArgs(srv, jobtype.DatasetImportJob, "stats"))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := a.describe(ctx(t), c, arn)
	if d.dataSize != nil || d.stats != nil {
		t.Fatalf("statistics before ACTIVE: %v %v", d.dataSize, d.stats)
	}
	clk.Advance(6 * time.Minute)
	d, _ = a.describe(ctx(t), c, arn)
	again, _ := a.describe(ctx(t), c, arn)
	if d.status != "ACTIVE" || d.dataSize == nil || *d.dataSize <= 0 || *d.dataSize != *again.dataSize {
		t.Fatalf("DataSize once ACTIVE: %s %v", d.status, d.dataSize)
	}
	for _, f := range []string{"item_id", "timestamp", "target_value"} {
		s, ok := d.stats[f]
		if !ok || s.Count == nil || *s.Count <= 0 || s.CountLong == nil || int64(*s.Count) != *s.CountLong ||
			s.CountDistinct == nil || s.CountNull == nil || s.CountNan == nil || s.CountDistinctLong == nil ||
			s.CountNullLong == nil || s.CountNanLong == nil || *again.stats[f].Count != *s.Count {
			t.Fatalf("FieldStatistics[%s] = %+v", f, s)
		}
	}
	if s := d.stats["target_value"]; s.Min == nil || s.Max == nil || s.Avg == nil || s.Stddev == nil {
		t.Fatalf("target_value statistics incomplete: %+v", s)
	}
	if s := d.stats["timestamp"]; s.Min == nil || s.Max == nil || aws.ToString(s.Min) > aws.ToString(s.Max) {
		t.Fatalf("timestamp statistics: %+v", s)
	}
}

// TestCreateErrors: the parent (every what-if forecast) must exist, be of
// the right type and be ACTIVE; names are unique per parent (per account
// for what-if forecast exports); a role of another account is refused.
func TestCreateErrors(t *testing.T) {
	opts := small(emulator.Options{})
	opts.Datasets, opts.Forecasts, opts.Predictors, opts.Explainabilities = 3, 3, 3, 3
	for _, typ := range jobtype.All {
		t.Run(typ.Noun, func(t *testing.T) {
			srv, _ := start(t, opts)
			c := client(srv)
			a := apis[typ]
			parents := srv.ParentArns(typ)
			if err := srv.SetParentStatus(parents[0], "CREATE_IN_PROGRESS"); err != nil {
				t.Fatal(err)
			}
			withRef := func(name string, refs ...string) createArgs {
				args := defaultArgs(srv, typ, name)
				if typ.Parent.ArnType == "" {
					args.whatIf = refs
				} else {
					args.parent = refs[0]
				}
				return args
			}
			if _, err := a.create(ctx(t), c, withRef("dup", parents[1])); err != nil {
				t.Fatal(err)
			}
			unknown := "arn:aws:forecast:us-east-1:123456789012:" + apisRefType(typ) + "/nope"
			otherType := srv.DatasetArns()[1]
			if typ == jobtype.DatasetImportJob {
				otherType = srv.ForecastArns()[1]
			}
			var fixture emulator.JobInfo
			var fixtureRefs []string
			for _, j := range srv.Jobs(typ) {
				if fixtureRefs = j.WhatIfForecastArns; j.ParentArn != "" {
					fixtureRefs = []string{j.ParentArn}
				}
				if fixture = j; !slices.Contains(fixtureRefs, parents[0]) {
					break
				}
			}
			xacct := withRef("xacct", parents[1])
			xacct.role = "arn:aws:iam::999999999999:role/Other"
			tests := []struct {
				name string
				args createArgs
				want func(error)
			}{
				{"unknown parent", withRef("j", unknown), func(err error) { wantErr[*types.ResourceNotFoundException](t, err, unknown) }},
				{"parent of another type", withRef("j", otherType), func(err error) { wantErr[*types.ResourceNotFoundException](t, err, otherType) }},
				{"parent not active", withRef("j", parents[0]), func(err error) { wantErr[*types.ResourceInUseException](t, err, "CREATE_IN_PROGRESS") }},
				{"same name, same parent", withRef("dup", parents[1]), func(err error) { wantErr[*types.ResourceAlreadyExistsException](t, err, "dup") }},
				{"fixture name", withRef(fixture.Name, fixtureRefs...),
					func(err error) { wantErr[*types.ResourceAlreadyExistsException](t, err, fixture.Name) }},
				{"role in another account", xacct, func(err error) { wantErr[*types.InvalidInputException](t, err, "across accounts") }},
			}
			if typ.Parent.ArnType == "" {
				tests = append(tests,
					struct {
						name string
						args createArgs
						want func(error)
					}{"second what-if forecast unknown", withRef("j", parents[1], unknown), func(err error) { wantErr[*types.ResourceNotFoundException](t, err, unknown) }},
					struct {
						name string
						args createArgs
						want func(error)
					}{"third what-if forecast not active", withRef("j", parents[1], parents[2], parents[0]), func(err error) { wantErr[*types.ResourceInUseException](t, err, parents[0]) }},
					struct {
						name string
						args createArgs
						want func(error)
					}{"same name, other what-if forecasts", withRef("dup", parents[2]), func(err error) { wantErr[*types.ResourceAlreadyExistsException](t, err, "dup") }},
				)
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					_, err := a.create(ctx(t), c, tc.args)
					tc.want(err)
				})
			}
			if typ.Parent.ArnType != "" {
				if _, err := a.create(ctx(t), c, withRef("dup", parents[len(parents)-1])); err != nil {
					t.Fatalf("same name on another parent: %v", err)
				}
			}
		})
	}
}

// apisRefType is the ARN type of what a job of t is made from.
func apisRefType(t *jobtype.Type) string {
	if t.Parent.ArnType == "" {
		return jobtype.WhatIfForecastArnType
	}
	return t.Parent.ArnType
}

// TestDescribeDeleteNotFound: unknown ARNs, ARNs of another type's job and
// parent ARNs are ResourceNotFoundException for Describe and Delete.
func TestDescribeDeleteNotFound(t *testing.T) {
	srv, _ := start(t, small(emulator.Options{}))
	c := client(srv)
	for i, typ := range jobtype.All {
		other := jobtype.All[(i+1)%len(jobtype.All)]
		for _, arn := range []string{
			"arn:aws:forecast:us-east-1:123456789012:" + typ.ArnType + "/p/none",
			srv.Jobs(other)[0].Arn,
			srv.ParentArns(typ)[0],
		} {
			_, err := apis[typ].describe(ctx(t), c, arn)
			wantErr[*types.ResourceNotFoundException](t, err, arn)
			wantErr[*types.ResourceNotFoundException](t, apis[typ].del(ctx(t), c, arn), arn)
		}
	}
}

// TestDescribeMatchesList checks the first page of every type: Describe,
// the List summary and the Go API agree on every member.
func TestDescribeMatchesList(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
	c := client(srv)
	for _, typ := range jobtype.All {
		a := apis[typ]
		vs, next, err := a.list(ctx(t), c, listArgs{})
		if err != nil || len(vs) != 100 || next == nil {
			t.Fatalf("%s: default page: %v %d %v", typ.Noun, err, len(vs), next)
		}
		seen := map[string]bool{}
		for _, s := range vs {
			d, err := a.describe(ctx(t), c, s.arn)
			if err != nil {
				t.Fatal(err)
			}
			j, _ := srv.Job(s.arn)
			if d.name != s.name || d.status != s.status || d.message != s.message || !d.created.Equal(s.created) ||
				!d.lastMod.Equal(s.lastMod) || aws.ToString(d.s3.Path) != j.S3Path || aws.ToString(d.s3.KMSKeyArn) != j.KMSKeyArn ||
				d.parent != j.ParentArn || !slices.Equal(d.whatIf, j.WhatIfForecastArns) || !slices.Equal(s.whatIf, j.WhatIfForecastArns) ||
				d.format != j.Format || j.Format == "" || s.importMode != j.ImportMode || d.importMode != j.ImportMode ||
				aws.ToString(s.s3.Path) != j.S3Path || aws.ToString(s.s3.RoleArn) != j.RoleArn || aws.ToString(s.s3.KMSKeyArn) != j.KMSKeyArn ||
				d.timeZone != j.TimeZone || d.geo != j.GeolocationFormat || d.useGeo != j.UseGeolocationForTimeZone {
				t.Fatalf("%s: describe/list/Job mismatch for %s:\n%+v\n%+v\n%+v", typ.Noun, s.arn, d, s, j)
			}
			if strings.HasSuffix(j.Status, "_FAILED") && s.message == "" {
				t.Fatalf("failed job %s has no Message", j.Arn)
			}
			seen["kms"] = seen["kms"] || s.s3.KMSKeyArn != nil
			seen["message"] = seen["message"] || s.message != ""
			seen[j.Format] = true
		}
		if !seen["kms"] || !seen["message"] || !seen["CSV"] || !seen["PARQUET"] {
			t.Fatalf("%s: optional members never populated: %v", typ.Noun, seen)
		}
	}
}

// TestFixtures: every type, every status, more than one page, several
// parents, deterministic for a seed, sizes from Options.
func TestFixtures(t *testing.T) {
	a := emulator.New(emulator.Options{Seed: 7, Clock: emulator.NewFakeClock(t0)})
	b := emulator.New(emulator.Options{Seed: 7, Clock: emulator.NewFakeClock(t0)})
	c := emulator.New(emulator.Options{Seed: 8, Clock: emulator.NewFakeClock(t0)})
	for _, typ := range jobtype.All {
		ja, jb, jc := a.Jobs(typ), b.Jobs(typ), c.Jobs(typ)
		if len(ja) <= 100 {
			t.Fatalf("%s: only %d fixture jobs, want more than one page", typ.Noun, len(ja))
		}
		same := true
		for i := range ja {
			if ja[i].Arn != jb[i].Arn || !ja[i].CreationTime.Equal(jb[i].CreationTime) || ja[i].Status != jb[i].Status ||
				!slices.Equal(ja[i].WhatIfForecastArns, jb[i].WhatIfForecastArns) {
				t.Fatalf("%s: fixtures differ for the same seed at %d", typ.Noun, i)
			}
			same = same && ja[i].CreationTime.Equal(jc[i].CreationTime)
		}
		if same {
			t.Fatalf("%s: seed has no effect", typ.Noun)
		}
		if got := a.Statuses(typ); !slices.Equal(got, slices.Sorted(slices.Values(awsrules.Statuses))) {
			t.Fatalf("%s: statuses %v, want all of %v", typ.Noun, got, awsrules.Statuses)
		}
		byParent := map[string]map[string]int{}
		for _, j := range ja {
			for _, p := range append([]string{j.ParentArn}, j.WhatIfForecastArns...) {
				if p == "" {
					continue
				}
				if !slices.Contains(a.ParentArns(typ), p) {
					t.Fatalf("%s: %s names unknown parent %s", typ.Noun, j.Arn, p)
				}
				if byParent[p] == nil {
					byParent[p] = map[string]int{}
				}
				byParent[p][j.Status]++
			}
			if (strings.HasSuffix(j.Status, "FAILED") || j.Status == "CREATE_STOPPED") && j.Message == "" {
				t.Fatalf("%s %s without message", j.Arn, j.Status)
			}
			if strings.Contains(j.Message, "could not assume") != strings.Contains(j.RoleArn, "CannotAssume") ||
				(j.Status == "DELETE_FAILED") != strings.Contains(j.RoleArn, "CannotDelete") {
				t.Fatalf("%s: role %s does not match %s %q", j.Arn, j.RoleArn, j.Status, j.Message)
			}
			if ct := j.CreationTime; !ct.Equal(ct.Truncate(time.Minute)) || ct.After(emulator.DefaultFixtureEnd) ||
				ct.Before(emulator.DefaultFixtureEnd.Add(-60*24*time.Hour)) {
				t.Fatalf("%s created %v", j.Arn, ct)
			}
			if j.LastModificationTime.Before(j.CreationTime) {
				t.Fatalf("%s modified before creation", j.Arn)
			}
			if typ == jobtype.WhatIfForecastExport && (len(j.WhatIfForecastArns) < 1 || len(j.WhatIfForecastArns) > 3 || j.ParentArn != "") {
				t.Fatalf("%s names %d what-if forecasts", j.Arn, len(j.WhatIfForecastArns))
			}
		}
		if len(byParent) < 3 {
			t.Fatalf("%s: %d parents", typ.Noun, len(byParent))
		}
		if typ.Parent.ArnType != "" {
			for p, sts := range byParent {
				if n := len(sts); n != len(awsrules.Statuses) {
					t.Fatalf("%s: parent %s has %d statuses", typ.Noun, p, n)
				}
			}
		}
	}
	// Dataset import fixtures vary like real imports, within the rules.
	variety := map[string]bool{}
	for _, j := range a.Jobs(jobtype.DatasetImportJob) {
		variety["tz:"+j.TimeZone] = true
		variety["tsf:"+j.TimestampFormat] = true
		variety["geo:"+j.GeolocationFormat] = true
		variety["mode:"+j.ImportMode] = true
		variety["format:"+j.Format] = true
		variety[fmt.Sprint("usegeo:", j.UseGeolocationForTimeZone)] = true
		if v := awsrules.CheckGeolocationTimeZone(j.TimeZone, j.UseGeolocationForTimeZone, j.GeolocationFormat); v != nil {
			t.Fatalf("fixture %s breaks the import rules: %s", j.Arn, v.Message)
		}
	}
	for _, k := range []string{"tz:", "tz:America/Los_Angeles", "tsf:yyyy-MM-dd", "geo:LAT_LONG", "geo:CC_POSTALCODE",
		"mode:FULL", "mode:INCREMENTAL", "format:CSV", "format:PARQUET", "usegeo:true", "usegeo:false"} {
		if !variety[k] {
			t.Fatalf("dataset import fixtures lack %s", k)
		}
	}

	sizes := emulator.New(emulator.Options{Predictors: 2, BacktestJobsPerPredictor: 3, Forecasts: -1, Datasets: 1, ImportJobsPerDataset: -1,
		Explainabilities: 1, ExportsPerExplainability: 4, WhatIfForecasts: 2, WhatIfExports: 5})
	for typ, want := range map[*jobtype.Type][2]int{
		jobtype.PredictorBacktestExportJob: {6, 2}, jobtype.ForecastExportJob: {0, 0}, jobtype.DatasetImportJob: {0, 1},
		jobtype.ExplainabilityExport: {4, 1}, jobtype.WhatIfForecastExport: {5, 2},
	} {
		if n, p := sizes.JobCount(typ), len(sizes.ParentArns(typ)); n != want[0] || p != want[1] {
			t.Fatalf("%s: %d jobs %d parents, want %v", typ.Noun, n, p, want)
		}
	}
	for arns, prefix := range map[*[]string]string{
		ptr(a.PredictorArns()): "predictor/", ptr(a.ForecastArns()): "forecast/", ptr(a.DatasetArns()): "dataset/",
		ptr(a.ExplainabilityArns()): "explainability/", ptr(a.WhatIfForecastArns()): "what-if-forecast/",
	} {
		if !strings.HasPrefix((*arns)[0], "arn:aws:forecast:us-east-1:123456789012:"+prefix) {
			t.Fatalf("arn %s", (*arns)[0])
		}
	}
	r := emulator.New(emulator.Options{Region: "eu-west-1", Account: "111122223333", Predictors: 1})
	if got := r.PredictorArns()[0]; !strings.HasPrefix(got, "arn:aws:forecast:eu-west-1:111122223333:predictor/") {
		t.Fatalf("region/account ignored: %s", got)
	}
	if got := r.Jobs(jobtype.WhatIfForecastExport)[0].Arn; !strings.HasPrefix(got, "arn:aws:forecast:eu-west-1:111122223333:what-if-forecast-export/what_if_export_") {
		t.Fatalf("what-if forecast export ARN %s", got)
	}
}

func ptr[T any](v T) *T { return &v }

// TestOperations: the emulator serves exactly the 24 operations, and any
// other target is UnknownOperationException.
func TestOperations(t *testing.T) {
	if len(emulator.Operations) != 24 {
		t.Fatalf("%d operations", len(emulator.Operations))
	}
	srv, _ := start(t, small(emulator.Options{}))
	c := client(srv, maxAttempts(1))
	_, err := c.ListPredictors(ctx(t), &forecast.ListPredictorsInput{})
	if !strings.Contains(fmt.Sprint(err), "UnknownOperationException") {
		t.Fatalf("ListPredictors: %v", err)
	}
}
