package callinfo

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestValidRequestID(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"abc-123", true},
		{"req_1.2:3", true},
		{strings.Repeat("a", MaxRequestIDLen), true},
		{"", false},
		{strings.Repeat("a", MaxRequestIDLen+1), false},
		{"has space", false},
		{"line\nbreak", false},
		{"quote\"", false},
		{"Bearer eyJ.x.y", false},
		{"é", false},
	} {
		if got := ValidRequestID(tc.id); got != tc.want {
			t.Errorf("ValidRequestID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

func TestRequestIDFrom(t *testing.T) {
	if got := RequestIDFrom("client-7"); got != "client-7" {
		t.Errorf("a valid client id was replaced: %q", got)
	}
	a, b := RequestIDFrom("bad id"), RequestIDFrom("")
	if !ValidRequestID(a) || len(a) != 32 || a == b {
		t.Errorf("new ids %q, %q: want two different 32-hex-digit ids", a, b)
	}
}

func TestContext(t *testing.T) {
	ctx := context.Background()
	if FromContext(ctx) != nil || RequestID(ctx) != "" {
		t.Fatal("an empty context has call info")
	}
	info := &Info{RequestID: "r1", Transport: REST}
	ctx = NewContext(ctx, info)
	if FromContext(ctx) != info || RequestID(ctx) != "r1" {
		t.Fatal("the call info did not round-trip")
	}
}

func TestRecorded(t *testing.T) {
	info := &Info{}
	if info.Caller() != "" {
		t.Error("a new Info has a caller")
	}
	if _, _, ok := info.Outcome(); ok {
		t.Error("a new Info has an outcome")
	}
	info.SetCaller("jwt:iss|sub")
	info.SetOutcome("/s/M", 0)
	info.AddUpstream(2 * time.Millisecond)
	info.AddUpstream(3 * time.Millisecond)
	if m, c, ok := info.Outcome(); !ok || m != "/s/M" || c != 0 {
		t.Errorf("Outcome = %q, %d, %v", m, c, ok)
	}
	if n, d := info.Upstream(); n != 2 || d != 5*time.Millisecond || info.Caller() != "jwt:iss|sub" {
		t.Errorf("Upstream = %d, %v; caller %q", n, d, info.Caller())
	}
}
