package fasttrack

import (
	"github.com/ftwall/ftwall/inspect"
)

// Protocol is FastTrack's name.
const Protocol inspect.Protocol = "fasttrack"

// Reasons given for FastTrack peers and locks.
const (
	ReasonUDPPing         = "udp-ping"
	ReasonUDPPong         = "udp-pong"
	ReasonHTTPRequest     = "http-request"
	ReasonSupernodeHeader = "supernode-header"
	ReasonHTTPResponse    = "http-response"
	ReasonGive            = "give"
	ReasonSessionOpen     = "session-open"
)

// ProbePort is the UDP source port of FastTrack time-lock probes
// (FastTrack's default port).
const ProbePort = 1214

// DefaultNetwork is the network name used in probes to clients whose name
// is unknown (Kazaa's own network).
const DefaultNetwork = "KaZaA"

// spoofLoad is the load percentage put in spoofed supernode pongs.
const spoofLoad = 25

// Detector is the FastTrack detector (Kazaa, KazaaLite, iMesh, Grokster,
// giFT-FastTrack): UDP pings and pongs, clear-text HTTP downloads and GIVE
// pushes, and the 12-byte session opener. It answers pings with a spoofed
// pong and probes locked clients with a ping.
type Detector struct{}

// New returns the FastTrack detector.
func New() *Detector { return &Detector{} }

// Protocol implements inspect.Detector.
func (*Detector) Protocol() inspect.Protocol { return Protocol }

// StreamStarts implements inspect.Streamer: "GET " requests and "GIVE" pushes start with G.
func (*Detector) StreamStarts() []byte { return []byte{'G'} }

// KindName implements inspect.Detector.
func (*Detector) KindName(k inspect.Kind) string { return KindName(k) }

// Prefilters implements inspect.Detector: pings (type 0x27, bytes 1-3 zero,
// byte 5 0x80), TCP starting "GET ", "GIVE" or "HTTP", the session opener
// (a 12-byte first payload), and on the input hook the pongs that answer a
// time-lock probe (0x28 or 0x29, bytes 1-3 zero).
func (*Detector) Prefilters() []inspect.Prefilter {
	const fin, syn, rst, psh = 0x01, 0x02, 0x04, 0x08
	var openerLens []uint32
	// IPv4 with a 20-byte header and TCP headers of 20 to 60 bytes (52-92),
	// IPv6 with its 40-byte header (72-112); the inspector checks the exact
	// payload length.
	for l := uint32(20 + 20 + OpenerLen); l <= 40+60+OpenerLen; l += 4 {
		openerLens = append(openerLens, l)
	}
	return []inspect.Prefilter{
		{
			Name: "ping", Desc: "FastTrack UDP ping from LAN", Hook: inspect.HookForward, L4: inspect.ProtoUDP,
			Match: []inspect.PayloadMatch{{Offset: 0, Value: []byte{MsgNodePing, 0, 0, 0}}, {Offset: 5, Value: []byte{0x80}}},
		},
		{
			Name: "http", Desc: "FastTrack HTTP or GIVE from LAN (TCP starting GET/GIVE/HTTP)", Hook: inspect.HookForward, L4: inspect.ProtoTCP,
			OneOf: &inspect.PayloadSet{Offset: 0, Len: 4, Values: [][]byte{[]byte("GET "), []byte("GIVE"), []byte("HTTP")}},
		},
		{
			Name: "opener", Desc: "first TCP payload from LAN of 12 bytes (FastTrack session opener?)", Hook: inspect.HookForward, L4: inspect.ProtoTCP,
			TCPFlags: &inspect.FlagMatch{Mask: fin | syn | rst | psh, Value: psh}, PacketLens: openerLens,
			// SYN, SYN-ACK, ACK and the first payload are four; two
			// retransmissions of it six.
			MaxConnPackets: 6,
		},
		{
			Name: "pong", Desc: "FastTrack UDP pong from LAN (time-lock probe answer)", Hook: inspect.HookInput, L4: inspect.ProtoUDP,
			Match: []inspect.PayloadMatch{{Offset: 0, Value: []byte{MsgSupernodePong, 0, 0, 0}, Mask: []byte{0xfe, 0xff, 0xff, 0xff}}},
		},
	}
}

