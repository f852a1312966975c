package ctl

import (
	"time"

	"github.com/ftwall/ftwall/internal/share"
)

// Operations of a Request.
const (
	OpInfo    = "info"    // the service's identity and configuration
	OpBlock   = "block"   // add Addrs to the peer sets
	OpUnblock = "unblock" // remove Addrs from the peer sets and the storefile, pardon them
	OpUnlock  = "unlock"  // end the time-lock of Addrs, pardon them
)

// MaxAddrs bounds the addresses of one request.
const MaxAddrs = 65536

// maxRequest bounds a request's size in bytes (MaxAddrs IPv6 addresses fit).
const maxRequest = 4 << 20

// Request is one operator request to the running service.
type Request struct {
	Op    string   `json:"op"`
	Addrs []string `json:"addrs,omitempty"`
	// Timeout is a block's own lifetime (0 = the set's default).
	Timeout time.Duration `json:"timeout,omitempty"`
	// Reason is a block's reason (kept in the element comment and the
	// storefile).
	Reason string `json:"reason,omitempty"`
	// Pardon is how long an unblocked or unlocked address is not learned
	// or locked again (0 = not at all).
	Pardon time.Duration `json:"pardon,omitempty"`
}

// Result is what a request did to one address.
type Result struct {
	Addr string `json:"addr"`
	// Done is what happened ("blocked", "unblocked", "was not blocked",
	// …); Error is set instead when the address was refused.
	Done  string `json:"done,omitempty"`
	Error string `json:"error,omitempty"`
}

// Response answers a Request.
type Response struct {
	// Error is set when the request as a whole failed.
	Error   string   `json:"error,omitempty"`
	Results []Result `json:"results,omitempty"`
	Info    *Info    `json:"info,omitempty"`
}

// Info describes the running service.
type Info struct {
	PID       int       `json:"pid"`
	Version   string    `json:"version"`
	Started   time.Time `json:"started"`
	Backend   string    `json:"backend"`
	DryRun    bool      `json:"dry_run"`
	LAN       []string  `json:"lan"`
	WAN       []string  `json:"wan"`
	QueueNum  uint16    `json:"queue_num"`
	Queues    uint16    `json:"queues"`
	Protocols []string  `json:"protocols"`
	Store     string    `json:"store,omitempty"`
	// Fingerprint is the applied ruleset's fingerprint: a setup with the
	// same options builds the same one.
	Fingerprint string `json:"fingerprint"`
	// Share is the state of sharing with other gateways (nil: not sharing).
	Share *ShareInfo `json:"share,omitempty"`
}

// ShareInfo is the state of sharing through NATS JetStream: the
// connection's (share.Stats) and what the service did with what it
// received.
type ShareInfo struct {
	share.Stats
	// Loaded says the buckets' contents at start are in the kernel.
	Loaded bool `json:"loaded"`
	// Of the entries received: applied, deleted, expired on arrival and
	// rejected by validation (by reason).
	AppliedPeers uint64            `json:"applied_peers"`
	AppliedLocks uint64            `json:"applied_locks"`
	Deleted      uint64            `json:"deleted"`
	Expired      uint64            `json:"expired"`
	Rejected     map[string]uint64 `json:"rejected,omitempty"`
	// LagMillis is the age of the last live entry when it reached the
	// kernel (server store time to kernel write).
	LagMillis float64 `json:"lag_ms"`
}
