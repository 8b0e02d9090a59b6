package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// verifiedCache remembers tokens that verified, so a caller sending the
// same token on every call pays for one signature check (about 50-80 µs,
// BenchmarkVerify) per cacheTTL instead of per call. Entries are keyed by
// the token's SHA-256 (the token itself is not kept) and end at the
// earliest of the token's exp (plus leeway), cacheTTL after they were
// verified, and a change of the key set: a key removed from the JWKS stops
// its tokens within cacheTTL even for the URL source, whose refresh the
// cache cannot see.
type verifiedCache struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte]verified
}

type verified struct {
	caller *Caller
	until  time.Time
	keys   *keySource
}

const (
	cacheTTL     = time.Minute
	cacheEntries = 8192
)

func (c *verifiedCache) get(sum [sha256.Size]byte, now time.Time, keys *keySource) *Caller {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[sum]
	if !ok {
		return nil
	}
	if !now.Before(e.until) || e.keys != keys {
		delete(c.entries, sum)
		return nil
	}
	return e.caller
}

func (c *verifiedCache) put(sum [sha256.Size]byte, e verified) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[[sha256.Size]byte]verified)
	}
	if len(c.entries) >= cacheEntries {
		// Full: drop about a quarter, expired or not (map order is
		// random), rather than track recency on every hit.
		n := 0
		for k := range c.entries {
			delete(c.entries, k)
			if n++; n >= cacheEntries/4 {
				break
			}
		}
	}
	c.entries[sum] = e
}
