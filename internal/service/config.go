package service

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/registry"
	"github.com/ftwall/ftwall/internal/queue"
	"github.com/ftwall/ftwall/internal/share"
	"github.com/ftwall/ftwall/nft"
)

// Config is everything `ftwall run` needs. The CLI fills it from flags,
// FTWALL_* environment variables and the YAML file.
type Config struct {
	// Ruleset is what `ftwall setup` would apply; run applies it when the
	// table is absent or differs, keeping set elements. Its Queue comes from
	// Detectors when empty.
	Ruleset nft.Config
	// Detectors are the enabled protocol detectors (--protocols); nil means
	// every built-in one.
	Detectors inspect.Detectors
	// Reset empties the peer and lock sets when the ruleset is applied.
	Reset bool

	// DryRun classifies and logs everything, changes no set and accepts
	// every packet.
	DryRun bool
	// NoUDPBlock accepts FastTrack pings (still learning peers and locking
	// clients), like the original's -n.
	NoUDPBlock bool
	// PongType is the spoofed reply's message type: 0x29 (node pong, the
	// default) or 0x28 (supernode pong).
	PongType byte
	// PongRate is the most spoofed pongs per second sent to one client,
	// sustained.
	PongRate int
	// PongBurst is how many pongs one client can get at once above the
	// rate (the size of its token bucket): a real client's ping rounds come
	// in bursts (giFT: ~3,000 pings in 0.6 s), and a ping left without a
	// pong stalls its discovery.
	PongBurst int
	// PeerBudget is how many new peers one LAN client can make ftwall learn
	// at once (the size of its token bucket); PeerBudgetRate refills it per
	// second. Past it, ftwall learns nothing more from that client until
	// the bucket refills, logs one warning and counts the peers left out.
	// 0 means the default; a negative PeerBudget means no budget.
	PeerBudget, PeerBudgetRate int
	// Protect are further addresses never blocked as peers, besides the
	// resolvers and default gateways found at start (--protect).
	Protect []netip.Prefix
	// TeardownOnExit removes the table when run stops.
	TeardownOnExit bool
	// Own are the firewall's own addresses (never blocked as peers); when
	// empty they are read from the interfaces.
	Own []netip.Addr
	// ProbeSource4/6 override the source of time-lock probes; when invalid
	// the address of the LAN interface the client was seen on is used.
	ProbeSource4, ProbeSource6 netip.Addr

	// Store is the peer storefile ("" = none).
	Store string
	// StoreInterval is how often learned peers are written to Store.
	StoreInterval time.Duration
	// ClientDir gets one file per locked client ("" = none).
	ClientDir string
	// LogLetters selects event logs: u U t T c p (see internal/events).
	LogLetters string
	// SummaryInterval is how often kernel rule counters are summarised in the log (0 = never).
	SummaryInterval time.Duration
	// MetricsListen serves Prometheus metrics on this address ("" = off).
	MetricsListen string
	// QueueMaxLen is the kernel queue length (packets) per queue.
	QueueMaxLen uint32

	// Share shares learned peers (and locks) with other gateways through
	// NATS JetStream (no URLs: off).
	Share share.Config

	// RunDir holds the lock file that makes this service the table's owner
	// and the control socket of the operator commands ("" = neither).
	RunDir string

	// Reload, when set, is called on SIGHUP to re-read the configuration
	// (file, environment, original flags). An error keeps the old config.
	Reload func() (Config, error)
}

// Defaults of the pong limiter.
const (
	DefaultPongRate  = 2000
	DefaultPongBurst = 4000
	// A real client's flood (a BitTorrent DHT bootstrap, a FastTrack
	// client's 1,000-node cache) fits in the burst; a host trying 50,000
	// destinations in 10 s gets 5,500 of them learned.
	DefaultPeerBudget     = 5000
	DefaultPeerBudgetRate = 50
)

// Validate checks the service options (the ruleset options are checked by
// nft.Config.Validate).
func (c *Config) Validate() error {
	if err := c.Ruleset.Validate(); err != nil {
		return err
	}
	switch c.PongType {
	case 0, 0x28, 0x29:
	default:
		return fmt.Errorf("--pong: %#x is not a FastTrack pong type (use 0x29 or 0x28)", c.PongType)
	}
	if c.PongRate < 0 {
		return fmt.Errorf("--pong-rate: %d is negative", c.PongRate)
	}
	if c.PongBurst < 0 {
		return fmt.Errorf("--pong-burst: %d is negative", c.PongBurst)
	}
	if c.StoreInterval < 0 {
		return fmt.Errorf("--store-interval: %v is negative", c.StoreInterval)
	}
	if c.SummaryInterval < 0 {
		return fmt.Errorf("--summary-interval: %v is negative", c.SummaryInterval)
	}
	return c.Share.Validate()
}

func (c *Config) setDefaults() {
	if len(c.Detectors) == 0 {
		c.Detectors = registry.Builtin()
	}
	if len(c.Ruleset.Queue) == 0 {
		c.Ruleset.Queue = nft.QueueRules(c.Detectors)
	}
	// Dry-run installs only the queue rules.
	c.Ruleset.Observe = c.DryRun
	if c.PongType == 0 {
		c.PongType = 0x29
	}
	if c.PongRate == 0 {
		c.PongRate = DefaultPongRate
	}
	if c.PeerBudget == 0 {
		c.PeerBudget = DefaultPeerBudget
	}
	if c.PeerBudgetRate <= 0 {
		c.PeerBudgetRate = DefaultPeerBudgetRate
	}
	if c.PongBurst == 0 {
		c.PongBurst = DefaultPongBurst
	}
	if c.StoreInterval == 0 {
		c.StoreInterval = 30 * time.Second
	}
	if c.QueueMaxLen == 0 {
		c.QueueMaxLen = queue.DefaultMaxLen
	}
	if c.Ruleset.Queues == 0 {
		c.Ruleset.Queues = 1
	}
	if c.Share.Enabled() {
		c.Share.SetDefaults()
	}
}
