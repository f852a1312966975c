package nft

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Config describes the ruleset `ftwall setup` applies.
type Config struct {
	// LAN names the protected network's interfaces (at least one).
	LAN []string
	// WAN names the outside interfaces; empty means every interface that is
	// not a LAN interface.
	WAN []string
	// Allow lists addresses ftwall never blocks, locks or learns (IPv4 and
	// IPv6 mixed; they go to allow4 / allow6).
	Allow []netip.Prefix
	// MaxPeers bounds peers4 and peers6 (each); 0 means DefaultMaxPeers.
	// A full set takes no new peer until old ones expire (ErrSetFull).
	MaxPeers uint32
	// PeerTimeout is the default element timeout of peers4/peers6; 0 means
	// blocked peers never expire.
	PeerTimeout time.Duration
	// TimeLock is the default element timeout of locked4/locked6; 0 turns the
	// time-lock rules (and the input chain) off.
	TimeLock time.Duration
	// LockAction is what a locked client's new TCP connection gets.
	LockAction LockAction
	// QueueNum is the first NFQUEUE number.
	QueueNum uint16
	// Queues is the number of queues (at least 1); more than 1 spreads
	// packets over QueueNum..QueueNum+Queues-1 by CPU.
	Queues uint16
	// Backend selects the queue statement; BackendAuto probes the kernel.
	Backend Backend
	// Queue are the enabled detectors' prefilters (QueueRules): what the
	// kernel queues to the inspector. A disabled detector has none here and
	// so no rule in the kernel.
	Queue []QueueRule
	// Observe builds only the chains that queue candidates (forward,
	// from_lan, input), for `ftwall run --dry-run`: no rule drops, resets
	// or refreshes anything.
	Observe bool
}

// OptionError is a configuration error; Option is the command-line option it
// is about (for example "--lan").
type OptionError struct {
	Option string
	Err    error
}

func (e *OptionError) Error() string { return e.Option + ": " + e.Err.Error() }
func (e *OptionError) Unwrap() error { return e.Err }

func optErr(option, format string, args ...any) error {
	return &OptionError{Option: option, Err: fmt.Errorf(format, args...)}
}

// maxIfNameLen is IFNAMSIZ-1: the kernel's limit for interface names.
const maxIfNameLen = 15

// Validate checks c and returns every problem found, each an *OptionError
// naming its option; nil when c can be applied.
func (c *Config) Validate() error {
	var errs []error
	if len(c.LAN) == 0 {
		errs = append(errs, optErr("--lan", "at least one LAN interface is required"))
	}
	errs = append(errs, validateIfNames("--lan", c.LAN)...)
	errs = append(errs, validateIfNames("--wan", c.WAN)...)
	lan := make(map[string]bool, len(c.LAN))
	for _, n := range c.LAN {
		lan[n] = true
	}
	for _, n := range c.WAN {
		if lan[n] {
			errs = append(errs, optErr("--wan", "interface %q is also a LAN interface (--lan)", n))
		}
	}
	for _, p := range c.Allow {
		if err := validateAllow(p); err != nil {
			errs = append(errs, &OptionError{Option: "--allow", Err: err})
		}
	}
	errs = append(errs, validateTimeout("--peer-timeout", c.PeerTimeout)...)
	if c.MaxPeers > MaxMaxPeers {
		errs = append(errs, optErr("--max-peers", "%d is more than %d", c.MaxPeers, MaxMaxPeers))
	}
	errs = append(errs, validateTimeout("--timelock", c.TimeLock)...)
	if !c.LockAction.valid() {
		errs = append(errs, optErr("--lock-action", "invalid value %d: want reject or drop", uint8(c.LockAction)))
	}
	if c.Queues == 0 {
		errs = append(errs, optErr("--queues", "must be at least 1"))
	} else if last := int(c.QueueNum) + int(c.Queues) - 1; last > 65535 {
		errs = append(errs, optErr("--queues", "queues %d..%d: the last queue number must be at most 65535 (lower --queue or --queues)", c.QueueNum, last))
	}
	errs = append(errs, validateQueueRules(c.Queue)...)
	if !c.Backend.valid() {
		errs = append(errs, optErr("--backend", "invalid value %d: want auto, native or compat", uint8(c.Backend)))
	}
	return errors.Join(errs...)
}

func validateIfNames(option string, names []string) []error {
	var errs []error
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if err := validIfName(n); err != nil {
			errs = append(errs, &OptionError{Option: option, Err: err})
			continue
		}
		if seen[n] {
			errs = append(errs, optErr(option, "interface %q is given twice", n))
		}
		seen[n] = true
	}
	return errs
}

// validIfName applies the kernel's rules for interface names (dev_valid_name)
// and rejects wildcards, which ftwall does not support.
func validIfName(n string) error {
	switch {
	case n == "":
		return errors.New("empty interface name")
	case len(n) > maxIfNameLen:
		return fmt.Errorf("interface name %q is %d bytes long, at most %d are allowed", n, len(n), maxIfNameLen)
	case n == "." || n == "..":
		return fmt.Errorf("%q is not a valid interface name", n)
	case strings.ContainsAny(n, "*?[]"):
		return fmt.Errorf("interface name %q: wildcards are not supported, name each interface", n)
	}
	for i := 0; i < len(n); i++ {
		b := n[i]
		if b == '/' || b == ':' || b == 0 || b == ' ' || (b >= '\t' && b <= '\r') {
			return fmt.Errorf("interface name %q contains the invalid character %q", n, b)
		}
	}
	return nil
}

func validateAllow(p netip.Prefix) error {
	if !p.IsValid() {
		return errors.New("invalid prefix (want an address or CIDR such as 192.0.2.0/24 or 2001:db8::/32)")
	}
	if p.Addr().Is4In6() {
		return fmt.Errorf("%s is an IPv4-mapped IPv6 prefix; write it as IPv4", p)
	}
	if p.Bits() == 0 {
		return fmt.Errorf("%s allows every address, which switches ftwall off; to stop ftwall run `ftwall teardown`, or list the prefixes to exempt", p)
	}
	return nil
}

func validateTimeout(option string, d time.Duration) []error {
	switch {
	case d < 0:
		return []error{optErr(option, "%s is negative", d)}
	case d%time.Millisecond != 0:
		return []error{optErr(option, "%s: the kernel counts whole milliseconds", d)}
	}
	return nil
}

// maxPeers is MaxPeers or its default.
func (c Config) maxPeers() uint32 {
	if c.MaxPeers == 0 {
		return DefaultMaxPeers
	}
	return c.MaxPeers
}
