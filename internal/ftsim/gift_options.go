package ftsim

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Defaults of GiftOptions: the values of the genuine client, giFT 0.11.9
// with giFT-FastTrack 0.8.9 and its shipped FastTrack.conf.
const (
	// DefaultGiftPort is giFT-FastTrack's port (main/port): its UDP port
	// and its TCP (HTTP) listen port.
	DefaultGiftPort = 1214
	// DefaultGiftSessions is how many sessions (connecting or established)
	// giFT keeps: a primary one and additional_sessions=3, which its connect
	// loop turns into 4 more.
	DefaultGiftSessions = 5
	// DefaultGiftPingsPerRound is FST_UDP_DISCOVER_MAX_PINGS: the pings of
	// one discovery cycle.
	DefaultGiftPingsPerRound = 10
	// DefaultGiftUDPTimeout is FST_UDP_DISCOVER_TIMEOUT: how long a ping
	// waits for its pong.
	DefaultGiftUDPTimeout = 20 * time.Second
	// DefaultGiftConnectTimeout is FST_SESSION_CONNECT_TIMEOUT.
	DefaultGiftConnectTimeout = 15 * time.Second
	// DefaultGiftHandshakeTimeout is FST_SESSION_HANDSHAKE_TIMEOUT: the
	// wait for each part of the node's handshake (its 8 bytes, its network
	// name).
	DefaultGiftHandshakeTimeout = 10 * time.Second
	// DefaultGiftRetryInterval is giFT's retry timer: it tries to connect
	// again every minute (the wait between rounds when the fallback list is
	// empty).
	DefaultGiftRetryInterval = 60 * time.Second
	// DefaultGiftFor bounds a run.
	DefaultGiftFor = 30 * time.Second
	// DefaultGiftMaxConnects bounds the connects of a run (the genuine
	// client made 703,431 in 20 s against a firewall refusing them all).
	DefaultGiftMaxConnects = 1_000_000
	// DefaultGiftUsername is giFT-FastTrack's default alias.
	DefaultGiftUsername = "giFTed"
)

// Upper bounds of GiftOptions.
const (
	maxGiftSessions    = 64
	maxGiftFor         = 24 * time.Hour
	maxGiftConnects    = 100_000_000
	maxGiftTimeout     = 10 * time.Minute
	maxGiftRetryPeriod = time.Hour
)

// GiftOptions configure a Gift, the profile of the genuine giFT client.
// The zero value of every field is usable (the client then has no nodes and
// only listens, tries again every RetryInterval and stops after For).
type GiftOptions struct {
	// Net opens the sockets (nil = System). With System or InNamespace the
	// client opens its TCP connects itself, non-blocking, so that each SYN
	// has left when the connect call returns, as giFT's do; with any other
	// Net it dials through Net.DialContext in a goroutine (the order of
	// SYNs and pings on the wire is then not guaranteed).
	Net Net
	// Log gets progress messages (nil = discard); giFT's own log lines
	// ("ESTABLISHED session to …", "received udp reply from node … which is
	// not in list") are Debug and Info messages.
	Log *slog.Logger

	// Nodes is the node cache at start, best first (giFT's sorted
	// ~/.giFT/FastTrack/nodes), at most MaxNodes. giFT keeps one node per
	// IP address: a node whose address is already in the list is ignored
	// (noted in the report).
	Nodes []netip.AddrPort
	// Fallback is the fallback node list (giFT's shipped nodes file, at most
	// MaxNodes): loaded into the cache, in this order, each time the cache
	// runs empty. Empty: the client waits for its retry timer.
	Fallback []netip.AddrPort
	// Network is the network name of pings and sessions (default "KaZaA";
	// giFT's is fixed).
	Network string
	// Port is the UDP port, which is also the TCP listen port (0 =
	// DefaultGiftPort, 1214).
	Port uint16
	// RandomPort picks any free port instead of Port (for tests).
	RandomPort bool
	// Bind lists the local addresses of the UDP sockets and TCP listeners
	// (default: the IPv4 and IPv6 wildcards; giFT itself is IPv4-only).
	Bind []netip.Addr

	// Sessions is how many sessions, connecting or established, the client
	// keeps (default 5, at most 64).
	Sessions int
	// PingsPerRound is the number of nodes pinged in one discovery cycle
	// (default 10, at most MaxNodes).
	PingsPerRound int
	// UDPTimeout is how long a ping waits for its pong (default 20s); a new
	// cycle starts only when every ping of the last one was answered or
	// timed out.
	UDPTimeout time.Duration
	// ConnectTimeout bounds each TCP connect (default 15s).
	ConnectTimeout time.Duration
	// HandshakeTimeout bounds each wait for the node's part of the
	// handshake (default 10s).
	HandshakeTimeout time.Duration
	// RetryInterval is the period of the retry timer (default 60s).
	RetryInterval time.Duration
	// For bounds the run (default 30s, at most 24h).
	For time.Duration
	// MaxConnects bounds the TCP connects of the run (default 1,000,000):
	// when they are used up and no session is left, the client stops.
	MaxConnects int

	// Username is the X-Kazaa-Username of the TCP listener's responses
	// (default "giFTed").
	Username string
	// BodySize is the size of the file the listener serves (default 4096).
	BodySize int64
	// Hash is requested when a peer pushes with GIVE (default DefaultHash).
	Hash string
	// IOTimeout bounds each connection accepted by the listener (default
	// 5s).
	IOTimeout time.Duration
	// MaxConns bounds simultaneous accepted connections (default 256).
	MaxConns int
	// MaxDownload bounds the body bytes read after a GIVE (default 64 MiB).
	MaxDownload int64
}

