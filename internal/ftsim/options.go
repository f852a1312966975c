package ftsim

import (
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Defaults of ClientOptions and NodeOptions: short, for tests.
const (
	DefaultPingWait       = 300 * time.Millisecond
	DefaultConnectTimeout = 500 * time.Millisecond
	DefaultHTTPTimeout    = 5 * time.Second
	DefaultIOTimeout      = 5 * time.Second
	DefaultBodySize       = 4096
	DefaultMaxDownload    = 64 << 20
	DefaultGiveID         = 12345
	DefaultMaxParallel    = 64
	DefaultMaxConns       = 256
)

// ErrOptions is wrapped by every error about invalid options.
var ErrOptions = errors.New("invalid options")

// Upper bounds of the options (everything the simulator does is bounded).
const (
	maxRounds       = 100
	maxPingsPerNode = 100
	maxBodySize     = 1 << 30
	maxNetworkName  = 64
	maxUsername     = 64
)

// ClientOptions configure a Client. The zero value of every field but Nodes
// is usable.
type ClientOptions struct {
	// Net opens the sockets (nil = System).
	Net Net
	// Log gets progress messages (nil = discard).
	Log *slog.Logger

	// Nodes is the cached node list, IPv4 and IPv6 (at most MaxNodes).
	Nodes []netip.AddrPort
	// Network is the network name of pings and X-Kazaa-Network (default
	// "KaZaA").
	Network string
	// Port is the local UDP port (0 = any free port). Kazaa 2.x uses the
	// number of its TCP listen port.
	Port uint16
	// Bind lists the local addresses of the UDP sockets (default: the IPv4
	// and IPv6 wildcards).
	Bind []netip.Addr

	// NoUDP switches UDP off (a workstation firewall blocking UDP, the
	// safety-net case): no pings, no probe answers; the client starts in
	// parallel TCP mode.
	NoUDP bool
	// UDPRounds is how many times nodes that did not answer are pinged
	// again before the client decides (default 1).
	UDPRounds int
	// PingsPerNode is the number of identical pings per node and round
	// (default 1).
	PingsPerNode int
	// PingWait is how long a round waits for pongs (default 300ms).
	PingWait time.Duration
	// ConnectTimeout bounds each TCP connect and session start (default
	// 500ms).
	ConnectTimeout time.Duration
	// MaxParallel bounds simultaneous connects (default 64).
	MaxParallel int
	// SwitchOnNodePong makes node pongs (0x29) without any supernode
	// invitation count as "blocked": the client goes on to the TCP modes.
	// A real client keeps to UDP mode then (the firewall's intent).
	SwitchOnNodePong bool
	// ProbeReply is the pong sent back to FastTrack pings received on the
	// UDP port: 0x28 (default, carries the network name) or 0x29.
	ProbeReply MsgType
	// AnswerProbes keeps the UDP sockets open, answering pings, this long
	// after the other steps; then the client stops answering.
	AnswerProbes time.Duration

	// HTTP is the peer to download from (invalid = no download).
	HTTP netip.AddrPort
	// Supernode is the X-Kazaa-SupernodeIP value (invalid = the node the
	// client connected to, if any, else the header is left out).
	Supernode netip.AddrPort
	// Hash is the 40-hex-digit file hash requested (default DefaultHash).
	Hash string
	// Range is a Range header value for the download ("" = none).
	Range string
	// Username is the X-Kazaa-Username value (default "ftsim").
	Username string
	// HTTPTimeout bounds a download or push, connect included (default 5s).
	HTTPTimeout time.Duration
	// MaxDownload bounds the body bytes read (default 64 MiB).
	MaxDownload int64

	// Give is the peer to push to with "GIVE <GiveID>" (invalid = none).
	Give netip.AddrPort
	// GiveID is the push id (0 = DefaultGiveID).
	GiveID uint32
	// BodySize is the size of the file served over a push (default 4096).
	BodySize int64
}

// NodeOptions configure a Node.
type NodeOptions struct {
	// Net opens the sockets (nil = System).
	Net Net
	// Log gets progress messages (nil = discard).
	Log *slog.Logger

	// Listen lists the local addresses (default: the IPv4 and IPv6
	// wildcards; a wildcard node answers each ping from the address pinged).
	Listen []netip.Addr
	// Port is the UDP and TCP port number (0 = any free port, the same for
	// both).
	Port uint16
	// Network is the network name of supernode pongs and X-Kazaa-Network
	// (default "KaZaA").
	Network string
	// Pong is the answer to pings: 0x28 (default) or 0x29.
	Pong MsgType
	// NoPong leaves pings unanswered.
	NoPong bool
	// Load is the load percentage in supernode pongs.
	Load byte
	// For bounds the node's life (0 = until the context ends).
	For time.Duration

	// BodySize is the size of the served file (default 4096).
	BodySize int64
	// Username is the X-Kazaa-Username value (default "ftsim").
	Username string
	// Supernode is the X-Kazaa-SupernodeIP value of responses (invalid =
	// left out).
	Supernode netip.AddrPort
	// Hash is requested when a peer pushes with GIVE (default DefaultHash).
	Hash string
	// IOTimeout bounds each accepted connection (default 5s).
	IOTimeout time.Duration
	// MaxConns bounds simultaneous connections (default 256).
	MaxConns int
	// MaxDownload bounds the body bytes read after a GIVE (default 64 MiB).
	MaxDownload int64
}

func (o ClientOptions) withDefaults() (ClientOptions, error) {
	var errs []error
	if o.Net == nil {
		o.Net = System{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if len(o.Nodes) > MaxNodes {
		errs = append(errs, fmt.Errorf("%d nodes: at most %d", len(o.Nodes), MaxNodes))
	}
	for _, n := range o.Nodes {
		if !n.IsValid() || n.Port() == 0 || n.Addr().IsUnspecified() {
			errs = append(errs, fmt.Errorf("node %q: want a peer ip:port with a non-zero port", n))
		}
	}
	o.Network = defaultString(o.Network, DefaultNetwork)
	errs = append(errs, checkName("network name", o.Network, maxNetworkName))
	o.Username = defaultString(o.Username, DefaultUsername)
	errs = append(errs, checkName("username", o.Username, maxUsername))
	o.Hash = defaultString(o.Hash, DefaultHash)
	errs = append(errs, checkHash(o.Hash))
	errs = append(errs, checkName("range", o.Range, 100))
	o.UDPRounds = defaultInt(o.UDPRounds, 1)
	if o.UDPRounds < 1 || o.UDPRounds > maxRounds {
		errs = append(errs, fmt.Errorf("UDP rounds %d: want 1 to %d", o.UDPRounds, maxRounds))
	}
	o.PingsPerNode = defaultInt(o.PingsPerNode, 1)
	if o.PingsPerNode < 1 || o.PingsPerNode > maxPingsPerNode {
		errs = append(errs, fmt.Errorf("pings per node %d: want 1 to %d", o.PingsPerNode, maxPingsPerNode))
	}
	o.MaxParallel = defaultInt(o.MaxParallel, DefaultMaxParallel)
	if o.MaxParallel < 1 || o.MaxParallel > MaxNodes {
		errs = append(errs, fmt.Errorf("parallel connects %d: want 1 to %d", o.MaxParallel, MaxNodes))
	}
	o.PingWait = defaultDuration(o.PingWait, DefaultPingWait)
	o.ConnectTimeout = defaultDuration(o.ConnectTimeout, DefaultConnectTimeout)
	o.HTTPTimeout = defaultDuration(o.HTTPTimeout, DefaultHTTPTimeout)
	errs = append(errs,
		checkDuration("ping wait", o.PingWait, time.Minute),
		checkDuration("connect timeout", o.ConnectTimeout, time.Minute),
		checkDuration("HTTP timeout", o.HTTPTimeout, 10*time.Minute),
		checkDuration("answer-probes time", o.AnswerProbes, 24*time.Hour))
	if o.ProbeReply == 0 {
		o.ProbeReply = TypeSupernodePong
	}
	if o.ProbeReply != TypeSupernodePong && o.ProbeReply != TypeNodePong {
		errs = append(errs, fmt.Errorf("probe reply %s: want 0x28 or 0x29", o.ProbeReply))
	}
	if o.NoUDP && o.AnswerProbes > 0 {
		errs = append(errs, errors.New("answering probes needs UDP: drop the answer-probes time or switch UDP on"))
	}
	if o.GiveID == 0 {
		o.GiveID = DefaultGiveID
	}
	o.BodySize = defaultInt64(o.BodySize, DefaultBodySize)
	o.MaxDownload = defaultInt64(o.MaxDownload, DefaultMaxDownload)
	errs = append(errs, checkSize("body size", o.BodySize), checkSize("download limit", o.MaxDownload))
	for _, ap := range []netip.AddrPort{o.HTTP, o.Give} {
		if ap.IsValid() && (ap.Port() == 0 || ap.Addr().IsUnspecified()) {
			errs = append(errs, fmt.Errorf("peer %s: want an ip:port with a non-zero port", ap))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("ftsim client: %w: %w", ErrOptions, err)
	}
	return o, nil
}

func (o NodeOptions) withDefaults() (NodeOptions, error) {
	var errs []error
	if o.Net == nil {
		o.Net = System{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	o.Network = defaultString(o.Network, DefaultNetwork)
	errs = append(errs, checkName("network name", o.Network, maxNetworkName))
	o.Username = defaultString(o.Username, DefaultUsername)
	errs = append(errs, checkName("username", o.Username, maxUsername))
	o.Hash = defaultString(o.Hash, DefaultHash)
	errs = append(errs, checkHash(o.Hash))
	if o.Pong == 0 {
		o.Pong = TypeSupernodePong
	}
	if o.Pong != TypeSupernodePong && o.Pong != TypeNodePong {
		errs = append(errs, fmt.Errorf("pong type %s: want 0x28 or 0x29 (or no pongs)", o.Pong))
	}
	o.IOTimeout = defaultDuration(o.IOTimeout, DefaultIOTimeout)
	errs = append(errs,
		checkDuration("lifetime", o.For, 365*24*time.Hour),
		checkDuration("I/O timeout", o.IOTimeout, 10*time.Minute))
	o.MaxConns = defaultInt(o.MaxConns, DefaultMaxConns)
	if o.MaxConns < 1 || o.MaxConns > 65536 {
		errs = append(errs, fmt.Errorf("connection limit %d: want 1 to 65536", o.MaxConns))
	}
	o.BodySize = defaultInt64(o.BodySize, DefaultBodySize)
	o.MaxDownload = defaultInt64(o.MaxDownload, DefaultMaxDownload)
	errs = append(errs, checkSize("body size", o.BodySize), checkSize("download limit", o.MaxDownload))
	seen := map[netip.Addr]bool{}
	for _, a := range o.Listen {
		if !a.IsValid() {
			errs = append(errs, errors.New("invalid listen address"))
		}
		if seen[a.Unmap()] {
			errs = append(errs, fmt.Errorf("listen address %s given twice", a))
		}
		seen[a.Unmap()] = true
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("ftsim node: %w: %w", ErrOptions, err)
	}
	return o, nil
}

func checkName(what, s string, maxLen int) error {
	if len(s) > maxLen {
		return fmt.Errorf("%s %q: at most %d characters", what, truncate(s, 20), maxLen)
	}
	for _, c := range []byte(s) {
		if c < 0x20 || c > 0x7e {
			return fmt.Errorf("%s %q: printable ASCII only", what, s)
		}
	}
	return nil
}

func checkHash(h string) error {
	if b, err := hex.DecodeString(h); err != nil || len(b) != 20 {
		return fmt.Errorf("file hash %q: want 40 hex digits", truncate(h, 50))
	}
	return nil
}

func checkDuration(what string, d, maxD time.Duration) error {
	if d < 0 || d > maxD {
		return fmt.Errorf("%s %s: want 0 to %s", what, d, maxD)
	}
	return nil
}

func checkSize(what string, n int64) error {
	if n < 1 || n > maxBodySize {
		return fmt.Errorf("%s %d: want 1 to %d bytes", what, n, int64(maxBodySize))
	}
	return nil
}

func defaultString(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func defaultInt(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

func defaultInt64(v, d int64) int64 {
	if v == 0 {
		return d
	}
	return v
}

func defaultDuration(v, d time.Duration) time.Duration {
	if v == 0 {
		return d
	}
	return v
}
