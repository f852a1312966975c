// Package stream reassembles the start of LAN clients' TCP streams, so that
// a request split over segments, sent out of order, or pipelined behind
// another is judged whole (the way Suricata and Snort judge the start of a
// stream). It is pure: segments in, the stream so far out; no I/O, the
// caller passes the time.
//
// One Table serves every queue reader (a connection's segments may reach
// different queues). It is bounded: at most MaxFlows connections and
// Window payload bytes each (so MaxFlows×Window bytes at worst); the oldest
// connection is forgotten first when it is full, and counted.
package stream

import (
	"net/netip"
	"sync"
	"time"
)

// Key names one connection, seen from the client.
type Key struct{ Src, Dst netip.AddrPort }

// Status is what Add made of a segment.
type Status uint8

// Statuses.
const (
	// Start: the first segment of a connection the table did not know;
	// the stream starts with it.
	Start Status = iota + 1
	// More: a segment of a known connection inside the window; the stream
	// returned includes it where it is contiguous.
	More
	// Out: the segment lies outside the connection's window (before its
	// start, or past Window bytes): judge it alone.
	Out
	// Refused: the segment would start a connection, but its host
	// already has MaxPerHost connections waiting to be judged: the caller
	// drops it (the host's TCP retransmits it later).
	Refused
)

// MaxPerHost bounds the connections of one LAN host (an IPv4 address, an
// IPv6 /64) whose start waits to be judged: a host cannot fill the table
// to push another's connections out, nor its own to slip a split request
// past.
const MaxPerHost = 64

// Config bounds a Table.
type Config struct {
	Window     int           // payload bytes kept per connection (0 = 4096)
	MaxFlows   int           // connections tracked at once (0 = 4096)
	MaxPerHost int           // of one host (0 = MaxPerHost)
	Idle       time.Duration // a connection unseen this long is forgotten (0 = 30 s)
}

// maxPending bounds the out-of-order segments held per connection.
const maxPending = 4

// Table is the reassembly state. Its methods are safe for concurrent use.
type Table struct {
	cfg Config

	mu    sync.Mutex
	flows map[Key]*flow
	// perHost counts the connections of each host (hostKey).
	perHost map[netip.Addr]int
	// order is the connections in the order they started: the oldest is
	// forgotten first when the table is full. Entries of connections
	// gone since (idle) are skipped, and compacted away.
	order []entry
	gen   uint64
	stats Stats
	// free holds flows of forgotten connections for reuse, with their
	// buffers, so that a flood of connection starts (each judged and
	// forgotten at once) allocates nothing; at most maxFree of them.
	free []*flow
}

// maxFree bounds the flows kept for reuse (each holds up to Window bytes).
const maxFree = 64

type entry struct {
	k   Key
	gen uint64
}

// Stats counts what the table did.
type Stats struct {
	Tracked   int    // connections held now
	Started   uint64 // connections started
	Evicted   uint64 // forgotten while not idle because the table was full
	Refused   uint64 // starts refused: the host had MaxPerHost waiting
	Conflicts uint64 // retransmissions that changed bytes already seen
	Dropped   uint64 // out-of-order segments not held (limits)
}

type flow struct {
	base    uint32 // sequence number of the stream's first byte
	data    []byte // contiguous payload from base
	pending []segment
	last    time.Time
	gen     uint64
}

type segment struct {
	off  uint32
	data []byte
}

// New returns an empty table.
func New(cfg Config) *Table {
	if cfg.Window <= 0 {
		cfg.Window = 4096
	}
	if cfg.MaxFlows <= 0 {
		cfg.MaxFlows = 4096
	}
	if cfg.Idle <= 0 {
		cfg.Idle = 30 * time.Second
	}
	if cfg.MaxPerHost <= 0 {
		cfg.MaxPerHost = MaxPerHost
	}
	return &Table{cfg: cfg, flows: make(map[Key]*flow), perHost: make(map[netip.Addr]int)}
}

// Result is what Add returns.
type Result struct {
	Status Status
	// Stream is the contiguous stream from its first byte, appended to the
	// caller's buffer (valid for Start and More).
	Stream []byte
	// Alt, when not nil, is the stream as the segment would make it if it
	// replaced bytes seen before (a retransmission with other bytes: the
	// receiver may keep either, so both are judged).
	Alt []byte
}

