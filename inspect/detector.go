package inspect

// Protocol names a detector: lower-case letters, digits and '-' ("fasttrack",
// "bittorrent"). It appears in logs, metrics labels, rule names, element
// comments, the storefile and `ftwall inspect`.
type Protocol string

// Detector recognises one P2P protocol. A detector is a value without
// mutable state: several queue readers call it at once. Classify is pure
// and allocates nothing. The optional interfaces Replier and Prober add a
// spoofed reply and a time-lock probe.
//
// A new protocol is one package implementing Detector plus its fixtures,
// listed in package inspect/registry; nft, timelock, the service and the CLI
// take it from there.
type Detector interface {
	// Protocol is the detector's name.
	Protocol() Protocol
	// Prefilters declares the packets the kernel queues for this detector;
	// nothing else reaches Classify. Each must be narrow: ordinary traffic
	// (DNS, QUIC, STUN, NTP, WireGuard, games) must not match.
	Prefilters() []Prefilter
	// Classify looks for the protocol in p, a packet with a transport
	// header, the first fragment of its datagram, a non-empty payload and,
	// for UDP, the whole datagram. On success it fills ev's detector part
	// (Kind, Role, LockPort, LockTag, Hint, Reason, Weak, Fields); the
	// dispatcher sets the rest. On false ev is reset by the caller.
	Classify(p *Packet, ev *Evidence) bool
	// KindName names one of the detector's kinds ("ping", "dht-query"):
	// short, stable, lower-case.
	KindName(k Kind) string
}

// Replier is a detector that answers a client's query with a spoofed UDP
// reply from the queried peer, so that the client does not conclude that
// UDP is blocked (FastTrack's node pong).
type Replier interface {
	// Reply appends the reply's UDP payload for a RoleQuery evidence over
	// UDP to dst (at most MaxReplyLen bytes); dst unchanged = no reply.
	Reply(dst []byte, ev *Evidence, s *Settings) []byte
}

// Prober is a detector whose running clients can be probed to keep their
// time-lock alive: the firewall sends the probe from its own LAN address to
// the client's lock port, and the client's answer, queued on the input hook
// by a HookInput prefilter, is classified as RoleAnswer to an own address.
type Prober interface {
	// ProbePayload appends the probe's UDP payload for a client whose
	// evidence gave tag (Evidence.LockTag; may be empty).
	ProbePayload(dst []byte, tag string) []byte
	// ProbeSourcePort is the UDP source port of the probe.
	ProbeSourcePort() uint16
}

// Streamer is a detector whose TCP evidence is a message at the start of a
// LAN client's stream (a request, a push, a handshake). The kernel marks a
// connection the LAN host opened whose first payload byte is one of
// StreamStarts (or a CR or LF: HTTP allows blank lines before a request)
// and queues its first bytes (StreamBytes, both directions); the service
// reassembles them (package inspect/stream) and Classify sees each message
// in them whole: from the start, and after every blank line. A request
// split over segments, or pipelined behind an ordinary one, is judged like
// one sent in a single segment.
type Streamer interface {
	// StreamStarts lists the first payload bytes worth reassembling.
	StreamStarts() []byte
}

// StreamBytes bounds the bytes of a connection (headers included, both
// directions) the kernel queues as its stream start; StreamWindow is how
// much of the client's payload the service keeps for one connection.
const (
	StreamBytes  = 8192
	StreamWindow = 4096
)

// StreamStarts returns the first bytes of every Streamer in ds, with CR and
// LF, sorted and without repeats; nil when no detector is a Streamer.
func (ds Detectors) StreamStarts() []byte {
	var seen [256]bool
	any := false
	for _, d := range ds {
		if s, ok := d.(Streamer); ok {
			for _, c := range s.StreamStarts() {
				seen[c], any = true, true
			}
		}
	}
	if !any {
		return nil
	}
	seen['\r'], seen['\n'] = true, true
	var out []byte
	for c, ok := range seen {
		if ok {
			out = append(out, byte(c))
		}
	}
	return out
}

