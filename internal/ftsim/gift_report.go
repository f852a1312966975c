package ftsim

import (
	"net/netip"
	"time"
)

// Why a Gift stopped (GiftReport.StopReason).
const (
	GiftStopFor         = "for"          // the run duration (For) passed
	GiftStopMaxConnects = "max-connects" // MaxConnects were made and no session was left
	GiftStopCancelled   = "cancelled"    // the context ended
	GiftStopStopped     = "stopped"      // Stop was called
)

// Stages of a giFT session (GiftSession.Stage): where it was when it ended
// (or is now).
const (
	StageConnect     = "connect"     // TCP connect under way
	StageHandshake   = "handshake"   // 12 bytes sent, waiting for the node's 8
	StageNetName     = "netname"     // network name sent, waiting for the node's
	StageEstablished = "established" // giFT's "ESTABLISHED session"
)

// Events of GiftReport.Timeline.
const (
	TimelineEstablished = "established"
	TimelineEnded       = "ended"
)

// GiftReport is everything a Gift run did. Times are milliseconds since the
// run started (StartedAt); -1 means "not reached". Lists are bounded by
// MaxRecords (Sessions by twice that, see there); what did not fit is
// counted in Dropped or DroppedSessions, the counters count everything.
type GiftReport struct {
	Network string   `json:"network"`
	Port    uint16   `json:"port"`   // the UDP port, also the TCP listen port
	Listen  []string `json:"listen"` // "udp 0.0.0.0:1214", "tcp [::]:1214", …
	Notes   []string `json:"notes,omitempty"`

	StartedAt time.Time `json:"started_at"`
	// StoppedAt is when the client had stopped: every socket closed, no
	// packet sent after it (zero while it runs).
	StoppedAt  time.Time `json:"stopped_at,omitzero"`
	StopReason string    `json:"stop_reason,omitempty"` // GiftStop…
	ElapsedMS  int64     `json:"elapsed_ms"`

	// Connects counts TCP connects started (SYNs sent); ConnectsOK those
	// that connected; Refused, TimedOut, Unreachable and ConnectErrors
	// those that failed (ResultRefused, ResultTimeout, ResultUnreachable,
	// ResultError). A connect cut short by the end of the run is in none of
	// the failure counts (its End is EndStopped).
	Connects      int `json:"connects"`
	ConnectsOK    int `json:"connects_ok"`
	Refused       int `json:"refused"`
	TimedOut      int `json:"timed_out"`
	Unreachable   int `json:"unreachable"`
	ConnectErrors int `json:"connect_errors"`
	// Handshakes counts sessions whose node answered the 12-byte start with
	// 8 bytes; Established those that got the node's network name too
	// (giFT logs "ESTABLISHED session to X"); MaxEstablished the most
	// sessions established at once.
	Handshakes     int `json:"handshakes"`
	Established    int `json:"established"`
	MaxEstablished int `json:"max_established"`
	// Ends counts ended sessions by how they ended (GiftSession.End).
	Ends map[string]int `json:"ends"`
	// Sessions are the connects in the order they started: the first
	// MaxRecords, then (up to MaxRecords more) those that made a TCP
	// connection, so that established sessions are kept in a flood of
	// refused connects; DroppedSessions counts the others.
	Sessions        []GiftSession `json:"sessions"`
	DroppedSessions int           `json:"dropped_sessions,omitempty"`
	// Timeline lists every change of the number of established sessions,
	// in order (AtMS never decreases).
	Timeline []GiftSessionChange `json:"timeline"`

	// PingsSent counts 0x27 node pings sent, in PingRounds discovery
	// cycles (Rounds). PongsReceived counts the pongs (0x28 and 0x29 alike:
	// each moves its node to the front of the cache) that matched a ping by
	// source IP; PongsByType and Pongs break them down.
	PingsSent     int              `json:"pings_sent"`
	PingRounds    int              `json:"ping_rounds"`
	Rounds        []GiftRound      `json:"rounds"`
	PongsReceived int              `json:"pongs_received"`
	PongsByType   map[MsgType]int  `json:"pongs_by_type"`
	Pongs         []GiftPongSource `json:"pongs,omitempty"`
	// OtherReplies counts other datagrams from a pinged IP (a 0x27 ping
	// among them): giFT takes the node as up but full and moves it to the
	// back of the cache. CorruptPongs counts 0x28 pongs from a pinged IP
	// without their NUL-terminated network name: giFT drops the ping
	// without ever counting it as answered, so discovery stops for good
	// (DiscoveryStuck).
	OtherReplies   int  `json:"other_replies"`
	CorruptPongs   int  `json:"corrupt_pongs,omitempty"`
	DiscoveryStuck bool `json:"discovery_stuck,omitempty"`
	// NotInList counts datagrams from an IP with no ping pending, which
	// giFT logs as "received udp reply from node X which is not in list"
	// and ignores. ProbesIgnored counts the 0x27 pings among them (a
	// firewall's probes: never answered), grouped by sender in Probes;
	// StrayPongs the pongs among them.
	NotInList     int         `json:"not_in_list"`
	ProbesIgnored int         `json:"probes_ignored"`
	Probes        []GiftProbe `json:"probes,omitempty"`
	StrayPongs    int         `json:"stray_pongs"`
	// PingTimeouts counts pings left without an answer for UDPTimeout;
	// DiscoveryStalls the rounds that waited UDPTimeout for them.
	PingTimeouts    int `json:"ping_timeouts"`
	DiscoveryStalls int `json:"discovery_stalls"`
	// UDPWorking is giFT's flag: some datagram came from a pinged node. A
	// ping that times out removes its node from the cache then; before, it
	// moves the node to the back.
	UDPWorking bool `json:"udp_working"`

	// CacheSize is the number of nodes in the cache (at the end, in the
	// final report). CacheReloads counts the loads of the fallback list
	// into the empty cache (listed in Reloads); FallbackEmpty the times the
	// cache was empty and there was no fallback to load (the client then
	// waits for its retry timer); RetryTicks the retry timer's runs.
	CacheSize     int          `json:"cache_size"`
	CacheReloads  int          `json:"cache_reloads"`
	Reloads       []GiftReload `json:"reloads,omitempty"`
	FallbackEmpty int          `json:"fallback_empty"`
	RetryTicks    int          `json:"retry_ticks"`

	// TCPAccepted counts connections accepted on the TCP listen port, by
	// source in Accepted; Listener is the listener's own report (its
	// downloads served and GIVE pushes taken).
	TCPAccepted int          `json:"tcp_accepted"`
	Accepted    []GiftAccept `json:"accepted,omitempty"`
	Listener    NodeReport   `json:"listener"`

	Dropped int `json:"dropped_records,omitempty"`
}

