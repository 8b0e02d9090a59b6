package transport

import (
	"encoding/base64"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// restJSON is the REST marshaler. It writes what protojson writes with the
// gateway's options (proto field names, zero values omitted, enums by name,
// int64 as strings, RFC 3339 timestamps, map keys sorted), but from a plan
// cached per message type instead of protojson's general machinery, which
// made JSON encoding the largest cost of a REST list page (several
// microseconds and about 21 allocations per job). Anything the plan cannot
// encode exactly as protojson would (invalid UTF-8, an out-of-range
// timestamp, a nil list element, a well-known type other than Timestamp)
// goes to protojson, so results and errors stay protojson's.
// restjson_test.go checks the two agree on random messages of every type.
type restJSON struct {
	*runtime.JSONPb
	// emitEmptyLists writes a list with no elements as [] instead of
	// leaving it out (protojson's way), so a client always finds the key.
	emitEmptyLists bool
}

var jsonBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledJSONBuf keeps an unusually large response's buffer out of the
// pool, so one big page does not pin its memory for the process's life.
const maxPooledJSONBuf = 1 << 20

// Marshal implements runtime.Marshaler.
func (m restJSON) Marshal(v any) ([]byte, error) {
	msg, isProto := v.(proto.Message)
	if !isProto {
		return m.JSONPb.Marshal(v)
	}
	bp := jsonBufs.Get().(*[]byte)
	w := jsonWriter{buf: (*bp)[:0], ok: true, emptyLists: m.emitEmptyLists}
	w.message(msg.ProtoReflect())
	var out []byte
	if w.ok {
		out = append([]byte(nil), w.buf...)
	}
	if cap(w.buf) <= maxPooledJSONBuf {
		*bp = w.buf
		jsonBufs.Put(bp)
	}
	if out != nil {
		return out, nil
	}
	return m.JSONPb.Marshal(v)
}

// messagePlan is what encoding a message type needs, worked out once.
type messagePlan struct {
	fields []*fieldPlan
	wkt    wellKnown
}

type wellKnown int

const (
	notWellKnown wellKnown = iota
	wktTimestamp
	wktOther // left to protojson
)

type fieldPlan struct {
	fd       protoreflect.FieldDescriptor
	key      []byte   // `"name":`
	enums    []string // value names of an enum field, by number ("" if none)
	presence bool     // a scalar with explicit presence (proto3 optional)
	kind     fieldShape
	// child caches the plan of a message field's type, saving a lookup in
	// plans per nested message (set on first use; plans are shared).
	child atomic.Pointer[messagePlan]
}

// fieldShape says how a field's value is found to be set: what m.Has
// would answer, read from the value m.Get returns anyway, saving a second
// reflective call per field.
type fieldShape int

const (
	shapeScalar fieldShape = iota
	shapeMessage
	shapeList
	shapeMap
)

var plans sync.Map // protoreflect.MessageDescriptor -> *messagePlan

func planFor(md protoreflect.MessageDescriptor) *messagePlan {
	if p, ok := plans.Load(md); ok {
		return p.(*messagePlan)
	}
	p := &messagePlan{}
	switch {
	case md.FullName() == "google.protobuf.Timestamp":
		p.wkt = wktTimestamp
	case md.ParentFile() != nil && md.ParentFile().Package() == "google.protobuf":
		p.wkt = wktOther
	}
	fds := md.Fields()
	for i := range fds.Len() {
		fd := fds.Get(i)
		f := &fieldPlan{fd: fd, key: []byte(`"` + string(fd.Name()) + `":`)}
		switch {
		case fd.IsList():
			f.kind = shapeList
		case fd.IsMap():
			f.kind = shapeMap
		case fd.Message() != nil:
			f.kind = shapeMessage
		default:
			f.presence = fd.HasPresence()
		}
		if fd.Kind() == protoreflect.EnumKind {
			f.enums = enumNames(fd.Enum())
		} else if fd.IsMap() && fd.MapValue().Kind() == protoreflect.EnumKind {
			f.enums = enumNames(fd.MapValue().Enum())
		}
		p.fields = append(p.fields, f)
	}
	actual, _ := plans.LoadOrStore(md, p)
	return actual.(*messagePlan)
}

// enumNames indexes an enum's value names by number. Numbers that are
// negative or sparse beyond 256 are left to the slow lookup.
func enumNames(ed protoreflect.EnumDescriptor) []string {
	vs := ed.Values()
	var names []string
	for i := range vs.Len() {
		n := vs.Get(i).Number()
		if n < 0 || n > 255 {
			continue
		}
		for int(n) >= len(names) {
			names = append(names, "")
		}
		names[n] = string(vs.Get(i).Name())
	}
	return names
}

// jsonWriter appends one JSON document; ok turns false when a value needs
// protojson (the caller then discards the buffer).
type jsonWriter struct {
	buf        []byte
	ok         bool
	emptyLists bool // write empty lists as []
}

func (w *jsonWriter) message(m protoreflect.Message) {
	if !m.IsValid() {
		w.ok = false // a nil message where protojson decides what to do
		return
	}
	w.messageWithPlan(m, planFor(m.Descriptor()))
}

// field writes a message-typed field's value with its cached plan.
func (w *jsonWriter) field(f *fieldPlan, m protoreflect.Message) {
	if !m.IsValid() {
		w.ok = false
		return
	}
	p := f.child.Load()
	if p == nil {
		p = planFor(m.Descriptor())
		f.child.Store(p)
	}
	w.messageWithPlan(m, p)
}

func (w *jsonWriter) messageWithPlan(m protoreflect.Message, p *messagePlan) {
	switch p.wkt {
	case wktTimestamp:
		w.timestamp(m)
		return
	case wktOther:
		w.ok = false
		return
	}
	w.buf = append(w.buf, '{')
	first := true
	for _, f := range p.fields {
		var v protoreflect.Value
		if f.presence {
			if !m.Has(f.fd) {
				continue
			}
			v = m.Get(f.fd)
		} else if v = m.Get(f.fd); !isSet(f, v) && !(w.emptyLists && f.kind == shapeList) {
			continue
		}
		if !first {
			w.buf = append(w.buf, ',')
		}
		first = false
		w.buf = append(w.buf, f.key...)
		switch f.kind {
		case shapeList:
			w.list(f, v.List())
		case shapeMap:
			w.mapValue(f, v.Map())
		case shapeMessage:
			w.field(f, v.Message())
		default:
			w.value(f.fd, f.enums, v)
		}
		if !w.ok {
			return
		}
	}
	w.buf = append(w.buf, '}')
}

// isSet is m.Has for a field without explicit presence: a non-zero scalar,
// a non-nil message, a non-empty list or map.
func isSet(f *fieldPlan, v protoreflect.Value) bool {
	switch f.kind {
	case shapeList:
		return v.List().Len() > 0
	case shapeMap:
		return v.Map().Len() > 0
	case shapeMessage:
		return v.Message().IsValid()
	}
	switch f.fd.Kind() {
	case protoreflect.StringKind:
		return v.String() != ""
	case protoreflect.BoolKind:
		return v.Bool()
	case protoreflect.EnumKind:
		return v.Enum() != 0
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind, protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return v.Int() != 0
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return v.Uint() != 0
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		// proto3 counts -0.0 as set (its bits are not zero).
		return math.Float64bits(v.Float()) != 0
	case protoreflect.BytesKind:
		return len(v.Bytes()) > 0
	}
	return true
}

func (w *jsonWriter) list(f *fieldPlan, l protoreflect.List) {
	w.buf = append(w.buf, '[')
	for i := range l.Len() {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		if f.fd.Kind() == protoreflect.MessageKind {
			w.field(f, l.Get(i).Message())
		} else {
			w.value(f.fd, f.enums, l.Get(i))
		}
	}
	w.buf = append(w.buf, ']')
}

// mapValue writes a map with its keys sorted, as protojson does. Only
// string keys are planned (this API has no other).
func (w *jsonWriter) mapValue(f *fieldPlan, m protoreflect.Map) {
	if f.fd.MapKey().Kind() != protoreflect.StringKind {
		w.ok = false
		return
	}
	keys := make([]string, 0, m.Len())
	m.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k.String())
		return true
	})
	slices.Sort(keys)
	w.buf = append(w.buf, '{')
	for i, k := range keys {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.quote(k)
		w.buf = append(w.buf, ':')
		w.value(f.fd.MapValue(), f.enums, m.Get(protoreflect.ValueOfString(k).MapKey()))
	}
	w.buf = append(w.buf, '}')
}

