package service

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/ftwall/ftwall/internal/metrics"
	"github.com/ftwall/ftwall/internal/rtnl"
)

// Source validation (issue 13). The queue rules' reverse-path check
// (`fib saddr . iif oif != 0`) keeps forged addresses of other subnets out;
// what it cannot see is a LAN host forging a neighbour's address on its own
// subnet. So evidence arriving in an Ethernet frame on a LAN interface is
// used only when the frame's source MAC is the one the kernel's neighbour
// table holds for the source address on that interface:
//
//   - the same MAC: used as before;
//   - another MAC: forged; nothing is learned from it, nobody is locked
//     (ftwall_forged_sources_total{reason="mac-mismatch"}, a rate-limited
//     warning);
//   - no resolved entry (none, incomplete, failed): nothing is learned
//     either (reason="unresolved"), and the kernel is asked to resolve the
//     address (an ARP request or neighbour solicitation), so the real
//     owner's next packet can be checked.
//
// Packets without a MAC (tun, ppp, WireGuard: no link-layer header),
// interfaces that resolve nothing (NUD_NOARP) and sources outside the LAN
// interfaces' prefixes (hosts behind a downstream router, whose frames
// carry that router's MAC) skip the check; the reverse-path check still
// holds for them. The lookups run in the control
// goroutine, never on the packet path, and their answers are cached.

// neighbourTable is the seam for tests; rtnl.Neighbours in production.
type neighbourTable interface {
	Lookup(a netip.Addr, ifindex uint32) (rtnl.Entry, bool, error)
	Resolve(a netip.Addr, ifindex uint32) error
}

// sourceCheck is the outcome of the MAC check.
type sourceCheck uint8

const (
	sourceAgrees     sourceCheck = iota
	sourceMismatch               // the table holds another MAC
	sourceUnresolved             // the table holds none
	sourceUnchecked              // not checkable: NOARP, or the lookup failed
)

// Cache and rate-limit parameters of the MAC check.
const (
	neighCacheMax = 1 << 16
	// neighTTL is how long an answer is trusted.
	neighTTL = 30 * time.Second
	// neighReask is how often at most an address is asked again when its
	// cached answer disagrees (another MAC, or none), and asked to be
	// resolved.
	neighReask = time.Second
	// Resolve requests: at most this many per second overall, in bursts
	// of resolveBurst, on top of once per neighReask per address.
	resolveRate, resolveBurst = 50, 100
)

type neighKey struct {
	addr    netip.Addr
	ifindex uint32
}

type neighAnswer struct {
	entry    rtnl.Entry
	found    bool
	asked    time.Time // when the kernel was asked
	resolved time.Time // when resolution was last asked for
}

// macCheck checks sources against the neighbour table. It belongs to the
// control goroutine (no locking); its cache is bounded (cleared when full,
// which only costs lookups).
type macCheck struct {
	log   *slog.Logger
	open  func() (neighbourTable, error) // opens the table on first use
	table neighbourTable
	cache map[neighKey]*neighAnswer

	resolves  tokenBucket // resolve requests overall
	warns     tokenBucket // mismatch warnings
	debugs    tokenBucket // unresolved-source debug lines
	unwarned  uint64      // mismatch warnings left out since the last one
	errWarned time.Time   // last lookup-error warning

	mismatches, unresolved uint64 // totals for the closing log line
}

func newMACCheck(log *slog.Logger, open func() (neighbourTable, error)) *macCheck {
	if open == nil {
		open = func() (neighbourTable, error) { return rtnl.OpenNeighbours(rtnl.Options{}) }
	}
	return &macCheck{
		log: log, open: open, cache: make(map[neighKey]*neighAnswer),
		resolves: tokenBucket{rate: resolveRate, burst: resolveBurst},
		warns:    tokenBucket{rate: 1, burst: 10},
		debugs:   tokenBucket{rate: 1, burst: 10},
	}
}

// ask asks the kernel for k and caches the answer; nil when the lookup
// failed (warned about at most once a minute).
func (m *macCheck) ask(k neighKey, now time.Time) *neighAnswer {
	if m.table == nil {
		t, err := m.open()
		if err != nil {
			m.lookupFailed(now, err)
			return nil
		}
		m.table = t
	}
	e, found, err := m.table.Lookup(k.addr, k.ifindex)
	if err != nil {
		m.lookupFailed(now, err)
		return nil
	}
	a := m.cache[k]
	if a == nil {
		if len(m.cache) >= neighCacheMax {
			clear(m.cache)
		}
		a = &neighAnswer{}
		m.cache[k] = a
	}
	a.entry, a.found, a.asked = e, found, now
	return a
}

func (m *macCheck) lookupFailed(now time.Time, err error) {
	if now.Sub(m.errWarned) < time.Minute && !m.errWarned.IsZero() {
		return
	}
	m.errWarned = now
	m.log.Warn("source MAC check skipped: the neighbour table could not be read; evidence is used unchecked (the reverse-path check still holds)",
		"err", err, "hint", "needs Linux 4.20 or later (RTM_GETNEIGH get requests)")
}

