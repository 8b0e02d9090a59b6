package server

// Validation before any upstream call: every bad input is INVALID_ARGUMENT
// with reason INVALID_ARGUMENT and a BadRequest naming exactly the broken
// fields and rules, all at once, and the strict fake upstream fails the
// test if the gateway called AWS anyway. Valid inputs reach AWS exactly
// once. The Create rows are written once for every type: $name, $parent
// and $loc stand for the type's fields, and a row naming a field a type
// does not have (time_zone, what_if_forecast_arns, a parent) does not apply
// to it.

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/forecastgw/forecast-gateway/internal/jobtype"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// fieldOK says whether the request has the field the path starts with.
func fieldOK(m proto.Message, path string) bool {
	first := path
	if i := strings.IndexAny(first, ".["); i >= 0 {
		first = first[:i]
	}
	return first != "" && m.ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(first)) != nil
}

// cv is a value computed for a type.
type cv func(c jobCase) any

// createRow is a Create request of every type: the first full request
// (or an empty or minimal one), changed by set and mut.
type createRow struct {
	name    string
	base    string // "" full, "minimal", "empty"
	set     map[string]any
	mut     func(proto.Message)
	want    []viol
	wantAll bool // the row must apply to every type
}

func longArn(arnType string, n int) string {
	a := tArn(arnType, "x")
	return a + strings.Repeat("x", n-len(a))
}

func distinctWhatIfs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = tWhatIf(i)
	}
	return out
}