// Add records one segment (seq is its first byte's sequence number) and
// appends the stream so far to buf, and when the segment rewrites earlier
// bytes, that version to alt. A segment of a connection the table does not
// know starts one when canStart (its first byte can start a message), else
// it is Out.
func (t *Table) Add(now time.Time, k Key, seq uint32, payload []byte, canStart bool, buf, alt []byte) Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.flows[k]
	if f != nil && now.Sub(f.last) > t.cfg.Idle {
		t.remove(k)
		f = nil
	}
	if f == nil {
		if !canStart || len(payload) == 0 {
			return Result{Status: Out}
		}
		if t.perHost[hostKey(k.Src.Addr())] >= t.cfg.MaxPerHost {
			t.stats.Refused++
			return Result{Status: Refused}
		}
		f = t.start(now, k, seq)
		f.data = append(f.data, payload[:min(len(payload), t.cfg.Window)]...)
		return Result{Status: Start, Stream: append(buf, f.data...)}
	}
	f.last = now
	off := seq - f.base
	if off >= uint32(t.cfg.Window) {
		// Before the start (wrapped) or past the window.
		return Result{Status: Out}
	}
	payload = payload[:min(len(payload), t.cfg.Window-int(off))]
	r := Result{Status: More}
	have := uint32(len(f.data))
	switch {
	case off > have:
		t.hold(f, off, payload)
	default:
		if n := min(have-off, uint32(len(payload))); n > 0 && string(f.data[off:off+n]) != string(payload[:n]) {
			t.stats.Conflicts++
			r.Alt = append(append(alt, f.data[:off]...), payload...)
		}
		if end := off + uint32(len(payload)); end > have {
			f.data = append(f.data, payload[have-off:]...)
		}
		t.merge(f)
	}
	r.Stream = append(buf, f.data...)
	return r
}

// startAlone reports whether the table holds nothing of k, so that a
// segment that is a whole message can be judged as the start of k
// without being tracked (counted as started).
func (t *Table) startAlone(k Key) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.flows[k]; ok {
		return false
	}
	t.stats.Started++
	return true
}

// Done forgets a connection: its start was judged (evidence, or a
// complete message that was none). A later segment that starts a message
// starts it again (a request pipelined later on a kept-alive connection).
func (t *Table) Done(now time.Time, k Key) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.flows[k]; ok {
		t.remove(k)
	}
}

// Stats returns the table's counters.
func (t *Table) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.Tracked = len(t.flows)
	return s
}

func (t *Table) start(now time.Time, k Key, seq uint32) *flow {
	if len(t.flows) >= t.cfg.MaxFlows {
		t.evict(now)
	}
	t.gen++
	var f *flow
	if n := len(t.free); n > 0 {
		f = t.free[n-1]
		t.free = t.free[:n-1]
		*f = flow{base: seq, last: now, gen: t.gen, data: f.data[:0]}
	} else {
		f = &flow{base: seq, last: now, gen: t.gen}
	}
	t.flows[k] = f
	t.perHost[hostKey(k.Src.Addr())]++
	t.stats.Started++
	t.order = append(t.order, entry{k: k, gen: t.gen})
	if len(t.order) > 2*t.cfg.MaxFlows {
		live := make([]entry, 0, len(t.flows))
		for _, e := range t.order {
			if g, ok := t.flows[e.k]; ok && g.gen == e.gen {
				live = append(live, e)
			}
		}
		t.order = live
	}
	return f
}

// evict forgets the oldest connection (counted when it was not idle).
func (t *Table) evict(now time.Time) {
	for len(t.order) > 0 {
		e := t.order[0]
		t.order = t.order[1:]
		f, ok := t.flows[e.k]
		if !ok || f.gen != e.gen {
			continue
		}
		if now.Sub(f.last) <= t.cfg.Idle {
			t.stats.Evicted++
		}
		t.remove(e.k)
		return
	}
}

func (t *Table) remove(k Key) {
	if f := t.flows[k]; f != nil && len(t.free) < maxFree {
		// Nothing outside the table holds f or its buffer: Add copies
		// the stream out (Result.Stream, Result.Alt).
		f.pending = nil
		t.free = append(t.free, f)
	}
	delete(t.flows, k)
	h := hostKey(k.Src.Addr())
	if t.perHost[h]--; t.perHost[h] <= 0 {
		delete(t.perHost, h)
	}
}

// hostKey is the host a quota applies to: the IPv4 address, or the IPv6
// /64 (one host can hold any number of addresses in its /64).
func hostKey(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// hold keeps an out-of-order segment until the gap before it is filled.
func (t *Table) hold(f *flow, off uint32, payload []byte) {
	if len(f.pending) >= maxPending {
		t.stats.Dropped++
		return
	}
	f.pending = append(f.pending, segment{off: off, data: append([]byte(nil), payload...)})
}

// merge appends held segments that the stream now reaches.
func (t *Table) merge(f *flow) {
	for progressed := true; progressed && len(f.pending) > 0; {
		progressed = false
		for i := 0; i < len(f.pending); i++ {
			s := f.pending[i]
			have := uint32(len(f.data))
			if s.off > have {
				continue
			}
			if end := s.off + uint32(len(s.data)); end > have {
				f.data = append(f.data, s.data[have-s.off:]...)
			}
			f.pending = append(f.pending[:i], f.pending[i+1:]...)
			i--
			progressed = true
		}
	}
}