// Kind is a detector's own kind of evidence, 1 to MaxKinds-1; 0 is none.
type Kind uint8

// MaxKinds bounds the kinds of one detector (counters are arrays).
const MaxKinds = 32

// Role is what a packet says about the LAN host that sent it.
type Role uint8

// Roles.
const (
	// RoleNone: nothing recognised.
	RoleNone Role = iota
	// RoleQuery: the LAN host talks the protocol to an outside peer (a
	// ping, a DHT query, a tracker announce, a handshake, a download, a
	// push): the destination is a peer, the host a client to lock.
	RoleQuery
	// RoleAnswer: the LAN host answers someone. To one of the firewall's
	// own addresses it answers a time-lock probe: its lock is refreshed and
	// nothing is learned, nothing dropped. To anyone else it serves an
	// outside peer: like RoleQuery, without a spoofed reply.
	RoleAnswer
	// RoleInfo: recognised, but too weak a shape to act on.
	RoleInfo
)

// Hook is where a prefilter looks at packets.
type Hook uint8

// Hooks.
const (
	// HookForward: packets from a LAN interface that the gateway forwards.
	HookForward Hook = iota
	// HookInput: packets from a LAN interface to the firewall itself
	// (answers to time-lock probes); installed only with the time-lock on.
	HookInput
)

// Prefilter declares, as data, packets the kernel queues to the inspector:
// everything in it must hold. nft turns each into one rule whose comment
// names the detector; it knows no protocol bytes. nft adds, for every
// protocol, that TCP must be on an established connection and that the
// source must route back out of the input interface.
type Prefilter struct {
	// Name identifies the prefilter within its detector ("ping"); the rule
	// is "queue-<protocol>-<name>".
	Name string
	// Desc describes it for the rule's comment.
	Desc string
	Hook Hook
	// L4 is ProtoUDP or ProtoTCP.
	L4 uint8
	// Match compares bytes of the transport payload.
	Match []PayloadMatch
	// OneOf, when set, requires the Len bytes at Offset of the payload to
	// equal one of Values (a set lookup; Len ≤ 16, every value Len bytes).
	OneOf *PayloadSet
	// TCPFlags, when set, requires (flags & Mask) == Value.
	TCPFlags *FlagMatch
	// UDPLen, when set, bounds the UDP payload length (from the UDP
	// header's length field).
	UDPLen *LenRange
	// PacketLens, when set, requires the IP packet's length (header
	// included) to be one of these.
	PacketLens []uint32
	// MaxConnPackets, when not 0, requires the connection to have at most
	// that many packets so far, both directions (conntrack).
	MaxConnPackets uint64
	// Stream, when set, makes this one of the stream-start rules that nft
	// puts before the detectors' own (see Streamer; only TCP): the packet
	// belongs to a connection the LAN host opened that has carried at most
	// StreamBytes so far.
	Stream StreamRule
}

// StreamRule is the part a rule plays in queueing stream starts.
type StreamRule uint8

// Stream rules.
const (
	StreamNone StreamRule = iota
	// StreamMark: the rule marks the connection (a conntrack label) and
	// queues the packet; its OneOf lists the first bytes.
	StreamMark
	// StreamMarked: the connection is marked and the segment carries
	// payload: queue it.
	StreamMarked
)

// PayloadMatch requires payload[Offset:Offset+len(Value)] & Mask == Value
// (Mask nil: all ones). At most 16 bytes.
type PayloadMatch struct {
	Offset uint32
	Value  []byte
	Mask   []byte
}

// PayloadSet requires the Len payload bytes at Offset to be one of Values.
type PayloadSet struct {
	Offset, Len uint32
	Values      [][]byte
}

// FlagMatch requires (TCP flags & Mask) == Value.
type FlagMatch struct{ Mask, Value uint8 }

// LenRange is an inclusive range of lengths.
type LenRange struct{ Min, Max uint16 }