var createRows = []createRow{
	{name: "full", wantAll: true},
	{name: "minimal", base: "minimal", wantAll: true},
	{name: "every violation of an empty request", base: "empty", wantAll: true, want: []viol{
		{"$name", "required"}, {"$parent", "required"}, {"$loc", "required"}, {"what_if_forecast_arns", "count"},
	}},

	// Names.
	{name: "name empty", set: map[string]any{"$name": ""}, want: []viol{{"$name", "required"}}},
	{name: "name leading digit", set: map[string]any{"$name": "1job"}, want: []viol{{"$name", "pattern"}}},
	{name: "name leading underscore", set: map[string]any{"$name": "_job"}, want: []viol{{"$name", "pattern"}}},
	{name: "name with a dash", set: map[string]any{"$name": "my-job"}, want: []viol{{"$name", "pattern"}}},
	{name: "name not ASCII", set: map[string]any{"$name": "jöb"}, want: []viol{{"$name", "pattern"}}},
	{name: "name 64 chars", set: map[string]any{"$name": strings.Repeat("a", 64)}, want: []viol{{"$name", "length"}}},
	{name: "name 63 chars", set: map[string]any{"$name": strings.Repeat("a", 63)}, wantAll: true},

	// Parents.
	{name: "parent empty", set: map[string]any{"$parent": ""}, want: []viol{{"$parent", "required"}}},
	{name: "parent not an ARN", set: map[string]any{"$parent": "parent_1"}, want: []viol{{"$parent", "pattern"}}},
	{name: "parent not a Forecast ARN", set: map[string]any{"$parent": "arn:aws:s3:::bucket/x"}, want: []viol{{"$parent", "pattern"}}},
	{name: "parent 257 chars", set: map[string]any{"$parent": cv(func(c jobCase) any { return longArn(c.t.Parent.ArnType, 257) })}, want: []viol{{"$parent", "length"}}},
	{name: "parent of another type", set: map[string]any{"$parent": tArn("dataset-group", "g")}, want: []viol{{"$parent", "resource_type"}}},
	{name: "parent is the job type itself", set: map[string]any{"$parent": cv(func(c jobCase) any { return c.jobArn() })}, want: []viol{{"$parent", "resource_type"}}},
	{name: "parent in another region", set: map[string]any{"$parent": cv(func(c jobCase) any { return tArnIn(tOtherRegion, c.t.Parent.ArnType, "p") })}, want: []viol{{"$parent", "region"}}},
	{name: "parent without a region", set: map[string]any{"$parent": cv(func(c jobCase) any { return tArnIn("", c.t.Parent.ArnType, "p") })}, want: []viol{{"$parent", "region"}}},

	// S3 locations.
	{name: "location missing", set: map[string]any{"$loc": nil}, want: []viol{{"$loc", "required"}}},
	{name: "s3_config missing", set: map[string]any{"$loc.s3_config": nil}, want: []viol{{"$loc.s3_config", "required"}}},
	{name: "s3_config empty", set: map[string]any{"$loc.s3_config.path": "", "$loc.s3_config.role_arn": "", "$loc.s3_config.kms_key_arn": ""},
		want: []viol{{"$loc.s3_config.path", "required"}, {"$loc.s3_config.role_arn", "required"}}},
	{name: "path too short", set: map[string]any{"$loc.s3_config.path": "s3://a"}, want: []viol{{"$loc.s3_config.path", "length"}}},
	{name: "path too long", set: map[string]any{"$loc.s3_config.path": "s3://b/" + strings.Repeat("p", 4090)}, want: []viol{{"$loc.s3_config.path", "length"}}},
	{name: "path 4096 chars", set: map[string]any{"$loc.s3_config.path": "s3://b/" + strings.Repeat("p", 4089)}},
	{name: "path not s3", set: map[string]any{"$loc.s3_config.path": "https://bucket/x"}, want: []viol{{"$loc.s3_config.path", "pattern"}}},
	{name: "path upper-case scheme", set: map[string]any{"$loc.s3_config.path": "S3://bucket/x"}, want: []viol{{"$loc.s3_config.path", "pattern"}}},
	{name: "role not a role", set: map[string]any{"$loc.s3_config.role_arn": "arn:aws:iam::123456789012:user/u"}, want: []viol{{"$loc.s3_config.role_arn", "pattern"}}},
	{name: "role short account", set: map[string]any{"$loc.s3_config.role_arn": "arn:aws:iam::12345:role/R"}, want: []viol{{"$loc.s3_config.role_arn", "pattern"}}},
	{name: "role a Forecast ARN", set: map[string]any{"$loc.s3_config.role_arn": tArn("predictor", "p")}, want: []viol{{"$loc.s3_config.role_arn", "pattern"}}},
	{name: "role 257 chars", set: map[string]any{"$loc.s3_config.role_arn": tRole + strings.Repeat("r", 257-len(tRole))}, want: []viol{{"$loc.s3_config.role_arn", "length"}}},
	{name: "role of another account", set: map[string]any{"$loc.s3_config.role_arn": "arn:aws:iam::999999999999:role/Other"}},
	{name: "kms alias", set: map[string]any{"$loc.s3_config.kms_key_arn": "arn:aws:kms:us-east-1:123456789012:alias/k"}, want: []viol{{"$loc.s3_config.kms_key_arn", "pattern"}}},
	{name: "kms not an ARN", set: map[string]any{"$loc.s3_config.kms_key_arn": "key"}, want: []viol{{"$loc.s3_config.kms_key_arn", "pattern"}}},
	{name: "kms 257 chars", set: map[string]any{"$loc.s3_config.kms_key_arn": tKMS + strings.Repeat("k", 257-len(tKMS))}, want: []viol{{"$loc.s3_config.kms_key_arn", "length"}}},

	// Enums.
	{name: "format 3", set: map[string]any{"format": 3}, want: []viol{{"format", "enum"}}, wantAll: true},
	{name: "format 99", set: map[string]any{"format": 99}, want: []viol{{"format", "enum"}}, wantAll: true},
	{name: "format -1", set: map[string]any{"format": -1}, want: []viol{{"format", "enum"}}, wantAll: true},
	{name: "format unspecified", set: map[string]any{"format": 0}, wantAll: true},
	{name: "import_mode -3", set: map[string]any{"import_mode": -3}, want: []viol{{"import_mode", "enum"}}},
	{name: "import_mode 3", set: map[string]any{"import_mode": 3}, want: []viol{{"import_mode", "enum"}}},
	{name: "geolocation_format 7", set: map[string]any{"geolocation_format": 7}, want: []viol{{"geolocation_format", "enum"}}},

	// Tags.
	{name: "50 tags", set: map[string]any{"tags": tNTags(50)}, wantAll: true},
	{name: "51 tags", set: map[string]any{"tags": tNTags(51)}, want: []viol{{"tags", "count"}}, wantAll: true},
	{name: "duplicate key", set: map[string]any{"tags[2].key": "env"}, want: []viol{{"tags[2].key", "unique"}}, wantAll: true},
	{name: "keys differing in case are distinct", set: map[string]any{"tags[2].key": "ENV"}, wantAll: true},
	{name: "aws: key", set: map[string]any{"tags[1].key": "aws:owner"}, want: []viol{{"tags[1].key", "reserved"}}, wantAll: true},
	{name: "AWS: key", set: map[string]any{"tags[3].key": "AWS:owner"}, want: []viol{{"tags[3].key", "reserved"}}, wantAll: true},
	{name: "aWs: key", set: map[string]any{"tags[0].key": "aWs:"}, want: []viol{{"tags[0].key", "reserved"}}, wantAll: true},
	{name: "aws: value is fine", set: map[string]any{"tags[0].value": "aws:x"}, wantAll: true},
	{name: "key empty", set: map[string]any{"tags[0].key": ""}, want: []viol{{"tags[0].key", "length"}}, wantAll: true},
	{name: "key 128 chars", set: map[string]any{"tags[0].key": strings.Repeat("k", 128)}, wantAll: true},
	{name: "key 129 chars", set: map[string]any{"tags[0].key": strings.Repeat("k", 129)}, want: []viol{{"tags[0].key", "length"}}, wantAll: true},
	{name: "value 256 chars", set: map[string]any{"tags[1].value": strings.Repeat("v", 256)}, wantAll: true},
	{name: "value 257 chars", set: map[string]any{"tags[1].value": strings.Repeat("v", 257)}, want: []viol{{"tags[1].value", "length"}}, wantAll: true},
	{name: "key bad character", set: map[string]any{"tags[2].key": "cost*center"}, want: []viol{{"tags[2].key", "pattern"}}, wantAll: true},
	{name: "value bad character", set: map[string]any{"tags[0].value": "bad!"}, want: []viol{{"tags[0].value", "pattern"}}, wantAll: true},
	{name: "nil tag", mut: func(m proto.Message) {
		reflect.ValueOf(m).Elem().FieldByName("Tags").Index(1).Set(reflect.Zero(reflect.TypeOf(&gatewayv1.Tag{})))
	}, want: []viol{{"tags[1].key", "length"}}, wantAll: true},
	{name: "51 tags with faults", mut: func(m proto.Message) {
		tags := tNTags(51)
		tags[5].Key = "k4"
		tags[7].Key = "Aws:k"
		reflect.ValueOf(m).Elem().FieldByName("Tags").Set(reflect.ValueOf(tags))
	}, want: []viol{{"tags", "count"}, {"tags[5].key", "unique"}, {"tags[7].key", "reserved"}}, wantAll: true},

	// Dataset imports: time zones.
	{name: "time_zone with a space", set: map[string]any{"time_zone": "America/Los Angeles"}, want: []viol{{"time_zone", "pattern"}}},
	{name: "time_zone 257 chars", set: map[string]any{"time_zone": strings.Repeat("z", 257)}, want: []viol{{"time_zone", "length"}}},
	{name: "timestamp_format bad character", set: map[string]any{"timestamp_format": "yyyy-MM-dd;HH"}, want: []viol{{"timestamp_format", "pattern"}}},
	{name: "timestamp_format 257 chars", set: map[string]any{"timestamp_format": strings.Repeat("y", 257)}, want: []viol{{"timestamp_format", "length"}}},
	{name: "time_zone and use_geolocation_for_time_zone", set: map[string]any{"use_geolocation_for_time_zone": true, "time_zone": "Europe/Paris", "geolocation_format": 1},
		want: []viol{{"time_zone", "conflict"}}},
	{name: "use_geolocation_for_time_zone without geolocation_format", set: map[string]any{"use_geolocation_for_time_zone": true, "time_zone": "", "geolocation_format": 0},
		want: []viol{{"geolocation_format", "required"}}},
	{name: "use_geolocation_for_time_zone with both faults", set: map[string]any{"use_geolocation_for_time_zone": true, "time_zone": "Europe/Paris", "geolocation_format": 0},
		want: []viol{{"time_zone", "conflict"}, {"geolocation_format", "required"}}},
	{name: "use_geolocation_for_time_zone with an undefined geolocation_format", set: map[string]any{"use_geolocation_for_time_zone": true, "time_zone": "", "geolocation_format": 7},
		want: []viol{{"geolocation_format", "enum"}}},
	{name: "use_geolocation_for_time_zone done right", set: map[string]any{"use_geolocation_for_time_zone": true, "time_zone": "", "geolocation_format": 2}},
	{name: "geolocation_format without use_geolocation_for_time_zone", set: map[string]any{"use_geolocation_for_time_zone": false, "time_zone": "Europe/Paris", "geolocation_format": 1}},

	// What-if forecast exports: the what-if forecasts.
	{name: "no what-if forecasts", set: map[string]any{"what_if_forecast_arns": []string{}}, want: []viol{{"what_if_forecast_arns", "count"}}},
	{name: "50 what-if forecasts", set: map[string]any{"what_if_forecast_arns": distinctWhatIfs(50)}},
	{name: "51 what-if forecasts", set: map[string]any{"what_if_forecast_arns": distinctWhatIfs(51)}, want: []viol{{"what_if_forecast_arns", "count"}}},
	{name: "what-if ARN of a forecast", set: map[string]any{"what_if_forecast_arns[1]": tArn("forecast", "f")}, want: []viol{{"what_if_forecast_arns[1]", "resource_type"}}},
	{name: "what-if ARN of a what-if export", set: map[string]any{"what_if_forecast_arns[2]": tArn("what-if-forecast-export", "w/e")}, want: []viol{{"what_if_forecast_arns[2]", "resource_type"}}},
	{name: "what-if ARN 300 chars", set: map[string]any{"what_if_forecast_arns[1]": longArn(jobtype.WhatIfForecastArnType, 300)}},
	{name: "what-if ARN 301 chars", set: map[string]any{"what_if_forecast_arns[1]": longArn(jobtype.WhatIfForecastArnType, 301)}, want: []viol{{"what_if_forecast_arns[1]", "length"}}},
	{name: "what-if ARN duplicate", set: map[string]any{"what_if_forecast_arns[1]": tWhatIf(1)}, want: []viol{{"what_if_forecast_arns[1]", "unique"}}},
	{name: "what-if ARN in another region", set: map[string]any{"what_if_forecast_arns[1]": tArnIn(tOtherRegion, "what-if-forecast", "w")}, want: []viol{{"what_if_forecast_arns[1]", "region"}}},
	{name: "what-if ARN empty", set: map[string]any{"what_if_forecast_arns[0]": ""}, want: []viol{{"what_if_forecast_arns[0]", "required"}}},
	{name: "what-if ARN malformed", set: map[string]any{"what_if_forecast_arns[0]": "wif"}, want: []viol{{"what_if_forecast_arns[0]", "pattern"}}},

	// Everything at once.
	{name: "every field wrong", set: map[string]any{
		"$name":                         "_x",
		"$parent":                       tArn("dataset-group", "g"),
		"$loc.s3_config.path":           "s3:/x",
		"$loc.s3_config.role_arn":       "role",
		"$loc.s3_config.kms_key_arn":    "key",
		"format":                        9,
		"tags[0].value":                 "bad!",
		"tags[3].key":                   "aws:x",
		"time_zone":                     "A B",
		"what_if_forecast_arns[1]":      tArn("forecast", "f"),
		"use_geolocation_for_time_zone": true,
		"geolocation_format":            0,
	}, want: []viol{
		{"$name", "pattern"}, {"$parent", "resource_type"},
		{"$loc.s3_config.path", "length"}, {"$loc.s3_config.role_arn", "pattern"}, {"$loc.s3_config.kms_key_arn", "pattern"},
		{"format", "enum"}, {"tags[0].value", "pattern"}, {"tags[3].key", "reserved"},
		{"time_zone", "pattern"}, {"time_zone", "conflict"}, {"geolocation_format", "required"},
		{"what_if_forecast_arns[1]", "resource_type"},
	}, wantAll: true},
}

