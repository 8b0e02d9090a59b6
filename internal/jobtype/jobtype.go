// Package jobtype is the catalogue of the Amazon Forecast job types the
// project serves: one value per type with its AWS operation names, ARN
// resource type, parent, filter keys and whether StopResource accepts it.
// The gateway (server/, the REST routes), the emulator and the tests all read
// this one list, so a type's names are written down once.
package jobtype

import "strings"

// Type is one Forecast job type.
type Type struct {
	// Noun is the AWS shape noun, "DatasetImportJob"; the operations are
	// Create<Noun>, Describe<Noun>, Delete<Noun> and List<Plural>.
	Noun   string
	Plural string
	// Title is the noun in prose, "dataset import job".
	Title string
	// ArnType is the ARN resource type, "dataset-import-job":
	// arn:aws:forecast:<region>:<account>:<ArnType>/<...>.
	ArnType string
	// Collection is the REST collection, "dataset-import-jobs".
	Collection string
	// ArnField is the proto field (and JSON member) holding the job's ARN,
	// "dataset_import_job_arn"; NameField holds its name.
	ArnField, NameField string
	// ArnMember and NameMember are the AWS members of the same, as they
	// appear in requests and responses ("DatasetImportJobArn").
	ArnMember, NameMember string
	// Parent is what the job is made from and named under; its zero value
	// means none (a what-if forecast export names several forecasts).
	Parent Parent
	// Filter is the List operation's non-status filter key.
	Filter FilterKey
	// Stoppable says whether AWS StopResource accepts this type.
	Stoppable bool
	// LongArn says AWS models the job's ARN as LongArn (up to 300
	// characters) rather than Arn (up to 256).
	LongArn bool
}

// Parent is the resource a job is created from.
type Parent struct {
	ArnType string // "dataset"
	Field   string // proto field of its ARN in the Create request, "dataset_arn"
	Member  string // AWS member, "DatasetArn"
}

// FilterKey is a List filter key other than Status.
type FilterKey struct {
	AWSKey string // "DatasetArn"
	Field  string // name in the gateway's AIP-160 filter, "dataset_arn"
	// ArnType is the resource type its value must be an ARN of.
	ArnType string
	// Self is true when the key matches the job's own ARN rather than its
	// parent's (ListWhatIfForecastExports filters on WhatIfForecastExportArn).
	Self bool
}

// StatusKey is the AWS filter key every List operation accepts.
const StatusKey = "Status"

// The five job types.
var (
	DatasetImportJob = &Type{
		Noun: "DatasetImportJob", Plural: "DatasetImportJobs", Title: "dataset import job",
		ArnType: "dataset-import-job", Collection: "dataset-import-jobs",
		ArnField: "dataset_import_job_arn", NameField: "dataset_import_job_name",
		ArnMember: "DatasetImportJobArn", NameMember: "DatasetImportJobName",
		Parent:    Parent{ArnType: "dataset", Field: "dataset_arn", Member: "DatasetArn"},
		Filter:    FilterKey{AWSKey: "DatasetArn", Field: "dataset_arn", ArnType: "dataset"},
		Stoppable: true,
	}
	ForecastExportJob = &Type{
		Noun: "ForecastExportJob", Plural: "ForecastExportJobs", Title: "forecast export job",
		ArnType: "forecast-export-job", Collection: "forecast-export-jobs",
		ArnField: "forecast_export_job_arn", NameField: "forecast_export_job_name",
		ArnMember: "ForecastExportJobArn", NameMember: "ForecastExportJobName",
		Parent:    Parent{ArnType: "forecast", Field: "forecast_arn", Member: "ForecastArn"},
		Filter:    FilterKey{AWSKey: "ForecastArn", Field: "forecast_arn", ArnType: "forecast"},
		Stoppable: true,
	}
	PredictorBacktestExportJob = &Type{
		Noun: "PredictorBacktestExportJob", Plural: "PredictorBacktestExportJobs", Title: "predictor backtest export job",
		ArnType: "predictor-backtest-export-job", Collection: "predictor-backtest-export-jobs",
		ArnField: "predictor_backtest_export_job_arn", NameField: "predictor_backtest_export_job_name",
		ArnMember: "PredictorBacktestExportJobArn", NameMember: "PredictorBacktestExportJobName",
		Parent:    Parent{ArnType: "predictor", Field: "predictor_arn", Member: "PredictorArn"},
		Filter:    FilterKey{AWSKey: "PredictorArn", Field: "predictor_arn", ArnType: "predictor"},
		Stoppable: true,
	}
	// ExplainabilityExport's List filter key is AWS's ResourceArn: the ARN
	// of the exported Explainability.
	ExplainabilityExport = &Type{
		Noun: "ExplainabilityExport", Plural: "ExplainabilityExports", Title: "Explainability export",
		ArnType: "explainability-export", Collection: "explainability-exports",
		ArnField: "explainability_export_arn", NameField: "explainability_export_name",
		ArnMember: "ExplainabilityExportArn", NameMember: "ExplainabilityExportName",
		Parent:    Parent{ArnType: "explainability", Field: "explainability_arn", Member: "ExplainabilityArn"},
		Filter:    FilterKey{AWSKey: "ResourceArn", Field: "resource_arn", ArnType: "explainability"},
		Stoppable: true,
	}
	// WhatIfForecastExport exports several what-if forecasts, so it has no
	// single parent, and AWS's StopResource does not accept it.
	WhatIfForecastExport = &Type{
		Noun: "WhatIfForecastExport", Plural: "WhatIfForecastExports", Title: "what-if forecast export",
		ArnType: "what-if-forecast-export", Collection: "what-if-forecast-exports",
		ArnField: "what_if_forecast_export_arn", NameField: "what_if_forecast_export_name",
		ArnMember: "WhatIfForecastExportArn", NameMember: "WhatIfForecastExportName",
		Filter:  FilterKey{AWSKey: "WhatIfForecastExportArn", Field: "what_if_forecast_export_arn", ArnType: "what-if-forecast-export", Self: true},
		LongArn: true,
	}
)

