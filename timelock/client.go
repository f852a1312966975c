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
	// Port is the client's last FastTrack UDP port; 0 means unknown (the
	// evidence came from HTTP, or the client was restored from the kernel
	// set), and such a client cannot be probed.
	Port uint16
	// Network is the FastTrack network name from the client's last ping
	// ("KaZaA", "fileshare", ...), or Config.DefaultNetwork when unknown.
	Network string
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

// Probe is a time-lock probe that is due: the caller sends Payload as a UDP
// datagram from the firewall's own LAN address to Addr:Port.
type Probe struct {
	Addr    netip.Addr
	Port    uint16
	Network string
	// Payload is a FastTrack node ping (0x27) carrying Network
	// (inspect.AppendPing); each Probe has its own slice.
	Payload []byte
}

// AddrPort is the probe's destination.
func (p Probe) AddrPort() netip.AddrPort { return netip.AddrPortFrom(p.Addr, p.Port) }