func (w *jsonWriter) value(fd protoreflect.FieldDescriptor, enums []string, v protoreflect.Value) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		w.quote(v.String())
	case protoreflect.BoolKind:
		w.buf = strconv.AppendBool(w.buf, v.Bool())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		w.buf = strconv.AppendInt(w.buf, v.Int(), 10)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		w.buf = strconv.AppendUint(w.buf, v.Uint(), 10)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		w.buf = append(w.buf, '"')
		w.buf = strconv.AppendInt(w.buf, v.Int(), 10)
		w.buf = append(w.buf, '"')
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		w.buf = append(w.buf, '"')
		w.buf = strconv.AppendUint(w.buf, v.Uint(), 10)
		w.buf = append(w.buf, '"')
	case protoreflect.DoubleKind:
		w.float(v.Float(), 64)
	case protoreflect.FloatKind:
		w.float(v.Float(), 32)
	case protoreflect.EnumKind:
		// The value's name, or its number when the name is unknown, as
		// protojson does.
		n := v.Enum()
		name := ""
		if n >= 0 && int(n) < len(enums) {
			name = enums[n]
		} else if ev := fd.Enum().Values().ByNumber(n); ev != nil {
			name = string(ev.Name())
		}
		if name != "" {
			w.buf = append(w.buf, '"')
			w.buf = append(w.buf, name...)
			w.buf = append(w.buf, '"')
		} else {
			w.buf = strconv.AppendInt(w.buf, int64(n), 10)
		}
	case protoreflect.BytesKind:
		w.buf = append(w.buf, '"')
		w.buf = base64.StdEncoding.AppendEncode(w.buf, v.Bytes())
		w.buf = append(w.buf, '"')
	case protoreflect.MessageKind, protoreflect.GroupKind:
		w.message(v.Message())
	default:
		w.ok = false
	}
}

