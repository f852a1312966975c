package timelock

import (
	"net/netip"
	"time"
)

// MaxWait is the longest NextEvent returns: when nothing is due sooner (or the
// tracker is disabled), the caller still wakes up this often.
const MaxWait = time.Minute

// RestoredReason is the Reason of clients rebuilt by Restore.
const RestoredReason = "unknown: lock found in the kernel at start"

// Config configures a Tracker.
type Config struct {
	// TimeLock is the lock duration T; 0 (or negative) disables time-locking:
	// the tracker then tracks nothing.
	TimeLock time.Duration
}

// Tracker holds the time-lock state of all locked clients.
//
// A Tracker is not safe for concurrent use: the service owns it from one
// goroutine. Every operation is O(log n) per client touched.
type Tracker struct {
	lock    time.Duration
	half    time.Duration
	clients map[netip.Addr]*entry
	heaps   [2]deadlineHeap
	n6      int // IPv6 clients among clients
}

// New returns an empty Tracker.
func New(cfg Config) *Tracker {
	t := &Tracker{
		lock:    max(cfg.TimeLock, 0),
		clients: make(map[netip.Addr]*entry),
	}
	t.half = t.lock / 2
	t.heaps[probeHeap].which = probeHeap
	t.heaps[expiryHeap].which = expiryHeap
	return t
}

// Enabled reports whether time-locking is on (TimeLock > 0).
func (t *Tracker) Enabled() bool { return t.lock > 0 }

// TimeLock returns the lock duration T.
func (t *Tracker) TimeLock() time.Duration { return t.lock }

// Len returns the number of locked clients.
func (t *Tracker) Len() int { return len(t.clients) }

// Len6 returns the number of locked IPv6 clients (Len - Len6 are IPv4).
func (t *Tracker) Len6() int { return t.n6 }

// add tracks a new entry.
func (t *Tracker) add(e *entry) {
	t.clients[e.c.Addr] = e
	if e.c.Addr.Is6() {
		t.n6++
	}
}

// normalize gives the key under which a client is tracked.
func normalize(addr netip.Addr) netip.Addr { return addr.Unmap().WithZone("") }

// Evidence records evidence from a LAN client at time now and starts or
// restarts its lock. port is the client's port for probes (0 = unknown: the
// previous probe target is kept); with a port, protocol and tag replace the
// previous ones (a tag with or without a final NUL; a malformed one counts as
// none); reason describes the evidence (empty keeps the previous reason). A
// probe answer is evidence like any other.
//
// It returns the client's state after the update and whether the client was
// not locked before. With time-locking disabled, or an invalid addr, it does
// nothing and returns the zero Client and false.
func (t *Tracker) Evidence(now time.Time, addr netip.Addr, protocol string, port uint16, tag []byte, reason string) (c Client, isNew bool) {
	if t.lock <= 0 || !addr.IsValid() {
		return Client{}, false
	}
	addr = normalize(addr)
	e, ok := t.clients[addr]
	if !ok {
		e = &entry{idx: [2]int{-1, -1}}
		e.c = Client{Addr: addr, FirstSeen: now, LastEvidence: now}
		t.add(e)
	} else if now.After(e.c.LastEvidence) {
		e.c.LastEvidence = now
	}
	e.c.Expires = e.c.LastEvidence.Add(t.lock)
	e.c.Probed, e.c.ProbedAt = false, time.Time{}
	if port != 0 {
		e.c.setTarget(protocol, port, tag)
	}
	if reason != "" {
		e.c.Reason = reason
	}
	t.place(e)
	return e.c, !ok
}

// place puts e into, or reorders it in, the heaps it belongs to.
func (t *Tracker) place(e *entry) {
	exp := &t.heaps[expiryHeap]
	if e.idx[expiryHeap] < 0 {
		exp.push(e)
	} else {
		exp.update(e)
	}
	pr := &t.heaps[probeHeap]
	canProbe := e.c.Port != 0 && !e.c.Probed
	switch {
	case canProbe && e.idx[probeHeap] < 0:
		pr.push(e)
	case canProbe:
		pr.update(e)
	case e.idx[probeHeap] >= 0:
		pr.remove(e)
	}
}

