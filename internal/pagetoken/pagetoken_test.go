package pagetoken

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

const (
	method = "ListPredictorBacktestExportJobs"
	filter = `status = "ACTIVE"`
)

var (
	key1 = bytes.Repeat([]byte{1}, 32)
	key2 = bytes.Repeat([]byte{2}, 32)
	key3 = bytes.Repeat([]byte{3}, 32)
	t0   = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// upstream looks like a typical ~200-byte AWS NextToken.
	upstream = strings.Repeat("AAEAAZ9xq7+/=", 16)[:200]
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func mustKeyring(t testing.TB, keys ...[]byte) *Keyring {
	t.Helper()
	kr, err := NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func newCodec(t testing.TB, clk *clock, keys ...[]byte) *Codec {
	return NewCodec(mustKeyring(t, keys...), Options{Now: clk.now})
}

func TestRoundTrip(t *testing.T) {
	clk := &clock{t0}
	c := newCodec(t, clk, key1)
	for _, up := range []string{"", "x", upstream, strings.Repeat("z", MaxUpstreamLen)} {
		for _, f := range []string{"", filter} {
			tok, err := c.Seal(method, f, "", up)
			if err != nil {
				t.Fatal(err)
			}
			if strings.ContainsAny(tok, "+/=") {
				t.Errorf("token not URL-safe unpadded base64: %q", tok)
			}
			if len(up) > 3 && strings.Contains(tok, up) {
				t.Error("upstream token visible in page token")
			}
			got, err := c.Open(tok, method, f, "")
			if err != nil || got != up {
				t.Fatalf("Open = %q, %v; want %q", got, err, up)
			}
		}
	}
}

func TestTokenSize(t *testing.T) {
	c := newCodec(t, &clock{t0}, key1)
	tok, err := c.Seal(method, filter, "", upstream)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) >= 400 {
		t.Errorf("token for a 200-byte upstream is %d chars; want < 400", len(tok))
	}
	if _, err := c.Seal(method, filter, "", strings.Repeat("z", MaxUpstreamLen+1)); err == nil {
		t.Error("Seal accepted an over-long upstream token")
	}
}

func TestUniqueNonces(t *testing.T) {
	c := newCodec(t, &clock{t0}, key1)
	a, _ := c.Seal(method, filter, "", upstream)
	b, _ := c.Seal(method, filter, "", upstream)
	if a == b {
		t.Error("two seals of the same input gave the same token")
	}
}

func TestRotation(t *testing.T) {
	clk := &clock{t0}
	old := newCodec(t, clk, key1)
	rotated := newCodec(t, clk, key2, key1)
	retired := newCodec(t, clk, key2)

	oldTok, _ := old.Seal(method, filter, "", "u1")
	if got, err := rotated.Open(oldTok, method, filter, ""); err != nil || got != "u1" {
		t.Fatalf("rotated keyring cannot open old token: %q, %v", got, err)
	}
	newTok, _ := rotated.Seal(method, filter, "", "u2")
	if _, err := old.Open(newTok, method, filter, ""); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old keyring opened token of new key: %v", err)
	}
	if got, err := retired.Open(newTok, method, filter, ""); err != nil || got != "u2" {
		t.Fatalf("new key did not seal: %q, %v", got, err)
	}
	if _, err := retired.Open(oldTok, method, filter, ""); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("retired key still opens: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	clk := &clock{t0}
	c := newCodec(t, clk, key1, key2)
	good, _ := c.Seal(method, filter, "", upstream)
	foreign, _ := newCodec(t, clk, key3).Seal(method, filter, "", upstream)
	raw, _ := enc.DecodeString(good)
	badVersion := append([]byte{9}, raw[1:]...)
	// Same key id as key1 but another key: authentication must fail.
	swapped, _ := enc.DecodeString(good)
	swapped[len(swapped)-1] ^= 1

	tests := []struct {
		name, token, method, filter string
		advance                     time.Duration
		want                        error
		msg                         string
	}{
		{"empty", "", method, filter, 0, ErrMalformed, "empty"},
		{"not base64", "!!!!" + good[4:], method, filter, 0, ErrMalformed, "not valid"},
		{"std base64", strings.NewReplacer("-", "+", "_", "/").Replace(good) + "+/", method, filter, 0, ErrMalformed, ""},
		{"padded", good + "=", method, filter, 0, ErrMalformed, ""},
		{"too short", "AQ", method, filter, 0, ErrMalformed, "truncated"},
		{"too long", strings.Repeat("A", maxTokenLen+1), method, filter, 0, ErrMalformed, "too long"},
		{"wrong version", enc.EncodeToString(badVersion), method, filter, 0, ErrMalformed, "version 9"},
		{"foreign key", foreign, method, filter, 0, ErrUnknownKey, "not issued by this service"},
		{"tampered", enc.EncodeToString(swapped), method, filter, 0, ErrTampered, "modified"},
		{"wrong method", good, "ListForecastExportJobs", filter, 0, ErrWrongMethod, "different method"},
		{"wrong filter", good, method, `status = "CREATE_FAILED"`, 0, ErrWrongFilter, "different filter"},
		{"no filter", good, method, "", 0, ErrWrongFilter, "different filter"},
		{"expired", good, method, filter, DefaultTTL, ErrExpired, "expired at 2026-03-02T11:00:00Z"},
		{"long expired", good, method, filter, 48 * time.Hour, ErrExpired, "expired at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.t = t0.Add(tt.advance)
			defer func() { clk.t = t0 }()
			got, err := c.Open(tt.token, tt.method, tt.filter, "")
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open = %q, %v; want %v", got, err, tt.want)
			}
			if got != "" {
				t.Errorf("Open returned upstream %q with error", got)
			}
			var pe *Error
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q: want *Error containing %q", err, tt.msg)
			}
			if strings.Contains(err.Error(), upstream) {
				t.Error("error message leaks the upstream token")
			}
		})
	}
	clk.t = t0.Add(DefaultTTL - time.Second)
	if _, err := c.Open(good, method, filter, ""); err != nil {
		t.Errorf("token rejected a second before expiry: %v", err)
	}
}

