package demo

import (
	"fmt"
	"strings"
	"time"
)

// Names of the demo's checks, in the order they are made. The first group
// is about FastTrack being blocked, the second about ordinary traffic not
// being blocked, the third about a real BitTorrent client (skipped when its
// programs are not installed), the last about ftwall itself.
const (
	// CheckPingsStopped: no FastTrack ping reached the internet.
	CheckPingsStopped = "pings-stopped"
	// CheckSpoofedPongs: every ping was answered by a spoofed node pong
	// from the pinged address, so the client keeps to UDP mode.
	CheckSpoofedPongs = "spoofed-pongs"
	// CheckPeersLearned: every pinged node is in peers4/peers6.
	CheckPeersLearned = "peers-learned"
	// CheckClientLocked: the client's addresses are in locked4/locked6.
	CheckClientLocked = "client-locked"
	// CheckTCPBlocked: no TCP connect of the client's TCP modes got through
	// and the nodes accepted no connection.
	CheckTCPBlocked = "tcp-blocked"
	// CheckLockRefuses: a new TCP connection of the locked client to an
	// ordinary server is not let through.
	CheckLockRefuses = "lock-refuses-tcp"
	// CheckSafetyNet: the FastTrack HTTP downloads with UDP off were
	// stopped, their targets and supernodes blocked and the downloader
	// locked.
	CheckSafetyNet = "safety-net"

	// CheckOrdinaryHTTP: a LAN host's plain HTTP downloads (IPv4, IPv6)
	// arrived complete.
	CheckOrdinaryHTTP = "ordinary-http"
	// CheckOrdinaryUDP: DNS-like UDP queries were answered, from the other
	// LAN host and from the locked client.
	CheckOrdinaryUDP = "ordinary-udp"
	// CheckNothingLearned: ordinary traffic put nothing into the sets.
	CheckNothingLearned = "nothing-learned"

	// CheckBTClientLocked: the real BitTorrent client's IPv4 address is in
	// locked4 after its first BitTorrent packet.
	CheckBTClientLocked = "bt-client-locked"
	// CheckBTPeerBlocked: the tracker, DHT node and seeder's address
	// (203.0.113.2) is in peers4.
	CheckBTPeerBlocked = "bt-peer-blocked"
	// CheckBTOrdinary: the neighbour's ordinary traffic during the
	// BitTorrent download worked and put nothing into the sets.
	CheckBTOrdinary = "bt-ordinary"
	// CheckBTNoPayload: no verified byte of the file reached the client,
	// and no payload byte of the seeder crossed the router towards it.
	CheckBTNoPayload = "bt-no-payload"

	// CheckFtwallRan: ftwall run kept running through the demo and stopped
	// cleanly on SIGTERM.
	CheckFtwallRan = "ftwall-ran"
)

// btChecks are the checks of the BitTorrent scene, skipped together.
func btChecks() []string {
	return []string{CheckBTClientLocked, CheckBTPeerBlocked, CheckBTOrdinary, CheckBTNoPayload}
}

// CheckNames returns every check a complete run makes, in order.
func CheckNames() []string {
	return []string{
		CheckPingsStopped, CheckSpoofedPongs, CheckPeersLearned, CheckClientLocked,
		CheckTCPBlocked, CheckLockRefuses,
		CheckOrdinaryHTTP, CheckOrdinaryUDP, CheckNothingLearned,
		CheckSafetyNet,
		CheckBTClientLocked, CheckBTPeerBlocked, CheckBTOrdinary, CheckBTNoPayload,
		CheckFtwallRan,
	}
}

// Check is the outcome of one check.
type Check struct {
	Name string
	OK   bool
	// Skipped: not made because the machine lacks what it needs (the
	// BitTorrent programs); it counts as passed, and Detail says why.
	Skipped bool
	Detail  string // what was seen, for a failure report
}

// Result says which checks a demo run made and which of them passed.
type Result struct {
	// Checks in the order they were made; an interrupted run has fewer.
	Checks  []Check
	Elapsed time.Duration
	// Lab names the lab's namespaces (their common name prefix).
	Lab string
}

// Passed reports whether every check of a complete run was made and passed.
func (r Result) Passed() bool {
	for _, n := range CheckNames() {
		c, ok := r.Check(n)
		if !ok || !c.OK {
			return false
		}
	}
	return true
}

// Check returns the check named name and whether it was made.
func (r Result) Check(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// Skipped returns the checks skipped.
func (r Result) Skipped() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Skipped {
			out = append(out, c)
		}
	}
	return out
}

// Failed returns the checks made that did not pass.
func (r Result) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// Missing returns the names of the checks not made (an interrupted run).
func (r Result) Missing() []string {
	var out []string
	for _, n := range CheckNames() {
		if _, ok := r.Check(n); !ok {
			out = append(out, n)
		}
	}
	return out
}

// add records a check; detail is formatted like fmt.Sprintf.
func (r *Result) add(name string, ok bool, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
}

// skip records checks as skipped, for reason.
func (r *Result) skip(names []string, reason string) {
	for _, n := range names {
		r.Checks = append(r.Checks, Check{Name: n, OK: true, Skipped: true, Detail: reason})
	}
}

// Summary is the end of the narrative: one line when every check passed
// (saying whether the BitTorrent scene was skipped), else a line per
// failed check.
func (r Result) Summary() string {
	if r.Passed() {
		if c, ok := r.Check(CheckBTClientLocked); ok && c.Skipped {
			return "RESULT: FastTrack blocked, ordinary traffic untouched; the BitTorrent scene was skipped (step 5 says why)"
		}
		return "RESULT: FastTrack and BitTorrent blocked, ordinary traffic untouched"
	}
	lines := []string{"RESULT: FAILED"}
	for _, c := range r.Failed() {
		lines = append(lines, "  "+c.Name+": "+c.Detail)
	}
	if m := r.Missing(); len(m) > 0 {
		lines = append(lines, "  not run: "+strings.Join(m, ", "))
	}
	return strings.Join(lines, "\n")
}