// build makes the row's request for c; ok is false when the row does not
// apply to c. want is expanded, dropping fields c's request lacks.
func (r createRow) build(t *testing.T, c jobCase) (proto.Message, []viol, bool) {
	t.Helper()
	var req proto.Message
	switch r.base {
	case "":
		req = c.full()[0]
	case "minimal":
		req = c.minimalReq(t)
	case "empty":
		req = newReq(t, c.create())
	}
	applied := 0
	for _, k := range slices.Sorted(maps.Keys(r.set)) {
		path, ok := c.expand(k)
		if !ok || !fieldOK(req, path) {
			continue
		}
		v := r.set[k]
		if f, isFn := v.(cv); isFn {
			v = f(c)
		}
		pset(t, req, path, v)
		applied++
	}
	if len(r.set) > 0 && applied == 0 {
		return nil, nil, false
	}
	if r.mut != nil {
		r.mut(req)
	}
	var want []viol
	for _, w := range r.want {
		if path, ok := c.expand(w.field); ok && fieldOK(req, path) {
			want = append(want, viol{path, w.rule})
		}
	}
	return req, want, true
}

func TestCreateValidation(t *testing.T) {
	applies := map[string]int{}
	for _, c := range jobCases {
		for _, r := range createRows {
			req, want, ok := r.build(t, c)
			if !ok {
				if r.wantAll {
					t.Errorf("row %q does not apply to %s", r.name, c.name())
				}
				continue
			}
			applies[r.name]++
			t.Run(c.name()+"/"+r.name, func(t *testing.T) {
				if len(want) > 0 {
					e := newStrictEnv(t, tRegion)
					_, err := rpc(t, e.s, c.create(), req)
					wantViolations(t, err, want)
					if n := len(e.api.Calls()); n > 0 {
						t.Errorf("%d upstream calls for an invalid request", n)
					}
					return
				}
				e := newEnv(t, tRegion)
				if _, err := rpc(t, e.s, c.create(), req); err != nil {
					t.Fatalf("valid request refused: %v", err)
				}
				if ops := e.api.Ops(); !slices.Equal(ops, []string{c.t.CreateOp()}) {
					t.Errorf("upstream calls %v, want one %s", ops, c.t.CreateOp())
				}
			})
		}
	}
	// Every row tests something.
	for _, r := range createRows {
		if applies[r.name] == 0 {
			t.Errorf("row %q applies to no type", r.name)
		}
	}
}