// GiftSession is one TCP connect to a node and the session on it.
type GiftSession struct {
	Node  netip.AddrPort `json:"node"`
	Local netip.AddrPort `json:"local,omitzero"`
	// Seq orders connects, ping rounds (GiftRound.Seq) and cache reloads
	// (GiftReload.Seq): the SYN of a connect with a lower Seq left before
	// the pings of a round with a higher one (with System or InNamespace).
	Seq     int64 `json:"seq"`
	StartMS int64 `json:"start_ms"` // connect started (SYN sent)
	// ConnectedMS: TCP connected; HandshakeMS: the node's 8 bytes came;
	// EstablishedMS: the node's network name came (giFT's ESTABLISHED);
	// EndMS: the session ended. -1 when not reached.
	ConnectedMS   int64 `json:"connected_ms"`
	HandshakeMS   int64 `json:"handshake_ms"`
	EstablishedMS int64 `json:"established_ms"`
	EndMS         int64 `json:"end_ms"`
	// Result is the connect's result (ResultConnected, ResultRefused, …;
	// "" while connecting or when the run ended first).
	Result string `json:"result"`
	// Stage is where the session is or was when it ended (Stage…).
	Stage string `json:"stage"`
	// End is how it ended: a connect result (ResultRefused, ResultTimeout,
	// ResultUnreachable, ResultError), EndTimeout (handshake), EndEOF,
	// EndReset, EndError, or EndStopped (the client stopped). "" while open.
	End   string `json:"end,omitempty"`
	Error string `json:"error,omitempty"`
	// Up and Down are the payload bytes sent and received; Writes the sizes
	// of the client's writes in order (giFT: 12, 6, 21).
	Up     int   `json:"up"`
	Down   int   `json:"down"`
	Writes []int `json:"writes,omitempty"`
}

// GiftSessionChange is a session becoming established or an established
// session ending; Open is the number of established sessions after it.
type GiftSessionChange struct {
	AtMS  int64          `json:"at_ms"`
	Event string         `json:"event"` // TimelineEstablished or TimelineEnded
	Node  netip.AddrPort `json:"node"`
	Open  int            `json:"open"`
}