// Classify implements inspect.Detector.
func (*Detector) Classify(p *inspect.Packet, ev *inspect.Evidence) bool {
	var m Message
	if !ClassifyMessage(p, &m) {
		return false
	}
	ev.Kind = m.Kind
	switch m.Kind {
	case KindPing:
		ev.Role, ev.Reason, ev.LockPort, ev.LockTag = inspect.RoleQuery, ReasonUDPPing, p.SrcPort, m.Network
	case KindSupernodePong, KindNodePong:
		ev.Role, ev.Reason, ev.LockPort, ev.LockTag = inspect.RoleAnswer, ReasonUDPPong, p.SrcPort, m.Network
	case KindID:
		ev.Role = inspect.RoleInfo
	case KindHTTPRequest, KindHTTPResponse, KindGive:
		ev.Role, ev.LockPort, ev.LockTag = inspect.RoleQuery, m.SelfAddr.Port(), m.Network
		ev.Reason = ReasonHTTPRequest
		switch m.Kind {
		case KindHTTPResponse:
			ev.Reason = ReasonHTTPResponse
		case KindGive:
			ev.Reason = ReasonGive
		}
		ev.Hint, ev.HintReason = m.Supernode, ReasonSupernodeHeader
	case KindSessionOpen:
		ev.Role, ev.Reason, ev.Weak = inspect.RoleQuery, ReasonSessionOpen, !m.GiFTOpener
	}
	m.fields(ev)
	return true
}

// fields copies the message's details into ev.
func (m *Message) fields(ev *inspect.Evidence) {
	ev.AddText("network", m.Network)
	ev.AddText("username", m.Username)
	ev.AddText("hash", m.Hash)
	ev.AddText("path", m.Path)
	ev.AddText("user_agent", m.UserAgent)
	if m.Status != 0 {
		ev.AddNum("status", uint64(m.Status))
	}
	ev.AddText("give", m.GiveID)
	ev.AddAddr("self", m.SelfAddr)
	ev.AddAddr("supernode", m.Supernode)
	if m.Kind == KindNodePong || m.Kind == KindID {
		ev.AddNum("id", uint64(m.ID))
	}
	ev.AddAddr("node_addr", m.NodeAddr)
	if m.GiFTOpener {
		ev.AddText("client", []byte("giFT"))
	}
}

// ClassifyMessage recognises a FastTrack message in a decoded packet (see
// inspect.Detector.Classify for which packets reach it): a FastTrack UDP
// message in a complete UDP datagram (any port), a FastTrack HTTP request,
// response or GIVE push at the start of a TCP payload (any port), or a TCP
// segment of the session opener's shape (whether it is the connection's
// first payload is the kernel prefilter's to say). m is overwritten.
func ClassifyMessage(p *inspect.Packet, m *Message) bool {
	*m = Message{}
	var ok bool
	switch p.Proto {
	case inspect.ProtoUDP:
		ok = !p.Truncated && ClassifyUDP(p.Payload, m)
	case inspect.ProtoTCP:
		ok = ClassifyHTTP(p.Payload, m) || classifyOpener(p, m)
	}
	if !ok {
		*m = Message{}
	}
	return ok
}

// Reply implements inspect.Replier: the spoofed pong to a ping, a 0x29 node
// pong (Settings.PongType 0 or 0x29) or a 0x28 supernode pong carrying the
// ping's network name.
func (*Detector) Reply(dst []byte, ev *inspect.Evidence, s *inspect.Settings) []byte {
	if ev.Kind != KindPing {
		return dst
	}
	if s.PongType == MsgSupernodePong && ValidNetworkName(ev.LockTag) {
		return appendSupernodePong(dst, ev.LockTag, spoofLoad)
	}
	return AppendNodePong(dst, pongID(ev.Dst.Addr().Unmap().As16()))
}

// pongID derives the node ID of a spoofed pong from the node's address, so
// repeated pongs from one node carry the same ID.
func pongID(b [16]byte) uint32 {
	return be32(b[0:4]) ^ be32(b[4:8]) ^ be32(b[8:12]) ^ be32(b[12:16])
}

// ProbePayload implements inspect.Prober: a node ping (0x27) with the
// client's network name, DefaultNetwork when it is unknown or not valid.
func (*Detector) ProbePayload(dst []byte, tag string) []byte {
	if !ValidNetworkName([]byte(tag)) {
		tag = DefaultNetwork
	}
	return AppendPing(dst, tag)
}

// ProbeSourcePort implements inspect.Prober.
func (*Detector) ProbeSourcePort() uint16 { return ProbePort }