// TestCreateValidationMessages: descriptions say what is wrong in words a
// client can act on.
func TestCreateValidationMessages(t *testing.T) {
	for _, c := range jobCases {
		if c.t.Parent.Field == "" {
			continue
		}
		t.Run(c.name(), func(t *testing.T) {
			e := newStrictEnv(t, tRegion)
			req := c.full()[0]
			pset(t, req, c.t.Parent.Field, tArn("dataset-group", "g"))
			descs := wantViolations(t, rpcErr(t, e, c.create(), req), []viol{{c.t.Parent.Field, "resource_type"}})
			for _, s := range []string{c.t.Parent.ArnType, `"dataset-group"`} {
				if !strings.Contains(descs[0], s) {
					t.Errorf("description %q does not mention %s", descs[0], s)
				}
			}
			pset(t, req, c.t.Parent.Field, tArnIn(tOtherRegion, c.t.Parent.ArnType, "p"))
			descs = wantViolations(t, rpcErr(t, e, c.create(), req), []viol{{c.t.Parent.Field, "region"}})
			for _, s := range []string{tRegion, tOtherRegion} {
				if !strings.Contains(descs[0], s) {
					t.Errorf("description %q does not mention %s", descs[0], s)
				}
			}
		})
	}
}

func rpcErr(t *testing.T, e *tEnv, method string, req proto.Message) error {
	t.Helper()
	_, err := rpc(t, e.s, method, req)
	return err
}