// TestEveryByteFlip changes each character of a token to every other
// base64 character (and a few non-base64 ones): Open must never succeed.
func TestEveryByteFlip(t *testing.T) {
	c := newCodec(t, &clock{t0}, key1)
	tok, _ := c.Seal(method, filter, "", "next-token-123")
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=.!\x00"
	b := []byte(tok)
	for i := range b {
		orig := b[i]
		for j := 0; j < len(alphabet); j++ {
			if alphabet[j] == orig {
				continue
			}
			b[i] = alphabet[j]
			_, err := c.Open(string(b), method, filter, "")
			switch {
			case err == nil:
				t.Fatalf("modified token opened (char %d %q→%q)", i, orig, alphabet[j])
			case errors.Is(err, ErrTampered), errors.Is(err, ErrMalformed):
			case errors.Is(err, ErrUnknownKey) && i < 8:
				// Characters 1-7 encode the version and key id; a changed
				// key id is indistinguishable from a foreign token.
			default:
				t.Fatalf("char %d %q→%q: unexpected error %v", i, orig, alphabet[j], err)
			}
		}
		b[i] = orig
	}
}

func TestEveryTruncation(t *testing.T) {
	c := newCodec(t, &clock{t0}, key1)
	tok, _ := c.Seal(method, filter, "", upstream)
	for n := 0; n < len(tok); n++ {
		_, err := c.Open(tok[:n], method, filter, "")
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTampered) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	raw, _ := enc.DecodeString(tok)
	for n := 0; n < len(raw); n++ {
		_, err := c.Open(enc.EncodeToString(raw[:n]), method, filter, "")
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTampered) {
			t.Fatalf("raw truncated to %d: %v", n, err)
		}
	}
}

