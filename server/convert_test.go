package server

// Nothing lost, both ways: every member of every AWS shape the gateway
// reads reaches the proto, every proto field of a Create reaches AWS, and
// enum strings AWS adds later never break a call. The shapes are walked by
// reflection, so a member added to an SDK struct (or a proto field) that a
// converter drops makes these tests fail.

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/forecast"
	"github.com/aws/aws-sdk-go-v2/service/forecast/types"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/forecastgw/forecast-gateway/internal/awsrules"

	gatewayv1 "github.com/forecastgw/forecast-gateway/gen/forecast/gateway/v1"
)

// snake is the proto field name of an SDK member: KMSKeyArn -> kms_key_arn.
func snake(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) ||
				(unicode.IsUpper(rs[i-1]) && i+1 < len(rs) && unicode.IsLower(rs[i+1]))) {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// camel is the SDK member of a proto field: data_source -> DataSource.
func camel(s string) string {
	parts := strings.Split(s, "_")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "")
}

func TestSnakeCamel(t *testing.T) {
	for sdk, field := range map[string]string{
		"KMSKeyArn": "kms_key_arn", "WhatIfForecastArns": "what_if_forecast_arns", "CountNanLong": "count_nan_long",
		"UseGeolocationForTimeZone": "use_geolocation_for_time_zone", "Stddev": "stddev", "DataSource": "data_source",
	} {
		if got := snake(sdk); got != field {
			t.Errorf("snake(%s) = %s, want %s", sdk, got, field)
		}
	}
	if got := camel("what_if_forecast_arns"); got != "WhatIfForecastArns" {
		t.Errorf("camel = %s", got)
	}
}

// enumMembers are the SDK members that carry enum strings, with the values
// AWS documents for them.
var enumMembers = map[string][]string{
	"Status":            awsrules.Statuses,
	"Format":            awsrules.Formats,
	"ImportMode":        awsrules.ImportModes,
	"GeolocationFormat": awsrules.GeolocationFormats,
}

// filler sets members of SDK structs to non-zero values, each distinct from
// the others (strings name their member, numbers and times count up), so a
// converter that swaps two members is caught too. Enum members get a known
// value other than AWS's default. A member of a kind it does not know fails
// the test: a new SDK shape must be looked at.
type filler struct {
	tb testing.TB
	n  int
}

var fillEnums = map[string]string{"Status": "CREATE_IN_PROGRESS", "Format": "PARQUET", "ImportMode": "INCREMENTAL", "GeolocationFormat": "CC_POSTALCODE"}

var timeType = reflect.TypeOf(time.Time{})

func (f *filler) fill(v reflect.Value, member string) {
	f.tb.Helper()
	f.n++
	n := f.n
	switch v.Kind() {
	case reflect.Pointer:
		if v.Type().Elem() == timeType {
			tm := tStart.Add(time.Duration(n)*time.Hour + time.Duration(123456789+n)*time.Nanosecond).In(time.FixedZone("UTC+2", 7200))
			v.Set(reflect.ValueOf(&tm))
			return
		}
		p := reflect.New(v.Type().Elem())
		f.fill(p.Elem(), member)
		v.Set(p)
	case reflect.Struct:
		if v.Type() == timeType {
			f.tb.Fatalf("%s: time.Time by value", member)
		}
		for i := 0; i < v.NumField(); i++ {
			sf := v.Type().Field(i)
			if !sf.IsExported() || sf.Name == "ResultMetadata" {
				continue
			}
			f.fill(v.Field(i), sf.Name)
		}
	case reflect.String:
		s, ok := fillEnums[member]
		if !ok {
			s = fmt.Sprintf("%s-%d", member, n)
		}
		v.SetString(s)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int32, reflect.Int64:
		v.SetInt(int64(1000 + n))
	case reflect.Float64:
		v.SetFloat(float64(n) + 0.125)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			f.fill(s.Index(i), member)
		}
		v.Set(s)
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			f.tb.Fatalf("%s: map key %v", member, v.Type().Key())
		}
		m := reflect.MakeMap(v.Type())
		for i := range 2 {
			e := reflect.New(v.Type().Elem()).Elem()
			f.fill(e, member)
			m.SetMapIndex(reflect.ValueOf(fmt.Sprintf("field_%d", i)), e)
		}
		v.Set(m)
	default:
		f.tb.Fatalf("filler: member %s of kind %v: teach the filler and the comparison", member, v.Kind())
	}
}

// sdkUnset lists the exported members of the struct v (recursively) that
// are zero.
func sdkUnset(v any) []string {
	var out []string
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				out = append(out, path)
				return
			}
			if v.Type().Elem() == timeType {
				return
			}
			v = v.Elem()
		}
		switch v.Kind() {
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				sf := v.Type().Field(i)
				if sf.IsExported() && sf.Name != "ResultMetadata" {
					walk(path+"."+sf.Name, v.Field(i))
				}
			}
		case reflect.Slice, reflect.Map:
			if v.Len() == 0 {
				out = append(out, path)
				return
			}
			if v.Kind() == reflect.Slice {
				for i := 0; i < v.Len(); i++ {
					walk(fmt.Sprintf("%s[%d]", path, i), v.Index(i))
				}
			} else {
				for _, k := range v.MapKeys() {
					walk(fmt.Sprintf("%s[%v]", path, k), v.MapIndex(k))
				}
			}
		default:
			if v.IsZero() {
				out = append(out, path)
			}
		}
	}
	walk("", reflect.ValueOf(v))
	return out
}