// arnLimit is the longest ARN of a job of t AWS accepts: LongArn (300) for
// the types AWS models so, Arn (256) otherwise.
func arnLimit(t *jobtype.Type) int {
	if t.LongArn {
		return 300
	}
	return 256
}

// arnRows are the ARNs Describe, Delete and Stop of c refuse, by rule.
func arnRows(c jobCase) []struct {
	name, arn, rule string
} {
	rows := []struct{ name, arn, rule string }{
		{"empty", "", "required"},
		{"not an ARN", "job_1", "pattern"},
		{"an S3 ARN", "arn:aws:s3:::bucket/" + c.t.ArnType + "/x", "pattern"},
		{"over the ARN limit", longArn(c.t.ArnType, arnLimit(c.t)+1), "length"},
		{"another region", tArnIn(tOtherRegion, c.t.ArnType, "p/j"), "region"},
		{"no region", tArnIn("", c.t.ArnType, "p/j"), "region"},
		{"a what-if forecast", tWhatIf(1), "resource_type"},
		{"a predictor", tArn("predictor", "p"), "resource_type"},
	}
	if c.t.Parent.ArnType != "" {
		rows = append(rows, struct{ name, arn, rule string }{"its parent", c.parentArn(), "resource_type"})
	}
	for _, o := range jobtype.All {
		if o != c.t {
			rows = append(rows, struct{ name, arn, rule string }{"a " + o.Title, tArn(o.ArnType, "p/j"), "resource_type"})
		}
	}
	return rows
}

