package ftsim

import "net/netip"

// Client connection modes, in the order a FastTrack client tries them.
const (
	ModeUDP         = "udp"             // UDP ping flood, TCP only to nodes that sent 0x28
	ModeParallelTCP = "parallel-tcp"    // SYNs to all nodes at once
	ModeTraditional = "traditional-tcp" // one node at a time
)

// Results of a TCP connect.
const (
	ResultConnected   = "connected"
	ResultRefused     = "refused"     // ECONNREFUSED: the SYN was answered by a reset
	ResultTimeout     = "timeout"     // no answer within the connect timeout
	ResultUnreachable = "unreachable" // ICMP unreachable or prohibited
	ResultError       = "error"       // anything else; see Error
)

// How a TCP session ended (NodeConn.End, GiftSession.End), besides the
// connect results ResultRefused, ResultTimeout, ResultUnreachable and
// ResultError (EndTimeout and EndError are the same strings as
// ResultTimeout and ResultError).
const (
	EndEOF     = "eof"     // the peer closed it (FIN)
	EndReset   = "reset"   // the peer reset it (RST)
	EndTimeout = "timeout" // a time limit ran out
	EndStopped = "stopped" // this side stopped (Stop, the context, the lifetime)
	EndError   = "error"   // anything else; see Error
)

// Client outcomes.
const (
	OutcomeConnected = "connected" // a TCP connection to a node was made
	OutcomeUDPOnly   = "udp-only"  // nodes answered with node pongs only; the client kept to UDP mode
	OutcomeBlocked   = "blocked"   // every mode failed
	OutcomeNoNodes   = "no-nodes"  // no node list: only the HTTP/GIVE steps ran
	OutcomeCancelled = "cancelled" // the context ended before the connect steps finished
)

// Kinds of TCP connections a node accepted.
const (
	ConnSession = "session" // FastTrack session: 12 bytes in, 8 bytes answered (then the network names)
	ConnHTTP    = "http"    // an HTTP request
	ConnGive    = "give"    // a GIVE push
	ConnEmpty   = "empty"   // closed or silent without a byte
	ConnOther   = "other"   // anything else
)

// MaxRecords bounds every list of a report that grows with traffic (TCP
// attempts, pongs, probes, pings, connections, downloads); further entries
// are counted in Dropped. The client's Pings list has one entry per node.
const MaxRecords = 1024

// ClientReport is everything a client run did. Times are milliseconds since
// the run started.
type ClientReport struct {
	Network string   `json:"network"`
	UDP     bool     `json:"udp"`
	Port    uint16   `json:"port"` // the UDP port (0 when UDP is off)
	Notes   []string `json:"notes,omitempty"`

	Pings      []PingResult `json:"pings"`
	StrayPongs []Pong       `json:"stray_pongs,omitempty"` // pongs from addresses not pinged
	Modes      []ModeChange `json:"modes"`                 // the first entry is the starting mode
	TCP        []TCPAttempt `json:"tcp"`
	Outcome    string       `json:"outcome"`
	Reason     string       `json:"reason"`
	// Connected is the node of the first successful connect.
	Connected netip.AddrPort `json:"connected,omitzero"`

	HTTP *DownloadResult `json:"http,omitempty"`
	Give *GiveResult     `json:"give,omitempty"`

	// ProbesAnswered counts FastTrack pings received on the UDP port and
	// answered (the firewall's time-lock probes); Probes groups them by
	// sender.
	ProbesAnswered int     `json:"probes_answered"`
	Probes         []Probe `json:"probes,omitempty"`

	Dropped   int   `json:"dropped_records,omitempty"`
	ElapsedMS int64 `json:"elapsed_ms"`
}

