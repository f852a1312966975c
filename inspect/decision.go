package inspect

import "net/netip"

// Verdict is what happens to the packet.
type Verdict uint8

// Verdicts.
const (
	Accept Verdict = iota
	Drop
)

// String returns "accept" or "drop".
func (v Verdict) String() string {
	if v == Drop {
		return "drop"
	}
	return "accept"
}

// ReasonProbeAnswer is the lock reason of an answer to a time-lock probe,
// for every protocol.
const ReasonProbeAnswer = "probe-answer"

// Peer is an outside peer to put on the blocked-peer list.
type Peer struct {
	Addr     netip.Addr
	Port     uint16 // the port it was seen on (0 if unknown)
	Protocol Protocol
	Reason   string
}

// Lock asks for a LAN client to be time-locked (or its lock refreshed).
type Lock struct {
	Valid    bool
	Addr     netip.Addr
	Protocol Protocol
	// Port is the client's port for time-lock probes (0 if unknown).
	Port uint16
	// Tag is what the protocol's probe needs besides the port (the
	// FastTrack network name); it aliases the packet buffer.
	Tag    []byte
	Reason string
}

// MaxReplyLen bounds a spoofed reply's payload.
const MaxReplyLen = 64

// Reply is a spoofed UDP answer to send.
type Reply struct {
	Valid    bool
	From, To netip.AddrPort
	// Payload is the UDP payload. It aliases buf inside this Reply: a
	// copied Decision still points at the original's bytes.
	Payload []byte
	buf     [MaxReplyLen]byte
}

// Decision is the outcome of Decide for one packet. Reuse one per reader;
// Decide resets it.
type Decision struct {
	Verdict Verdict
	Peers   [2]Peer
	NPeers  int
	Lock    Lock
	Reply   Reply
	// ProbeAnswer is set for an answer to a time-lock probe.
	ProbeAnswer bool
}

// PeerList returns the peers to block (a view of Peers).
func (d *Decision) PeerList() []Peer { return d.Peers[:d.NPeers] }

func (d *Decision) reset() {
	d.Verdict = Accept
	d.Peers = [2]Peer{}
	d.NPeers = 0
	d.Lock = Lock{}
	d.ProbeAnswer = false
	d.Reply.Valid = false
	d.Reply.From, d.Reply.To = netip.AddrPort{}, netip.AddrPort{}
	d.Reply.Payload = nil
}

func (d *Decision) addPeer(ap netip.AddrPort, proto Protocol, reason string, s *Settings) {
	a := ap.Addr().Unmap()
	if d.NPeers >= len(d.Peers) || !s.PeerCandidate(a) {
		return
	}
	for _, p := range d.Peers[:d.NPeers] {
		if p.Addr == a {
			return
		}
	}
	d.Peers[d.NPeers] = Peer{Addr: a, Port: ap.Port(), Protocol: proto, Reason: reason}
	d.NPeers++
}
