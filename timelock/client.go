package timelock

import (
	"net/netip"
	"time"
)

// Client is a copy of one locked client's state.
type Client struct {
	// Addr is the client's LAN address (IPv4-mapped IPv6 addresses are
	// stored as IPv4, zones are dropped).
	Addr netip.Addr
	// Protocol is the protocol of the client's last evidence that gave a
	// probe target ("fasttrack", "bittorrent"); "" when unknown.
	Protocol string
	// Port is the client's port for probes (its FastTrack UDP port, its DHT
	// port); 0 means unknown (the evidence did not tell, or the client was
	// restored from a kernel element without a comment), and such a client
	// cannot be probed.
	Port uint16
	// Tag is what the protocol's probe needs besides the port (the FastTrack
	// network name); "" when unknown.
	Tag string
	// Reason describes the last evidence.
	Reason string
	// FirstSeen is when the client was first locked (for restored clients:
	// their last evidence time as rebuilt from the kernel element).
	FirstSeen time.Time
	// LastEvidence is when the lock was last started or restarted.
	LastEvidence time.Time
	// Expires is when the lock lapses without new evidence
	// (LastEvidence + TimeLock).
	Expires time.Time
	// Probed reports whether a probe was sent since the last evidence;
	// ProbedAt is when (zero when Probed is false).
	Probed   bool
	ProbedAt time.Time
}

// Probe is a time-lock probe that is due: the caller builds the protocol's
// probe (the tracker knows no protocol bytes) and sends it from the
// firewall's own LAN address to Addr:Port.
type Probe struct {
	Addr     netip.Addr
	Port     uint16
	Protocol string
	Tag      string
}

// AddrPort is the probe's destination.
func (p Probe) AddrPort() netip.AddrPort { return netip.AddrPortFrom(p.Addr, p.Port) }