func TestTTL(t *testing.T) {
	tests := []struct {
		in, want time.Duration
	}{
		{0, DefaultTTL},
		{-time.Hour, DefaultTTL},
		{time.Hour, time.Hour},
		{24 * time.Hour, 24 * time.Hour},
		{25 * time.Hour, MaxTTL},
		{1000 * time.Hour, MaxTTL},
	}
	for _, tt := range tests {
		clk := &clock{t0}
		c := NewCodec(mustKeyring(t, key1), Options{TTL: tt.in, Now: clk.now})
		if c.TTL() != tt.want {
			t.Errorf("TTL(%v) = %v; want %v", tt.in, c.TTL(), tt.want)
		}
		tok, _ := c.Seal(method, "", "", "u")
		clk.t = t0.Add(tt.want - time.Second)
		if _, err := c.Open(tok, method, "", ""); err != nil {
			t.Errorf("TTL %v: rejected before expiry: %v", tt.in, err)
		}
		clk.t = t0.Add(tt.want)
		if _, err := c.Open(tok, method, "", ""); !errors.Is(err, ErrExpired) {
			t.Errorf("TTL %v: not expired at TTL: %v", tt.in, err)
		}
	}
}

func TestNewKeyring(t *testing.T) {
	for _, n := range []int{16, 24, 32} {
		if _, err := NewKeyring(make([]byte, n)); err != nil {
			t.Errorf("%d-byte key: %v", n, err)
		}
	}
	tests := []struct {
		keys [][]byte
		msg  string
	}{
		{nil, "no keys"},
		{[][]byte{key1, make([]byte, 20)}, "key 2 is 20 bytes"},
		{[][]byte{key1, key2, key1}, "key 3 duplicates key 1"},
	}
	for _, tt := range tests {
		_, err := NewKeyring(tt.keys...)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("NewKeyring: %v; want %q", err, tt.msg)
		}
	}
	kr, err := RandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	c := NewCodec(kr, Options{})
	tok, _ := c.Seal(method, filter, "", "u")
	if got, err := c.Open(tok, method, filter, ""); err != nil || got != "u" {
		t.Errorf("random keyring round trip: %q, %v", got, err)
	}
}

func TestParseKeys(t *testing.T) {
	k32 := bytes.Repeat([]byte{0xfb, 0xff, 0x01}, 11)[:32] // has + and / in std base64
	k16 := bytes.Repeat([]byte{0xab}, 16)
	std := base64.StdEncoding.EncodeToString(k32)
	url := base64.URLEncoding.EncodeToString(k32)
	tests := []struct {
		name string
		text string
		want [][]byte
	}{
		{"std padded", std, [][]byte{k32}},
		{"std raw", strings.TrimRight(std, "="), [][]byte{k32}},
		{"url padded", url, [][]byte{k32}},
		{"url raw", strings.TrimRight(url, "="), [][]byte{k32}},
		{"hex", hex.EncodeToString(k32), [][]byte{k32}},
		{"hex upper 16", strings.ToUpper(hex.EncodeToString(k16)), [][]byte{k16}},
		{"lines and comments", "# keys\n\n" + std + "  # newest\r\n\t" + hex.EncodeToString(k16) + "\n#old\n", [][]byte{k32, k16}},
		{"commas", " " + std + " , ," + hex.EncodeToString(k16) + ",", [][]byte{k32, k16}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKeys(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d keys; want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !bytes.Equal(got[i], tt.want[i]) {
					t.Errorf("key %d differs", i+1)
				}
			}
		})
	}

	secret := "c2VjcmV0LWtleS1tYXRlcmlhbA" // "secret-key-material", 19 bytes
	bad := []struct {
		name, text, msg string
	}{
		{"empty", "", "no keys"},
		{"only comments", "# nothing\n  \n,", "no keys"},
		{"short", std + "\n" + secret, "key entry 2 (line 2): decodes to 19 bytes"},
		{"garbage", std + "," + "not*base64!", "key entry 2 (line 1): not valid base64 or hex"},
		{"short hex", "abcdef0123", "hex key decodes to 5 bytes"},
		{"mixed alphabets", "ab+cd_ef", "mixes standard and URL-safe"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseKeys(tt.text)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v; want %q", err, tt.msg)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), std) {
				t.Error("error echoes key material")
			}
		})
	}
}

