package service

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// knownClients is the packet path's view of the LAN clients recognised as
// FastTrack clients: the readers mark a client the moment a packet locks it
// (before the control goroutine has written anything), the control goroutine
// marks restored locks and forgets lapsed ones. A session opener from a
// known client is evidence (inspect.Evidence.ClientKnown).
//
// Reads and marks of an already known client do not allocate or lock. It
// holds at most max clients; beyond that new clients are not marked (they
// are still locked; only their session openers then count for nothing until
// room is free).
type knownClients struct {
	m   sync.Map // netip.Addr → *atomic.Int64 (unix nanoseconds of the last mark)
	n   atomic.Int64
	max int64
	ttl atomic.Int64 // nanoseconds a mark counts
	// forgets counts forget calls: a reader's markMemo is void once it
	// moved.
	forgets atomic.Uint64
}

// markMemoEvery is how long a reader skips marking the client it marked
// last, and never more than a quarter of the TTL (a time-lock can be set
// to a few seconds): the mark then lags the client's last packet by a
// small part of the time it counts.
const markMemoEvery = time.Second

// markMemo is one reader's memory of the client it marked last (a flood
// repeats one client; the sync.Map lookup costs about 35 ns a packet).
type markMemo struct {
	addr    netip.Addr
	at      time.Time
	forgets uint64
}

// markFrom marks a like mark, unless this reader marked it less than
// markMemoEvery (or a quarter of the TTL) ago and nothing was forgotten
// since.
func (k *knownClients) markFrom(memo *markMemo, a netip.Addr, now time.Time) {
	f := k.forgets.Load()
	every := min(markMemoEvery, time.Duration(k.ttl.Load())/4)
	if memo.addr == a && memo.forgets == f && now.Sub(memo.at) < every && !now.Before(memo.at) {
		return
	}
	k.mark(a, now)
	*memo = markMemo{addr: a, at: now, forgets: f}
}

func newKnownClients(max int, ttl time.Duration) *knownClients {
	k := &knownClients{max: int64(max)}
	k.setTTL(ttl)
	return k
}

// setTTL sets how long a mark counts (the time-lock duration; two minutes
// when the time-lock is off).
func (k *knownClients) setTTL(ttl time.Duration) {
	if ttl <= 0 {
		ttl = 2 * time.Minute
	}
	k.ttl.Store(int64(ttl))
}

func (k *knownClients) mark(a netip.Addr, now time.Time) {
	a = a.Unmap()
	if v, ok := k.m.Load(a); ok {
		v.(*atomic.Int64).Store(now.UnixNano())
		return
	}
	if k.n.Load() >= k.max {
		return
	}
	v := new(atomic.Int64)
	v.Store(now.UnixNano())
	if _, loaded := k.m.LoadOrStore(a, v); !loaded {
		k.n.Add(1)
	}
}

func (k *knownClients) known(a netip.Addr, now time.Time) bool {
	v, ok := k.m.Load(a.Unmap())
	return ok && now.UnixNano()-v.(*atomic.Int64).Load() < k.ttl.Load()
}

func (k *knownClients) forget(a netip.Addr) {
	k.forgets.Add(1)
	if _, ok := k.m.LoadAndDelete(a.Unmap()); ok {
		k.n.Add(-1)
	}
}

// openerHold holds back, once, the session opener of a client that is not
// known yet: its first copy is dropped, and the TCP retransmission (at least
// 200 ms later, Linux's minimum retransmission timeout) is judged again. A
// FastTrack client pings in the same millisecond as it opens its sessions,
// so by then it is known and the retransmission is evidence; anyone else's
// 12-byte first payload passes the second time, 200 ms late. A flow is
// held at most once within holdTTL; the table is bounded (oldest first).
type openerHold struct {
	mu    sync.Mutex
	seen  map[openerFlow]time.Time
	order []openerFlow // insertion order, for eviction
}

type openerFlow struct{ src, dst netip.AddrPort }

const (
	maxHeldOpeners = 4096
	holdTTL        = 5 * time.Second
)

func newOpenerHold() *openerHold {
	return &openerHold{seen: make(map[openerFlow]time.Time, maxHeldOpeners)}
}

// hold reports whether this copy of the flow's opener is to be dropped: the
// first within holdTTL is, the next is not.
func (h *openerHold) hold(src, dst netip.AddrPort, now time.Time) bool {
	f := openerFlow{src, dst}
	h.mu.Lock()
	defer h.mu.Unlock()
	if at, ok := h.seen[f]; ok && now.Sub(at) < holdTTL {
		delete(h.seen, f)
		return false
	}
	for len(h.seen) >= maxHeldOpeners && len(h.order) > 0 {
		delete(h.seen, h.order[0])
		h.order = h.order[1:]
	}
	if len(h.order) >= 2*maxHeldOpeners { // entries already released
		h.order = append(h.order[:0:0], h.order[len(h.order)-maxHeldOpeners:]...)
	}
	h.seen[f] = now
	h.order = append(h.order, f)
	return true
}
