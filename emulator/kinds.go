package emulator

import (
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"time"

	"github.com/forecastgw/forecast-gateway/internal/awsrules"
	"github.com/forecastgw/forecast-gateway/internal/jobtype"
)

// kind is one job type's row: the little that differs between types. The
// store, indexes, lifecycle, List/Describe/Delete/Stop/tags, pagination and
// error rendering are generic and read these rows.
//
// What every row shares, and the generic code handles from the
// jobtype.Type: the ARN and name members, the parent ARN member (when the
// type has one), the S3 location member, Format, Tags, Status, Message and
// the two timestamps.
type kind struct {
	t   *jobtype.Type
	idx int // position in kinds and store.tables

	// loc is the S3 location member: "DataSource" (imports) or
	// "Destination" (exports).
	loc string
	// refType is the ARN resource type of what a job is made from: its
	// parent's, or jobtype.WhatIfForecastArnType for what-if forecast
	// exports (which name several).
	refType string
	// eta: Describe has EstimatedTimeRemainingInMinutes (while the job is
	// CREATE_PENDING or CREATE_IN_PROGRESS).
	eta bool

	// decode reads and validates the type's own Create members into j.
	decode func(m members, v *validation, j *job) *apiError
	// check applies cross-member rules once every member is valid.
	check func(j *job) *apiError
	// describe and summary write the type's own Describe and Summary
	// output members.
	describe func(w *jsonWriter, j *job)
	summary  func(w *jsonWriter, j *job)

	fixture fixtureSpec
}

// fixtureSpec names a type's fixtures and reads their sizes from Options.
type fixtureSpec struct {
	parentWord string // parent names are <domain>_<parentWord>_NN
	jobPrefix  string // job names are <jobPrefix>_NNN
	// sizes returns the number of parents and of jobs per parent (for
	// what-if forecast exports: of jobs in all, each naming 1-3 parents).
	sizes func(o *Options) (parents, jobs int)
}

var kinds = []*kind{
	{
		t: jobtype.DatasetImportJob, loc: "DataSource", eta: true,
		decode: decodeImport, check: checkImport, describe: describeImport, summary: summaryImport,
		fixture: fixtureSpec{"dataset", "dataset_import", func(o *Options) (int, int) { return o.Datasets, o.ImportJobsPerDataset }},
	},
	{
		t: jobtype.ForecastExportJob, loc: "Destination",
		fixture: fixtureSpec{"forecast", "forecast_export", func(o *Options) (int, int) { return o.Forecasts, o.ExportJobsPerForecast }},
	},
	{
		t: jobtype.PredictorBacktestExportJob, loc: "Destination",
		fixture: fixtureSpec{"predictor", "backtest_export", func(o *Options) (int, int) { return o.Predictors, o.BacktestJobsPerPredictor }},
	},
	{
		t: jobtype.ExplainabilityExport, loc: "Destination",
		fixture: fixtureSpec{"explainability", "explainability_export", func(o *Options) (int, int) { return o.Explainabilities, o.ExportsPerExplainability }},
	},
	{
		t: jobtype.WhatIfForecastExport, loc: "Destination", refType: jobtype.WhatIfForecastArnType, eta: true,
		decode: decodeWhatIf, describe: writeWhatIfArns, summary: writeWhatIfArns,
		fixture: fixtureSpec{"what_if_forecast", "what_if_export", func(o *Options) (int, int) { return o.WhatIfForecasts, o.WhatIfExports }},
	},
}

var kindOf = map[*jobtype.Type]*kind{}

func init() {
	if len(kinds) != len(jobtype.All) {
		panic("emulator: kinds does not cover jobtype.All")
	}
	for i, k := range kinds {
		k.idx = i
		if k.refType == "" {
			k.refType = k.t.Parent.ArnType
		}
		kindOf[k.t] = k
	}
}

// arnCheck validates the job's own ARN member.
func (k *kind) arnCheck(s string) *awsrules.Violation {
	if k.t.LongArn {
		return awsrules.CheckLongArn(s)
	}
	return awsrules.CheckForecastArn(s)
}