// sdkSetLeaves lists the leaf members of the struct v that are sent to
// AWS: non-nil pointers (even to "": AWS would get an empty value, not its
// default), non-empty slices and maps, non-zero values.
func sdkSetLeaves(v any) []string {
	var out []string
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return
			}
			if v.Type().Elem().Kind() != reflect.Struct || v.Type().Elem() == timeType {
				out = append(out, path)
				return
			}
			v = v.Elem()
		}
		if v.Kind() == reflect.Struct {
			for i := 0; i < v.NumField(); i++ {
				sf := v.Type().Field(i)
				if sf.IsExported() && sf.Name != "ResultMetadata" {
					p := sf.Name
					if path != "" {
						p = path + "." + sf.Name
					}
					walk(p, v.Field(i))
				}
			}
			return
		}
		if !v.IsZero() && !((v.Kind() == reflect.Slice || v.Kind() == reflect.Map) && v.Len() == 0) {
			out = append(out, path)
		}
	}
	walk("", reflect.ValueOf(v))
	slices.Sort(out)
	return out
}

// protoUnset lists the fields of m (recursively through messages, lists
// and maps of messages) that are not populated.
func protoUnset(m proto.Message) []string {
	var out []string
	var walk func(path string, m protoreflect.Message)
	walk = func(path string, m protoreflect.Message) {
		fields := m.Descriptor().Fields()
		for i := 0; i < fields.Len(); i++ {
			fd := fields.Get(i)
			p := path + "." + string(fd.Name())
			if !m.Has(fd) {
				out = append(out, p)
				continue
			}
			if fd.Message() == nil || fd.Message().FullName() == "google.protobuf.Timestamp" {
				continue
			}
			switch {
			case fd.IsList():
				l := m.Get(fd).List()
				for j := 0; j < l.Len(); j++ {
					walk(fmt.Sprintf("%s[%d]", p, j), l.Get(j).Message())
				}
			case fd.IsMap():
				if fd.MapValue().Message() != nil {
					m.Get(fd).Map().Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
						walk(fmt.Sprintf("%s[%v]", p, k), v.Message())
						return true
					})
				}
			default:
				walk(p, m.Get(fd).Message())
			}
		}
	}
	walk(string(m.ProtoReflect().Descriptor().Name()), m.ProtoReflect())
	return out
}

// enumPrefix is the prefix of an enum's value names: JOB_STATUS_.
func enumPrefix(ed protoreflect.EnumDescriptor) string {
	return strings.TrimSuffix(string(ed.Values().ByNumber(0).Name()), "UNSPECIFIED")
}

// sameValues checks that every exported member of the SDK struct sv has a
// proto field of m (named snake_case) holding the same value: strings,
// numbers (with presence for optional fields), times to the nanosecond,
// enums (the enum value named after the AWS string, and the aws_*
// companion when m has one), nested structs, lists and maps. A zero member
// must leave the field unset.
func sameValues(tb testing.TB, path string, sv reflect.Value, m protoreflect.Message) {
	tb.Helper()
	for sv.Kind() == reflect.Pointer {
		sv = sv.Elem()
	}
	for i := 0; i < sv.NumField(); i++ {
		sf := sv.Type().Field(i)
		if !sf.IsExported() || sf.Name == "ResultMetadata" {
			continue
		}
		p := path + "." + sf.Name
		fd := m.Descriptor().Fields().ByName(protoreflect.Name(snake(sf.Name)))
		if fd == nil {
			tb.Errorf("%s: %s has no field %s: the member is lost", p, m.Descriptor().FullName(), snake(sf.Name))
			continue
		}
		sameValue(tb, p, sv.Field(i), m, fd)
	}
}

