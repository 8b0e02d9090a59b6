package server

import (
	"sync"
	"time"
)

// describeCache keeps the Describe response of jobs in a terminal state
// (ACTIVE, CREATE_FAILED, CREATE_STOPPED, DELETE_FAILED) for a short
// while: such a job changes only when someone asks it to. A change made
// through this gateway (Delete, Stop) drops the entry at once; a change
// made around it (another gateway replica, the AWS console) shows after at
// most the TTL. Entries are bounded in number; when full, a quarter is
// dropped (expired or not), which costs at most some extra Describes.
type describeCache struct {
	ttl time.Duration // 0: no cache
	max int

	mu      sync.Mutex
	entries map[string]cachedDescribe
}

type cachedDescribe struct {
	resp    any // the type's Describe response; shared, never modified
	expires time.Time
}

func newDescribeCache(ttl time.Duration, max int) *describeCache {
	return &describeCache{ttl: ttl, max: max, entries: map[string]cachedDescribe{}}
}

func (c *describeCache) get(arn string) (any, bool) {
	if c.ttl <= 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[arn]
	if !ok {
		return nil, false
	}
	if time.Now().After(e.expires) {
		delete(c.entries, arn)
		return nil, false
	}
	return e.resp, true
}

func (c *describeCache) put(arn string, resp any) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		n := 0
		for k := range c.entries {
			delete(c.entries, k)
			if n++; n >= c.max/4 {
				break
			}
		}
	}
	c.entries[arn] = cachedDescribe{resp: resp, expires: time.Now().Add(c.ttl)}
}

func (c *describeCache) invalidate(arn string) {
	c.mu.Lock()
	delete(c.entries, arn)
	c.mu.Unlock()
}
