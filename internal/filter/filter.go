// Package filter parses the gateway's AIP-160 filter strings.
//
// Amazon Forecast list operations take a list of Filters (Key, Value,
// Condition IS or IS_NOT) that AWS ANDs together. The gateway exposes them
// as one AIP-160 filter string so gRPC, REST and grpcurl clients all write
// the same thing:
//
//	status = "ACTIVE" AND predictor_arn != "arn:aws:forecast:us-east-1:123456789012:predictor/p1"
//
// Only the subset AWS can execute is accepted: terms of the form
// field = value or field != value joined by AND. Everything else AIP-160
// defines (OR, NOT, -, parentheses, :, comparisons, functions, wildcards)
// is rejected with a message saying it is not supported, rather than being
// silently misread. Every error carries the 1-based column of the offending
// token so clients can find it.
//
// Grammar:
//
//	expr  := [ term { "AND" term } ]
//	term  := field op value
//	op    := "=" | "!="
//	value := '"' { char | '\"' | '\\' } '"' | bare
//	bare  := 1*( letter | digit | "_" | "-" | ":" | "/" | "." | "@" | "+" )
package filter

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/forecastgw/forecast-gateway/internal/awsrules"
)

// Limits on a filter string, so parsing stays cheap and AWS is not sent
// requests it would refuse anyway.
const (
	MaxLen   = 4096 // bytes
	MaxTerms = 20
)

// Field is one filterable field of an operation.
type Field struct {
	Name   string             // name in the filter string, e.g. "predictor_arn"
	AWSKey string             // AWS Filter.Key, e.g. "PredictorArn"
	Check  func(string) error // validates a value; nil accepts any
}

// Term is one restriction, ready to become an AWS Filter.
type Term struct {
	Field   string // Field.Name
	AWSKey  string // Field.AWSKey
	Value   string
	Negated bool // != (AWS IS_NOT) rather than = (AWS IS)
}

// Condition returns the AWS Filter.Condition of t: "IS" or "IS_NOT".
func (t Term) Condition() string {
	if t.Negated {
		return "IS_NOT"
	}
	return "IS"
}

// Filter is a parsed filter. Terms are in canonical order (by field, = before
// !=, then value) with exact duplicates removed, so two filters that mean the
// same compare equal; Terms is nil for an empty filter.
type Filter struct {
	Terms []Term
}

// Canonical returns the filter as a normalized string: terms in canonical
// order joined by " AND ", values always quoted. Equal filters give equal
// strings (so page tokens can be bound to it), and Parse(f.Canonical())
// returns f.
func (f Filter) Canonical() string {
	var b strings.Builder
	n := 0
	for _, t := range f.Terms {
		n += len(t.Field) + len(t.Value) + 16
	}
	b.Grow(n)
	for i, t := range f.Terms {
		if i > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(t.Field)
		if t.Negated {
			b.WriteString(` != "`)
		} else {
			b.WriteString(` = "`)
		}
		for j := 0; j < len(t.Value); j++ {
			if c := t.Value[j]; c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(t.Value[j])
		}
		b.WriteByte('"')
	}
	return b.String()
}

// Error is a filter syntax or validation error.
type Error struct {
	Pos  int    // 1-based column (in runes) of the offending token
	Msg  string // what is wrong, and how to fix it
	Rule string // which rule broke: one of the Rule constants, or a Field.Check's
}

// Rules an Error names, so clients can tell the kinds of mistake apart
// without parsing the message.
const (
	RuleSyntax       = "syntax"        // not a filter of this grammar
	RuleUnsupported  = "unsupported"   // AIP-160 syntax AWS cannot execute (OR, NOT, <, ...)
	RuleUnknownField = "unknown_field" // a field the operation cannot filter on
	RuleValue        = "value"         // a value the field does not accept
	RuleLength       = "length"        // the filter is too long
	RuleCount        = "count"         // too many terms
)

// RuleError is an error a Field.Check may return to name the rule the value
// broke (its Error then becomes the message); other errors count as
// RuleValue.
type RuleError interface {
	error
	Rule() string
}

func (e *Error) Error() string { return fmt.Sprintf("filter: position %d: %s", e.Pos, e.Msg) }