// TestArnValidation: Describe, Delete and Stop (for stoppable types) refuse
// the ARN of another job type, another region or no ARN at all, naming
// the type's ARN field, and call AWS once with a valid one.
func TestArnValidation(t *testing.T) {
	for _, c := range jobCases {
		for _, method := range c.arnMethods() {
			t.Run(method, func(t *testing.T) {
				for _, row := range arnRows(c) {
					e := newStrictEnv(t, tRegion)
					_, err := rpcWith(t, e.s, method, map[string]any{c.t.ArnField: row.arn})
					descs := wantViolations(t, err, []viol{{c.t.ArnField, row.rule}})
					if row.rule == "resource_type" && len(descs) == 1 && !strings.Contains(descs[0], c.t.ArnType) {
						t.Errorf("%s: description %q does not name %s", row.name, descs[0], c.t.ArnType)
					}
				}

				e := newEnv(t, tRegion)
				if _, err := rpcWith(t, e.s, method, map[string]any{c.t.ArnField: c.jobArn()}); err != nil {
					t.Fatalf("valid ARN refused: %v", err)
				}
				calls := e.api.Calls()
				wantOp, member := c.t.DescribeOp(), c.t.ArnMember
				switch method {
				case c.del():
					wantOp = c.t.DeleteOp()
				case c.stop():
					wantOp, member = jobtype.OpStopResource, "ResourceArn"
				}
				if len(calls) != 1 || calls[0].op != wantOp {
					t.Fatalf("upstream calls %v, want one %s", e.api.Ops(), wantOp)
				}
				if got := reflect.ValueOf(calls[0].in).Elem().FieldByName(member).Interface().(*string); aws.ToString(got) != c.jobArn() {
					t.Errorf("%s %s = %q, want %q", wantOp, member, aws.ToString(got), c.jobArn())
				}
			})
		}
	}
}

// TestAnyRegion: a gateway without a region accepts Forecast ARNs of any
// region (the upstream decides), everywhere an ARN is taken.
func TestAnyRegion(t *testing.T) {
	for _, c := range jobCases {
		t.Run(c.name(), func(t *testing.T) {
			e := newEnv(t, "")
			other := tArnIn(tOtherRegion, c.t.ArnType, "p/j")
			req := c.full()[0]
			if c.t.Parent.Field != "" {
				pset(t, req, c.t.Parent.Field, tArnIn(tOtherRegion, c.t.Parent.ArnType, "p"))
			}
			if fieldOK(req, "what_if_forecast_arns") {
				pset(t, req, "what_if_forecast_arns", []string{tArnIn(tOtherRegion, "what-if-forecast", "a"), tArnIn("ap-south-2", "what-if-forecast", "b")})
			}
			if _, err := rpc(t, e.s, c.create(), req); err != nil {
				t.Errorf("create: %v", err)
			}
			for _, m := range c.arnMethods() {
				if _, err := rpcWith(t, e.s, m, map[string]any{c.t.ArnField: other}); err != nil {
					t.Errorf("%s: %v", m, err)
				}
			}
			filter := fmt.Sprintf("%s = %q", c.t.Filter.Field, tArnIn(tOtherRegion, c.t.Filter.ArnType, "p/x"))
			if _, err := rpcWith(t, e.s, c.list(), map[string]any{"filter": filter}); err != nil {
				t.Errorf("list: %v", err)
			}
			for _, m := range []string{"TagResource", "UntagResource", "ListTagsForResource"} {
				if _, err := rpcWith(t, e.s, m, fields{"resource_arn": other, "tags": tTags(), "tag_keys": []string{"env"}}.filter(t, m)); err != nil {
					t.Errorf("%s: %v", m, err)
				}
			}
			want := []string{c.t.CreateOp()}
			for _, m := range c.arnMethods() {
				switch m {
				case c.describe():
					want = append(want, c.t.DescribeOp())
				case c.del():
					want = append(want, c.t.DeleteOp())
				default:
					want = append(want, jobtype.OpStopResource)
				}
			}
			want = append(want, c.t.ListOp(), "TagResource", "UntagResource", "ListTagsForResource")
			if ops := e.api.Ops(); !slices.Equal(ops, want) {
				t.Errorf("upstream calls %v, want %v", ops, want)
			}
			// The same gateway with a region refuses every one of them.
			strict := newStrictEnv(t, tRegion)
			_, err := rpc(t, strict.s, c.create(), req)
			if _, _, reason := gotViolations(t, err); reason != "INVALID_ARGUMENT" {
				t.Errorf("create reason %s", reason)
			}
		})
	}
}

