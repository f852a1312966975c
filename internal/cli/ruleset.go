package cli

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/registry"
	"github.com/ftwall/ftwall/nft"
)

// listValue returns the non-empty, trimmed entries of list option name.
func listValue(c *cli.Context, name string) []string {
	var out []string
	for _, v := range c.StringSlice(name) {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// detectors returns the detectors --protocols selects.
func (inv *invocation) detectors(c *cli.Context) (inspect.Detectors, error) {
	ds, err := registry.Select(listValue(c, optProtocols))
	if err != nil {
		return nil, inv.badOption(optProtocols, "%v", err)
	}
	return ds, nil
}

// rulesetConfig builds and validates the nft.Config from the options
// shared by setup and run.
func (inv *invocation) rulesetConfig(c *cli.Context) (nft.Config, error) {
	cfg := nft.Config{
		LAN:         listValue(c, optLAN),
		WAN:         listValue(c, optWAN),
		PeerTimeout: c.Duration(optPeerTimeout),
		TimeLock:    c.Duration(optTimeLock),
	}
	if n := c.Int(optMaxPeers); n < 1 || n > nft.MaxMaxPeers {
		return cfg, inv.badOption(optMaxPeers, "%d: want 1 to %d", n, nft.MaxMaxPeers)
	} else {
		cfg.MaxPeers = uint32(n)
	}
	ds, err := inv.detectors(c)
	if err != nil {
		return cfg, err
	}
	cfg.Queue = nft.QueueRules(ds)
	for _, s := range listValue(c, optAllow) {
		p, err := parsePrefix(s)
		if err != nil {
			return cfg, inv.badOption(optAllow, "%v", err)
		}
		cfg.Allow = append(cfg.Allow, p)
	}
	la, err := nft.ParseLockAction(c.String(optLockAction))
	if err != nil {
		return cfg, inv.badOption(optLockAction, "%q is not a lock action: want reject or drop", c.String(optLockAction))
	}
	cfg.LockAction = la
	be, err := nft.ParseBackend(c.String(optBackend))
	if err != nil {
		return cfg, inv.badOption(optBackend, "%q is not a queue backend: want auto, native or compat", c.String(optBackend))
	}
	cfg.Backend = be
	q := c.Uint(optQueue)
	if q > math.MaxUint16 {
		return cfg, inv.badOption(optQueue, "%d is out of range: queue numbers are 0-65535", q)
	}
	qs := c.Uint(optQueues)
	if qs < 1 || qs > math.MaxUint16 {
		return cfg, inv.badOption(optQueues, "%d is out of range: 1-65535 queues", qs)
	}
	if q+qs-1 > math.MaxUint16 {
		return cfg, inv.badOption(optQueues, "queues %d-%d: the last queue number must be at most 65535 (lower --queue or --queues)", q, q+qs-1)
	}
	cfg.QueueNum, cfg.Queues = uint16(q), uint16(qs)
	if err := cfg.Validate(); err != nil {
		return cfg, inv.optionErrors(err)
	}
	return cfg, nil
}

// parseAllow parses an --allow entry: an address (one host) or a prefix
// without host bits, IPv4 or IPv6.
func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is neither an address nor a CIDR prefix such as 192.0.2.0/24 or 2001:db8::/32", s)
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q: zones are not allowed", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR prefix such as 192.0.2.0/24 or 2001:db8::/32", s)
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%q is an IPv4-mapped IPv6 prefix; write it as IPv4", s)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set; write %s (or %s alone for one address)", s, m, p.Addr())
	}
	return p, nil
}

// missingIface is a LAN or WAN interface that does not exist (yet).
type missingIface struct{ opt, name string }

// absentInterfaces lists the LAN and WAN interfaces of cfg that do not
// exist (yet): the rules match interface names, so this is legal, but
// often a typo.
func (inv *invocation) absentInterfaces(cfg nft.Config) ([]missingIface, error) {
	names, err := inv.env.interfaceNames()
	if err != nil {
		return nil, err
	}
	var out []missingIface
	for _, l := range []struct {
		opt  string
		list []string
	}{{optLAN, cfg.LAN}, {optWAN, cfg.WAN}} {
		for _, n := range l.list {
			if !slices.Contains(names, n) {
				out = append(out, missingIface{l.opt, n})
			}
		}
	}
	return out, nil
}

// missingInterfaces returns a warning for each interface absentInterfaces
// finds.
func (inv *invocation) missingInterfaces(cfg nft.Config) ([]string, error) {
	missing, err := inv.absentInterfaces(cfg)
	var warns []string
	for _, m := range missing {
		warns = append(warns, fmt.Sprintf("--%s: interface %q does not exist (yet); its rules match once it appears", m.opt, m.name))
	}
	return warns, err
}