// ValueError returns a RuleError: for a Field.Check to say which rule a
// value broke.
func ValueError(rule, msg string) error { return valueError{msg, rule} }

type valueError struct{ msg, rule string }

func (e valueError) Error() string { return e.msg }
func (e valueError) Rule() string  { return e.rule }

// StatusValue checks a job status value against awsrules.Statuses.
func StatusValue(v string) error {
	if awsrules.IsKnownStatus(v) {
		return nil
	}
	return ValueError(awsrules.RuleEnum, "must be one of "+strings.Join(awsrules.Statuses, ", "))
}

// ForecastArnValue checks that a value is a Forecast ARN.
func ForecastArnValue(v string) error {
	if viol := awsrules.CheckForecastArn(v); viol != nil {
		return ValueError(viol.Rule, viol.Message)
	}
	return nil
}

// Parse parses s against the fields an operation allows. An empty or
// all-whitespace s gives a Filter with no terms. Errors are *Error.
func Parse(s string, fields []Field) (Filter, error) {
	p := parser{s: s, fields: fields}
	if err := p.precheck(); err != nil {
		return Filter{}, err
	}
	terms, err := p.parse()
	if err != nil {
		return Filter{}, err
	}
	if len(terms) == 0 {
		return Filter{}, nil
	}
	slices.SortFunc(terms, compareTerms)
	terms = slices.Compact(terms)
	return Filter{Terms: slices.Clip(terms)}, nil
}

func compareTerms(a, b Term) int {
	if c := strings.Compare(a.Field, b.Field); c != 0 {
		return c
	}
	if a.Negated != b.Negated {
		if a.Negated {
			return 1
		}
		return -1
	}
	return strings.Compare(a.Value, b.Value)
}

type parser struct {
	s      string
	i      int // byte offset
	fields []Field
}

// errAt builds an error at byte offset i, converting it to a rune column.
// The error is a syntax error; ruleAt names another rule.
func (p *parser) errAt(i int, format string, args ...any) *Error {
	return p.ruleAt(RuleSyntax, i, format, args...)
}

func (p *parser) ruleAt(rule string, i int, format string, args ...any) *Error {
	return &Error{Pos: utf8.RuneCountInString(p.s[:i]) + 1, Msg: fmt.Sprintf(format, args...), Rule: rule}
}

