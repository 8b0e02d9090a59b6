package ratelimit

import (
	"strings"
	"testing"
)

func TestParseLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Limit
		err  string // substring of the error; "" for none
	}{
		{in: "off", want: Limit{}},
		{in: "20/s,burst=40,concurrency=16", want: Limit{Rate: 20, Burst: 40, Concurrency: 16}},
		{in: " 5/s ", want: Limit{Rate: 5, Burst: 10}},
		{in: "0.2/s", want: Limit{Rate: 0.2, Burst: 1}},
		{in: "concurrency=2", want: Limit{Concurrency: 2}},
		{in: "", err: "empty limit"},
		{in: "20", err: "not a rate"},
		{in: "-1/s", err: "not a rate"},
		{in: "NaN/s", err: "not a rate"},
		{in: "20/s,burst=0", err: "at least 1"},
		{in: "20/s,burst=x", err: "whole number"},
		{in: "burst=4", err: "burst needs a rate"},
		{in: "20/s,bust=4", err: `unknown part "bust"`},
		{in: "20/s,20/s", err: "given twice"},
		{in: "concurrency=1,concurrency=2", err: "given twice"},
	} {
		got, err := ParseLimit(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseLimit(%q) error = %v, want one containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseLimit(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		// String is ParseLimit's inverse.
		if back, err := ParseLimit(got.String()); err != nil || back != got {
			t.Errorf("ParseLimit(%q.String() = %q) = %+v, %v", tc.in, got.String(), back, err)
		}
	}
}