// float writes a number as protojson does (encoding/json's format, and
// NaN and the infinities as strings).
func (w *jsonWriter) float(n float64, bitSize int) {
	switch {
	case math.IsNaN(n):
		w.buf = append(w.buf, `"NaN"`...)
		return
	case math.IsInf(n, +1):
		w.buf = append(w.buf, `"Infinity"`...)
		return
	case math.IsInf(n, -1):
		w.buf = append(w.buf, `"-Infinity"`...)
		return
	}
	format := byte('f')
	if abs := math.Abs(n); abs != 0 {
		if bitSize == 64 && (abs < 1e-6 || abs >= 1e21) || bitSize == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	w.buf = strconv.AppendFloat(w.buf, n, format, -1, bitSize)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		k := len(w.buf)
		if k >= 4 && w.buf[k-4] == 'e' && w.buf[k-3] == '-' && w.buf[k-2] == '0' {
			w.buf[k-2] = w.buf[k-1]
			w.buf = w.buf[:k-1]
		}
	}
}

// Timestamp range that protojson accepts: 0001-01-01 to 9999-12-31.
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300799
)

// timestamp writes a google.protobuf.Timestamp as RFC 3339 in UTC with 0,
// 3, 6 or 9 fractional digits, protojson's format.
func (w *jsonWriter) timestamp(m protoreflect.Message) {
	fds := m.Descriptor().Fields()
	secs, nanos := m.Get(fds.ByNumber(1)).Int(), m.Get(fds.ByNumber(2)).Int()
	if secs < minTimestampSeconds || secs > maxTimestampSeconds || nanos < 0 || nanos >= 1e9 {
		w.ok = false
		return
	}
	w.buf = append(w.buf, '"')
	w.buf = appendDateTime(w.buf, time.Unix(secs, 0).UTC())
	if nanos != 0 {
		digits, n := 9, nanos
		for digits > 3 && n%1000 == 0 {
			n /= 1000
			digits -= 3
		}
		w.buf = append(w.buf, '.')
		s := strconv.AppendInt(nil, n, 10)
		for range digits - len(s) {
			w.buf = append(w.buf, '0')
		}
		w.buf = append(w.buf, s...)
	}
	w.buf = append(w.buf, 'Z', '"')
}

// appendDateTime writes t as 2006-01-02T15:04:05 (t.AppendFormat with that
// layout parses the layout on every call, a quarter of a list page's cost).
func appendDateTime(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	return appendDigits(b, sec, 2)
}

// appendDigits writes a non-negative n with at least width digits.
func appendDigits(b []byte, n, width int) []byte {
	var tmp [20]byte
	i := len(tmp)
	for n >= 10 || width > 1 {
		i--
		tmp[i] = byte('0' + n%10)
		n /= 10
		width--
	}
	i--
	tmp[i] = byte('0' + n)
	return append(b, tmp[i:]...)
}

const hexDigits = "0123456789abcdef"

// quote writes s as a JSON string, escaping as protojson does. Invalid
// UTF-8 is left to protojson, which rejects it.
func (w *jsonWriter) quote(s string) {
	if !utf8.ValidString(s) {
		w.ok = false
		return
	}
	w.buf = append(w.buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		w.buf = append(w.buf, s[start:i]...)
		switch c {
		case '"', '\\':
			w.buf = append(w.buf, '\\', c)
		case '\b':
			w.buf = append(w.buf, '\\', 'b')
		case '\f':
			w.buf = append(w.buf, '\\', 'f')
		case '\n':
			w.buf = append(w.buf, '\\', 'n')
		case '\r':
			w.buf = append(w.buf, '\\', 'r')
		case '\t':
			w.buf = append(w.buf, '\\', 't')
		default:
			w.buf = append(w.buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	w.buf = append(w.buf, s[start:]...)
	w.buf = append(w.buf, '"')
}