func sameValue(tb testing.TB, p string, fv reflect.Value, m protoreflect.Message, fd protoreflect.FieldDescriptor) {
	tb.Helper()
	var companion protoreflect.FieldDescriptor
	if fd.Kind() == protoreflect.EnumKind {
		companion = m.Descriptor().Fields().ByName(protoreflect.Name("aws_" + string(fd.Name())))
	}
	zero := (fv.Kind() == reflect.Pointer && fv.IsNil()) || ((fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) && fv.Len() == 0) ||
		(fv.Kind() != reflect.Pointer && fv.Kind() != reflect.Slice && fv.Kind() != reflect.Map && fv.IsZero())
	if zero {
		if m.Has(fd) {
			tb.Errorf("%s is not set, but %s = %v", p, fd.Name(), m.Get(fd))
		}
		if companion != nil && m.Get(companion).String() != "" {
			tb.Errorf("%s is not set, but %s = %q", p, companion.Name(), m.Get(companion).String())
		}
		return
	}
	if fd.HasPresence() && !m.Has(fd) {
		tb.Errorf("%s is set, but %s is not", p, fd.Name())
		return
	}
	got := m.Get(fd)
	v := fv
	if v.Kind() == reflect.Pointer && v.Type().Elem() != timeType && v.Type().Elem().Kind() != reflect.Struct {
		v = v.Elem()
	}
	switch {
	case fd.Kind() == protoreflect.EnumKind && v.String() == "":
		// An empty string is no value: UNSPECIFIED, and nothing to report.
		if got.Enum() != 0 || (companion != nil && m.Get(companion).String() != "") {
			tb.Errorf("%s is empty, but %s = %v", p, fd.Name(), got.Enum())
		}
	case fd.Kind() == protoreflect.EnumKind:
		s := v.String()
		want := enumPrefix(fd.Enum()) + s
		name := "<undefined>"
		if ev := fd.Enum().Values().ByNumber(got.Enum()); ev != nil {
			name = string(ev.Name())
		}
		if name != want {
			tb.Errorf("%s = %q, but %s = %s, want %s", p, s, fd.Name(), name, want)
		}
		if companion != nil && m.Get(companion).String() != s {
			tb.Errorf("%s = %q, but %s = %q", p, s, companion.Name(), m.Get(companion).String())
		}
	case fv.Kind() == reflect.Pointer && fv.Type().Elem() == timeType:
		ts, ok := got.Message().Interface().(*timestamppb.Timestamp)
		want := *fv.Interface().(*time.Time)
		if !ok || !ts.AsTime().Equal(want) {
			tb.Errorf("%s = %v, but %s = %v", p, want, fd.Name(), ts.AsTime())
		}
	case fv.Kind() == reflect.Pointer && fv.Type().Elem().Kind() == reflect.Struct:
		sameValues(tb, p, fv, got.Message())
	case v.Kind() == reflect.String:
		if got.String() != v.String() {
			tb.Errorf("%s = %q, but %s = %q", p, v.String(), fd.Name(), got.String())
		}
	case v.Kind() == reflect.Int32 || v.Kind() == reflect.Int64:
		if got.Int() != v.Int() {
			tb.Errorf("%s = %d, but %s = %d", p, v.Int(), fd.Name(), got.Int())
		}
	case v.Kind() == reflect.Float64:
		if got.Float() != v.Float() {
			tb.Errorf("%s = %v, but %s = %v", p, v.Float(), fd.Name(), got.Float())
		}
	case v.Kind() == reflect.Bool:
		if got.Bool() != v.Bool() {
			tb.Errorf("%s = %v, but %s = %v", p, v.Bool(), fd.Name(), got.Bool())
		}
	case v.Kind() == reflect.Slice && fd.IsList():
		l := got.List()
		if l.Len() != v.Len() {
			tb.Errorf("%s has %d elements, but %s has %d", p, v.Len(), fd.Name(), l.Len())
			return
		}
		for i := 0; i < v.Len(); i++ {
			e := v.Index(i)
			ep := fmt.Sprintf("%s[%d]", p, i)
			switch e.Kind() {
			case reflect.String:
				if l.Get(i).String() != e.String() {
					tb.Errorf("%s = %q, but %s[%d] = %q", ep, e.String(), fd.Name(), i, l.Get(i).String())
				}
			case reflect.Struct:
				sameValues(tb, ep, e, l.Get(i).Message())
			default:
				tb.Errorf("%s: list element kind %v not compared", ep, e.Kind())
			}
		}
	case v.Kind() == reflect.Map && fd.IsMap():
		mp := got.Map()
		if mp.Len() != v.Len() {
			tb.Errorf("%s has %d entries, but %s has %d", p, v.Len(), fd.Name(), mp.Len())
			return
		}
		for _, k := range v.MapKeys() {
			mv := mp.Get(protoreflect.ValueOfString(k.String()).MapKey())
			if !mv.IsValid() {
				tb.Errorf("%s[%s] is missing from %s", p, k, fd.Name())
				continue
			}
			sameValues(tb, fmt.Sprintf("%s[%s]", p, k), v.MapIndex(k), mv.Message())
		}
	default:
		tb.Errorf("%s: %v against %s (%v) not compared: teach sameValue", p, fv.Type(), fd.Name(), fd.Kind())
	}
}

// rec records UnknownEnumFunc calls.
type rec struct {
	mu    sync.Mutex
	calls []string
}

func (r *rec) conv() converter {
	return converter{unknown: func(field, value string) {
		r.mu.Lock()
		r.calls = append(r.calls, field+"="+value)
		r.mu.Unlock()
	}}
}

func (r *rec) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	slices.Sort(out)
	return out
}

// describeWith describes a job of c's type whose AWS answer is set up by
// fill, returning the response and the AWS output sent.
func describeWith(t *testing.T, e *tEnv, c jobCase, fill func(out reflect.Value)) (proto.Message, any) {
	t.Helper()
	var sent any
	e.api.respond = func(op string, in, out any) error {
		if op != c.t.DescribeOp() {
			t.Errorf("upstream op %s, want %s", op, c.t.DescribeOp())
		}
		fill(reflect.ValueOf(out).Elem())
		sent = out
		return nil
	}
	resp, err := rpcWith(t, e.s, c.describe(), map[string]any{c.t.ArnField: c.jobArn()})
	if err != nil {
		t.Fatalf("%s: %v", c.describe(), err)
	}
	return resp, sent
}

