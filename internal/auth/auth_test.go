package auth

import (
	"errors"
	"strings"
	"testing"
)

const sampleJWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_"

var parseBearerRows = []struct {
	name   string
	header string
	token  string // want, when reason == ""
	reason string // "" for accepted; "-" for ErrNoCredentials
}{
	{"missing", "", "", "-"},
	{"bearer", "Bearer " + sampleJWT, sampleJWT, ""},
	{"lower-case bearer", "bearer " + sampleJWT, sampleJWT, ""},
	{"upper-case bearer", "BEARER " + sampleJWT, sampleJWT, ""},
	{"two spaces", "Bearer  " + sampleJWT, sampleJWT, ""},
	{"basic", "Basic dXNlcjpwYXNz", "", "unsupported authorization scheme"},
	{"scheme glued to the token", "Bearer" + sampleJWT, "", "unsupported authorization scheme"},
	{"leading space", " Bearer " + sampleJWT, "", "unsupported authorization scheme"},
	{"tab separator", "Bearer\t" + sampleJWT, "", "unsupported authorization scheme"},
	{"bearer alone", "Bearer", "", "malformed authorization header"},
	{"bearer and a space", "Bearer ", "", "malformed authorization header"},
	{"two tokens", "Bearer " + sampleJWT + " " + sampleJWT, "", "malformed authorization header"},
	{"trailing space", "Bearer " + sampleJWT + " ", "", "malformed authorization header"},
	{"bad characters", "Bearer abc$def", "", "malformed token"},
	{"base64 std characters", "Bearer ab+c/d", "", "malformed token"},
	{"padding", "Bearer abc=", "", "malformed token"},
	{"newline", "Bearer " + sampleJWT + "\n", "", "malformed token"},
	{"non-ASCII", "Bearer abcé", "", "malformed token"},
	{"longest", "Bearer " + strings.Repeat("a", MaxTokenLength), strings.Repeat("a", MaxTokenLength), ""},
	{"too long", "Bearer " + strings.Repeat("a", MaxTokenLength+1), "", "token too long"},
	{"far too long", "Bearer " + strings.Repeat("a", 1<<20), "", "token too long"},
}

func TestParseBearer(t *testing.T) {
	for _, r := range parseBearerRows {
		t.Run(r.name, func(t *testing.T) {
			tok, err := ParseBearer(r.header)
			switch r.reason {
			case "":
				if err != nil || tok != r.token {
					t.Fatalf("got %q, %v; want %q", tok, err, r.token)
				}
			case "-":
				if !errors.Is(err, ErrNoCredentials) {
					t.Fatalf("got %q, %v; want ErrNoCredentials", tok, err)
				}
			default:
				if err == nil {
					t.Fatalf("accepted %q", tok)
				}
				if got := reasonOf(t, err); got != r.reason {
					t.Fatalf("reason %q, want %q", got, r.reason)
				}
				if tok != "" {
					t.Fatalf("token %q returned with an error", tok)
				}
				if tok, ok := strings.CutPrefix(r.header, "Bearer "); ok {
					assertNoToken(t, err.Error(), tok)
				}
			}
		})
	}
}

func TestCredentialError(t *testing.T) {
	inner := errors.New(strings.Repeat("x", 2000))
	e := &CredentialError{Reason: "token expired", Err: inner}
	if !errors.Is(e, inner) {
		t.Fatal("does not unwrap")
	}
	if got := e.Error(); !strings.HasPrefix(got, "auth: token expired: xxx") || len(got) > 600 {
		t.Fatalf("Error() = %q", got)
	}
	if got := (&CredentialError{Reason: "r"}).Error(); got != "auth: r" {
		t.Fatalf("Error() = %q", got)
	}
}
