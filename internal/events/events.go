package events

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// Event messages.
const (
	MsgUDPDropped     = "udp candidate dropped"
	MsgUDPAccepted    = "udp candidate accepted"
	MsgTCPDropped     = "tcp candidate dropped"
	MsgTCPAccepted    = "tcp candidate accepted"
	MsgClientAppeared = "client appeared"
	MsgClientVanished = "client vanished"
	MsgPeerLearned    = "peer learned"
)

// Events logs the per-event messages selected by a Mask, at level Info with
// an attribute event=<letter>. The methods are safe for concurrent use (as
// the logger is) and do nothing on a nil *Events. Callers on hot paths check
// Enabled before building attributes.
type Events struct {
	log  *slog.Logger
	mask Mask
	// Per-peer and per-client lines are rate-limited: a LAN host that
	// makes ftwall learn 200,000 addresses must not fill the disk.
	peers, clients lineLimit
	now            func() time.Time
}

// Line limits of the p and c events: LineRate lines per second
// sustained, bursts of LineBurst. A line after suppressed ones carries
// not_logged=<n>, the lines left out since the last one.
const (
	LineRate  = 20
	LineBurst = 200
)

// New returns an Events that logs to log the kinds in mask.
func New(log *slog.Logger, mask Mask) *Events {
	return &Events{log: log, mask: mask, now: time.Now}
}

// lineLimit is a token bucket of log lines.
type lineLimit struct {
	mu         sync.Mutex
	tokens     float64
	last       time.Time
	suppressed uint64
}

// take reports whether a line may be logged now and how many were left out
// before it.
func (l *lineLimit) take(now time.Time) (ok bool, skipped uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last.IsZero() {
		l.tokens = LineBurst
	} else if d := now.Sub(l.last).Seconds(); d > 0 {
		l.tokens = min(LineBurst, l.tokens+d*LineRate)
	}
	l.last = now
	if l.tokens < 1 {
		l.suppressed++
		return false, 0
	}
	l.tokens--
	skipped, l.suppressed = l.suppressed, 0
	return true, skipped
}

// limited emits a rate-limited event line.
func (e *Events) limited(k Mask, letter, msg string, first slog.Attr, attrs []slog.Attr) {
	if !e.Enabled(k) {
		return
	}
	l := &e.peers
	if k == Clients {
		l = &e.clients
	}
	now := time.Now
	if e.now != nil {
		now = e.now
	}
	ok, skipped := l.take(now())
	if !ok {
		return
	}
	if skipped > 0 {
		attrs = append(attrs, slog.Uint64("not_logged", skipped))
	}
	e.emit(k, letter, msg, first, attrs)
}

// Mask returns the selected event kinds.
func (e *Events) Mask() Mask {
	if e == nil {
		return 0
	}
	return e.mask
}

// Enabled reports whether events of kind k are logged.
func (e *Events) Enabled(k Mask) bool { return e != nil && e.log != nil && e.mask.Has(k) }

func (e *Events) emit(k Mask, letter, msg string, first slog.Attr, attrs []slog.Attr) {
	if !e.Enabled(k) {
		return
	}
	all := make([]slog.Attr, 0, 2+len(attrs))
	all = append(all, slog.String("event", letter))
	if first.Key != "" {
		all = append(all, first)
	}
	e.log.LogAttrs(context.Background(), slog.LevelInfo, msg, append(all, attrs...)...)
}

// UDP logs a UDP candidate's verdict (letters u and U).
func (e *Events) UDP(dropped bool, attrs ...slog.Attr) {
	if dropped {
		e.emit(UDPDropped, "u", MsgUDPDropped, slog.Attr{}, attrs)
	} else {
		e.emit(UDPAccepted, "U", MsgUDPAccepted, slog.Attr{}, attrs)
	}
}

// TCP logs a TCP candidate's verdict (letters t and T).
func (e *Events) TCP(dropped bool, attrs ...slog.Attr) {
	if dropped {
		e.emit(TCPDropped, "t", MsgTCPDropped, slog.Attr{}, attrs)
	} else {
		e.emit(TCPAccepted, "T", MsgTCPAccepted, slog.Attr{}, attrs)
	}
}

// ClientAppeared logs a client that became time-locked (letter c).
func (e *Events) ClientAppeared(client netip.Addr, attrs ...slog.Attr) {
	e.limited(Clients, "c", MsgClientAppeared, slog.String("client", client.String()), attrs)
}

// ClientVanished logs a client whose lock lapsed (letter c).
func (e *Events) ClientVanished(client netip.Addr, attrs ...slog.Attr) {
	e.limited(Clients, "c", MsgClientVanished, slog.String("client", client.String()), attrs)
}

// PeerLearned logs a newly blocked peer (letter p).
func (e *Events) PeerLearned(peer netip.AddrPort, attrs ...slog.Attr) {
	e.limited(Peers, "p", MsgPeerLearned, slog.String("peer", peer.String()), attrs)
}