// listWith lists jobs of c's type, the AWS page holding the items fill
// makes (given the item list), returning the items and the AWS items sent.
func listWith(t *testing.T, e *tEnv, c jobCase, fill func(items reflect.Value)) ([]proto.Message, reflect.Value) {
	t.Helper()
	var sent reflect.Value
	e.api.respond = func(op string, in, out any) error {
		if op != c.t.ListOp() {
			t.Errorf("upstream op %s, want %s", op, c.t.ListOp())
		}
		sent = reflect.ValueOf(out).Elem().FieldByName(c.t.Plural)
		if !sent.IsValid() {
			t.Fatalf("%T has no member %s", out, c.t.Plural)
		}
		fill(sent)
		return nil
	}
	resp, err := rpcWith(t, e.s, c.list(), nil)
	if err != nil {
		t.Fatalf("%s: %v", c.list(), err)
	}
	items, next := listItems(t, resp)
	if next != "" {
		t.Errorf("next_page_token %q at the end of the listing", next)
	}
	return items, sent
}

func TestDescribeNothingLost(t *testing.T) {
	for _, c := range jobCases {
		t.Run(c.name(), func(t *testing.T) {
			e := newEnv(t, tRegion)
			var r rec
			e.s.conv = r.conv()
			f := &filler{tb: t}
			resp, sent := describeWith(t, e, c, func(out reflect.Value) { f.fill(out, "") })
			if unset := sdkUnset(sent); len(unset) > 0 {
				t.Fatalf("filler left %v unset", unset)
			}
			if unset := protoUnset(resp); len(unset) > 0 {
				t.Errorf("response fields not populated: %v\n(response %v)", unset, resp)
			}
			sameValues(t, c.t.DescribeOp()+"Output", reflect.ValueOf(sent), resp.ProtoReflect())
			if calls := r.take(); len(calls) > 0 {
				t.Errorf("UnknownEnumFunc told %v for known values", calls)
			}
			in := e.api.Calls()[0].in
			if got := reflect.ValueOf(in).Elem().FieldByName(c.t.ArnMember).Interface().(*string); aws.ToString(got) != c.jobArn() {
				t.Errorf("upstream %s = %q, want %q", c.t.ArnMember, aws.ToString(got), c.jobArn())
			}
		})
	}
}

func TestListSummaryNothingLost(t *testing.T) {
	for _, c := range jobCases {
		t.Run(c.name(), func(t *testing.T) {
			e := newEnv(t, tRegion)
			var r rec
			e.s.conv = r.conv()
			f := &filler{tb: t}
			items, sent := listWith(t, e, c, func(items reflect.Value) { f.fill(items, "") })
			if sent.Len() != 2 || len(items) != 2 {
				t.Fatalf("%d items for %d sent", len(items), sent.Len())
			}
			for i := 0; i < sent.Len(); i++ {
				if unset := sdkUnset(sent.Index(i).Interface()); len(unset) > 0 {
					t.Fatalf("filler left %v unset", unset)
				}
				if unset := protoUnset(items[i]); len(unset) > 0 {
					t.Errorf("item %d fields not populated: %v", i, unset)
				}
				sameValues(t, fmt.Sprintf("%s[%d]", c.t.Plural, i), sent.Index(i), items[i].ProtoReflect())
			}
			if calls := r.take(); len(calls) > 0 {
				t.Errorf("UnknownEnumFunc told %v for known values", calls)
			}
		})
	}
}

// TestConvertAbsentMembers: members AWS does not send leave their fields
// unset (no empty sub-messages, no made-up values), empty enum strings are
// UNSPECIFIED without being reported, and empty sub-structs stay empty.
func TestConvertAbsentMembers(t *testing.T) {
	for _, c := range jobCases {
		t.Run(c.name(), func(t *testing.T) {
			e := newEnv(t, tRegion)
			var r rec
			e.s.conv = r.conv()
			cases := []struct {
				name string
				fill func(v reflect.Value)
			}{
				{"nothing", func(reflect.Value) {}},
				{"empty strings", func(v reflect.Value) {
					for i := 0; i < v.NumField(); i++ {
						if v.Type().Field(i).IsExported() && v.Field(i).Type() == reflect.TypeOf((*string)(nil)) {
							v.Field(i).Set(reflect.ValueOf(aws.String("")))
						}
					}
				}},
				{"empty sub-structs", func(v reflect.Value) {
					for i := 0; i < v.NumField(); i++ {
						f := v.Field(i)
						if v.Type().Field(i).IsExported() && f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.Struct && f.Type().Elem() != timeType {
							f.Set(reflect.New(f.Type().Elem()))
						}
					}
				}},
			}
			for _, k := range cases {
				resp, sent := describeWith(t, e, c, k.fill)
				sameValues(t, k.name, reflect.ValueOf(sent), resp.ProtoReflect())
				if k.name != "empty sub-structs" && !proto.Equal(resp, resp.ProtoReflect().Type().New().Interface()) {
					t.Errorf("%s: describe = %v, want an empty response", k.name, resp)
				}
				items, sentItems := listWith(t, e, c, func(items reflect.Value) {
					items.Set(reflect.MakeSlice(items.Type(), 1, 1))
					k.fill(items.Index(0))
				})
				if len(items) != 1 {
					t.Fatalf("%s: %d items, want 1", k.name, len(items))
				}
				sameValues(t, k.name, sentItems.Index(0), items[0].ProtoReflect())
			}
			if calls := r.take(); len(calls) > 0 {
				t.Errorf("UnknownEnumFunc told %v for absent values", calls)
			}
		})
	}
}