func (o GiftOptions) withDefaults() (GiftOptions, error) {
	var errs []error
	if o.Net == nil {
		o.Net = System{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	for what, list := range map[string][]netip.AddrPort{"nodes": o.Nodes, "fallback nodes": o.Fallback} {
		if len(list) > MaxNodes {
			errs = append(errs, fmt.Errorf("%d %s: at most %d", len(list), what, MaxNodes))
		}
		for _, n := range list {
			if !n.IsValid() || n.Port() == 0 || n.Addr().IsUnspecified() {
				errs = append(errs, fmt.Errorf("%s: node %q: want a peer ip:port with a non-zero port", what, n))
			}
		}
	}
	o.Network = defaultString(o.Network, DefaultNetwork)
	errs = append(errs, checkName("network name", o.Network, maxNetworkName))
	o.Username = defaultString(o.Username, DefaultGiftUsername)
	errs = append(errs, checkName("username", o.Username, maxUsername))
	o.Hash = defaultString(o.Hash, DefaultHash)
	errs = append(errs, checkHash(o.Hash))
	if o.Port == 0 {
		o.Port = DefaultGiftPort
	}
	for _, a := range o.Bind {
		if !a.IsValid() {
			errs = append(errs, errors.New("invalid bind address"))
		}
	}
	o.Sessions = defaultInt(o.Sessions, DefaultGiftSessions)
	if o.Sessions < 1 || o.Sessions > maxGiftSessions {
		errs = append(errs, fmt.Errorf("sessions %d: want 1 to %d", o.Sessions, maxGiftSessions))
	}
	o.PingsPerRound = defaultInt(o.PingsPerRound, DefaultGiftPingsPerRound)
	if o.PingsPerRound < 1 || o.PingsPerRound > MaxNodes {
		errs = append(errs, fmt.Errorf("pings per round %d: want 1 to %d", o.PingsPerRound, MaxNodes))
	}
	o.MaxConnects = defaultInt(o.MaxConnects, DefaultGiftMaxConnects)
	if o.MaxConnects < 1 || o.MaxConnects > maxGiftConnects {
		errs = append(errs, fmt.Errorf("connect limit %d: want 1 to %d", o.MaxConnects, maxGiftConnects))
	}
	o.UDPTimeout = defaultDuration(o.UDPTimeout, DefaultGiftUDPTimeout)
	o.ConnectTimeout = defaultDuration(o.ConnectTimeout, DefaultGiftConnectTimeout)
	o.HandshakeTimeout = defaultDuration(o.HandshakeTimeout, DefaultGiftHandshakeTimeout)
	o.RetryInterval = defaultDuration(o.RetryInterval, DefaultGiftRetryInterval)
	o.For = defaultDuration(o.For, DefaultGiftFor)
	o.IOTimeout = defaultDuration(o.IOTimeout, DefaultIOTimeout)
	errs = append(errs,
		checkPositive("UDP timeout", o.UDPTimeout, maxGiftTimeout),
		checkPositive("connect timeout", o.ConnectTimeout, maxGiftTimeout),
		checkPositive("handshake timeout", o.HandshakeTimeout, maxGiftTimeout),
		checkPositive("retry interval", o.RetryInterval, maxGiftRetryPeriod),
		checkPositive("run duration", o.For, maxGiftFor),
		checkPositive("I/O timeout", o.IOTimeout, maxGiftTimeout))
	o.MaxConns = defaultInt(o.MaxConns, DefaultMaxConns)
	if o.MaxConns < 1 || o.MaxConns > 65536 {
		errs = append(errs, fmt.Errorf("connection limit %d: want 1 to 65536", o.MaxConns))
	}
	o.BodySize = defaultInt64(o.BodySize, DefaultBodySize)
	o.MaxDownload = defaultInt64(o.MaxDownload, DefaultMaxDownload)
	errs = append(errs, checkSize("body size", o.BodySize), checkSize("download limit", o.MaxDownload))
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("ftsim gift: %w: %w", ErrOptions, err)
	}
	return o, nil
}

// listenerOptions are the options of the client's HTTP listener.
func (o GiftOptions) listenerOptions() NodeOptions {
	return NodeOptions{
		Net:         o.Net,
		Log:         o.Log,
		Network:     o.Network,
		Username:    o.Username,
		Hash:        o.Hash,
		Pong:        TypeSupernodePong,
		IOTimeout:   o.IOTimeout,
		MaxConns:    o.MaxConns,
		BodySize:    o.BodySize,
		MaxDownload: o.MaxDownload,
	}
}

// checkPositive checks a duration that must be above 0 (after defaults).
func checkPositive(what string, d, maxD time.Duration) error {
	if d <= 0 || d > maxD {
		return fmt.Errorf("%s %s: want more than 0 and at most %s", what, d, maxD)
	}
	return nil
}