// writeLocation writes the job's DataSource or Destination.
func (k *kind) writeLocation(w *jsonWriter, j *job) {
	w.object(k.loc)
	w.object("S3Config")
	w.str("Path", j.s3Path)
	w.str("RoleArn", j.roleArn)
	w.optStr("KMSKeyArn", j.kmsKeyArn)
	w.closeObject()
	w.closeObject()
}

// writeDescribe renders the Describe<Noun> output.
func (k *kind) writeDescribe(j *job, now time.Time) []byte {
	w := jsonWriter{b: make([]byte, 0, 1024)}
	w.begin()
	w.str(k.t.ArnMember, j.arn)
	w.str(k.t.NameMember, j.name)
	if k.t.Parent.Member != "" {
		w.str(k.t.Parent.Member, j.parent)
	}
	k.writeLocation(&w, j)
	w.str("Status", j.status)
	w.optStr("Message", j.message)
	w.epoch("CreationTime", j.created)
	w.epoch("LastModificationTime", j.lastMod(now))
	w.optStr("Format", j.format)
	if k.eta && running(j.status) {
		w.int("EstimatedTimeRemainingInMinutes", j.eta(now))
	}
	if k.describe != nil {
		k.describe(&w, j)
	}
	return w.end()
}

// writeSummary renders one element of the List<Plural> output.
func (k *kind) writeSummary(w *jsonWriter, j *job, now time.Time) {
	w.element()
	w.str(k.t.ArnMember, j.arn)
	w.str(k.t.NameMember, j.name)
	k.writeLocation(w, j)
	w.str("Status", j.status)
	w.optStr("Message", j.message)
	w.epoch("CreationTime", j.created)
	w.epoch("LastModificationTime", j.lastMod(now))
	if k.summary != nil {
		k.summary(w, j)
	}
	w.closeObject()
}

// --- Dataset import jobs -------------------------------------------------

func decodeImport(m members, v *validation, j *job) *apiError {
	var tz, tsf, geo, mode *string
	var e *apiError
	if tz, e = m.str("TimeZone"); e != nil {
		return e
	}
	if tsf, e = m.str("TimestampFormat"); e != nil {
		return e
	}
	if geo, e = m.str("GeolocationFormat"); e != nil {
		return e
	}
	if mode, e = m.str("ImportMode"); e != nil {
		return e
	}
	if j.useGeo, e = m.boolean("UseGeolocationForTimeZone"); e != nil {
		return e
	}
	v.rule("timestampFormat", tsf, false, awsrules.CheckTimestampFormat)
	v.rule("timeZone", tz, false, awsrules.CheckTimeZone)
	v.rule("geolocationFormat", geo, false, awsrules.CheckGeolocationFormat)
	v.rule("importMode", mode, false, awsrules.CheckImportMode)
	j.timeZone, j.timestampFormat, j.geoFormat = deref(tz), deref(tsf), deref(geo)
	j.importMode = deref(mode)
	if j.importMode == "" {
		j.importMode = awsrules.ImportModes[0]
	}
	return nil
}

func checkImport(j *job) *apiError {
	if viol := awsrules.CheckGeolocationTimeZone(j.timeZone, j.useGeo, j.geoFormat); viol != nil {
		return newErr(ErrInvalidInput, "%s.", viol.Message)
	}
	return nil
}

func summaryImport(w *jsonWriter, j *job) { w.optStr("ImportMode", j.importMode) }

func describeImport(w *jsonWriter, j *job) {
	w.optStr("ImportMode", j.importMode)
	w.optStr("TimeZone", j.timeZone)
	w.optStr("TimestampFormat", j.timestampFormat)
	w.optStr("GeolocationFormat", j.geoFormat)
	w.bool("UseGeolocationForTimeZone", j.useGeo)
	if j.activated {
		st := statsFor(j.arn)
		w.float("DataSize", st.dataSize)
		w.object("FieldStatistics")
		for _, f := range st.fields {
			f.write(w)
		}
		w.closeObject()
	}
}

// fieldStats is one entry of FieldStatistics. Optional members are
// omitted when zero-valued strings or when has* is false.
type fieldStats struct {
	name                         string
	count, distinct, nulls, nans int64
	min, max                     string
	hasMoments                   bool
	avg, stddev                  float64
}