// unknownValues are enum strings no proto enum knows: new values, other
// letter cases, the proto's own names.
func unknownValues(member string) []string {
	known := enumMembers[member][len(enumMembers[member])-1]
	return []string{"NEW_" + strings.ToUpper(snake(member)), strings.ToLower(known), "UNSPECIFIED", "x_" + known}
}

// setEnums sets every enum member of the struct v to value(member), and
// returns the proto fields they feed.
func setEnums(v reflect.Value, value func(member string) string) []string {
	var fields []string
	for member := range enumMembers {
		f := v.FieldByName(member)
		if !f.IsValid() {
			continue
		}
		s := value(member)
		switch f.Kind() {
		case reflect.Pointer:
			f.Set(reflect.ValueOf(aws.String(s)))
		case reflect.String:
			f.SetString(s)
		}
		fields = append(fields, snake(member))
	}
	slices.Sort(fields)
	return fields
}

// checkEnumFields checks that each enum field of m is UNSPECIFIED (want
// "") or named after want, with aws_<field> = raw.
func checkEnumFields(t *testing.T, m proto.Message, fields []string, want, raw func(field string) string) {
	t.Helper()
	r := m.ProtoReflect()
	for _, f := range fields {
		fd := r.Descriptor().Fields().ByName(protoreflect.Name(f))
		cd := r.Descriptor().Fields().ByName(protoreflect.Name("aws_" + f))
		if fd == nil || cd == nil {
			t.Errorf("%s has no %s / aws_%s", r.Descriptor().FullName(), f, f)
			continue
		}
		name := string(fd.Enum().Values().ByNumber(r.Get(fd).Enum()).Name())
		if w := enumPrefix(fd.Enum()) + want(f); want(f) == "" && r.Get(fd).Enum() != 0 || want(f) != "" && name != w {
			t.Errorf("%s = %s, want %s", f, name, w)
		}
		if got := r.Get(cd).String(); got != raw(f) {
			t.Errorf("aws_%s = %q, want %q", f, got, raw(f))
		}
	}
}

// TestUnknownEnums: values the proto does not know come back as
// UNSPECIFIED plus the raw aws_* string, the call succeeds, and the
// UnknownEnumFunc is told (field, value) once per conversion.
func TestUnknownEnums(t *testing.T) {
	for _, c := range jobCases {
		for i := range 4 {
			t.Run(fmt.Sprintf("%s/%d", c.name(), i), func(t *testing.T) {
				e := newEnv(t, tRegion)
				var r rec
				e.s.conv = r.conv()
				val := func(member string) string { return unknownValues(member)[i] }
				byField := func(f string) string { return val(camel(f)) }
				var fields []string
				resp, _ := describeWith(t, e, c, func(out reflect.Value) { fields = setEnums(out, val) })
				if len(fields) == 0 || !slices.Contains(fields, "status") {
					t.Fatalf("describe output has enum members %v, want status at least", fields)
				}
				checkEnumFields(t, resp, fields, func(string) string { return "" }, byField)
				var want []string
				for _, f := range fields {
					want = append(want, f+"="+byField(f))
				}
				slices.Sort(want)
				if got := r.take(); !slices.Equal(got, want) {
					t.Errorf("describe: UnknownEnumFunc told %v, want %v", got, want)
				}

				items, _ := listWith(t, e, c, func(items reflect.Value) {
					items.Set(reflect.MakeSlice(items.Type(), 1, 1))
					fields = setEnums(items.Index(0), val)
				})
				checkEnumFields(t, items[0], fields, func(string) string { return "" }, byField)
				want = nil
				for _, f := range fields {
					want = append(want, f+"="+byField(f))
				}
				slices.Sort(want)
				if got := r.take(); !slices.Equal(got, want) {
					t.Errorf("list: UnknownEnumFunc told %v, want %v", got, want)
				}

				// Without a callback, conversion works the same.
				e.s.conv = converter{}
				resp, _ = describeWith(t, e, c, func(out reflect.Value) { setEnums(out, val) })
				checkEnumFields(t, resp, []string{"status"}, func(string) string { return "" }, byField)
			})
		}
	}
}

// TestKnownEnums: every value AWS documents maps to its enum value exactly,
// in every Describe and List of every type, and is not reported.
func TestKnownEnums(t *testing.T) {
	for _, c := range jobCases {
		t.Run(c.name(), func(t *testing.T) {
			e := newEnv(t, tRegion)
			var r rec
			e.s.conv = r.conv()
			for member, values := range enumMembers {
				for _, v := range values {
					only := func(m string) string {
						if m == member {
							return v
						}
						return ""
					}
					byField := func(f string) string { return only(camel(f)) }
					var fields []string
					resp, _ := describeWith(t, e, c, func(out reflect.Value) { fields = setEnums(out, only) })
					if slices.Contains(fields, snake(member)) {
						checkEnumFields(t, resp, []string{snake(member)}, byField, byField)
					}
					items, _ := listWith(t, e, c, func(items reflect.Value) {
						items.Set(reflect.MakeSlice(items.Type(), 1, 1))
						fields = setEnums(items.Index(0), only)
					})
					if slices.Contains(fields, snake(member)) {
						checkEnumFields(t, items[0], []string{snake(member)}, byField, byField)
					}
				}
			}
			if calls := r.take(); len(calls) > 0 {
				t.Errorf("UnknownEnumFunc told %v for known values", calls)
			}
		})
	}
}

