package transport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/forecastgw/forecast-gateway/internal/apierr"
)

// decodeBody reads a REST request body into m the way protojson would, with
// two differences that make REST friendlier and honest:
//
//   - every mistake is a field violation naming the snake_case field path
//     (destination.s3_config.path, tags[2].key), what was wrong and, for
//     enums and unknown fields, what is allowed; all of them at once;
//   - enums also accept AWS's spelling of a value (PARQUET for
//     EXPORT_FORMAT_PARQUET, case-sensitive as AWS is).
//
// pathFields are the fields the route binds from the path: they may not be
// set in the body too. An empty body is an empty message.
func decodeBody(body []byte, m protoreflect.Message, pathFields map[string]bool) []apierr.FieldViolation {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []apierr.FieldViolation{{Field: "body", Description: "is not valid JSON: " + jsonProblem(body, err) + " (rule: syntax)"}}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return []apierr.FieldViolation{{Field: "body", Description: "holds more than one JSON value (rule: syntax)"}}
	}
	if err := noDuplicateKeys(body); err != "" {
		return []apierr.FieldViolation{{Field: "body", Description: err + " (rule: syntax)"}}
	}
	d := &bodyDecoder{path: pathFields}
	d.message("", v, m, true)
	for i := range d.vs {
		if d.vs[i].Field == "" {
			d.vs[i].Field = "body" // the body as a whole
		}
	}
	return d.vs
}

// jsonProblem says where a JSON syntax error is.
func jsonProblem(body []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s at byte %d", se.Error(), se.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Sprintf("it ends early, at byte %d", len(body))
	}
	return err.Error()
}

type bodyDecoder struct {
	path map[string]bool
	vs   []apierr.FieldViolation
}

func (d *bodyDecoder) fail(field, format string, args ...any) {
	d.vs = append(d.vs, apierr.FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// kindOf names a JSON value's kind for messages.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func (d *bodyDecoder) message(at string, v any, m protoreflect.Message, top bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		d.fail(at, "must be a JSON object, got %s (rule: type)", kindOf(v))
		return
	}
	fields := m.Descriptor().Fields()
	for _, key := range slices.Sorted(maps.Keys(obj)) {
		fd := fields.ByName(protoreflect.Name(key))
		if fd == nil {
			fd = fields.ByJSONName(key)
		}
		if fd == nil {
			d.fail(join(at, key), "unknown field; allowed fields: %s (rule: unknown_field)", allowedFields(fields, top, d.path))
			continue
		}
		name := string(fd.Name())
		field := join(at, name)
		if top && d.path[name] {
			d.fail(field, "is given by the URL path, not the body (rule: unknown_field)")
			continue
		}
		val := obj[key]
		if val == nil {
			continue // null: the field's default, as in protojson
		}
		switch {
		case fd.IsList():
			arr, ok := val.([]any)
			if !ok {
				d.fail(field, "must be a JSON array, got %s (rule: type)", kindOf(val))
				continue
			}
			l := m.Mutable(fd).List()
			for i, e := range arr {
				el := fmt.Sprintf("%s[%d]", field, i)
				if fd.Message() != nil {
					item := l.NewElement()
					d.message(el, e, item.Message(), false)
					l.Append(item)
				} else if x, ok := d.scalar(el, e, fd); ok {
					l.Append(x)
				}
			}
		case fd.IsMap():
			obj, ok := val.(map[string]any)
			if !ok {
				d.fail(field, "must be a JSON object, got %s (rule: type)", kindOf(val))
				continue
			}
			mp := m.Mutable(fd).Map()
			for _, k := range slices.Sorted(maps.Keys(obj)) {
				el := fmt.Sprintf("%s[%q]", field, k)
				key := protoreflect.ValueOfString(k).MapKey()
				if fd.MapValue().Message() != nil {
					item := mp.NewValue()
					d.message(el, obj[k], item.Message(), false)
					mp.Set(key, item)
				} else if x, ok := d.scalar(el, obj[k], fd.MapValue()); ok {
					mp.Set(key, x)
				}
			}
		case fd.Message() != nil:
			d.message(field, val, m.Mutable(fd).Message(), false)
		default:
			if x, ok := d.scalar(field, val, fd); ok {
				m.Set(fd, x)
			}
		}
	}
}

