// Package bittorrent is ftwall's BitTorrent detector: the DHT (BEP 5), UDP
// and HTTP trackers (BEP 15, BEP 3), the plaintext peer-wire handshake over
// TCP and uTP (BEP 3, BEP 29), uTP connection requests and Local Service
// Discovery (BEP 14). Locked clients are probed with a DHT ping, which a
// running client answers. Encrypted peer connections (MSE/PE) carry no
// plaintext and are not recognised; their DHT and tracker traffic is.
package bittorrent

import (
	"github.com/ftwall/ftwall/inspect"
)

// Protocol is BitTorrent's name.
const Protocol inspect.Protocol = "bittorrent"

// ProbePort is the UDP source port of the DHT ping that keeps a lock alive
// (BitTorrent's customary DHT port).
const ProbePort = 6881

// Detector is the BitTorrent detector.
type Detector struct{}

// New returns the BitTorrent detector.
func New() *Detector { return &Detector{} }

// Protocol implements inspect.Detector.
func (*Detector) Protocol() inspect.Protocol { return Protocol }

// StreamStarts implements inspect.Streamer: HTTP tracker requests start with G, the peer-wire handshake with 19 (its protocol name's length).
func (*Detector) StreamStarts() []byte { return []byte{'G', handshakePrefix[0]} }

// KindName implements inspect.Detector.
func (*Detector) KindName(k inspect.Kind) string { return KindName(k) }

// Bounds of the KRPC messages queued: the shortest real one (an error)
// is over 30 bytes; a DHT datagram fits an Ethernet MTU.
const (
	minKRPC = 30
	maxKRPC = 1472
	// maxUTPSyn bounds a SYN with its extensions (30 bytes seen).
	maxUTPSyn = 20 + 2*(2+32)
)

// Prefilters implements inspect.Detector. Every UDP prefilter needs
// several fixed bytes, so QUIC, DNS, STUN, NTP, WireGuard and game
// traffic do not match:
//   - dht: a datagram starting like a sorted KRPC dictionary ("d1:a" query,
//     "d1:r" response, "d1:e" error, "d2:i" response with BEP 42's "ip");
//   - udp-tracker: a 16-byte connect with the protocol's magic and action
//     0 (announce and scrape need the connection id the connect returns:
//     once the tracker is learned, the kernel drops them);
//   - http: TCP starting "GET /" (an HTTP tracker's announce or scrape);
//   - handshake: TCP starting "\x13BitTorrent protocol";
//   - utp-syn: a uTP ST_SYN (0x41, extension 0-3, no timestamp difference);
//   - utp-handshake: a uTP ST_DATA without extension carrying the handshake;
//   - probe-answer (input hook): a KRPC response to the firewall.
func (*Detector) Prefilters() []inspect.Prefilter {
	krpcStarts := [][]byte{[]byte("d1:a"), []byte("d1:r"), []byte("d1:e"), []byte("d2:i")}
	return []inspect.Prefilter{
		{
			Name: "dht", Desc: "BitTorrent DHT (KRPC) from LAN", Hook: inspect.HookForward, L4: inspect.ProtoUDP,
			OneOf:  &inspect.PayloadSet{Offset: 0, Len: 4, Values: krpcStarts},
			UDPLen: &inspect.LenRange{Min: minKRPC, Max: maxKRPC},
		},
		{
			Name: "udp-tracker", Desc: "BitTorrent UDP tracker connect from LAN", Hook: inspect.HookForward, L4: inspect.ProtoUDP,
			Match:  []inspect.PayloadMatch{{Offset: 0, Value: append(append([]byte{}, trackerMagic...), 0, 0, 0, 0)}},
			UDPLen: &inspect.LenRange{Min: connectLen, Max: connectLen},
		},
		{
			Name: "http", Desc: "BitTorrent HTTP tracker request from LAN (TCP starting GET /)", Hook: inspect.HookForward, L4: inspect.ProtoTCP,
			Match: []inspect.PayloadMatch{{Offset: 0, Value: []byte("GET /")}},
		},
		{
			Name: "handshake", Desc: "BitTorrent peer-wire handshake from LAN", Hook: inspect.HookForward, L4: inspect.ProtoTCP,
			Match: []inspect.PayloadMatch{{Offset: 0, Value: handshakePrefix[:16]}},
		},
		{
			Name: "utp-syn", Desc: "BitTorrent uTP connection request from LAN", Hook: inspect.HookForward, L4: inspect.ProtoUDP,
			Match: []inspect.PayloadMatch{
				{Offset: 0, Value: []byte{stSyn<<4 | utpVersion, 0}, Mask: []byte{0xff, 0xfc}},
				{Offset: 8, Value: []byte{0, 0, 0, 0}},
			},
			UDPLen: &inspect.LenRange{Min: utpHeaderLen, Max: maxUTPSyn},
		},
		{
			Name: "utp-handshake", Desc: "BitTorrent handshake over uTP from LAN", Hook: inspect.HookForward, L4: inspect.ProtoUDP,
			Match: []inspect.PayloadMatch{
				{Offset: 0, Value: []byte{stData<<4 | utpVersion, 0}},
				{Offset: utpHeaderLen, Value: handshakePrefix[:16]},
			},
		},
		{
			Name: "probe-answer", Desc: "BitTorrent DHT response from LAN (time-lock probe answer)", Hook: inspect.HookInput, L4: inspect.ProtoUDP,
			OneOf:  &inspect.PayloadSet{Offset: 0, Len: 4, Values: [][]byte{[]byte("d1:r"), []byte("d2:i")}},
			UDPLen: &inspect.LenRange{Min: minKRPC, Max: maxKRPC},
		},
	}
}

