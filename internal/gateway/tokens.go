package gateway

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/forecastgw/forecast-gateway/internal/filewatch"
	"github.com/forecastgw/forecast-gateway/internal/pagetoken"
)

// PageTokenKeysEnv names the environment variable that may hold the
// page-token keys.
const PageTokenKeysEnv = "FORECAST_GATEWAY_PAGE_TOKEN_KEYS"

// PageTokenConfig says where the page-token keys come from.
type PageTokenConfig struct {
	// KeysFile holds the keys, newest first, one per line (base64 or hex,
	// 32 bytes). It wins over Keys. It is re-read when it changes (see
	// internal/filewatch), so keys rotate without a restart: put the new
	// key first and keep the old ones until their tokens have expired. A
	// change that cannot be read or parsed keeps the keys in force and is
	// logged at error level.
	KeysFile string
	// Keys is the same text given directly (from PageTokenKeysEnv). It is
	// read once.
	Keys string
	// TTL is the tokens' lifetime (default pagetoken.DefaultTTL; at most
	// 24h, AWS's NextToken lifetime).
	TTL time.Duration
	// ReloadInterval is how often KeysFile is checked for changes; zero or
	// negative means 2s.
	ReloadInterval time.Duration
}

// keysReloadedMsg is the info line each reload of the keys file logs
// (filewatch logs What+" reloaded", with "keys" = how many), spelled out
// whole so that it can be found in the source and in the binary.
const keysReloadedMsg = "page-token keys reloaded"

// parsedKeys is a keys file's content: the keyring and how many keys it
// has (for logs; never the keys).
type parsedKeys struct {
	kr *pagetoken.Keyring
	n  int
}

// parseKeys parses keys text. Its errors name the bad entry, never key
// material (see pagetoken.ParseKeys), so they may be logged.
func parseKeys(data []byte) (parsedKeys, error) {
	keys, err := pagetoken.ParseKeys(string(data))
	if err != nil {
		return parsedKeys{}, err
	}
	kr, err := pagetoken.NewKeyring(keys...)
	if err != nil {
		return parsedKeys{}, err
	}
	return parsedKeys{kr: kr, n: len(keys)}, nil
}

// tokenKeys keeps a codec's keys in step with PageTokenConfig.KeysFile.
// A nil *tokenKeys (keys not from a file) is valid and close does nothing.
type tokenKeys struct {
	v *filewatch.Value[parsedKeys]
}

// close stops watching the keys file and waits for the poller to exit.
// The codec keeps the last keys. It may be called more than once.
func (k *tokenKeys) close() {
	if k != nil {
		k.v.Close()
	}
}

// openTokenCodec loads the operator's keys, or makes a random one with a
// warning: tokens then do not survive a restart or span replicas. Keys
// from KeysFile are reloaded into the codec whenever the file changes,
// until the returned tokenKeys is closed (it is nil when the keys do not
// come from a file; close is still safe to call).
func openTokenCodec(c PageTokenConfig, log *slog.Logger) (*pagetoken.Codec, *tokenKeys, error) {
	if log == nil {
		log = slog.Default()
	}
	opts := pagetoken.Options{TTL: c.TTL}
	switch {
	case c.KeysFile != "":
		// The poller may install a reload before the codec exists: its
		// OnReload waits for ready, and then sets keys at least as new as
		// the ones the codec was built with.
		ready := make(chan struct{})
		var codec *pagetoken.Codec
		v, err := filewatch.Watch(filewatch.Options[parsedKeys]{
			Path:     c.KeysFile,
			What:     strings.TrimSuffix(keysReloadedMsg, " reloaded"),
			Interval: c.ReloadInterval,
			Parse:    parseKeys,
			Logger:   log,
			OnReload: func(k parsedKeys) { <-ready; codec.SetKeyring(k.kr) },
			Describe: func(k parsedKeys) []any { return []any{"keys", k.n} },
		})
		if err != nil {
			return nil, nil, err
		}
		cur := v.Current()
		codec = pagetoken.NewCodec(cur.kr, opts)
		close(ready)
		log.Info("page-token keys loaded", "source", c.KeysFile, "keys", cur.n)
		return codec, &tokenKeys{v: v}, nil
	case strings.TrimSpace(c.Keys) != "":
		source := "$" + PageTokenKeysEnv
		k, err := parseKeys([]byte(c.Keys))
		if err != nil {
			return nil, nil, fmt.Errorf("page-token keys from %s: %w", source, err)
		}
		log.Info("page-token keys loaded", "source", source, "keys", k.n)
		return pagetoken.NewCodec(k.kr, opts), nil, nil
	default:
		kr, err := pagetoken.RandomKeyring()
		if err != nil {
			return nil, nil, err
		}
		log.Warn("no page-token keys configured: using a random per-process key; page tokens will not survive a restart or work across replicas",
			"fix", "--page-token-keys-file or $"+PageTokenKeysEnv)
		return pagetoken.NewCodec(kr, opts), nil, nil
	}
}
