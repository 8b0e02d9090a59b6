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
	"github.com/forecastgw/forecast-gateway/internal/awsrules"
)

const (
	roleArn = "arn:aws:iam::123456789012:role/ForecastRole"
	kmsArn  = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

func createInput(predictorArn, name string) *forecast.CreatePredictorBacktestExportJobInput {
	return &forecast.CreatePredictorBacktestExportJobInput{
		PredictorArn:                   aws.String(predictorArn),
		PredictorBacktestExportJobName: aws.String(name),
		Destination: &types.DataDestination{S3Config: &types.S3Config{
			Path: aws.String("s3://my-bucket/backtests/"), RoleArn: aws.String(roleArn), KMSKeyArn: aws.String(kmsArn),
		}},
		Format: aws.String("PARQUET"),
		Tags:   []types.Tag{{Key: aws.String("team"), Value: aws.String("demand")}},
	}
}

func TestCreateDescribeLifecycle(t *testing.T) {
	srv, clk := start(t, emulator.Options{PendingDuration: time.Minute, InProgressDuration: 10 * time.Minute})
	c := client(srv)
	pred := srv.PredictorArns()[1]
	created := clk.Now()
	out, err := c.CreatePredictorBacktestExportJob(ctx(t), createInput(pred, "my_export"))
	if err != nil {
		t.Fatal(err)
	}
	predName := pred[strings.LastIndex(pred, "/")+1:]
	wantArn := "arn:aws:forecast:us-east-1:123456789012:predictor-backtest-export-job/" + predName + "/my_export"
	if got := aws.ToString(out.PredictorBacktestExportJobArn); got != wantArn {
		t.Fatalf("arn = %s, want %s", got, wantArn)
	}
	steps := []struct {
		advance time.Duration
		status  string
		lastMod time.Time
	}{
		{0, "CREATE_PENDING", created},
		{59 * time.Second, "CREATE_PENDING", created},
		{time.Second, "CREATE_IN_PROGRESS", created.Add(time.Minute)},
		{10*time.Minute - time.Second, "CREATE_IN_PROGRESS", created.Add(time.Minute)},
		{time.Second, "ACTIVE", created.Add(11 * time.Minute)},
		{48 * time.Hour, "ACTIVE", created.Add(11 * time.Minute)},
	}
	for _, st := range steps {
		clk.Advance(st.advance)
		d, err := c.DescribePredictorBacktestExportJob(ctx(t), &forecast.DescribePredictorBacktestExportJobInput{PredictorBacktestExportJobArn: out.PredictorBacktestExportJobArn})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(d.Status) != st.status || !d.LastModificationTime.Equal(st.lastMod) {
			t.Fatalf("at +%v: status %s lastMod %v, want %s %v", clk.Now().Sub(created), aws.ToString(d.Status), d.LastModificationTime, st.status, st.lastMod)
		}
		// Every member of the Describe output is populated.
		if aws.ToString(d.PredictorBacktestExportJobArn) != wantArn || aws.ToString(d.PredictorBacktestExportJobName) != "my_export" ||
			aws.ToString(d.PredictorArn) != pred || aws.ToString(d.Format) != "PARQUET" || !d.CreationTime.Equal(created) ||
			aws.ToString(d.Destination.S3Config.Path) != "s3://my-bucket/backtests/" ||
			aws.ToString(d.Destination.S3Config.RoleArn) != roleArn || aws.ToString(d.Destination.S3Config.KMSKeyArn) != kmsArn {
			t.Fatalf("describe output wrong: %+v %+v", d, d.Destination.S3Config)
		}
		// The list shows the same status and times, filtered by status.
		l, err := c.ListPredictorBacktestExportJobs(ctx(t), &forecast.ListPredictorBacktestExportJobsInput{Filters: []types.Filter{
			{Key: aws.String("PredictorArn"), Value: aws.String(pred), Condition: types.FilterConditionStringIs},
			{Key: aws.String("Status"), Value: aws.String(st.status), Condition: types.FilterConditionStringIs},
		}})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, s := range l.PredictorBacktestExportJobs {
			if aws.ToString(s.PredictorBacktestExportJobArn) == wantArn {
				found = aws.ToString(s.Status) == st.status && s.LastModificationTime.Equal(st.lastMod)
			}
		}
		if !found {
			t.Fatalf("job not listed under status %s", st.status)
		}
	}
	// Tags are stored.
	if j, ok := srv.Job(wantArn); !ok || j.Tags["team"] != "demand" {
		t.Fatalf("tags not stored: %+v", j)
	}
}

func TestCreateDefaultsFormatToCSV(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
	c := client(srv)
	in := createInput(srv.PredictorArns()[0], "no_format")
	in.Format = nil
	in.Destination.S3Config.KMSKeyArn = nil
	out, err := c.CreatePredictorBacktestExportJob(ctx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.DescribePredictorBacktestExportJob(ctx(t), &forecast.DescribePredictorBacktestExportJobInput{PredictorBacktestExportJobArn: out.PredictorBacktestExportJobArn})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(d.Format) != "CSV" || d.Destination.S3Config.KMSKeyArn != nil {
		t.Fatalf("format %q kms %v", aws.ToString(d.Format), d.Destination.S3Config.KMSKeyArn)
	}
}

func TestCreateErrors(t *testing.T) {
	srv, _ := start(t, emulator.Options{MaxInProgressJobs: 3})
	c := client(srv)
	preds := srv.PredictorArns()
	if err := srv.SetParentStatus(preds[2], "CREATE_IN_PROGRESS"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreatePredictorBacktestExportJob(ctx(t), createInput(preds[0], "dup")); err != nil {
		t.Fatal(err)
	}
	// An existing fixture job name on its own predictor also collides.
	fixture := srv.Jobs(emulator.BacktestExportJob)[0]
	crossAccountRole := createInput(preds[0], "xacct")
	crossAccountRole.Destination.S3Config.RoleArn = aws.String("arn:aws:iam::999999999999:role/Other")
	tests := []struct {
		name string
		in   *forecast.CreatePredictorBacktestExportJobInput
		want any
	}{
		{"unknown predictor", createInput("arn:aws:forecast:us-east-1:123456789012:predictor/nope", "j"), new(*types.ResourceNotFoundException)},
		{"forecast arn is not a predictor", createInput(srv.ForecastArns()[0], "j"), new(*types.ResourceNotFoundException)},
		{"same name same predictor", createInput(preds[0], "dup"), new(*types.ResourceAlreadyExistsException)},
		{"fixture name", createInput(fixture.ParentArn, fixture.Name), new(*types.ResourceAlreadyExistsException)},
		{"predictor not active", createInput(preds[2], "j"), new(*types.ResourceInUseException)},
		{"cross-account role", crossAccountRole, new(*types.InvalidInputException)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CreatePredictorBacktestExportJob(ctx(t), tc.in)
			if err == nil || !errors.As(err, tc.want) {
				t.Fatalf("got %v, want %T", err, tc.want)
			}
		})
	}
	// The same name on another predictor is fine.
	if _, err := c.CreatePredictorBacktestExportJob(ctx(t), createInput(preds[1], "dup")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreatePredictorBacktestExportJob(ctx(t), createInput(preds[1], "third")); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreatePredictorBacktestExportJob(ctx(t), createInput(preds[1], "fourth"))
	var le *types.LimitExceededException
	if !errors.As(err, &le) {
		t.Fatalf("4th in-progress job: got %v, want LimitExceededException", err)
	}
}

func TestDescribeErrors(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
	c := client(srv)
	for _, arn := range []string{
		"arn:aws:forecast:us-east-1:123456789012:predictor-backtest-export-job/p/none",
		srv.Jobs(emulator.ForecastExportJob)[0].Arn, // exists, but not a backtest job
		srv.PredictorArns()[0],
	} {
		_, err := c.DescribePredictorBacktestExportJob(ctx(t), &forecast.DescribePredictorBacktestExportJobInput{PredictorBacktestExportJobArn: aws.String(arn)})
		var nf *types.ResourceNotFoundException
		if !errors.As(err, &nf) || !strings.Contains(aws.ToString(nf.Message), arn) {
			t.Fatalf("%s: got %v", arn, err)
		}
	}
}

// TestDescribeFixturesMatchList checks every fixture backtest job: Describe
// and the list summary agree, and every member is populated.
func TestDescribeFixturesMatchList(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
	c := client(srv)
	p := forecast.NewListPredictorBacktestExportJobsPaginator(c, &forecast.ListPredictorBacktestExportJobsInput{})
	n := 0
	for p.HasMorePages() && n < 100000 {
		page, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.PredictorBacktestExportJobs {
			n++
			d, err := c.DescribePredictorBacktestExportJob(ctx(t), &forecast.DescribePredictorBacktestExportJobInput{PredictorBacktestExportJobArn: s.PredictorBacktestExportJobArn})
			if err != nil {
				t.Fatal(err)
			}
			j, _ := srv.Job(aws.ToString(s.PredictorBacktestExportJobArn))
			if aws.ToString(d.PredictorBacktestExportJobName) != aws.ToString(s.PredictorBacktestExportJobName) ||
				aws.ToString(d.Status) != aws.ToString(s.Status) || aws.ToString(d.Message) != aws.ToString(s.Message) ||
				!d.CreationTime.Equal(*s.CreationTime) || !d.LastModificationTime.Equal(*s.LastModificationTime) ||
				aws.ToString(d.Destination.S3Config.Path) != aws.ToString(s.Destination.S3Config.Path) ||
				aws.ToString(d.PredictorArn) != j.ParentArn || aws.ToString(d.Format) != j.Format || j.Format == "" {
				t.Fatalf("describe/list mismatch for %s", j.Arn)
			}
			if strings.HasSuffix(j.Status, "_FAILED") && aws.ToString(s.Message) == "" {
				t.Fatalf("failed job %s has no Message", j.Arn)
			}
		}
	}
	if n != srv.JobCount(emulator.BacktestExportJob) {
		t.Fatalf("walked %d jobs, have %d", n, srv.JobCount(emulator.BacktestExportJob))
	}
}

// TestSummariesPopulated checks that each list operation fills every member
// of its summary shape from the fixtures (compared with the Go API view).
func TestSummariesPopulated(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
	c := client(srv)
	check := func(j emulator.JobInfo, arn, name, status, msg *string, ct, lm *time.Time, s3 *types.S3Config) {
		t.Helper()
		if aws.ToString(arn) != j.Arn || aws.ToString(name) != j.Name || aws.ToString(status) != j.Status ||
			aws.ToString(msg) != j.Message || !ct.Equal(j.CreationTime) || !lm.Equal(j.LastModificationTime) ||
			aws.ToString(s3.Path) != j.S3Path || aws.ToString(s3.RoleArn) != j.RoleArn || aws.ToString(s3.KMSKeyArn) != j.KMSKeyArn {
			t.Fatalf("summary mismatch for %s", j.Arn)
		}
	}
	seenKMS, seenMsg := map[string]bool{}, map[string]bool{}
	bt, err := c.ListPredictorBacktestExportJobs(ctx(t), &forecast.ListPredictorBacktestExportJobsInput{})
	if err != nil {
		t.Fatal(err)
	}
	want := srv.Jobs(emulator.BacktestExportJob)
	if len(bt.PredictorBacktestExportJobs) != 100 || bt.NextToken == nil {
		t.Fatalf("default page: %d jobs, token %v", len(bt.PredictorBacktestExportJobs), bt.NextToken)
	}
	for i, s := range bt.PredictorBacktestExportJobs {
		check(want[i], s.PredictorBacktestExportJobArn, s.PredictorBacktestExportJobName, s.Status, s.Message, s.CreationTime, s.LastModificationTime, s.Destination.S3Config)
		seenKMS["bt"] = seenKMS["bt"] || s.Destination.S3Config.KMSKeyArn != nil
		seenMsg["bt"] = seenMsg["bt"] || s.Message != nil
	}
	fe, err := c.ListForecastExportJobs(ctx(t), &forecast.ListForecastExportJobsInput{})
	if err != nil {
		t.Fatal(err)
	}
	want = srv.Jobs(emulator.ForecastExportJob)
	for i, s := range fe.ForecastExportJobs {
		check(want[i], s.ForecastExportJobArn, s.ForecastExportJobName, s.Status, s.Message, s.CreationTime, s.LastModificationTime, s.Destination.S3Config)
		seenKMS["fe"] = seenKMS["fe"] || s.Destination.S3Config.KMSKeyArn != nil
		seenMsg["fe"] = seenMsg["fe"] || s.Message != nil
	}
	di, err := c.ListDatasetImportJobs(ctx(t), &forecast.ListDatasetImportJobsInput{})
	if err != nil {
		t.Fatal(err)
	}
	want = srv.Jobs(emulator.DatasetImportJob)
	modes := map[types.ImportMode]bool{}
	for i, s := range di.DatasetImportJobs {
		check(want[i], s.DatasetImportJobArn, s.DatasetImportJobName, s.Status, s.Message, s.CreationTime, s.LastModificationTime, s.DataSource.S3Config)
		if string(s.ImportMode) != want[i].ImportMode {
			t.Fatalf("import mode %s want %s", s.ImportMode, want[i].ImportMode)
		}
		modes[s.ImportMode] = true
		seenKMS["di"] = seenKMS["di"] || s.DataSource.S3Config.KMSKeyArn != nil
		seenMsg["di"] = seenMsg["di"] || s.Message != nil
	}
	if len(seenKMS) != 3 || len(seenMsg) != 3 || !modes[types.ImportModeFull] || !modes[types.ImportModeIncremental] {
		t.Fatalf("optional members never populated: kms %v msg %v modes %v", seenKMS, seenMsg, modes)
	}
}

func TestFixtures(t *testing.T) {
	a := emulator.New(emulator.Options{Seed: 7})
	b := emulator.New(emulator.Options{Seed: 7})
	c := emulator.New(emulator.Options{Seed: 8})
	for k := emulator.BacktestExportJob; k <= emulator.DatasetImportJob; k++ {
		ja, jb, jc := a.Jobs(k), b.Jobs(k), c.Jobs(k)
		if len(ja) <= 100 {
			t.Fatalf("%v: only %d fixture jobs, want more than one page", k, len(ja))
		}
		same := true
		for i := range ja {
			if ja[i].Arn != jb[i].Arn || !ja[i].CreationTime.Equal(jb[i].CreationTime) || ja[i].Status != jb[i].Status {
				t.Fatalf("%v: fixtures differ for the same seed at %d", k, i)
			}
			same = same && ja[i].CreationTime.Equal(jc[i].CreationTime)
		}
		if same {
			t.Fatalf("%v: seed has no effect", k)
		}
		if got := a.Statuses(k); len(got) != len(awsrules.Statuses) {
			t.Fatalf("%v: statuses %v, want all of %v", k, got, awsrules.Statuses)
		}
		parents := map[string]bool{}
		for _, j := range ja {
			parents[j.ParentArn] = true
			if strings.HasSuffix(j.Status, "FAILED") && j.Message == "" {
				t.Fatalf("%s failed without message", j.Arn)
			}
			if j.LastModificationTime.Before(j.CreationTime) {
				t.Fatalf("%s modified before creation", j.Arn)
			}
		}
		if len(parents) < 3 {
			t.Fatalf("%v: %d parents", k, len(parents))
		}
	}
	sizes := emulator.New(emulator.Options{Predictors: 2, BacktestJobsPerPredictor: 3, Forecasts: -1, Datasets: 1, ImportJobsPerDataset: -1})
	if n := sizes.JobCount(emulator.BacktestExportJob); n != 6 {
		t.Fatalf("backtest jobs = %d, want 6", n)
	}
	if n := sizes.JobCount(emulator.ForecastExportJob); n != 0 || len(sizes.ForecastArns()) != 0 {
		t.Fatalf("forecast export jobs = %d, want 0", n)
	}
	if n := sizes.JobCount(emulator.DatasetImportJob); n != 0 || len(sizes.DatasetArns()) != 1 {
		t.Fatalf("import jobs = %d datasets %d", n, len(sizes.DatasetArns()))
	}
	arns := []string{a.PredictorArns()[0], a.ForecastArns()[0], a.DatasetArns()[0]}
	for i, prefix := range []string{"predictor/", "forecast/", "dataset/"} {
		if !strings.HasPrefix(arns[i], "arn:aws:forecast:us-east-1:123456789012:"+prefix) {
			t.Fatalf("arn %s", arns[i])
		}
	}
	r := emulator.New(emulator.Options{Region: "eu-west-1", Account: "111122223333", Predictors: 1})
	if got := r.PredictorArns()[0]; !strings.HasPrefix(got, "arn:aws:forecast:eu-west-1:111122223333:predictor/") {
		t.Fatalf("region/account ignored: %s", got)
	}
}

func TestSetJobStatusUnknownEnum(t *testing.T) {
	srv, _ := start(t, emulator.Options{})
	c := client(srv)
	for k, arn := range map[emulator.JobKind]string{
		emulator.BacktestExportJob: srv.Jobs(emulator.BacktestExportJob)[5].Arn,
		emulator.ForecastExportJob: srv.Jobs(emulator.ForecastExportJob)[5].Arn,
		emulator.DatasetImportJob:  srv.Jobs(emulator.DatasetImportJob)[5].Arn,
	} {
		if err := srv.SetJobStatus(arn, "CREATE_QUEUED"); err != nil {
			t.Fatal(err)
		}
		if j, _ := srv.Job(arn); j.Status != "CREATE_QUEUED" || j.Kind != k {
			t.Fatalf("status not forced: %+v", j)
		}
	}
	if err := srv.SetJobStatus("arn:aws:forecast:us-east-1:123456789012:dataset-import-job/x/y", "ACTIVE"); err == nil {
		t.Fatal("SetJobStatus of unknown job succeeded")
	}
	f := []types.Filter{{Key: aws.String("Status"), Value: aws.String("CREATE_QUEUED"), Condition: types.FilterConditionStringIs}}
	bt, err := c.ListPredictorBacktestExportJobs(ctx(t), &forecast.ListPredictorBacktestExportJobsInput{Filters: f})
	if err != nil || len(bt.PredictorBacktestExportJobs) != 1 || aws.ToString(bt.PredictorBacktestExportJobs[0].Status) != "CREATE_QUEUED" {
		t.Fatalf("backtest: %v %+v", err, bt)
	}
	fe, err := c.ListForecastExportJobs(ctx(t), &forecast.ListForecastExportJobsInput{Filters: f})
	if err != nil || len(fe.ForecastExportJobs) != 1 {
		t.Fatalf("export: %v %+v", err, fe)
	}
	di, err := c.ListDatasetImportJobs(ctx(t), &forecast.ListDatasetImportJobsInput{Filters: f})
	if err != nil || len(di.DatasetImportJobs) != 1 {
		t.Fatalf("import: %v %+v", err, di)
	}
	// A freshly created (clock-driven) job can be frozen too.
	out, err := c.CreatePredictorBacktestExportJob(ctx(t), createInput(srv.PredictorArns()[0], "frozen"))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SetJobStatus(*out.PredictorBacktestExportJobArn, "CREATE_FAILED"); err != nil {
		t.Fatal(err)
	}
	d, err := c.DescribePredictorBacktestExportJob(ctx(t), &forecast.DescribePredictorBacktestExportJobInput{PredictorBacktestExportJobArn: out.PredictorBacktestExportJobArn})
	if err != nil || aws.ToString(d.Status) != "CREATE_FAILED" || d.Message == nil {
		t.Fatalf("frozen job: %v %+v", err, d)
	}
}