// PingResult is the UDP exchange with one node. A pong counts for a node
// when it comes from the node's IP address (any port), as real clients match.
type PingResult struct {
	Node      netip.AddrPort `json:"node"`
	Sent      int            `json:"sent"`
	SendError string         `json:"send_error,omitempty"`
	// Pong is the type of the first pong ("none" when none came), PongFrom
	// its source and PongMS its arrival time.
	Pong     MsgType        `json:"pong"`
	PongFrom netip.AddrPort `json:"pong_from,omitzero"`
	PongMS   int64          `json:"pong_ms,omitempty"`
	Pongs    int            `json:"pongs"`
	// Invited is true when a supernode pong (0x28) came.
	Invited bool `json:"invited"`
}

// Pong is one received pong.
type Pong struct {
	From    netip.AddrPort `json:"from"`
	Type    MsgType        `json:"type"`
	Network string         `json:"network,omitempty"`
	AtMS    int64          `json:"at_ms"`
}

// ModeChange is the client entering a mode.
type ModeChange struct {
	Mode   string `json:"mode"`
	Reason string `json:"reason"`
	AtMS   int64  `json:"at_ms"`
}

// TCPAttempt is one TCP connect to a node.
type TCPAttempt struct {
	Mode   string         `json:"mode"`
	Node   netip.AddrPort `json:"node"`
	Local  netip.AddrPort `json:"local,omitzero"`
	Result string         `json:"result"`
	Error  string         `json:"error,omitempty"`
	// Handshake is true when the node answered the 12-byte session start
	// with 8 bytes.
	Handshake bool  `json:"handshake"`
	AtMS      int64 `json:"at_ms"`
	MS        int64 `json:"ms"`
}

// DownloadResult is an HTTP download the client made.
type DownloadResult struct {
	Target  netip.AddrPort `json:"target"`
	Request string         `json:"request"` // request line
	// Result is the TCP connect result.
	Result        string  `json:"result"`
	Status        int     `json:"status,omitempty"`
	StatusLine    string  `json:"status_line,omitempty"`
	Headers       Headers `json:"headers,omitempty"`
	ContentLength int64   `json:"content_length"` // -1 when unknown
	Bytes         int64   `json:"bytes"`
	// Intact is true for a complete 200/206 body whose every byte matched
	// the simulator's file.
	Intact bool   `json:"intact"`
	Error  string `json:"error,omitempty"`
	MS     int64  `json:"ms"`
}

// GiveResult is a GIVE push the client made: it connects to the peer, sends
// "GIVE <id>" and serves the peer's GET on that connection.
type GiveResult struct {
	Target netip.AddrPort `json:"target"`
	ID     uint32         `json:"id"`
	Result string         `json:"result"` // TCP connect result
	// Request is the peer's request line, RequestHeaders its headers.
	Request        string  `json:"request,omitempty"`
	RequestHeaders Headers `json:"request_headers,omitempty"`
	Status         int     `json:"status,omitempty"` // served status
	Bytes          int64   `json:"bytes"`            // body bytes served
	Error          string  `json:"error,omitempty"`
	MS             int64   `json:"ms"`
}

// Probe counts FastTrack pings from one sender that the client answered.
type Probe struct {
	From    netip.AddrPort `json:"from"`
	To      netip.Addr     `json:"to,omitzero"`
	Network string         `json:"network"`
	Count   int            `json:"count"`
	Reply   MsgType        `json:"reply"`
	Error   string         `json:"error,omitempty"` // last send error
	FirstMS int64          `json:"first_ms"`
	LastMS  int64          `json:"last_ms"`
}

// NodeReport is everything a node did. Times are milliseconds since it
// started.
type NodeReport struct {
	Port    uint16   `json:"port"`
	Network string   `json:"network"`
	Listen  []string `json:"listen"`
	Notes   []string `json:"notes,omitempty"`

	PingsReceived  int        `json:"pings_received"`
	PingsAnswered  int        `json:"pings_answered"`
	Pings          []NodePing `json:"pings,omitempty"`
	OtherDatagrams int        `json:"other_datagrams"`

	TCPAccepted int `json:"tcp_accepted"`
	// TCPRejected counts connections closed at once because too many were
	// open.
	TCPRejected int `json:"tcp_rejected,omitempty"`
	// Sessions counts FastTrack sessions that have ended (each is in
	// Conns); SessionsOpen those answered and still open.
	Sessions     int              `json:"sessions"`
	SessionsOpen int              `json:"sessions_open"`
	Conns        []NodeConn       `json:"conns,omitempty"`
	Downloads    []ServedDownload `json:"downloads,omitempty"`
	Gives        []GiveDownload   `json:"gives,omitempty"`

	Errors    []string `json:"errors,omitempty"`
	Dropped   int      `json:"dropped_records,omitempty"`
	ElapsedMS int64    `json:"elapsed_ms"`
}