// fields is a request built from field paths; filter keeps those the
// method's request has.
type fields map[string]any

func (f fields) filter(t *testing.T, method string) map[string]any {
	req := newReq(t, method)
	out := map[string]any{}
	for k, v := range f {
		if fieldOK(req, k) {
			out[k] = v
		}
	}
	return out
}

// tagRow is a call of a tag RPC.
type tagRow struct {
	name   string
	method string
	set    map[string]any
	want   []viol
}

func tagRows() []tagRow {
	job := jobCases[1].jobArn()
	keys := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("k%d", i)
		}
		return out
	}
	var rows []tagRow
	for _, m := range []string{"TagResource", "UntagResource", "ListTagsForResource"} {
		ok := fields{"tags": tTags(), "tag_keys": []string{"env"}}
		for _, a := range []struct{ name, arn, rule string }{
			{"ARN empty", "", "required"},
			{"ARN malformed", "job", "pattern"},
			{"ARN of a predictor", tArn("predictor", "p"), "resource_type"},
			{"ARN of a dataset", tArn("dataset", "d"), "resource_type"},
			{"ARN of a what-if forecast", tWhatIf(1), "resource_type"},
			{"ARN of a dataset group", tArn("dataset-group", "g"), "resource_type"},
			{"ARN in another region", tArnIn(tOtherRegion, jobtype.ForecastExportJob.ArnType, "f/e"), "region"},
		} {
			set := map[string]any{"resource_arn": a.arn}
			for k, v := range ok {
				set[k] = v
			}
			rows = append(rows, tagRow{name: a.name, method: m, set: set, want: []viol{{"resource_arn", a.rule}}})
		}
	}
	rows = append(rows,
		tagRow{"no tags", "TagResource", map[string]any{"resource_arn": job}, []viol{{"tags", "required"}}},
		tagRow{"empty tag list", "TagResource", map[string]any{"resource_arn": job, "tags": []*gatewayv1.Tag{}}, []viol{{"tags", "required"}}},
		tagRow{"no tags and no ARN", "TagResource", map[string]any{}, []viol{{"resource_arn", "required"}, {"tags", "required"}}},
		tagRow{"51 tags", "TagResource", map[string]any{"resource_arn": job, "tags": tNTags(51)}, []viol{{"tags", "count"}}},
		tagRow{"50 tags", "TagResource", map[string]any{"resource_arn": job, "tags": tNTags(50)}, nil},
		tagRow{"aws: key", "TagResource", map[string]any{"resource_arn": job, "tags": tTags(), "tags[2].key": "AWS:x"}, []viol{{"tags[2].key", "reserved"}}},
		tagRow{"duplicate key", "TagResource", map[string]any{"resource_arn": job, "tags": tTags(), "tags[3].key": "env"}, []viol{{"tags[3].key", "unique"}}},
		tagRow{"bad value", "TagResource", map[string]any{"resource_arn": job, "tags": tTags(), "tags[1].value": "a;b"}, []viol{{"tags[1].value", "pattern"}}},
		tagRow{"long key and value", "TagResource", map[string]any{"resource_arn": job, "tags": tTags(), "tags[0].key": strings.Repeat("k", 129), "tags[0].value": strings.Repeat("v", 257)},
			[]viol{{"tags[0].key", "length"}, {"tags[0].value", "length"}}},
		tagRow{"bad ARN and bad tags", "TagResource", map[string]any{"resource_arn": tArn("predictor", "p"), "tags": tTags(), "tags[0].key": "aws:x"},
			[]viol{{"resource_arn", "resource_type"}, {"tags[0].key", "reserved"}}},
		tagRow{"no keys", "UntagResource", map[string]any{"resource_arn": job}, []viol{{"tag_keys", "required"}}},
		tagRow{"200 keys", "UntagResource", map[string]any{"resource_arn": job, "tag_keys": keys(200)}, nil},
		tagRow{"201 keys", "UntagResource", map[string]any{"resource_arn": job, "tag_keys": keys(201)}, []viol{{"tag_keys", "count"}}},
		tagRow{"aws: keys", "UntagResource", map[string]any{"resource_arn": job, "tag_keys": []string{"ok", "aws:x", "Aws:y"}}, []viol{{"tag_keys[1]", "reserved"}, {"tag_keys[2]", "reserved"}}},
		tagRow{"empty key", "UntagResource", map[string]any{"resource_arn": job, "tag_keys": []string{"ok", ""}}, []viol{{"tag_keys[1]", "length"}}},
		tagRow{"long key", "UntagResource", map[string]any{"resource_arn": job, "tag_keys": []string{strings.Repeat("k", 129)}}, []viol{{"tag_keys[0]", "length"}}},
		tagRow{"bad key", "UntagResource", map[string]any{"resource_arn": job, "tag_keys": []string{"a*b"}}, []viol{{"tag_keys[0]", "pattern"}}},
		tagRow{"bad ARN and no keys", "UntagResource", map[string]any{"resource_arn": "x"}, []viol{{"resource_arn", "pattern"}, {"tag_keys", "required"}}},
	)
	return rows
}

