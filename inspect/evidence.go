package inspect

import "net/netip"

// Evidence is what a detector found in one packet, in terms every protocol
// shares; Decide turns it into actions. Byte slices alias the packet
// buffer: copy them before the buffer is reused.
type Evidence struct {
	// Set by the dispatcher (Detectors.Classify):
	Protocol Protocol
	Detector Detector
	Src, Dst netip.AddrPort // the packet's endpoints
	UDP      bool           // a UDP datagram (else a TCP segment)

	// Set by the detector:
	Kind Kind
	Role Role
	// Reason is the reason given for the peers learned and the lock
	// ("udp-ping", "dht-query").
	Reason string
	// LockPort is the client's port for time-lock probes (its FastTrack UDP
	// port, its DHT port); 0 when the packet does not tell.
	LockPort uint16
	// LockTag is what a probe of this protocol needs besides the port (the
	// FastTrack network name); printable, at most MaxTagLen bytes.
	LockTag []byte
	// Hint is a further peer the packet names (X-Kazaa-SupernodeIP), with
	// HintReason; blocked only when it is a public address, not allowlisted
	// and not the firewall's own.
	Hint       netip.AddrPort
	HintReason string
	// Weak marks a shape that is evidence only from a client already known
	// (ClientKnown): alone it could be ordinary traffic.
	Weak bool

	// ClientKnown is set by the caller, not by Classify: the source is a LAN
	// client already recognised (locked, or seen a moment ago).
	ClientKnown bool

	// Fields are details for logs and `ftwall inspect`.
	Fields  [MaxFields]Field
	NFields uint8
}

// Reset makes ev the zero Evidence, as *ev = Evidence{} does, without
// clearing the unused Fields (never written: fields are only appended):
// the whole struct is about a kilobyte, and clearing it twice a packet
// cost a sixth of a UDP candidate's inspection. A test holds it to the
// zero value for every field, so a field added later cannot be missed.
func (ev *Evidence) Reset() {
	clear(ev.Fields[:ev.NFields])
	ev.NFields = 0
	ev.Protocol, ev.Detector = "", nil
	ev.Src, ev.Dst, ev.UDP = netip.AddrPort{}, netip.AddrPort{}, false
	ev.Kind, ev.Role, ev.Reason = 0, 0, ""
	ev.LockPort, ev.LockTag = 0, nil
	ev.Hint, ev.HintReason, ev.Weak = netip.AddrPort{}, "", false
	ev.ClientKnown = false
}

// MaxTagLen bounds Evidence.LockTag.
const MaxTagLen = 32

// KindName names the evidence's kind ("none" without a detector).
func (ev *Evidence) KindName() string {
	if ev.Detector == nil || ev.Kind == 0 {
		return "none"
	}
	return ev.Detector.KindName(ev.Kind)
}

// FromPacket reports whether the evidence came out of packet p (same
// endpoints); handy for callers that keep evidence around.
func (ev *Evidence) FromPacket(p *Packet) bool {
	return ev.Src == p.SrcAddrPort() && ev.Dst == p.DstAddrPort()
}