// Classify implements inspect.Detector.
func (*Detector) Classify(p *inspect.Packet, ev *inspect.Evidence) bool {
	switch p.Proto {
	case inspect.ProtoUDP:
		return classifyUDP(p, ev)
	case inspect.ProtoTCP:
		return classifyTCP(p, ev)
	}
	return false
}

func classifyUDP(p *inspect.Packet, ev *inspect.Evidence) bool {
	b := p.Payload
	if len(b) >= minKRPC && b[0] == 'd' {
		var m krpc
		if parseKRPC(b, &m) {
			ev.Reason, ev.LockPort = ReasonDHT, p.SrcPort
			switch m.typ {
			case 'q':
				ev.Kind, ev.Role = KindDHTQuery, inspect.RoleQuery
				ev.AddText("method", m.method)
			case 'r':
				ev.Kind, ev.Role = KindDHTResponse, inspect.RoleAnswer
			default:
				ev.Kind, ev.Role = KindDHTError, inspect.RoleAnswer
			}
			ev.AddHex("node_id", m.nodeID)
			ev.AddHex("info_hash", m.infoHash)
			return true
		}
	}
	if len(b) > 0 && b[0] == 'B' {
		if port, ih, ok := parseLSD(b, p.DstAddrPort()); ok {
			ev.Kind, ev.Role, ev.Reason = KindLSD, inspect.RoleQuery, ReasonLSD
			ev.AddText("info_hash", ih)
			if port != 0 {
				ev.AddNum("port", uint64(port))
			}
			return true
		}
	}
	if isUTPSyn(b) {
		ev.Kind, ev.Role, ev.Reason, ev.LockPort = KindUTPSyn, inspect.RoleQuery, ReasonUTP, p.SrcPort
		return true
	}
	if ih, pid, ok := utpHandshake(b); ok {
		ev.Kind, ev.Role, ev.Reason, ev.LockPort = KindUTPHandshake, inspect.RoleQuery, ReasonHandshake, p.SrcPort
		ev.AddHex("info_hash", ih)
		ev.AddHex("peer_id", pid)
		return true
	}
	var m udpTracker
	if !parseUDPTracker(b, &m) {
		return false
	}
	ev.Kind, ev.Role, ev.Reason, ev.LockPort = m.kind, inspect.RoleQuery, ReasonUDPTracker, p.SrcPort
	// An announce or scrape has no fixed bytes the kernel could match
	// (its first 8 are the tracker's connection id): alone it is too weak
	// a shape; from a known client it is evidence.
	ev.Weak = m.kind != KindTrackerConnect
	ev.AddHex("info_hash", m.infoHash)
	ev.AddHex("peer_id", m.peerID)
	if m.port != 0 {
		ev.AddNum("port", uint64(m.port))
	}
	return true
}

func classifyTCP(p *inspect.Packet, ev *inspect.Evidence) bool {
	b := p.Payload
	if ih, pid, ok := parseHandshake(b); ok {
		// The source port of an outgoing connection says nothing of the
		// client's DHT port: no probe target.
		ev.Kind, ev.Role, ev.Reason = KindHandshake, inspect.RoleQuery, ReasonHandshake
		ev.AddHex("info_hash", ih)
		ev.AddHex("peer_id", pid)
		return true
	}
	var m httpTracker
	if !parseHTTPTracker(b, &m) {
		return false
	}
	ev.Kind, ev.Role, ev.Reason = m.kind, inspect.RoleQuery, ReasonHTTPTracker
	ev.AddText("path", m.path)
	ev.AddText("info_hash", m.infoHash)
	ev.AddText("peer_id", m.peerID)
	if m.port != 0 {
		ev.AddNum("port", uint64(m.port))
	}
	return true
}

// ProbePayload implements inspect.Prober: a DHT ping (the tag is unused).
func (*Detector) ProbePayload(dst []byte, _ string) []byte { return appendPing(dst) }

// ProbeSourcePort implements inspect.Prober.
func (*Detector) ProbeSourcePort() uint16 { return ProbePort }