func (f *fieldStats) write(w *jsonWriter) {
	w.object(f.name)
	w.int("Count", f.count)
	w.int("CountDistinct", f.distinct)
	w.int("CountNull", f.nulls)
	w.int("CountNan", f.nans)
	w.optStr("Min", f.min)
	w.optStr("Max", f.max)
	if f.hasMoments {
		w.float("Avg", f.avg)
		w.float("Stddev", f.stddev)
	}
	w.int("CountLong", f.count)
	w.int("CountDistinctLong", f.distinct)
	w.int("CountNullLong", f.nulls)
	w.int("CountNanLong", f.nans)
	w.closeObject()
}

type importStats struct {
	dataSize float64 // GB
	fields   []fieldStats
}

// statsFor derives an import's DataSize and FieldStatistics from its ARN:
// plausible and stable, so repeated Describes agree.
func statsFor(arn string) importStats {
	h := fnv.New64a()
	h.Write([]byte(arn))
	x := h.Sum64()
	pick := func(lo, n uint64) int64 {
		v := lo + x%n
		x = x*6364136223846793005 + 1442695040888963407
		return int64(v)
	}
	rows := pick(20_000, 2_000_000)
	items := pick(50, 5_000)
	days := pick(90, 1_000)
	nulls := pick(0, uint64(rows)/200+1)
	nans := pick(0, 20)
	mean := float64(pick(5, 5_000)) + float64(pick(0, 100))/100
	first := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(pick(0, 700)))
	return importStats{
		dataSize: math.Max(0.0001, math.Round(float64(rows)*42/1e9*1e4)/1e4),
		fields: []fieldStats{
			{name: "item_id", count: rows, distinct: items},
			{name: "timestamp", count: rows, distinct: days, min: first.Format("2006-01-02 15:04:05"),
				max: first.AddDate(0, 0, int(days)-1).Format("2006-01-02 15:04:05")},
			{name: "target_value", count: rows - nulls, distinct: min(rows, pick(100, 100_000)), nulls: nulls, nans: nans,
				min: "0.0", max: fmt.Sprintf("%.1f", mean*float64(pick(3, 10))), hasMoments: true,
				avg: mean, stddev: math.Round(mean*0.37*100) / 100},
		},
	}
}

// --- What-if forecast exports --------------------------------------------

func decodeWhatIf(m members, v *validation, j *job) *apiError {
	list, present, e := m.strList("WhatIfForecastArns")
	if e != nil {
		return e
	}
	const path = "whatIfForecastArns"
	if !present {
		v.null(path)
		return nil
	}
	if viol := awsrules.CheckLongArnCount(len(list)); viol != nil {
		vals := make([]string, len(list))
		for i, p := range list {
			vals[i] = deref(p)
		}
		v.fail(path, "["+strings.Join(vals, ", ")+"]", viol.Message)
	}
	for i, p := range list {
		v.rule(fmt.Sprintf("%s.%d.member", path, i+1), p, true, awsrules.CheckLongArn)
		j.whatIf = append(j.whatIf, deref(p))
	}
	return nil
}

func writeWhatIfArns(w *jsonWriter, j *job) { w.strings("WhatIfForecastArns", j.whatIf) }

// --- Documented deterministic failures ------------------------------------

const (
	cannotAssume   = "CannotAssume"
	cannotDelete   = "CannotDelete"
	stoppedMessage = "The job was stopped by a StopResource request."
)

// roleNameContains reports whether the name of an IAM role ARN (the part
// after the last '/') contains s.
func roleNameContains(roleArn, s string) bool {
	return strings.Contains(roleArn[strings.LastIndexByte(roleArn, '/')+1:], s)
}

func assumeRoleMessage(roleArn string) string {
	return fmt.Sprintf("AccessDeniedException: Amazon Forecast could not assume the IAM role %s. Make sure the role exists and trusts forecast.amazonaws.com.", roleArn)
}

func deleteFailedMessage(j *job) string {
	return fmt.Sprintf("AccessDeniedException: Amazon Forecast could not delete the %s: the IAM role %s is not allowed to delete the objects under %s. Grant the role s3:DeleteObject on the bucket.",
		j.k.t.Title, j.roleArn, j.s3Path)
}
