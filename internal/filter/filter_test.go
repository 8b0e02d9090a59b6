package filter

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

const arn1 = "arn:aws:forecast:us-east-1:123456789012:predictor/p1"

var fields = []Field{
	{Name: "status", AWSKey: "Status", Check: StatusValue},
	{Name: "predictor_arn", AWSKey: "PredictorArn", Check: ForecastArnValue},
	{Name: "name", AWSKey: "Name"}, // no check: any value
}

func st(v string) Term  { return Term{Field: "status", AWSKey: "Status", Value: v} }
func nst(v string) Term { return Term{Field: "status", AWSKey: "Status", Value: v, Negated: true} }
func pa(v string) Term  { return Term{Field: "predictor_arn", AWSKey: "PredictorArn", Value: v} }
func npa(v string) Term {
	return Term{Field: "predictor_arn", AWSKey: "PredictorArn", Value: v, Negated: true}
}
func nm(v string) Term { return Term{Field: "name", AWSKey: "Name", Value: v} }

func TestParseValid(t *testing.T) {
	tests := []struct {
		in   string
		want []Term
	}{
		{"", nil},
		{" \t\r\n ", nil},
		{`status = "ACTIVE"`, []Term{st("ACTIVE")}},
		{`status=ACTIVE`, []Term{st("ACTIVE")}},
		{"\tstatus\n=\r\n\"ACTIVE\"  ", []Term{st("ACTIVE")}},
		{`status != ACTIVE`, []Term{nst("ACTIVE")}},
		{`status!="ACTIVE"`, []Term{nst("ACTIVE")}},
		{`predictor_arn = ` + arn1, []Term{pa(arn1)}},
		{`status = "ACTIVE" AND predictor_arn != "` + arn1 + `"`, []Term{npa(arn1), st("ACTIVE")}},
		{`status != "ACTIVE" AND status != "CREATE_FAILED"`, []Term{nst("ACTIVE"), nst("CREATE_FAILED")}},
		{`status = ACTIVE AND status = ACTIVE`, []Term{st("ACTIVE")}},
		{`status="ACTIVE"AND name=x`, []Term{nm("x"), st("ACTIVE")}},
		{`name = "a \"quoted\" back\\slash"`, []Term{nm(`a "quoted" back\slash`)}},
		{`name = "spaces and AND OR ( ) : < > -"`, []Term{nm("spaces and AND OR ( ) : < > -")}},
		{`name = "héllo wörld"`, []Term{nm("héllo wörld")}},
		{`name = a-b_c:d/e.f@g+h`, []Term{nm("a-b_c:d/e.f@g+h")}},
		{`name = OR`, []Term{nm("OR")}},
		{`name = and`, []Term{nm("and")}},
		{`name = -1`, []Term{nm("-1")}},
		{`name = "AND"`, []Term{nm("AND")}},
		{"status = ACTIVE\nAND\tname = b AND name = a", []Term{nm("a"), nm("b"), st("ACTIVE")}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			f, err := Parse(tt.in, fields)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f.Terms, tt.want) {
				t.Fatalf("got %+v\nwant %+v", f.Terms, tt.want)
			}
			g, err := Parse(f.Canonical(), fields)
			if err != nil || !reflect.DeepEqual(g, f) {
				t.Fatalf("Parse(Canonical()) = %+v, %v", g, err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	long := `name = "` + strings.Repeat("é", 3000) + `"`
	var many []string
	for range MaxTerms + 1 {
		many = append(many, "status = ACTIVE")
	}
	tests := []struct {
		in  string
		pos int
		msg string
	}{
		{`foo = x`, 1, `unknown field "foo"; allowed fields: status, predictor_arn, name`},
		{`status = ACTIVE AND  foo = x`, 22, `unknown field "foo"`},
		{`status = ACTIVE OR status = CREATE_FAILED`, 17, "OR is not supported; combine terms with AND"},
		{`status = ACTIVE or status = CREATE_FAILED`, 17, "OR is not supported"},
		{`status = ACTIVE and name = x`, 17, `"and" is not an operator; AND must be uppercase`},
		{`status = ACTIVE And name = x`, 17, "AND must be uppercase"},
		{`NOT status = ACTIVE`, 1, "NOT is not supported; use field != value"},
		{`status = ACTIVE AND NOT name = x`, 21, "NOT is not supported"},
		{`-status = ACTIVE`, 1, "negation with - is not supported"},
		{`(status = ACTIVE)`, 1, "parentheses are not supported"},
		{`status = ACTIVE AND (name = x)`, 21, "parentheses are not supported"},
		{`status = (ACTIVE)`, 10, "parentheses are not supported"},
		{`status = ACTIVE)`, 16, "parentheses are not supported"},
		{`status:ACTIVE`, 7, "the has operator : is not supported"},
		{`status < ACTIVE`, 8, "operator < is not supported"},
		{`status <= ACTIVE`, 8, "operator <= is not supported"},
		{`status >= ACTIVE`, 8, "operator >= is not supported"},
		{`status > ACTIVE`, 8, "operator > is not supported"},
		{`status ! ACTIVE`, 8, "! is not supported"},
		{`status == ACTIVE`, 9, `expected a value, got "="`},
		{`status.x = ACTIVE`, 7, "field traversal"},
		{`name(x) = y`, 1, "functions are not supported"},
		{`name = ACT*`, 11, "wildcards (*) are not supported"},
		{`name = "AC*"`, 11, "wildcards (*) are not supported"},
		{`name = *`, 8, "wildcards (*) are not supported"},
		{`"ACTIVE"`, 1, "bare values (global search) are not supported"},
		{`ACTIVE`, 1, `unknown field "ACTIVE"`},
		{`status`, 7, "expected = or != after status"},
		{`status ACTIVE`, 8, `expected = or != after status, got "ACTIVE"`},
		{`status =`, 9, "expected a value after ="},
		{`status != `, 11, "expected a value after !="},
		{`status = ACTIVE AND`, 17, "AND must be followed by a term"},
		{`AND status = ACTIVE`, 1, "expected a field name before AND"},
		{`status = ACTIVE AND AND name = x`, 21, "expected a field name before AND"},
		{`status = AND`, 10, "expected a value, got AND"},
		{`status = ACTIVE name = x`, 17, `expected AND or end of filter, got "name"`},
		{`status = ACTIVE "x"`, 17, "expected AND or end of filter"},
		{`status = ACTIVE && name = x`, 17, "& is not supported"},
		{`status = ACTIVE || name = x`, 17, "| is not supported"},
		{`1status = x`, 1, "expected a field name"},
		{`status = $x`, 10, `expected a value, got "$x"`},
		{`name = "abc`, 8, "unterminated string"},
		{`name = "abc\`, 8, "unterminated string"},
		{`name = "a\nb"`, 10, `unsupported escape \n; only \" and \\ are allowed`},
		{`name = "é\é"`, 10, `unsupported escape \é`},
		{`name = ""`, 8, "invalid value for name: is required"},
		{`status = "active"`, 10, "invalid value for status: must be one of ACTIVE, CREATE_PENDING,"},
		{`status = ACTIVE AND predictor_arn = p1`, 37, "invalid value for predictor_arn: must be a Forecast ARN"},
		{`name = "` + strings.Repeat("x", 257) + `"`, 8, "invalid value for name: must be at most 256 characters"},
		{"name = \"a\x00b\"", 10, "control character U+0000 is not allowed"},
		{"name = x\x1b", 9, "control character U+001B"},
		{"name = \"é\u0085\"", 10, "control character U+0085"},
		{"name = \"é\xffx\"", 10, "invalid UTF-8"},
		{"name = x\x7f", 9, "control character U+007F"},
		{long, 8 + (4096-8)/2 + 1, "filter is longer than 4096 bytes"}, // 8 ASCII bytes, then 2-byte runes
		{strings.Join(many, " AND "), 20*len("status = ACTIVE AND ") + 1, "too many terms: at most 20"},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			_, err := Parse(tt.in, fields)
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v; want *Error", err)
			}
			if fe.Pos != tt.pos || !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("got %v\nwant position %d: ...%s...", err, tt.pos, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "filter: position ") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	_, err := Parse(`status = ACTIVE AND foo = x`, fields[:2])
	want := `filter: position 21: unknown field "foo"; allowed fields: status, predictor_arn`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	_, err = Parse(`foo = x`, nil)
	if err == nil || !strings.Contains(err.Error(), "no filterable fields") {
		t.Errorf("no fields: %v", err)
	}
}

func TestLimits(t *testing.T) {
	var terms []string
	for range MaxTerms {
		terms = append(terms, "name = x")
	}
	if _, err := Parse(strings.Join(terms, " AND "), fields); err != nil {
		t.Errorf("%d terms rejected: %v", MaxTerms, err)
	}
	ok := "name = x" + strings.Repeat(" ", MaxLen-len("name = x"))
	if _, err := Parse(ok, fields); err != nil {
		t.Errorf("%d bytes rejected: %v", MaxLen, err)
	}
	if _, err := Parse(ok+" ", fields); err == nil {
		t.Errorf("%d bytes accepted", MaxLen+1)
	}
}

func TestCanonical(t *testing.T) {
	groups := [][]string{
		{
			`status = "ACTIVE" AND name = "y"`,
			`name="y"  AND status=ACTIVE`,
			"name = y\nAND status = ACTIVE AND status = \"ACTIVE\"",
		},
		{`status != ACTIVE AND status != CREATE_FAILED`, `status != CREATE_FAILED AND status != ACTIVE`},
		{`status = ACTIVE`},
		{`status != ACTIVE`},
		{`name = "a\"b"`, `name="a\"b"`},
		{`name = "a\\b"`, "name=\"a\\\\b\" AND name = \"a\\\\b\""},
		{"", "   "},
	}
	seen := map[string]int{}
	for gi, g := range groups {
		var want string
		for i, in := range g {
			f, err := Parse(in, fields)
			if err != nil {
				t.Fatalf("%q: %v", in, err)
			}
			c := f.Canonical()
			if i == 0 {
				want = c
			} else if c != want {
				t.Errorf("Canonical(%q) = %q; want %q", in, c, want)
			}
		}
		if prev, dup := seen[want]; dup {
			t.Errorf("groups %d and %d share canonical form %q", prev, gi, want)
		}
		seen[want] = gi
	}
	f, _ := Parse(`status = ACTIVE AND name = "x\"y"`, fields)
	if got, want := f.Canonical(), `name = "x\"y" AND status = "ACTIVE"`; got != want {
		t.Errorf("Canonical = %q; want %q", got, want)
	}
}

func TestCondition(t *testing.T) {
	if st("x").Condition() != "IS" || nst("x").Condition() != "IS_NOT" {
		t.Error("Condition mapping wrong")
	}
}

func TestCheckers(t *testing.T) {
	if StatusValue("ACTIVE") != nil || StatusValue("active") == nil {
		t.Error("StatusValue")
	}
	if ForecastArnValue(arn1) != nil || ForecastArnValue("p1") == nil {
		t.Error("ForecastArnValue")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		`status = "ACTIVE"`,
		`status = ACTIVE AND predictor_arn != "` + arn1 + `"`,
		`name = "a \"b\" \\ c" AND name != x AND status != CREATE_FAILED`,
		`status = ACTIVE OR name = x`,
		`NOT (status = ACTIVE)`,
		`name = "é\xff"`,
		`name = "unterminated`,
		`status:ACTIVE`,
		"name\t=\nx",
		`name = a*`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s, fields)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not *Error", err)
			}
			if n := utf8.RuneCountInString(s); fe.Pos < 1 || fe.Pos > n+1 {
				t.Fatalf("position %d outside 1..%d: %v", fe.Pos, n+1, err)
			}
			return
		}
		c := got.Canonical()
		again, err := Parse(c, fields)
		if err != nil {
			t.Fatalf("Parse(Canonical()) of %q: %q: %v", s, c, err)
		}
		if !reflect.DeepEqual(again, got) {
			t.Fatalf("Parse(Canonical()) = %+v; want %+v", again, got)
		}
		if again.Canonical() != c {
			t.Fatalf("Canonical not stable: %q vs %q", again.Canonical(), c)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	s := `status = "ACTIVE" AND predictor_arn != "` + arn1 + `"`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(s, fields); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCanonical(b *testing.B) {
	f, _ := Parse(`status = "ACTIVE" AND predictor_arn != "`+arn1+`"`, fields)
	b.ReportAllocs()
	for b.Loop() {
		_ = f.Canonical()
	}
}