// TestEnumTables: the proto enums are exactly the values AWS documents,
// and the tables both ways agree with them and with the SDK's enums.
func TestEnumTables(t *testing.T) {
	tables := []struct {
		name   string
		names  map[int32]string
		prefix string
		aws    []string
		from   map[string]int32
		to     map[int32]string // nil: the gateway never sends this enum
	}{
		{"JobStatus", gatewayv1.JobStatus_name, "JOB_STATUS_", awsrules.Statuses, jobStatusFromAWS, nil},
		{"ExportFormat", gatewayv1.ExportFormat_name, "EXPORT_FORMAT_", awsrules.Formats, exportFormatFromAWS, exportFormatToAWS},
		{"ImportFormat", gatewayv1.ImportFormat_name, "IMPORT_FORMAT_", awsrules.Formats, importFormatFromAWS, importFormatToAWS},
		{"ImportMode", gatewayv1.ImportMode_name, "IMPORT_MODE_", awsrules.ImportModes, importModeFromAWS, importModeToAWS},
		{"GeolocationFormat", gatewayv1.GeolocationFormat_name, "GEOLOCATION_FORMAT_", awsrules.GeolocationFormats, geoFormatFromAWS, geoFormatToAWS},
	}
	for _, tb := range tables {
		var protoVals []string
		for n, name := range tb.names {
			if n == 0 {
				if name != tb.prefix+"UNSPECIFIED" {
					t.Errorf("%s zero value %s", tb.name, name)
				}
				continue
			}
			protoVals = append(protoVals, strings.TrimPrefix(name, tb.prefix))
		}
		slices.Sort(protoVals)
		want := slices.Sorted(slices.Values(tb.aws))
		if !slices.Equal(protoVals, want) {
			t.Errorf("%s values %v, AWS documents %v", tb.name, protoVals, want)
		}
		if len(tb.from) != len(want) {
			t.Errorf("%s from-AWS table has %d entries, want %d", tb.name, len(tb.from), len(want))
		}
		for _, s := range tb.aws {
			n, ok := tb.from[s]
			if !ok || tb.names[n] != tb.prefix+s {
				t.Errorf("%s: AWS %q -> %d (%s), want %s%s", tb.name, s, n, tb.names[n], tb.prefix, s)
			}
			if tb.to != nil && tb.to[n] != s {
				t.Errorf("%s: %d -> AWS %q, want %q", tb.name, n, tb.to[n], s)
			}
		}
		if tb.to != nil {
			if _, ok := tb.to[0]; ok || len(tb.to) != len(want) {
				t.Errorf("%s to-AWS table %v: want every value but UNSPECIFIED", tb.name, tb.to)
			}
		}
	}
	var sdkModes []string
	for _, m := range types.ImportMode("").Values() {
		sdkModes = append(sdkModes, string(m))
	}
	slices.Sort(sdkModes)
	if !slices.Equal(sdkModes, slices.Sorted(slices.Values(awsrules.ImportModes))) {
		t.Errorf("SDK import modes %v, awsrules %v", sdkModes, awsrules.ImportModes)
	}
}

// TestUnknownEnumLoggedOnce: the server tells operators about each new
// value once, however many calls and items carry it.
func TestUnknownEnumLoggedOnce(t *testing.T) {
	h := &countHandler{}
	e := newEnv(t, tRegion)
	e.s.log = slog.New(h)
	e.s.conv = converter{unknown: e.s.noteUnknownEnum}
	c := jobCases[0]
	for range 3 {
		describeWith(t, e, c, func(out reflect.Value) { setEnums(out, func(m string) string { return "NEW_" + m }) })
		listWith(t, e, c, func(items reflect.Value) {
			items.Set(reflect.MakeSlice(items.Type(), 3, 3))
			for i := range 3 {
				setEnums(items.Index(i), func(m string) string { return "NEW_" + m })
			}
		})
	}
	describeWith(t, e, c, func(out reflect.Value) { out.FieldByName("Status").Set(reflect.ValueOf(aws.String("OTHER"))) })
	want := []string{"format=NEW_Format", "geolocation_format=NEW_GeolocationFormat", "import_mode=NEW_ImportMode", "status=NEW_Status", "status=OTHER"}
	if got := h.take(); !slices.Equal(got, want) {
		t.Errorf("warnings %v, want %v", got, want)
	}
}

// countHandler records warnings as field=value.
type countHandler struct {
	mu   sync.Mutex
	seen []string
}