// GiftRound is one discovery cycle: pings to the first PingsPerRound nodes
// of the cache, sent at once.
type GiftRound struct {
	Seq   int64            `json:"seq"`
	AtMS  int64            `json:"at_ms"`
	Nodes []netip.AddrPort `json:"nodes"` // pinged, in order
	// Pongs, Others and Missing count the pings answered by a pong, by
	// another datagram, and not at all within UDPTimeout.
	Pongs   int `json:"pongs"`
	Others  int `json:"others"`
	Missing int `json:"missing"`
	// DoneMS is when the last ping was answered or timed out (-1: pending).
	DoneMS int64 `json:"done_ms"`
	// Stalled is true when the round waited UDPTimeout for a missing pong.
	Stalled bool `json:"stalled"`
}

// GiftReload is a load of the fallback list into the empty cache; Seq
// orders it among connects and rounds.
type GiftReload struct {
	Seq   int64 `json:"seq"`
	AtMS  int64 `json:"at_ms"`
	Nodes int   `json:"nodes"` // cache size after the load
}

// GiftPongSource counts the pongs of one type from one source address.
type GiftPongSource struct {
	From    netip.AddrPort `json:"from"`
	Type    MsgType        `json:"type"`
	Count   int            `json:"count"`
	FirstMS int64          `json:"first_ms"`
	LastMS  int64          `json:"last_ms"`
}

// GiftProbe counts the ignored FastTrack pings from one sender.
type GiftProbe struct {
	From    netip.AddrPort `json:"from"`
	To      netip.Addr     `json:"to,omitzero"` // the address it was sent to
	Count   int            `json:"count"`
	FirstMS int64          `json:"first_ms"`
	LastMS  int64          `json:"last_ms"`
}

// GiftAccept counts the connections accepted from one address.
type GiftAccept struct {
	From  netip.Addr `json:"from"`
	Count int        `json:"count"`
}

// Stopped reports whether the report is final: the client had stopped.
func (r *GiftReport) Stopped() bool { return !r.StoppedAt.IsZero() }

// SessionDurations returns how long each established session (in Sessions)
// stayed established, in order; a session still open counts up to
// ElapsedMS.
func (r *GiftReport) SessionDurations() []time.Duration {
	var out []time.Duration
	for _, s := range r.Sessions {
		if s.EstablishedMS < 0 {
			continue
		}
		end := s.EndMS
		if end < 0 {
			end = r.ElapsedMS
		}
		out = append(out, time.Duration(end-s.EstablishedMS)*time.Millisecond)
	}
	return out
}

// LongestSession returns the longest time a session stayed established (0
// when none was).
func (r *GiftReport) LongestSession() time.Duration {
	var longest time.Duration
	for _, d := range r.SessionDurations() {
		longest = max(longest, d)
	}
	return longest
}

// OpenAt returns the number of sessions established at the given time
// since the start, from the timeline.
func (r *GiftReport) OpenAt(at time.Duration) int {
	open := 0
	for _, c := range r.Timeline {
		if time.Duration(c.AtMS)*time.Millisecond > at {
			break
		}
		open = c.Open
	}
	return open
}

// SessionsTo returns the recorded sessions to node, in order.
func (r *GiftReport) SessionsTo(node netip.AddrPort) []GiftSession {
	var out []GiftSession
	for _, s := range r.Sessions {
		if s.Node == node {
			out = append(out, s)
		}
	}
	return out
}

// PingsPerPass returns the number of pings sent during each pass over the
// reloaded cache: between one load of the fallback and the next (the last
// pass runs to the end of the run). Rounds not recorded are not counted.
func (r *GiftReport) PingsPerPass() []int {
	out := make([]int, len(r.Reloads))
	for _, x := range r.Rounds {
		for i := len(r.Reloads) - 1; i >= 0; i-- {
			if x.Seq > r.Reloads[i].Seq {
				out[i] += len(x.Nodes)
				break
			}
		}
	}
	return out
}

// AcceptedFrom returns the number of connections accepted from a.
func (r *GiftReport) AcceptedFrom(a netip.Addr) int {
	for _, x := range r.Accepted {
		if x.From == a.Unmap() {
			return x.Count
		}
	}
	return 0
}