// NodePing is one ping the node received.
type NodePing struct {
	From    netip.AddrPort `json:"from"`
	To      netip.Addr     `json:"to,omitzero"` // the address pinged
	Network string         `json:"network"`
	Reply   MsgType        `json:"reply"` // "none" when not answered
	Error   string         `json:"error,omitempty"`
	AtMS    int64          `json:"at_ms"`
}

// NodeConn is one accepted TCP connection.
type NodeConn struct {
	From  netip.AddrPort `json:"from"`
	To    netip.AddrPort `json:"to"`
	Kind  string         `json:"kind"`
	Bytes int            `json:"bytes"` // bytes received before the kind was known (sessions: the 12-byte start)
	// Sessions only: payload bytes received (the 12-byte start included)
	// and sent (the 8-byte answer included); NetName is true when the node
	// answered the client's first encrypted message with its network name;
	// End says how the session ended (EndEOF, EndReset, EndTimeout: the
	// IOTimeout, EndStopped: the node stopped, EndError), EndMS when.
	In      int    `json:"in,omitempty"`
	Out     int    `json:"out,omitempty"`
	NetName bool   `json:"net_name,omitempty"`
	End     string `json:"end,omitempty"`
	EndMS   int64  `json:"end_ms,omitempty"`
	Error   string `json:"error,omitempty"`
	AtMS    int64  `json:"at_ms"`
}

// ServedDownload is one HTTP request the node answered.
type ServedDownload struct {
	From      netip.AddrPort `json:"from"`
	To        netip.AddrPort `json:"to"`
	Request   string         `json:"request"`
	Path      string         `json:"path"`
	FastTrack bool           `json:"fasttrack"` // a FastTrack request target
	Headers   Headers        `json:"headers"`
	Head      string         `json:"head"` // the raw request head
	Status    int            `json:"status"`
	Bytes     int64          `json:"bytes"` // body bytes sent
	Error     string         `json:"error,omitempty"`
	AtMS      int64          `json:"at_ms"`
}

// GiveDownload is a GIVE push the node received and the download it made
// over that connection.
type GiveDownload struct {
	From    netip.AddrPort `json:"from"`
	To      netip.AddrPort `json:"to"`
	ID      uint32         `json:"id"`
	Status  int            `json:"status,omitempty"`
	Headers Headers        `json:"headers,omitempty"` // response headers
	Bytes   int64          `json:"bytes"`
	Intact  bool           `json:"intact"`
	Error   string         `json:"error,omitempty"`
	AtMS    int64          `json:"at_ms"`
}

// Ping returns the result for node, and false when it was not in the list.
func (r *ClientReport) Ping(node netip.AddrPort) (PingResult, bool) {
	for _, p := range r.Pings {
		if p.Node == node {
			return p, true
		}
	}
	return PingResult{}, false
}

// ModeSequence returns the modes the client went through, in order.
func (r *ClientReport) ModeSequence() []string {
	s := make([]string, len(r.Modes))
	for i, m := range r.Modes {
		s[i] = m.Mode
	}
	return s
}

// Attempts returns the TCP attempts made in mode ("" = all).
func (r *ClientReport) Attempts(mode string) []TCPAttempt {
	var out []TCPAttempt
	for _, a := range r.TCP {
		if mode == "" || a.Mode == mode {
			out = append(out, a)
		}
	}
	return out
}