// WhatIfForecastArnType is the ARN resource type of the what-if forecasts a
// what-if forecast export reads.
const WhatIfForecastArnType = "what-if-forecast"

// All lists every type, in the order the API documents them.
var All = []*Type{DatasetImportJob, ForecastExportJob, PredictorBacktestExportJob, ExplainabilityExport, WhatIfForecastExport}

// CreateOp is the AWS operation that creates a job of t.
func (t *Type) CreateOp() string { return "Create" + t.Noun }

// DescribeOp is the AWS operation that describes one job of t.
func (t *Type) DescribeOp() string { return "Describe" + t.Noun }

// ListOp is the AWS operation that lists jobs of t.
func (t *Type) ListOp() string { return "List" + t.Plural }

// DeleteOp is the AWS operation that deletes a job of t.
func (t *Type) DeleteOp() string { return "Delete" + t.Noun }

// StopMethod is the gateway RPC that stops a job of t (AWS StopResource);
// "" when t is not stoppable.
func (t *Type) StopMethod() string {
	if !t.Stoppable {
		return ""
	}
	return "Stop" + t.Noun
}

// Terminal reports whether a job in AWS status s will not change by
// itself any more: ACTIVE, CREATE_FAILED, CREATE_STOPPED or DELETE_FAILED.
// (A delete of an ACTIVE job still changes it, but only on request.)
func Terminal(status string) bool {
	switch status {
	case "ACTIVE", "CREATE_FAILED", "CREATE_STOPPED", "DELETE_FAILED":
		return true
	}
	return false
}

// TerminalStatuses are the statuses Terminal accepts.
var TerminalStatuses = []string{"ACTIVE", "CREATE_FAILED", "CREATE_STOPPED", "DELETE_FAILED"}

// Operations that are not per type.
const (
	OpStopResource        = "StopResource"
	OpTagResource         = "TagResource"
	OpUntagResource       = "UntagResource"
	OpListTagsForResource = "ListTagsForResource"
)

// ByArnType returns the type whose ARN resource type is arnType, or nil.
func ByArnType(arnType string) *Type {
	for _, t := range All {
		if t.ArnType == arnType {
			return t
		}
	}
	return nil
}

// OfArn returns the type of a job ARN (by its resource-type segment), or
// nil when arn is not the ARN of a job of any type.
func OfArn(arn string) *Type {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return nil
	}
	typ, _, _ := strings.Cut(parts[5], "/")
	return ByArnType(typ)
}

// ArnTypes lists the ARN resource types of every job type, for messages.
func ArnTypes() []string {
	out := make([]string, len(All))
	for i, t := range All {
		out[i] = t.ArnType
	}
	return out
}
