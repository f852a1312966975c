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
	if _, ok := k.m.LoadAndDelete(a.Unmap()); ok {
		k.n.Add(-1)
	}
}

// pendingOpeners remembers, for a while, the destinations of session openers
// from clients that were not (yet) known: a client recognised soon after
// (its ping came a moment later) has those destinations learned as peers,
// and its sessions there are then cut by the kernel (a locked client's TCP
// to a known peer is reset). It belongs to the control goroutine and is
// bounded per client and in clients.
type pendingOpeners struct {
	byClient map[netip.Addr][]pendingOpener
}

type pendingOpener struct {
	dst netip.AddrPort
	at  time.Time
}

const (
	pendingPerClient = 32
	pendingClients   = 4096
	// pendingTTL is how long an opener waits for its client to be
	// recognised.
	pendingTTL = 10 * time.Second
)

func newPendingOpeners() *pendingOpeners {
	return &pendingOpeners{byClient: make(map[netip.Addr][]pendingOpener)}
}

// add remembers an opener; it reports false when the bounds left no room.
func (p *pendingOpeners) add(client netip.Addr, dst netip.AddrPort, at time.Time) bool {
	l, ok := p.byClient[client]
	if !ok && len(p.byClient) >= pendingClients {
		p.prune(at)
		if len(p.byClient) >= pendingClients {
			return false
		}
	}
	if len(l) >= pendingPerClient {
		copy(l, l[1:])
		l = l[:len(l)-1]
	}
	p.byClient[client] = append(l, pendingOpener{dst: dst, at: at})
	return true
}

// take returns and forgets the client's openers of the last pendingTTL.
func (p *pendingOpeners) take(client netip.Addr, now time.Time) []pendingOpener {
	l, ok := p.byClient[client]
	if !ok {
		return nil
	}
	delete(p.byClient, client)
	out := l[:0]
	for _, o := range l {
		if now.Sub(o.at) < pendingTTL {
			out = append(out, o)
		}
	}
	return out
}

// prune forgets openers older than pendingTTL.
func (p *pendingOpeners) prune(now time.Time) {
	for c, l := range p.byClient {
		if len(l) == 0 || now.Sub(l[len(l)-1].at) >= pendingTTL {
			delete(p.byClient, c)
		}
	}
}