func FuzzOpen(f *testing.F) {
	clk := &clock{t0}
	// Fuzzing runs the target in several processes; counter nonces make
	// every process seal the same tokens, so "sealed" is the same in all.
	var ctr byte
	counter := func(b []byte) error { ctr++; b[0] = ctr; return nil }
	c := NewCodec(mustKeyring(f, key1, key2), Options{Now: clk.now})
	c.nonce = counter
	sealed := map[string]string{}
	for _, up := range []string{"", "a", upstream} {
		tok, err := c.Seal(method, filter, "", up)
		if err != nil {
			f.Fatal(err)
		}
		sealed[tok] = up
		f.Add(tok)
	}
	oc := NewCodec(mustKeyring(f, key2), Options{Now: clk.now})
	oc.nonce = counter
	old, _ := oc.Seal(method, filter, "", "old")
	sealed[old] = "old"
	f.Add(old)
	foreign, _ := NewCodec(mustKeyring(f, key3), Options{Now: clk.now}).Seal(method, filter, "", "x")
	f.Add(foreign)
	f.Add("")
	f.Add("AQ")
	f.Add("AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add(strings.Repeat("_", 200))
	f.Fuzz(func(t *testing.T, tok string) {
		got, err := c.Open(tok, method, filter, "")
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Kind == nil || pe.Msg == "" {
				t.Fatalf("error %v is not a proper *Error", err)
			}
			if got != "" {
				t.Fatalf("upstream %q returned with error", got)
			}
			return
		}
		want, ok := sealed[tok]
		if !ok {
			t.Fatalf("Open accepted a token it never sealed: %q", tok)
		}
		if got != want {
			t.Fatalf("Open = %q; want %q", got, want)
		}
	})
}

func BenchmarkSeal(b *testing.B) {
	c := NewCodec(mustKeyring(b, key1, key2), Options{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Seal(method, filter, "", upstream); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	c := NewCodec(mustKeyring(b, key2, key1), Options{})
	tok, _ := NewCodec(mustKeyring(b, key1), Options{}).Seal(method, filter, "", upstream)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Open(tok, method, filter, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCallerBinding: a token opens only for the caller it was issued to,
// and says so; the anonymous caller ("") is a caller like any other.
func TestCallerBinding(t *testing.T) {
	c := newCodec(t, &clock{t0}, key1)
	for _, tc := range []struct{ issued, presented string }{
		{"jwt:https://issuer|alice", "jwt:https://issuer|bob"},
		{"jwt:https://issuer|alice", "jwt:https://other|alice"},
		{"jwt:https://issuer|alice", ""},
		{"", "mtls:spiffe://example.org/app"},
	} {
		tok, err := c.Seal(method, filter, tc.issued, "u")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := c.Open(tok, method, filter, tc.issued); err != nil || got != "u" {
			t.Fatalf("issued to %q: opened %q, %v", tc.issued, got, err)
		}
		_, err = c.Open(tok, method, filter, tc.presented)
		if !errors.Is(err, ErrWrongCaller) || !strings.Contains(err.Error(), "another caller") {
			t.Errorf("issued to %q, presented by %q: %v, want ErrWrongCaller", tc.issued, tc.presented, err)
		}
	}
}

// TestSetKeyring: a rotation puts a new key first; tokens of the old key
// still open, new tokens use the new key, and once the old key is dropped
// its tokens are foreign.
func TestSetKeyring(t *testing.T) {
	c := newCodec(t, &clock{t0}, key1)
	old, err := c.Seal(method, filter, "", "u1")
	if err != nil {
		t.Fatal(err)
	}
	c.SetKeyring(mustKeyring(t, key2, key1))
	if got, err := c.Open(old, method, filter, ""); err != nil || got != "u1" {
		t.Fatalf("a token of the previous key after rotation: %q, %v", got, err)
	}
	fresh, err := c.Seal(method, filter, "", "u2")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := newCodec(t, &clock{t0}, key2).Open(fresh, method, filter, ""); err != nil || got != "u2" {
		t.Fatalf("a token sealed after rotation does not open with the new key alone: %q, %v", got, err)
	}
	c.SetKeyring(mustKeyring(t, key2))
	if _, err := c.Open(old, method, filter, ""); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("a token of a retired key: %v, want ErrUnknownKey", err)
	}
}