// precheck enforces the length limit and rejects invalid UTF-8 and control
// characters anywhere, including inside quoted values.
func (p *parser) precheck() error {
	s := p.s
	for i := 0; i < len(s); {
		if i >= MaxLen {
			return p.ruleAt(RuleLength, i, "filter is longer than %d bytes", MaxLen)
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r') || c == 0x7f {
				return p.errAt(i, "control character %U is not allowed", rune(c))
			}
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			return p.errAt(i, "invalid UTF-8")
		}
		if unicode.IsControl(r) {
			return p.errAt(i, "control character %U is not allowed", r)
		}
		i += w
	}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isIdentStart(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' }

func isIdent(c byte) bool { return isIdentStart(c) || '0' <= c && c <= '9' }

func isBare(c byte) bool {
	return isIdent(c) || c == '-' || c == ':' || c == '/' || c == '.' || c == '@' || c == '+'
}

func (p *parser) skipSpace() {
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
}

// word returns the run of bytes satisfying ok starting at p.i (not consumed).
func (p *parser) word(ok func(byte) bool) string {
	j := p.i
	for j < len(p.s) && ok(p.s[j]) {
		j++
	}
	return p.s[p.i:j]
}

// excerpt quotes what is at offset i for an error message, shortened.
func (p *parser) excerpt(i int) string {
	rest := p.s[i:]
	if w := strings.IndexAny(rest, " \t\r\n"); w >= 0 {
		rest = rest[:w]
	}
	if len(rest) > 32 {
		cut := 32
		for cut > 0 && !utf8.RuneStart(rest[cut]) {
			cut--
		}
		rest = rest[:cut] + "..."
	}
	return fmt.Sprintf("%q", rest)
}

// unsupported explains a character that starts something AIP-160 defines
// but this subset does not, or returns nil.
func (p *parser) unsupported(i int) *Error {
	switch c := p.s[i]; c {
	case '(', ')':
		return p.ruleAt(RuleUnsupported, i, "parentheses are not supported; combine terms with AND")
	case '-':
		return p.ruleAt(RuleUnsupported, i, "negation with - is not supported; use field != value")
	case ':':
		return p.ruleAt(RuleUnsupported, i, "the has operator : is not supported; use field = value")
	case '<', '>':
		op := string(c)
		if i+1 < len(p.s) && p.s[i+1] == '=' {
			op += "="
		}
		return p.ruleAt(RuleUnsupported, i, "operator %s is not supported; only = and != are", op)
	case '*':
		return p.ruleAt(RuleUnsupported, i, "wildcards (*) are not supported; values match exactly")
	case '~':
		return p.ruleAt(RuleUnsupported, i, "operator ~ is not supported; only = and != are")
	case '!':
		return p.ruleAt(RuleUnsupported, i, "! is not supported; use field != value")
	case '.':
		return p.ruleAt(RuleUnsupported, i, "field traversal with . is not supported")
	case '|':
		return p.ruleAt(RuleUnsupported, i, "| is not supported; combine terms with AND")
	case '&':
		return p.ruleAt(RuleUnsupported, i, "& is not supported; combine terms with AND")
	}
	return nil
}

// keyword explains a word in a place where only AND or a field may appear.
func (p *parser) keyword(i int, w string) *Error {
	switch {
	case strings.EqualFold(w, "OR"):
		return p.ruleAt(RuleUnsupported, i, "OR is not supported; combine terms with AND")
	case strings.EqualFold(w, "NOT"):
		return p.ruleAt(RuleUnsupported, i, "NOT is not supported; use field != value")
	case strings.EqualFold(w, "AND") && w != "AND":
		return p.errAt(i, "%q is not an operator; AND must be uppercase", w)
	}
	return nil
}

func (p *parser) parse() ([]Term, error) {
	p.skipSpace()
	if p.i == len(p.s) {
		return nil, nil
	}
	// One allocation for the usual case; "AND" may also occur in values,
	// which only over-allocates.
	terms := make([]Term, 0, min(strings.Count(p.s, "AND")+1, MaxTerms))
	for {
		if len(terms) == MaxTerms {
			return nil, p.ruleAt(RuleCount, p.i, "too many terms: at most %d are allowed (AWS accepts a limited number of filters)", MaxTerms)
		}
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)

		p.skipSpace()
		if p.i == len(p.s) {
			return terms, nil
		}
		start := p.i
		w := p.word(isIdent)
		if w == "AND" {
			p.i += len(w)
			p.skipSpace()
			if p.i == len(p.s) {
				return nil, p.errAt(start, "AND must be followed by a term")
			}
			continue
		}
		if w != "" {
			if e := p.keyword(start, w); e != nil {
				return nil, e
			}
		} else if e := p.unsupported(start); e != nil {
			return nil, e
		}
		return nil, p.errAt(start, "expected AND or end of filter, got %s", p.excerpt(start))
	}
}

