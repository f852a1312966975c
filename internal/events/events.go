package events

import (
	"context"
	"log/slog"
	"net/netip"
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
}

// New returns an Events that logs to log the kinds in mask.
func New(log *slog.Logger, mask Mask) *Events { return &Events{log: log, mask: mask} }

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
	e.emit(Clients, "c", MsgClientAppeared, slog.String("client", client.String()), attrs)
}

// ClientVanished logs a client whose lock lapsed (letter c).
func (e *Events) ClientVanished(client netip.Addr, attrs ...slog.Attr) {
	e.emit(Clients, "c", MsgClientVanished, slog.String("client", client.String()), attrs)
}

// PeerLearned logs a newly blocked peer (letter p).
func (e *Events) PeerLearned(peer netip.AddrPort, attrs ...slog.Attr) {
	e.emit(Peers, "p", MsgPeerLearned, slog.String("peer", peer.String()), attrs)
}
