package service

import (
	"net/netip"
	"sync"
	"time"
)

// pongLimiter limits spoofed pongs per client with a token bucket of rate
// tokens per second holding up to burst tokens (a client's ping round is
// answered in full up to burst pings). It is safe for concurrent use by
// several queue readers: the clients are spread over limiterShards shards,
// each with its own lock, so readers serving different clients do not
// wait for each other. Each shard's map is bounded (cleared when it
// exceeds its share of max).
type pongLimiter struct {
	rate, burst float64
	shards      [limiterShards]limiterShard
}

const limiterShards = 16

type limiterShard struct {
	mu      sync.Mutex
	max     int
	buckets map[netip.Addr]*bucket
	_       [40]byte // keep shards' locks on separate cache lines
}

// bucket is one token bucket's state; its owner keeps the rate (tokens
// per second) and the burst (the most it holds), and the locking.
type bucket struct {
	tokens float64
	last   time.Time
}

// take refills b for the time since its last use (a new bucket starts
// full) and takes one token; false when there is none.
func (b *bucket) take(now time.Time, rate, burst float64) bool {
	if b.last.IsZero() {
		b.tokens = burst
	} else if d := now.Sub(b.last).Seconds(); d > 0 {
		b.tokens = min(burst, b.tokens+d*rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func newPongLimiter(perSecond, burst, maxClients int) *pongLimiter {
	l := &pongLimiter{rate: float64(perSecond), burst: float64(max(burst, 1))}
	for i := range l.shards {
		l.shards[i].max = max(maxClients/limiterShards, 1)
		l.shards[i].buckets = make(map[netip.Addr]*bucket)
	}
	return l
}

// shardOf spreads addresses over the shards by their last bytes (the
// host part of a LAN address).
func shardOf(a netip.Addr) int {
	b := a.As16()
	h := uint32(b[12])<<24 | uint32(b[13])<<16 | uint32(b[14])<<8 | uint32(b[15])
	h ^= uint32(b[8])<<24 | uint32(b[9])<<16 | uint32(b[10])<<8 | uint32(b[11])
	h *= 0x9e3779b1
	return int(h >> 28)
}

func (l *pongLimiter) allow(client netip.Addr, now time.Time) bool {
	sh := &l.shards[shardOf(client)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b := sh.buckets[client]
	if b == nil {
		if len(sh.buckets) >= sh.max {
			clear(sh.buckets)
		}
		b = &bucket{}
		sh.buckets[client] = b
	}
	return b.take(now, l.rate, l.burst)
}

// refreshCache remembers when an element was last written to the kernel so
// that a burst of evidence for the same address restarts its countdown at
// most once per interval. It belongs to the control goroutine (no locking)
// and is bounded: it is cleared when it exceeds max entries, which only costs
// extra (harmless) refresh writes.
type refreshCache struct {
	max  int
	seen map[netip.Addr]time.Time
}

func newRefreshCache(max int) *refreshCache {
	return &refreshCache{max: max, seen: make(map[netip.Addr]time.Time)}
}

// due reports whether addr should be (re)written now, and records it if so.
// isNew is true when the address was not in the cache.
func (c *refreshCache) due(addr netip.Addr, now time.Time, every time.Duration) (write, isNew bool) {
	last, ok := c.seen[addr]
	if ok && now.Sub(last) < every {
		return false, false
	}
	if !ok && len(c.seen) >= c.max {
		clear(c.seen)
	}
	c.seen[addr] = now
	return true, !ok
}

func (c *refreshCache) forget(addr netip.Addr) { delete(c.seen, addr) }

// known reports whether addr was written lately (it is no new peer).
func (c *refreshCache) known(addr netip.Addr) bool {
	_, ok := c.seen[addr]
	return ok
}

// refreshEvery is how often an element with the given timeout is refreshed
// at most: a 64th of its lifetime, at most a minute (0 = permanent elements
// need no refresh once written).
func refreshEvery(timeout time.Duration) time.Duration {
	if timeout <= 0 {
		return 1<<63 - 1
	}
	return min(timeout/64, time.Minute)
}