func (p *parser) term() (Term, error) {
	// Field.
	start := p.i
	c := p.s[p.i]
	if !isIdentStart(c) {
		switch {
		case c == '"':
			return Term{}, p.ruleAt(RuleUnsupported, start, "expected a field name, got a string; bare values (global search) are not supported, use field = value")
		case p.unsupported(start) != nil:
			return Term{}, p.unsupported(start)
		default:
			return Term{}, p.errAt(start, "expected a field name, got %s", p.excerpt(start))
		}
	}
	name := p.word(isIdent)
	if name == "AND" {
		return Term{}, p.errAt(start, "expected a field name before AND")
	}
	if e := p.keyword(start, name); e != nil {
		return Term{}, e
	}
	p.i += len(name)
	if p.i < len(p.s) && p.s[p.i] == '(' {
		return Term{}, p.ruleAt(RuleUnsupported, start, "functions are not supported")
	}
	field := p.lookup(name)
	if field == nil {
		return Term{}, p.unknownField(start, name)
	}

	// Operator.
	p.skipSpace()
	opPos := p.i
	var negated bool
	switch {
	case p.i == len(p.s):
		return Term{}, p.errAt(opPos, "expected = or != after %s", name)
	case p.s[p.i] == '=':
		p.i++
	case p.s[p.i] == '!' && p.i+1 < len(p.s) && p.s[p.i+1] == '=':
		negated = true
		p.i += 2
	default:
		if e := p.unsupported(opPos); e != nil {
			return Term{}, e
		}
		return Term{}, p.errAt(opPos, "expected = or != after %s, got %s", name, p.excerpt(opPos))
	}

	// Value.
	p.skipSpace()
	valPos := p.i
	if p.i == len(p.s) {
		return Term{}, p.errAt(valPos, "expected a value after %s", p.s[opPos:valPos])
	}
	var value string
	if p.s[p.i] == '"' {
		v, err := p.quoted()
		if err != nil {
			return Term{}, err
		}
		value = v
	} else {
		w := p.word(isBare)
		if w == "" {
			if e := p.unsupported(valPos); e != nil {
				return Term{}, e
			}
			return Term{}, p.errAt(valPos, "expected a value, got %s; quote values that contain other characters", p.excerpt(valPos))
		}
		if w == "AND" {
			return Term{}, p.errAt(valPos, `expected a value, got AND; write "AND" to match that literal`)
		}
		p.i += len(w)
		if p.i < len(p.s) && p.s[p.i] == '*' {
			return Term{}, p.unsupported(p.i)
		}
		value = w
	}
	if v := awsrules.CheckFilterValue(value); v != nil {
		return Term{}, p.ruleAt(v.Rule, valPos, "invalid value for %s: %s", name, v.Message)
	}
	if field.Check != nil {
		if err := field.Check(value); err != nil {
			rule := RuleValue
			if re, ok := err.(RuleError); ok {
				rule = re.Rule()
			}
			return Term{}, p.ruleAt(rule, valPos, "invalid value for %s: %v", name, err)
		}
	}
	return Term{Field: field.Name, AWSKey: field.AWSKey, Value: value, Negated: negated}, nil
}

// quoted reads a double-quoted value at p.i. Only \" and \\ are escapes.
func (p *parser) quoted() (string, error) {
	open := p.i
	p.i++
	start := p.i
	var b []byte // nil until the first escape
	for p.i < len(p.s) {
		switch c := p.s[p.i]; c {
		case '"':
			v := p.s[start:p.i]
			if b != nil {
				v = string(b)
			}
			p.i++
			return v, nil
		case '\\':
			if p.i+1 < len(p.s) && (p.s[p.i+1] == '"' || p.s[p.i+1] == '\\') {
				if b == nil {
					b = append(make([]byte, 0, len(p.s)-start), p.s[start:p.i]...)
				}
				b = append(b, p.s[p.i+1])
				p.i += 2
				continue
			}
			if p.i+1 == len(p.s) {
				return "", p.errAt(open, "unterminated string")
			}
			return "", p.errAt(p.i, `unsupported escape %s; only \" and \\ are allowed`, p.excerptN(p.i, 2))
		case '*':
			return "", p.unsupported(p.i)
		default:
			if b != nil {
				b = append(b, c)
			}
			p.i++
		}
	}
	return "", p.errAt(open, "unterminated string")
}

// excerptN quotes the rune-safe prefix of at least n bytes at offset i.
func (p *parser) excerptN(i, n int) string {
	j := min(i+n, len(p.s))
	for j < len(p.s) && !utf8.RuneStart(p.s[j]) {
		j++
	}
	return p.s[i:j]
}

func (p *parser) lookup(name string) *Field {
	for i := range p.fields {
		if p.fields[i].Name == name {
			return &p.fields[i]
		}
	}
	return nil
}

func (p *parser) unknownField(i int, name string) *Error {
	if len(p.fields) == 0 {
		return p.ruleAt(RuleUnknownField, i, "unknown field %q; this operation has no filterable fields", name)
	}
	names := make([]string, len(p.fields))
	for j, f := range p.fields {
		names[j] = f.Name
	}
	return p.ruleAt(RuleUnknownField, i, "unknown field %q; allowed fields: %s", name, strings.Join(names, ", "))
}
