package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forecastgw/forecast-gateway/internal/filewatch/filewatchtest"
	"github.com/forecastgw/forecast-gateway/internal/pagetoken"
)

const (
	tokMethod = "ListPredictorBacktestExportJobs"
	tokFilter = `status = "ACTIVE"`
	tokCaller = "alice"
)

var (
	rawKey1 = bytes.Repeat([]byte{0x11}, 32)
	rawKey2 = bytes.Repeat([]byte{0x22}, 32)
	// The keys as a keys file spells them: one hex, one base64.
	key1Text = hex.EncodeToString(rawKey1)
	key2Text = base64.StdEncoding.EncodeToString(rawKey2)
)

// textLogger writes to b at every level.
func textLogger(b *filewatchtest.SyncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func writeKeys(t *testing.T, path string, lines ...string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// codecWith is a codec holding only the given keys, to tell which key
// sealed a token.
func codecWith(t *testing.T, keys ...[]byte) *pagetoken.Codec {
	t.Helper()
	kr, err := pagetoken.NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return pagetoken.NewCodec(kr, pagetoken.Options{})
}

func seal(t *testing.T, c *pagetoken.Codec, upstream string) string {
	t.Helper()
	tok, err := c.Seal(tokMethod, tokFilter, tokCaller, upstream)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func open(c *pagetoken.Codec, tok string) (string, error) {
	return c.Open(tok, tokMethod, tokFilter, tokCaller)
}

// TestTokenKeysFileReload: a rotation written to the keys file takes
// effect without a restart: new tokens use the new key, tokens of the old
// key still open until it is dropped, and a broken file keeps the keys in
// force.
func TestTokenKeysFileReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "page-token-keys")
	writeKeys(t, path, "# page-token keys, newest first", key1Text)
	logs := &filewatchtest.SyncBuffer{}
	codec, keys, err := openTokenCodec(PageTokenConfig{KeysFile: path, ReloadInterval: 5 * time.Millisecond}, textLogger(logs))
	if err != nil {
		t.Fatalf("openTokenCodec: %v", err)
	}
	t.Cleanup(keys.close)
	onlyKey1, onlyKey2 := codecWith(t, rawKey1), codecWith(t, rawKey2)

	old := seal(t, codec, "up-old")
	if got, err := open(onlyKey1, old); err != nil || got != "up-old" {
		t.Fatalf("first token not sealed with key 1: %q, %v", got, err)
	}
	if !strings.Contains(logs.String(), "page-token keys loaded") {
		t.Errorf("no load log line:\n%s", logs)
	}

	// Rotate: the new key first, the old one kept.
	writeKeys(t, path, key2Text, key1Text)
	filewatchtest.WaitFor(t, "tokens sealed with the new key", func() bool {
		_, err := open(onlyKey2, seal(t, codec, "up-new"))
		return err == nil
	})
	if _, err := open(onlyKey1, seal(t, codec, "up-new")); err == nil {
		t.Fatal("after rotation, a new token opens with the old key alone")
	}
	if got, err := open(codec, old); err != nil || got != "up-old" {
		t.Fatalf("a token of the old key after rotation: %q, %v", got, err)
	}
	filewatchtest.WaitFor(t, "the reload log line", func() bool { return strings.Contains(logs.String(), keysReloadedMsg) })
	for _, w := range []string{"level=INFO", `msg="page-token keys reloaded"`, "path=" + path, "keys=2"} {
		if !strings.Contains(logs.String(), w) {
			t.Errorf("reload log does not contain %q:\n%s", w, logs)
		}
	}

	// Retire the old key: its tokens are refused.
	writeKeys(t, path, key2Text)
	filewatchtest.WaitFor(t, "the old key retired", func() bool {
		_, err := open(codec, old)
		return errors.Is(err, pagetoken.ErrUnknownKey)
	})

	// A broken file keeps the keys in force, and says so once.
	writeKeys(t, path, "this-is-not-a-key")
	filewatchtest.WaitFor(t, "the reload error", func() bool { return strings.Contains(logs.String(), "page-token keys reload failed") })
	if got, err := open(onlyKey2, seal(t, codec, "up-after")); err != nil || got != "up-after" {
		t.Fatalf("after a broken file, tokens no longer sealed with key 2: %q, %v", got, err)
	}
	if _, err := open(codec, old); !errors.Is(err, pagetoken.ErrUnknownKey) {
		t.Fatalf("after a broken file, a retired key's token: %v", err)
	}
	out := logs.String()
	for _, w := range []string{"level=ERROR", "path=" + path, "key entry 1 (line 1)"} {
		if !strings.Contains(out, w) {
			t.Errorf("reload error log does not contain %q:\n%s", w, out)
		}
	}
	// Key material (in either spelling) and file content are never logged.
	for _, secret := range []string{key1Text, key2Text, base64.StdEncoding.EncodeToString(rawKey1), hex.EncodeToString(rawKey2), "this-is-not-a-key"} {
		if strings.Contains(out, secret) {
			t.Fatalf("log contains file content %q:\n%s", secret, out)
		}
	}

	keys.close()
	keys.close() // idempotent
	filewatchtest.WaitFor(t, "the keys poller to stop", func() bool { return filewatchtest.Pollers() == 0 })
}

func TestTokenCodecSources(t *testing.T) {
	logs := &filewatchtest.SyncBuffer{}

	// From the environment text: read once, nothing to close.
	codec, keys, err := openTokenCodec(PageTokenConfig{Keys: key2Text + "," + key1Text}, textLogger(logs))
	if err != nil {
		t.Fatal(err)
	}
	if keys != nil {
		t.Error("keys from the environment have a watcher")
	}
	keys.close() // nil: fine
	if _, err := open(codecWith(t, rawKey2), seal(t, codec, "x")); err != nil {
		t.Errorf("environment keys: token not sealed with the first key: %v", err)
	}
	if !strings.Contains(logs.String(), "source=$"+PageTokenKeysEnv) || !strings.Contains(logs.String(), "keys=2") {
		t.Errorf("no load log line for the environment keys:\n%s", logs)
	}

	// Nothing configured: a random key, with a warning.
	codec, keys, err = openTokenCodec(PageTokenConfig{}, textLogger(logs))
	if err != nil || codec == nil || keys != nil {
		t.Fatalf("random keys: %v, %v, %v", codec, keys, err)
	}
	if !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("no warning for random keys:\n%s", logs)
	}
}

func TestTokenKeysFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	writeKeys(t, bad, key1Text, "c2VjcmV0") // second entry: 6 bytes
	dup := filepath.Join(dir, "dup")
	writeKeys(t, dup, key1Text, base64.StdEncoding.EncodeToString(rawKey1))
	missing := filepath.Join(dir, "missing")
	for _, tt := range []struct {
		path, want string
	}{
		{missing, "no such file"},
		{bad, "key entry 2 (line 2)"},
		{dup, "duplicates key 1"},
	} {
		logs := &filewatchtest.SyncBuffer{}
		codec, keys, err := openTokenCodec(PageTokenConfig{KeysFile: tt.path, ReloadInterval: time.Millisecond}, textLogger(logs))
		if err == nil {
			keys.close()
			t.Fatalf("%s: openTokenCodec succeeded", tt.path)
		}
		if codec != nil || keys != nil {
			t.Errorf("%s: a codec or watcher with the error", tt.path)
		}
		for _, w := range []string{"page-token keys", tt.path, tt.want} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not contain %q", err, w)
			}
		}
		if strings.Contains(err.Error(), key1Text) || strings.Contains(err.Error(), "c2VjcmV0") {
			t.Errorf("error quotes key material: %v", err)
		}
	}
	filewatchtest.WaitFor(t, "no poller after failed loads", func() bool { return filewatchtest.Pollers() == 0 })
}
