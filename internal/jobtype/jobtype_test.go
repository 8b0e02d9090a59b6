package jobtype

import (
	"strings"
	"testing"
)

func TestOfArn(t *testing.T) {
	for _, tc := range []struct {
		arn  string
		want *Type
	}{
		{"arn:aws:forecast:us-east-1:123456789012:dataset-import-job/ds/j", DatasetImportJob},
		{"arn:aws:forecast:us-east-1:123456789012:forecast-export-job/f/j", ForecastExportJob},
		{"arn:aws:forecast:us-east-1:123456789012:predictor-backtest-export-job/p/j", PredictorBacktestExportJob},
		{"arn:aws:forecast:us-east-1:123456789012:explainability-export/e/x", ExplainabilityExport},
		{"arn:aws-cn:forecast:cn-north-1:123456789012:what-if-forecast-export/x", WhatIfForecastExport},
		{"arn:aws:forecast:us-east-1:123456789012:predictor/p", nil},
		{"arn:aws:forecast:us-east-1:123456789012:what-if-forecast/w", nil},
		{"dataset-import-job/ds/j", nil},
		{"", nil},
	} {
		if got := OfArn(tc.arn); got != tc.want {
			t.Errorf("OfArn(%q) = %v, want %v", tc.arn, got, tc.want)
		}
	}
}

// TestCatalogue checks the names every consumer derives from a Type.
func TestCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, jt := range All {
		for _, name := range []string{jt.Noun, jt.ArnType, jt.Collection, jt.ArnField, jt.NameField} {
			if name == "" || seen[name] {
				t.Errorf("%s: empty or repeated name %q", jt.Noun, name)
			}
			seen[name] = true
		}
		if ByArnType(jt.ArnType) != jt {
			t.Errorf("ByArnType(%q) is not %s", jt.ArnType, jt.Noun)
		}
		if jt.CreateOp() != "Create"+jt.Noun || jt.DescribeOp() != "Describe"+jt.Noun ||
			jt.DeleteOp() != "Delete"+jt.Noun || jt.ListOp() != "List"+jt.Plural {
			t.Errorf("%s: operation names %s %s %s %s", jt.Noun, jt.CreateOp(), jt.DescribeOp(), jt.DeleteOp(), jt.ListOp())
		}
		if (jt.StopMethod() != "") != jt.Stoppable {
			t.Errorf("%s: StopMethod %q, stoppable %v", jt.Noun, jt.StopMethod(), jt.Stoppable)
		}
		if jt.Collection != strings.ReplaceAll(jt.ArnType, "_", "-")+"s" {
			t.Errorf("%s: collection %s does not follow the ARN type %s", jt.Noun, jt.Collection, jt.ArnType)
		}
		if jt.ArnField != strings.ReplaceAll(jt.ArnType, "-", "_")+"_arn" {
			t.Errorf("%s: ARN field %s does not follow the ARN type %s", jt.Noun, jt.ArnField, jt.ArnType)
		}
		if (jt.Parent == Parent{}) != jt.Filter.Self {
			t.Errorf("%s: a type without a parent filters on its own ARN, and only it", jt.Noun)
		}
	}
	if len(All) != 5 || !WhatIfForecastExport.LongArn || WhatIfForecastExport.Stoppable {
		t.Errorf("catalogue: %d types; what-if export LongArn %v, stoppable %v", len(All), WhatIfForecastExport.LongArn, WhatIfForecastExport.Stoppable)
	}
}

func TestTerminal(t *testing.T) {
	for _, s := range TerminalStatuses {
		if !Terminal(s) {
			t.Errorf("%s is not terminal", s)
		}
	}
	for _, s := range []string{"CREATE_PENDING", "CREATE_IN_PROGRESS", "CREATE_STOPPING", "DELETE_PENDING", "DELETE_IN_PROGRESS", "UPDATE_IN_PROGRESS", ""} {
		if Terminal(s) {
			t.Errorf("%s is terminal", s)
		}
	}
}
