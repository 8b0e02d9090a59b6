package gateway

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/forecastgw/forecast-gateway/internal/pagetoken"
)

// PageTokenKeysEnv names the environment variable that may hold the
// page-token keys.
const PageTokenKeysEnv = "FORECAST_GATEWAY_PAGE_TOKEN_KEYS"

// PageTokenConfig says where the page-token keys come from.
type PageTokenConfig struct {
	// KeysFile holds the keys, newest first, one per line (base64 or hex,
	// 32 bytes). It wins over Keys.
	KeysFile string
	// Keys is the same text given directly (from PageTokenKeysEnv).
	Keys string
	// TTL is the tokens' lifetime (default pagetoken.DefaultTTL; at most
	// 24h, AWS's NextToken lifetime).
	TTL time.Duration
}

// newTokenCodec loads the operator's keys, or makes a random one with a
// warning: tokens then do not survive a restart or span replicas.
func newTokenCodec(c PageTokenConfig, log *slog.Logger) (*pagetoken.Codec, error) {
	var text, source string
	switch {
	case c.KeysFile != "":
		b, err := os.ReadFile(c.KeysFile)
		if err != nil {
			return nil, fmt.Errorf("page-token keys: %w", err)
		}
		text, source = string(b), c.KeysFile
	case strings.TrimSpace(c.Keys) != "":
		text, source = c.Keys, "$"+PageTokenKeysEnv
	}
	var kr *pagetoken.Keyring
	if source == "" {
		var err error
		if kr, err = pagetoken.RandomKeyring(); err != nil {
			return nil, err
		}
		log.Warn("no page-token keys configured: using a random per-process key; page tokens will not survive a restart or work across replicas",
			"fix", "--page-token-keys-file or $"+PageTokenKeysEnv)
	} else {
		keys, err := pagetoken.ParseKeys(text)
		if err != nil {
			return nil, fmt.Errorf("page-token keys from %s: %w", source, err)
		}
		if kr, err = pagetoken.NewKeyring(keys...); err != nil {
			return nil, fmt.Errorf("page-token keys from %s: %w", source, err)
		}
		log.Info("page-token keys loaded", "source", source, "keys", len(keys))
	}
	return pagetoken.NewCodec(kr, pagetoken.Options{TTL: c.TTL}), nil
}