func TestTagValidation(t *testing.T) {
	for _, r := range tagRows() {
		t.Run(r.method+"/"+r.name, func(t *testing.T) {
			if len(r.want) == 0 {
				e := newEnv(t, tRegion)
				if _, err := rpcWith(t, e.s, r.method, fields(r.set).filter(t, r.method)); err != nil {
					t.Fatalf("valid request refused: %v", err)
				}
				if ops := e.api.Ops(); !slices.Equal(ops, []string{r.method}) {
					t.Errorf("upstream calls %v, want one %s", ops, r.method)
				}
				return
			}
			e := newStrictEnv(t, tRegion)
			_, err := rpcWith(t, e.s, r.method, fields(r.set).filter(t, r.method))
			descs := wantViolations(t, err, r.want)
			if r.want[0].rule == "resource_type" && r.want[0].field == "resource_arn" {
				for _, at := range jobtype.ArnTypes() {
					if !strings.Contains(descs[0], at) {
						t.Errorf("description %q does not list %s", descs[0], at)
					}
				}
			}
		})
	}
	// Every job type's ARN is taggable.
	for _, c := range jobCases {
		e := newEnv(t, tRegion)
		for _, m := range []string{"TagResource", "UntagResource", "ListTagsForResource"} {
			if _, err := rpcWith(t, e.s, m, fields{"resource_arn": c.jobArn(), "tags": tTags(), "tag_keys": []string{"env"}}.filter(t, m)); err != nil {
				t.Errorf("%s on a %s: %v", m, c.t.Title, err)
			}
		}
	}
}

func TestEffectivePageSize(t *testing.T) {
	tests := []struct {
		in      int32
		want    int
		wantErr bool
	}{
		{in: 0, want: 100},
		{in: 1, want: 1},
		{in: 7, want: 7},
		{in: 100, want: 100},
		{in: 101, want: 101},
		{in: 999, want: 999},
		{in: 1000, want: 1000},
		{in: 1001, want: 1000},
		{in: math.MaxInt32, want: 1000},
		{in: -1, wantErr: true},
		{in: math.MinInt32, wantErr: true},
	}
	for _, tt := range tests {
		got, vs := effectivePageSize(tt.in)
		if tt.wantErr {
			if len(vs) != 1 || vs[0].Field != "page_size" || !strings.HasSuffix(vs[0].Description, "(rule: range)") {
				t.Errorf("effectivePageSize(%d) violations = %v, want one page_size (rule: range)", tt.in, vs)
			}
			continue
		}
		if len(vs) != 0 {
			t.Errorf("effectivePageSize(%d) violations = %v, want none", tt.in, vs)
		}
		if got != tt.want {
			t.Errorf("effectivePageSize(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
	if DefaultPageSize != 100 || MaxPageSize != 1000 || awsMaxResults != 100 {
		t.Errorf("page size constants = %d/%d/%d, want 100/1000/100", DefaultPageSize, MaxPageSize, awsMaxResults)
	}
}

// TestEnumViolationNamesValues: the enum message lists the values a client
// may send.
func TestEnumViolationNamesValues(t *testing.T) {
	e := newStrictEnv(t, tRegion)
	req := jobCases[0].full()[0]
	pset(t, req, "import_mode", 9)
	descs := wantViolations(t, rpcErr(t, e, jobCases[0].create(), req), []viol{{"import_mode", "enum"}})
	for _, s := range []string{"IMPORT_MODE_FULL", "IMPORT_MODE_INCREMENTAL", "9"} {
		if !strings.Contains(descs[0], s) {
			t.Errorf("description %q does not mention %s", descs[0], s)
		}
	}
}