// Restore rebuilds a client's lock after a restart from a kernel set element
// that has remaining lifetime left: its last evidence is taken to be
// now - (TimeLock - remaining) (remaining above TimeLock counts as TimeLock).
// The client's port and network name are unknown, so it is not probed and
// lapses when the kernel element does, unless new evidence arrives. A client
// that is already tracked keeps the later of the two evidence times.
// Elements with no remaining lifetime (remaining <= 0), invalid addresses,
// and a disabled tracker are ignored.
func (t *Tracker) Restore(now time.Time, addr netip.Addr, remaining time.Duration) {
	if t.lock <= 0 || !addr.IsValid() || remaining <= 0 {
		return
	}
	addr = normalize(addr)
	last := now.Add(-(t.lock - min(remaining, t.lock)))
	if e, ok := t.clients[addr]; ok {
		if last.After(e.c.LastEvidence) {
			e.c.LastEvidence = last
			e.c.Expires = last.Add(t.lock)
			e.c.Probed, e.c.ProbedAt = false, time.Time{}
			t.place(e)
		}
		return
	}
	e := &entry{idx: [2]int{-1, -1}}
	e.c = Client{
		Addr:         addr,
		Reason:       RestoredReason,
		FirstSeen:    last,
		LastEvidence: last,
		Expires:      last.Add(t.lock),
	}
	t.add(e)
	t.place(e)
}

// Due appends to dst the probes that are due at now and marks those clients
// as probed: clients with a known port, no probe sent since their last
// evidence, at least TimeLock/2 since that evidence, and not yet lapsed.
// Each client gets at most one probe per evidence.
func (t *Tracker) Due(now time.Time, dst []Probe) []Probe {
	pr := &t.heaps[probeHeap]
	for pr.len() > 0 {
		e := pr.min()
		if now.Before(e.c.LastEvidence.Add(t.half)) {
			break
		}
		pr.remove(e)
		if !now.Before(e.c.Expires) {
			continue // lapsed: Expire removes it; new evidence would re-add it
		}
		e.c.Probed, e.c.ProbedAt = true, now
		dst = append(dst, Probe{Addr: e.c.Addr, Port: e.c.Port, Protocol: e.c.Protocol, Tag: e.c.Tag})
	}
	return dst
}

// Expire removes the clients whose lock has lapsed at now (no evidence for
// TimeLock) and appends them to dst.
func (t *Tracker) Expire(now time.Time, dst []Client) []Client {
	exp := &t.heaps[expiryHeap]
	for exp.len() > 0 {
		e := exp.min()
		if now.Before(e.c.Expires) {
			break
		}
		t.drop(e)
		dst = append(dst, e.c)
	}
	return dst
}

// ExpiringBy reports whether some client's lock lapses at or before t (the
// caller can then check the kernel for refreshes it made by itself first).
func (t *Tracker) ExpiringBy(at time.Time) bool {
	exp := &t.heaps[expiryHeap]
	return exp.len() > 0 && !at.Before(exp.min().c.Expires)
}

// Forget removes a client (for example one that was allowlisted) and
// reports whether it was tracked.
func (t *Tracker) Forget(addr netip.Addr) bool {
	e, ok := t.clients[normalize(addr)]
	if ok {
		t.drop(e)
	}
	return ok
}

func (t *Tracker) drop(e *entry) {
	for i := range t.heaps {
		if e.idx[i] >= 0 {
			t.heaps[i].remove(e)
		}
	}
	delete(t.clients, e.c.Addr)
	if e.c.Addr.Is6() {
		t.n6--
	}
}

// Get returns a client's state.
func (t *Tracker) Get(addr netip.Addr) (Client, bool) {
	e, ok := t.clients[normalize(addr)]
	if !ok {
		return Client{}, false
	}
	return e.c, true
}

// Clients appends every locked client to dst, in no particular order.
func (t *Tracker) Clients(dst []Client) []Client {
	for _, e := range t.clients {
		dst = append(dst, e.c)
	}
	return dst
}

// NextEvent returns how long after now the next probe or expiry is due: 0
// when one is due already, MaxWait when nothing is due sooner or the tracker
// is disabled. The service sleeps this long, then calls Due and Expire.
func (t *Tracker) NextEvent(now time.Time) time.Duration {
	wait := MaxWait
	if pr := &t.heaps[probeHeap]; pr.len() > 0 {
		wait = min(wait, pr.min().c.LastEvidence.Add(t.half).Sub(now))
	}
	if exp := &t.heaps[expiryHeap]; exp.len() > 0 {
		wait = min(wait, exp.min().c.Expires.Sub(now))
	}
	return max(wait, 0)
}

// SetProbeTarget records the protocol, probe port and tag of a tracked
// client without touching its times, so that a client rebuilt by Restore
// (whose kernel element carried them in its comment) is probed again. It
// reports whether the client is tracked and port is not 0.
func (t *Tracker) SetProbeTarget(addr netip.Addr, protocol string, port uint16, tag []byte) bool {
	e, ok := t.clients[normalize(addr)]
	if !ok || port == 0 {
		return false
	}
	e.c.setTarget(protocol, port, tag)
	t.place(e)
	return true
}

// setTarget sets the probe target: port (not 0), protocol and tag.
func (c *Client) setTarget(protocol string, port uint16, tag []byte) {
	c.Protocol, c.Port = protocol, port
	if t := cleanTag(tag); t == nil {
		c.Tag = ""
	} else if string(t) != c.Tag {
		c.Tag = string(t)
	}
}
