package e2e_test

// A client generated from the gateway's OpenAPI 3 document by a standard
// generator (oapi-codegen, gen/openapi/client) reads every response shape
// the gateway sends, with no hand-written decoding: lists with their page
// tokens, a 201 create, a describe with its ETag (and 304), tags, and the
// AIP-193 error body. Every typed value read is checked against the
// emulator, the source of truth.

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forecastgw/forecast-gateway/e2e/testenv"
	"github.com/forecastgw/forecast-gateway/emulator"
	"github.com/forecastgw/forecast-gateway/gen/openapi/client"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

func TestOpenAPIClient(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	c, err := client.NewClientWithResponses(env.BaseURL, client.WithHTTPClient(env.HTTP))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("list dataset import jobs, two pages", func(t *testing.T) {
		want := env.Emu.Jobs(jobtype.DatasetImportJob)
		if len(want) < 5 {
			t.Fatalf("the emulator has %d dataset import jobs; want at least 5", len(want))
		}
		var token *string
		for page := range 2 {
			resp, err := c.ListDatasetImportJobsWithResponse(ctx(t), &client.ListDatasetImportJobsParams{PageSize: ocPtr[int32](2), PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			got := ocOK(t, resp.StatusCode(), resp.Body, resp.JSON200)
			if len(got.DatasetImportJobs) != 2 {
				t.Fatalf("page %d: %d jobs, want 2", page, len(got.DatasetImportJobs))
			}
			for i, s := range got.DatasetImportJobs {
				ocCheckImportSummary(t, want[2*page+i], s)
			}
			if got.NextPageToken == nil || *got.NextPageToken == "" {
				t.Fatalf("page %d: no next_page_token with %d jobs in all", page, len(want))
			}
			if token != nil && *got.NextPageToken == *token {
				t.Fatalf("page %d: next_page_token did not move", page)
			}
			token = got.NextPageToken
		}
	})

	name := "oapi_client_export"
	forecastArn := env.Emu.ForecastArns()[0]
	var arn string
	t.Run("create forecast export job", func(t *testing.T) {
		before := env.Emu.JobCount(jobtype.ForecastExportJob)
		resp, err := c.CreateForecastExportJobWithResponse(ctx(t), client.CreateForecastExportJobRequest{
			ForecastExportJobName: name,
			ForecastArn:           forecastArn,
			Destination: client.DataDestination{S3Config: &client.S3Config{
				Path: "s3://bucket/exports/" + name + "/", RoleArn: roleArn}},
			Format: ocPtr(client.EXPORTFORMATPARQUET),
			Tags:   &[]client.Tag{{Key: "team", Value: ocPtr("planning")}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode() != http.StatusCreated || resp.JSON201 == nil {
			t.Fatalf("HTTP %d, JSON201 %v: %s", resp.StatusCode(), resp.JSON201, resp.Body)
		}
		ocStrict[client.CreateForecastExportJobResponse](t, resp.Body)
		arn = ocVal(t, "forecast_export_job_arn", resp.JSON201.ForecastExportJobArn)
		job, ok := env.Emu.Job(arn)
		if !ok || job.Name != name || job.ParentArn != forecastArn || env.Emu.JobCount(jobtype.ForecastExportJob) != before+1 {
			t.Fatalf("the emulator has no new job %s named %s from %s (%+v)", arn, name, forecastArn, job)
		}
		if resp.Headers201 == nil || ocVal(t, "Location", resp.Headers201.Location) != "/v1/forecast-export-jobs/"+url.PathEscape(arn) {
			t.Errorf("Location header = %v, want the job's URL", resp.Headers201)
		}
	})
	if arn == "" {
		t.FailNow()
	}

	t.Run("describe forecast export job", func(t *testing.T) {
		resp, err := c.DescribeForecastExportJobWithResponse(ctx(t), arn)
		if err != nil {
			t.Fatal(err)
		}
		got := ocOK(t, resp.StatusCode(), resp.Body, resp.JSON200)
		job, _ := env.Emu.Job(arn)
		if job.Status != "CREATE_PENDING" || job.Format != "PARQUET" {
			t.Fatalf("the emulator's job: status %s, format %s; want CREATE_PENDING, PARQUET", job.Status, job.Format)
		}
		ocEq(t, "forecast_export_job_arn", got.ForecastExportJobArn, job.Arn)
		ocEq(t, "forecast_export_job_name", got.ForecastExportJobName, job.Name)
		ocEq(t, "forecast_arn", got.ForecastArn, job.ParentArn)
		ocEq(t, "status", got.Status, client.JOBSTATUSCREATEPENDING)
		ocEq(t, "aws_status", got.AwsStatus, job.Status)
		ocEq(t, "format", got.Format, client.EXPORTFORMATPARQUET)
		ocEq(t, "aws_format", got.AwsFormat, job.Format)
		ocTime(t, "creation_time", got.CreationTime, job.CreationTime)
		ocTime(t, "last_modification_time", got.LastModificationTime, job.LastModificationTime)
		ocS3(t, got.Destination, job)
		if got.Message != nil && *got.Message != job.Message {
			t.Errorf("message = %q, want %q", *got.Message, job.Message)
		}

		// The ETag is a typed header; sending it back is answered 304,
		// which the client reads as a status without a body.
		if resp.Headers200 == nil || resp.Headers200.ETag == nil || *resp.Headers200.ETag == "" {
			t.Fatalf("no ETag header: %v", resp.HTTPResponse.Header)
		}
		etag := *resp.Headers200.ETag
		again, err := c.DescribeForecastExportJobWithResponse(ctx(t), arn, func(_ context.Context, r *http.Request) error {
			r.Header.Set("If-None-Match", etag)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if again.StatusCode() != http.StatusNotModified || again.JSON200 != nil || len(again.Body) != 0 {
			t.Errorf("describe with If-None-Match: HTTP %d, body %q; want 304 with no body", again.StatusCode(), again.Body)
		}
	})

	t.Run("errors", func(t *testing.T) {
		missing := strings.Replace(forecastArn, ":forecast/", ":forecast-export-job/", 1) + "/no_such_export"
		if _, ok := env.Emu.Job(missing); ok {
			t.Fatalf("%s exists", missing)
		}
		resp, err := c.DescribeForecastExportJobWithResponse(ctx(t), missing)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode() != http.StatusNotFound || resp.JSON404 == nil {
			t.Fatalf("describe %s: HTTP %d, JSON404 %v: %s", missing, resp.StatusCode(), resp.JSON404, resp.Body)
		}
		ocCheckError(t, resp.JSON404, http.StatusNotFound, client.NOTFOUND, "RESOURCE_NOT_FOUND", "type.googleapis.com/google.rpc.ErrorInfo")

		before := env.Emu.JobCount(jobtype.ForecastExportJob)
		bad, err := c.CreateForecastExportJobWithResponse(ctx(t), client.CreateForecastExportJobRequest{
			ForecastExportJobName: "1 not a name",
			ForecastArn:           forecastArn,
			Destination: client.DataDestination{S3Config: &client.S3Config{
				Path: "s3://bucket/exports/bad/", RoleArn: roleArn}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if bad.StatusCode() != http.StatusBadRequest || bad.JSON400 == nil {
			t.Fatalf("create with a bad name: HTTP %d, JSON400 %v: %s", bad.StatusCode(), bad.JSON400, bad.Body)
		}
		ocCheckError(t, bad.JSON400, http.StatusBadRequest, client.INVALIDARGUMENT, "INVALID_ARGUMENT",
			"type.googleapis.com/google.rpc.ErrorInfo", "type.googleapis.com/google.rpc.BadRequest")
		if !strings.Contains(bad.JSON400.Error.Message, "forecast_export_job_name") {
			t.Errorf("message %q does not name forecast_export_job_name", bad.JSON400.Error.Message)
		}
		if n := env.Emu.JobCount(jobtype.ForecastExportJob); n != before {
			t.Errorf("the emulator has %d forecast export jobs after a refused create, want %d", n, before)
		}
	})

	t.Run("tags", func(t *testing.T) {
		resp, err := c.TagResourceWithResponse(ctx(t), arn, client.TagResourceBody{Tags: []client.Tag{
			{Key: "cost_center", Value: ocPtr("cc-42")},
			{Key: "team", Value: ocPtr("forecasting")},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if got := ocOK(t, resp.StatusCode(), resp.Body, resp.JSON200); len(*got) != 0 {
			t.Errorf("TagResource answered %v, want {}", *got)
		}
		want := map[string]string{"cost_center": "cc-42", "team": "forecasting"}
		if job, _ := env.Emu.Job(arn); !maps.Equal(job.Tags, want) {
			t.Fatalf("the emulator's tags = %v, want %v", job.Tags, want)
		}

		list, err := c.ListTagsForResourceWithResponse(ctx(t), arn)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, tag := range ocOK(t, list.StatusCode(), list.Body, list.JSON200).Tags {
			got[tag.Key] = ocVal(t, "value", tag.Value)
		}
		if job, _ := env.Emu.Job(arn); !maps.Equal(got, job.Tags) {
			t.Errorf("ListTagsForResource = %v, the emulator has %v", got, job.Tags)
		}
	})
}

// ocOK checks a 200 whose body the client decoded into its typed field,
// and that the body has no member the generated type lacks.
func ocOK[T any](t *testing.T, status int, body []byte, typed *T) *T {
	t.Helper()
	if status != http.StatusOK || typed == nil {
		t.Fatalf("HTTP %d, typed body %v: %s", status, typed, body)
	}
	ocStrict[T](t, body)
	return typed
}

// ocStrict decodes body into the generated type T refusing unknown
// members: the generated types must cover every member the gateway sends
// (the document says additionalProperties: false), or a client would drop
// data without a word.
func ocStrict[T any](t *testing.T, body []byte) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var v T
	if err := dec.Decode(&v); err != nil {
		t.Errorf("body has members the generated %T lacks: %v: %s", v, err, body)
	}
}

// ocCheckImportSummary compares a listed dataset import job with the
// emulator's.
func ocCheckImportSummary(t *testing.T, job emulator.JobInfo, s client.DatasetImportJobSummary) {
	t.Helper()
	ocEq(t, "dataset_import_job_arn", s.DatasetImportJobArn, job.Arn)
	ocEq(t, "dataset_import_job_name", s.DatasetImportJobName, job.Name)
	ocEq(t, "status", s.Status, client.JobStatus("JOB_STATUS_"+job.Status))
	if !s.Status.Valid() {
		t.Errorf("%s: status %q is not a member of the enum", job.Arn, *s.Status)
	}
	ocEq(t, "aws_status", s.AwsStatus, job.Status)
	ocEq(t, "import_mode", s.ImportMode, client.ImportMode("IMPORT_MODE_"+job.ImportMode))
	ocEq(t, "aws_import_mode", s.AwsImportMode, job.ImportMode)
	ocTime(t, "creation_time", s.CreationTime, job.CreationTime)
	ocTime(t, "last_modification_time", s.LastModificationTime, job.LastModificationTime)
	var dst *client.DataDestination
	if s.DataSource != nil {
		dst = &client.DataDestination{S3Config: s.DataSource.S3Config}
	}
	ocS3(t, dst, job)
	if got := ocDeref(s.Message); got != job.Message {
		t.Errorf("%s: message = %q, want %q", job.Arn, got, job.Message)
	}
}

// ocS3 compares a job's S3 location (data source or destination).
func ocS3(t *testing.T, d *client.DataDestination, job emulator.JobInfo) {
	t.Helper()
	if d == nil || d.S3Config == nil {
		t.Errorf("%s: no s3_config", job.Arn)
		return
	}
	if d.S3Config.Path != job.S3Path || d.S3Config.RoleArn != job.RoleArn {
		t.Errorf("%s: s3_config %q %q, want %q %q", job.Arn, d.S3Config.Path, d.S3Config.RoleArn, job.S3Path, job.RoleArn)
	}
	if got := ocDeref(d.S3Config.KmsKeyArn); got != job.KMSKeyArn {
		t.Errorf("%s: s3_config.kms_key_arn = %q, want %q", job.Arn, got, job.KMSKeyArn)
	}
}

// ocCheckError checks a typed AIP-193 body: code, status and the @type of
// each detail.
func ocCheckError(t *testing.T, e *client.Error, code int32, status client.ErrorBodyStatus, reason string, detailTypes ...string) {
	t.Helper()
	if e.Error.Code != code || e.Error.Status != status || !e.Error.Status.Valid() || e.Error.Message == "" {
		t.Errorf("error = {code %d, status %q, message %q}, want code %d, status %s and a message",
			e.Error.Code, e.Error.Status, e.Error.Message, code, status)
	}
	var types []string
	gotReason := ""
	if e.Error.Details != nil {
		for _, d := range *e.Error.Details {
			types = append(types, d.Type)
			if d.Reason != nil {
				gotReason = *d.Reason // the typed ErrorInfo reason clients switch on
			}
		}
	}
	if gotReason != reason {
		t.Errorf("ErrorInfo reason read through the typed client = %q, want %q", gotReason, reason)
	}
	for _, want := range detailTypes {
		if !slices.Contains(types, want) {
			t.Errorf("details[].@type = %v, want %s among them", types, want)
		}
	}
}

func ocEq[T comparable](t *testing.T, field string, got *T, want T) {
	t.Helper()
	if got == nil {
		t.Errorf("%s missing, want %v", field, want)
	} else if *got != want {
		t.Errorf("%s = %v, want %v", field, *got, want)
	}
}

func ocTime(t *testing.T, field string, got *time.Time, want time.Time) {
	t.Helper()
	if got == nil || want.IsZero() {
		t.Errorf("%s = %v, want %v (non-zero)", field, got, want)
	} else if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", field, *got, want)
	}
}

func ocVal[T any](t *testing.T, field string, p *T) T {
	t.Helper()
	if p == nil {
		t.Fatalf("%s missing", field)
	}
	return *p
}

func ocDeref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func ocPtr[T any](v T) *T { return &v }