// close closes the neighbour table's socket, if one was opened.
func (m *macCheck) close() {
	if c, ok := m.table.(io.Closer); ok {
		c.Close()
	}
}

func judge(a *neighAnswer, hw []byte) sourceCheck {
	switch {
	case a.found && a.entry.NoARP():
		return sourceUnchecked
	case !a.found || !a.entry.Resolved():
		return sourceUnresolved
	case bytes.Equal(a.entry.HwAddr[:a.entry.HwLen], hw):
		return sourceAgrees
	}
	return sourceMismatch
}

// check compares hw, the source MAC of a frame from src on ifindex, with
// the neighbour table. A cached disagreement is asked again at most once
// per neighReask before it stands.
func (m *macCheck) check(src netip.Addr, ifindex uint32, hw []byte, now time.Time) sourceCheck {
	k := neighKey{src, ifindex}
	a := m.cache[k]
	if a == nil || now.Sub(a.asked) >= neighTTL {
		if a = m.ask(k, now); a == nil {
			return sourceUnchecked
		}
	}
	v := judge(a, hw)
	if (v == sourceMismatch || v == sourceUnresolved) && now.Sub(a.asked) >= neighReask {
		if a = m.ask(k, now); a == nil {
			return sourceUnchecked
		}
		v = judge(a, hw)
	}
	if v == sourceUnresolved {
		m.resolve(k, a, now)
	}
	return v
}

// resolve asks the kernel to resolve k, at most once per neighReask per
// address and resolveRate per second overall.
func (m *macCheck) resolve(k neighKey, a *neighAnswer, now time.Time) {
	if !a.resolved.IsZero() && now.Sub(a.resolved) < neighReask {
		return
	}
	if !m.resolves.take(now) {
		return
	}
	a.resolved = now
	if err := m.table.Resolve(k.addr, k.ifindex); err != nil {
		m.log.Debug("neighbour resolution not asked for", "addr", k.addr, "ifindex", k.ifindex, "err", err)
	}
}

// mismatchWarning logs a forged source, rate-limited (one a second, bursts
// of ten, with not_logged=N).
func (m *macCheck) mismatchWarning(now time.Time, l *learned) {
	if !m.warns.take(now) {
		m.unwarned++
		return
	}
	attrs := []any{"src", l.src, "ifindex", l.inDev, "frame_mac", net.HardwareAddr(l.hw[:l.hwLen]).String()}
	if a := m.cache[neighKey{l.src, l.inDev}]; a != nil && a.entry.HwLen > 0 {
		attrs = append(attrs, "neighbour_mac", net.HardwareAddr(a.entry.HwAddr[:a.entry.HwLen]).String())
	}
	if m.unwarned > 0 {
		attrs = append(attrs, "not_logged", m.unwarned)
		m.unwarned = 0
	}
	m.log.Warn("forged source address: the frame's MAC is not the one the neighbour table holds; learning nothing from it", attrs...)
}

// macCheckable reports whether l's source can be checked against the
// neighbour table: it came with a MAC from a LAN interface, and its address
// is on a LAN prefix (a host behind a downstream router reaches ftwall
// with that router's MAC, and the table holds no entry for its address).
func macCheckable(st *runState, l *learned) bool {
	if l.hwLen == 0 || !l.src.IsValid() {
		return false
	}
	if lan, _ := st.ifs.isLAN(l.inDev); !lan {
		return false
	}
	for _, p := range st.ifs.lanNets {
		if p.Masked().Contains(l.src) {
			return true
		}
	}
	return false
}

// sourceValid applies the MAC check to one item of evidence: true when it
// may be used. Items that cannot be checked (macCheckable) pass.
func (c *control) sourceValid(st *runState, l *learned) bool {
	if !macCheckable(st, l) {
		return true
	}
	m := c.macs
	switch m.check(l.src, l.inDev, l.hw[:l.hwLen], l.at) {
	case sourceMismatch:
		m.mismatches++
		if c.s.metrics != nil {
			c.s.metrics.ForgedSource(metrics.ForgedMACMismatch)
		}
		m.mismatchWarning(l.at, l)
		return false
	case sourceUnresolved:
		m.unresolved++
		if c.s.metrics != nil {
			c.s.metrics.ForgedSource(metrics.ForgedUnresolved)
		}
		if m.debugs.take(l.at) {
			c.s.log.Debug("source not in the neighbour table: learning nothing from it; asked the kernel to resolve it", "src", l.src, "ifindex", l.inDev)
		}
		return false
	}
	return true
}

// tokenBucket is a small rate limit owned by one goroutine.
type tokenBucket struct {
	rate, burst float64
	b           bucket
}

func (t *tokenBucket) take(now time.Time) bool { return t.b.take(now, t.rate, t.burst) }