// allowedFields lists the field names a body may carry.
func allowedFields(fields protoreflect.FieldDescriptors, top bool, path map[string]bool) string {
	var names []string
	for i := range fields.Len() {
		name := string(fields.Get(i).Name())
		if !(top && path[name]) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func (d *bodyDecoder) scalar(field string, v any, fd protoreflect.FieldDescriptor) (protoreflect.Value, bool) {
	bad := func(want string) (protoreflect.Value, bool) {
		d.fail(field, "must be %s, got %s (rule: type)", want, kindOf(v))
		return protoreflect.Value{}, false
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		if s, ok := v.(string); ok {
			return protoreflect.ValueOfString(s), true
		}
		return bad("a string")
	case protoreflect.BoolKind:
		if b, ok := v.(bool); ok {
			return protoreflect.ValueOfBool(b), true
		}
		return bad("true or false")
	case protoreflect.EnumKind:
		return d.enum(field, v, fd.Enum())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		bits := 64
		if k := fd.Kind(); k == protoreflect.Int32Kind || k == protoreflect.Sint32Kind || k == protoreflect.Sfixed32Kind {
			bits = 32
		}
		s, ok := numberText(v)
		if !ok {
			return bad("an integer (a number or a string of digits)")
		}
		n, err := strconv.ParseInt(s, 10, bits)
		switch {
		case errors.Is(err, strconv.ErrRange):
			d.fail(field, "must be an integer that fits in %d bits, got %s (rule: range)", bits, s)
			return protoreflect.Value{}, false
		case err != nil:
			d.fail(field, "must be an integer (a number or a string of digits), got %q (rule: type)", s)
			return protoreflect.Value{}, false
		}
		if bits == 32 {
			return protoreflect.ValueOfInt32(int32(n)), true
		}
		return protoreflect.ValueOfInt64(n), true
	case protoreflect.DoubleKind, protoreflect.FloatKind:
		s, ok := numberText(v)
		if !ok {
			return bad("a number")
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) && s != "Infinity" && s != "-Infinity" {
			d.fail(field, "must be a number, got %s (rule: type)", s)
			return protoreflect.Value{}, false
		}
		return protoreflect.ValueOfFloat64(f), true
	}
	d.fail(field, "cannot be set over REST (rule: type)")
	return protoreflect.Value{}, false
}

// numberText is a JSON number or a numeric string (protojson accepts both
// for integers and floats).
func numberText(v any) (string, bool) {
	switch x := v.(type) {
	case json.Number:
		return x.String(), true
	case string:
		return x, x != ""
	}
	return "", false
}

// enum accepts a value's name, AWS's spelling of it (the name without the
// enum's prefix: PARQUET for EXPORT_FORMAT_PARQUET) or its number.
func (d *bodyDecoder) enum(field string, v any, ed protoreflect.EnumDescriptor) (protoreflect.Value, bool) {
	values := ed.Values()
	if s, ok := v.(string); ok {
		if ev := values.ByName(protoreflect.Name(s)); ev != nil {
			return protoreflect.ValueOfEnum(ev.Number()), true
		}
		if ev := enumAlias(ed, s); ev != nil {
			return protoreflect.ValueOfEnum(ev.Number()), true
		}
	}
	if n, ok := v.(json.Number); ok {
		if i, err := strconv.ParseInt(n.String(), 10, 32); err == nil && values.ByNumber(protoreflect.EnumNumber(i)) != nil {
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber(i)), true
		}
	}
	names, aliases := make([]string, 0, values.Len()), make([]string, 0, values.Len())
	for i := range values.Len() {
		names = append(names, string(values.Get(i).Name()))
		if a := aliasOf(ed, values.Get(i)); a != "" {
			aliases = append(aliases, a)
		}
	}
	got := kindOf(v)
	if s, ok := v.(string); ok {
		got = strconv.Quote(s)
	}
	d.fail(field, "must be one of %s (or AWS's %s), got %s (rule: enum)", strings.Join(names, ", "), strings.Join(aliases, ", "), got)
	return protoreflect.Value{}, false
}

// enumPrefix is the prefix every value name of ed carries (EXPORT_FORMAT_
// for ExportFormat), by the proto style guide.
func enumPrefix(ed protoreflect.EnumDescriptor) string {
	var b strings.Builder
	for i, c := range string(ed.Name()) {
		if i > 0 && c >= 'A' && c <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(c)
	}
	return strings.ToUpper(b.String()) + "_"
}

// aliasOf is AWS's spelling of a value, or "" for the zero value (which
// AWS has no word for).
func aliasOf(ed protoreflect.EnumDescriptor, ev protoreflect.EnumValueDescriptor) string {
	if ev.Number() == 0 {
		return ""
	}
	return strings.TrimPrefix(string(ev.Name()), enumPrefix(ed))
}

func enumAlias(ed protoreflect.EnumDescriptor, s string) protoreflect.EnumValueDescriptor {
	values := ed.Values()
	if ev := values.ByName(protoreflect.Name(enumPrefix(ed) + s)); ev != nil && ev.Number() != 0 {
		return ev
	}
	return nil
}

// noDuplicateKeys finds an object key given twice (protojson refuses
// those; encoding/json keeps the last). body is valid JSON.
func noDuplicateKeys(body []byte) string {
	type frame struct {
		keys   map[string]bool // nil for an array
		expect bool            // the next token of an object is a key
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.keys != nil && top.expect {
			if k, ok := tok.(string); ok {
				if top.keys[k] {
					return fmt.Sprintf("the key %q is given twice in one object", k)
				}
				top.keys[k], top.expect = true, false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, expect: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].keys != nil {
				stack[len(stack)-1].expect = true
			}
		default: // a scalar value
			if top != nil && top.keys != nil {
				top.expect = true
			}
		}
	}
}
