package service

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

// A burst as large as giFT's measured ping rounds (~3,000 pings in 0.6 s)
// is answered in full with the defaults; what exceeds the bucket waits for
// the rate.
func TestPongLimiterBurst(t *testing.T) {
	l := newPongLimiter(DefaultPongRate, DefaultPongBurst, 16)
	a := netip.MustParseAddr("10.0.1.2")
	start := time.Unix(1000, 0)
	n := 0
	for i := 0; i < 3000; i++ {
		if l.allow(a, start.Add(time.Duration(i)*600*time.Millisecond/3000)) {
			n++
		}
	}
	if n != 3000 {
		t.Fatalf("giFT round of 3000 pings in 0.6 s: %d pongs, want all", n)
	}
	// A second round right after: the bucket refilled by the rate only.
	n = 0
	at := start.Add(600 * time.Millisecond)
	for i := 0; i < 3000; i++ {
		if l.allow(a, at) {
			n++
		}
	}
	if n >= 3000 || n < 1000 {
		t.Fatalf("back-to-back round: %d pongs, want the rest of the bucket (1000 <= n < 3000)", n)
	}
}

func TestPongLimiter(t *testing.T) {
	l := newPongLimiter(10, 10, 2)
	a, b, c := netip.MustParseAddr("10.0.1.2"), netip.MustParseAddr("10.0.1.3"), netip.MustParseAddr("10.0.1.4")
	now := time.Unix(1000, 0)
	n := 0
	for i := 0; i < 50; i++ {
		if l.allow(a, now) {
			n++
		}
	}
	if n != 10 {
		t.Fatalf("burst: %d pongs allowed, want 10", n)
	}
	if !l.allow(b, now) {
		t.Fatal("another client is limited by the first one's burst")
	}
	// Tokens come back at the rate: 0.5 s later, 5 more.
	n = 0
	for i := 0; i < 50; i++ {
		if l.allow(a, now.Add(500*time.Millisecond)) {
			n++
		}
	}
	if n != 5 {
		t.Fatalf("after 0.5 s: %d pongs allowed, want 5", n)
	}
	// The maps stay bounded: a new client clears a full shard (and starts
	// afresh); 1,000 clients leave at most one bucket per shard here.
	if !l.allow(c, now) {
		t.Fatal("a new client was limited")
	}
	for i := 0; i < 1000; i++ {
		l.allow(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), now)
	}
	n = 0
	for i := range l.shards {
		n += len(l.shards[i].buckets)
	}
	if n > limiterShards {
		t.Fatalf("bounded maps: %d buckets", n)
	}
}

func TestRefreshCache(t *testing.T) {
	c := newRefreshCache(2)
	a, b, d := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2"), netip.MustParseAddr("198.51.100.3")
	now := time.Unix(1000, 0)
	if w, isNew := c.due(a, now, time.Second); !w || !isNew {
		t.Fatalf("first evidence: write %v new %v", w, isNew)
	}
	if w, _ := c.due(a, now.Add(500*time.Millisecond), time.Second); w {
		t.Fatal("refreshed again within the interval")
	}
	if w, isNew := c.due(a, now.Add(time.Second), time.Second); !w || isNew {
		t.Fatalf("after the interval: write %v new %v", w, isNew)
	}
	c.due(b, now, time.Second)
	c.due(d, now, time.Second) // over max: cleared, then d recorded
	if len(c.seen) > 2 {
		t.Fatalf("cache holds %d entries, max 2", len(c.seen))
	}
	c.forget(d)
	if w, isNew := c.due(d, now, time.Second); !w || !isNew {
		t.Fatal("forgotten address not written again")
	}
	if refreshEvery(0) < time.Hour || refreshEvery(128*time.Second) != 2*time.Second || refreshEvery(24*time.Hour) != time.Minute {
		t.Errorf("refreshEvery: %v %v %v", refreshEvery(0), refreshEvery(128*time.Second), refreshEvery(24*time.Hour))
	}
}

// BenchmarkPongLimiterParallel: two readers answering different clients.
func BenchmarkPongLimiterParallel(b *testing.B) {
	l := newPongLimiter(1<<30, 1<<30, 65536)
	var next atomic.Uint32
	now := time.Unix(1000, 0)
	b.RunParallel(func(pb *testing.PB) {
		c := netip.AddrFrom4([4]byte{10, 0, 1, byte(next.Add(1))})
		for pb.Next() {
			l.allow(c, now)
		}
	})
}