func (h *countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *countHandler) WithGroup(string) slog.Handler            { return h }
func (h *countHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level != slog.LevelWarn {
		return nil
	}
	var field, value string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "field":
			field = a.Value.String()
		case "value":
			value = a.Value.String()
		}
		return true
	})
	h.mu.Lock()
	h.seen = append(h.seen, field+"="+value)
	h.mu.Unlock()
	return nil
}

func (h *countHandler) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := slices.Clone(h.seen)
	slices.Sort(out)
	return out
}

// ---------------------------------------------------------------------------
// Create: proto to AWS.

// createWith creates with req and returns the AWS input the upstream got.
func createWith(t *testing.T, c jobCase, req proto.Message) any {
	t.Helper()
	e := newEnv(t, tRegion)
	before := proto.Clone(req)
	resp, err := rpc(t, e.s, c.create(), req)
	if err != nil {
		t.Fatalf("%s: %v", c.create(), err)
	}
	if !proto.Equal(req, before) {
		t.Errorf("%s modified its request", c.create())
	}
	calls := e.api.Calls()
	if len(calls) != 1 || calls[0].op != c.t.CreateOp() {
		t.Fatalf("upstream calls %v, want one %s", e.api.Ops(), c.t.CreateOp())
	}
	name := pstr(t, req, c.t.NameField)
	if got, want := pstr(t, resp, c.t.ArnField), tArn(c.t.ArnType, "p/"+name); got != want {
		t.Errorf("response %s = %q, want the upstream's %q", c.t.ArnField, got, want)
	}
	return calls[0].in
}

// TestCreateNothingLost: the full requests of each type set every proto
// field between them, and reach AWS with every member set to the same
// values (tags, KMS key, format, import mode, geolocation format, time
// zone, timestamp format, use_geolocation_for_time_zone, what-if ARNs).
func TestCreateNothingLost(t *testing.T) {
	for _, c := range jobCases {
		t.Run(c.name(), func(t *testing.T) {
			var protoUnsetAll, sdkUnsetAll []string
			for i, req := range c.full() {
				if name := req.ProtoReflect().Descriptor().FullName(); string(name.Name()) != c.create()+"Request" {
					t.Fatalf("full() gives a %s", name)
				}
				in := createWith(t, c, req)
				sameValues(t, fmt.Sprintf("%sInput#%d", c.t.CreateOp(), i), reflect.ValueOf(in), req.ProtoReflect())
				pu, su := protoUnset(req), sdkUnset(in)
				if i == 0 {
					protoUnsetAll, sdkUnsetAll = pu, su
				} else {
					protoUnsetAll = intersect(protoUnsetAll, pu)
					sdkUnsetAll = intersect(sdkUnsetAll, su)
				}
			}
			if len(protoUnsetAll) > 0 {
				t.Errorf("no full request sets %v", protoUnsetAll)
			}
			if len(sdkUnsetAll) > 0 {
				t.Errorf("no full request sets the AWS members %v", sdkUnsetAll)
			}
		})
	}
}

func intersect(a, b []string) []string {
	var out []string
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// TestCreateDefaults: a minimal request sends AWS only the required
// members: UNSPECIFIED enums, empty optional strings, no tags and no KMS
// key leave their members nil or "" so AWS's defaults apply.
func TestCreateDefaults(t *testing.T) {
	for _, c := range jobCases {
		t.Run(c.name(), func(t *testing.T) {
			in := createWith(t, c, c.minimalReq(t))
			want := []string{c.t.NameMember, camel(c.loc) + ".S3Config.Path", camel(c.loc) + ".S3Config.RoleArn"}
			if c.t.Parent.Member != "" {
				want = append(want, c.t.Parent.Member)
			}
			for k := range c.required {
				want = append(want, camel(k))
			}
			slices.Sort(want)
			if got := sdkSetLeaves(in); !slices.Equal(got, want) {
				t.Errorf("AWS input sets %v, want only %v\n%s", got, want, tJSON(in))
			}
			// An explicitly empty tag list is no tags.
			req := c.minimalReq(t)
			pset(t, req, "tags", []*gatewayv1.Tag{})
			if got := sdkSetLeaves(createWith(t, c, req)); !slices.Equal(got, want) {
				t.Errorf("with an empty tag list AWS input sets %v, want %v", got, want)
			}
		})
	}
}

// TestCreateEnumsToAWS: every enum value of every Create reaches AWS as
// its AWS string.
func TestCreateEnumsToAWS(t *testing.T) {
	for _, c := range jobCases {
		t.Run(c.name(), func(t *testing.T) {
			fields := c.minimalReq(t).ProtoReflect().Descriptor().Fields()
			for i := 0; i < fields.Len(); i++ {
				fd := fields.Get(i)
				if fd.Kind() != protoreflect.EnumKind {
					continue
				}
				vals := fd.Enum().Values()
				for j := 0; j < vals.Len(); j++ {
					ev := vals.Get(j)
					req := c.minimalReq(t)
					pset(t, req, string(fd.Name()), int(ev.Number()))
					in := reflect.ValueOf(createWith(t, c, req)).Elem()
					m := in.FieldByName(camel(string(fd.Name())))
					if !m.IsValid() {
						t.Fatalf("AWS input has no member %s", camel(string(fd.Name())))
					}
					got := ""
					if m.Kind() == reflect.Pointer {
						if !m.IsNil() {
							got = m.Elem().String()
						} else if ev.Number() != 0 {
							got = "<nil>"
						}
					} else {
						got = m.String()
					}
					want := strings.TrimPrefix(string(ev.Name()), enumPrefix(fd.Enum()))
					if ev.Number() == 0 {
						want = ""
						if m.Kind() == reflect.Pointer && !m.IsNil() {
							t.Errorf("%s UNSPECIFIED sent %q, want nil", fd.Name(), m.Elem().String())
						}
					}
					if got != want {
						t.Errorf("%s %s sent %q, want %q", fd.Name(), ev.Name(), got, want)
					}
				}
			}
		})
	}
}

// TestTagsRoundTrip: TagResource sends every tag in order, and
// ListTagsForResource returns every tag AWS has.
func TestTagsRoundTrip(t *testing.T) {
	for _, c := range jobCases {
		t.Run(c.name(), func(t *testing.T) {
			e := newEnv(t, tRegion)
			tags := tTags()
			tags = append(tags, &gatewayv1.Tag{Key: "日本", Value: "語"}, &gatewayv1.Tag{Key: "no_value", Value: ""})
			if _, err := rpcWith(t, e.s, "TagResource", map[string]any{"resource_arn": c.jobArn(), "tags": tags}); err != nil {
				t.Fatal(err)
			}
			if _, err := rpcWith(t, e.s, "UntagResource", map[string]any{"resource_arn": c.jobArn(), "tag_keys": []string{"env", "team"}}); err != nil {
				t.Fatal(err)
			}
			e.api.tags = []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("")}}
			resp, err := rpcWith(t, e.s, "ListTagsForResource", map[string]any{"resource_arn": c.jobArn()})
			if err != nil {
				t.Fatal(err)
			}
			calls := e.api.Calls()
			if ops := e.api.Ops(); !slices.Equal(ops, []string{"TagResource", "UntagResource", "ListTagsForResource"}) {
				t.Fatalf("upstream ops %v", ops)
			}
			tagIn := calls[0].in.(*forecast.TagResourceInput)
			if aws.ToString(tagIn.ResourceArn) != c.jobArn() {
				t.Errorf("TagResource ResourceArn = %q", aws.ToString(tagIn.ResourceArn))
			}
			sameValues(t, "TagResourceInput", reflect.ValueOf(tagIn), (&gatewayv1.TagResourceRequest{ResourceArn: c.jobArn(), Tags: tags}).ProtoReflect())
			untagIn := calls[1].in.(*forecast.UntagResourceInput)
			if aws.ToString(untagIn.ResourceArn) != c.jobArn() || !slices.Equal(untagIn.TagKeys, []string{"env", "team"}) {
				t.Errorf("UntagResource input %s", tJSON(untagIn))
			}
			if aws.ToString(calls[2].in.(*forecast.ListTagsForResourceInput).ResourceArn) != c.jobArn() {
				t.Errorf("ListTagsForResource input %s", tJSON(calls[2].in))
			}
			sameValues(t, "ListTagsForResourceOutput", reflect.ValueOf(&forecast.ListTagsForResourceOutput{Tags: e.api.tags}), resp.ProtoReflect())
		})
	}
}

// recTB records what a checker reports instead of failing the test.
type recTB struct {
	testing.TB
	errs []string
}

type recFatal struct{}

func (r *recTB) Helper() {}
func (r *recTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recTB) Fatalf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
	panic(recFatal{})
}

// TestCheckersCatchNewMembers: the checkers themselves fail on what they
// exist to catch. A summary shape with a member the proto lacks (as if an
// SDK upgrade added it), a member the converter left unset, and a member
// kind the filler does not know are all reported.
func TestCheckersCatchNewMembers(t *testing.T) {
	type newShape struct {
		ForecastExportJobArn *string
		Status               *string
		NewMember            *string
	}
	var sdk newShape
	f := &filler{tb: t}
	f.fill(reflect.ValueOf(&sdk).Elem(), "")
	got := (&gatewayv1.ForecastExportJobSummary{ForecastExportJobArn: *sdk.ForecastExportJobArn}).ProtoReflect()
	r := &recTB{TB: t}
	sameValues(r, "newShape", reflect.ValueOf(&sdk), got)
	joined := strings.Join(r.errs, "\n")
	for _, want := range []string{"newShape.NewMember", "newShape.Status"} {
		if !strings.Contains(joined, want) {
			t.Errorf("sameValues did not report %s; reported:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "ForecastExportJobArn") {
		t.Errorf("sameValues reported a member that is equal:\n%s", joined)
	}
	if unset := protoUnset(got.Interface()); !slices.Contains(unset, "ForecastExportJobSummary.status") {
		t.Errorf("protoUnset = %v, want status among them", unset)
	}

	r = &recTB{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil {
				if _, ok := p.(recFatal); !ok {
					panic(p)
				}
			}
		}()
		var odd struct{ Size *uint16 }
		(&filler{tb: r}).fill(reflect.ValueOf(&odd).Elem(), "")
	}()
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "Size") {
		t.Errorf("filler on an unknown kind reported %v, want one error naming Size", r.errs)
	}
}
