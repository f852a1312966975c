package ftsim

import (
	"fmt"
	"net/netip"
	"strings"
)

// MaxNodes bounds the node list of a client (a Kazaa node cache holds a few
// hundred entries).
const MaxNodes = 4096

// ParseNodes parses a node list: addresses "ip:port" (IPv4) or "[ip]:port"
// (IPv6), separated by commas, blanks or newlines; "#" starts a comment that
// runs to the end of the line. The port must not be 0. Duplicates are kept
// once, in their first position.
func ParseNodes(s string) ([]netip.AddrPort, error) {
	var nodes []netip.AddrPort
	seen := make(map[netip.AddrPort]bool)
	for lineNo, line := range strings.Split(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for _, f := range strings.FieldsFunc(line, func(r rune) bool {
			return r == ',' || r == ' ' || r == '\t' || r == '\r'
		}) {
			ap, err := ParseAddrPort(f)
			if err != nil {
				return nil, fmt.Errorf("node list line %d: %w", lineNo+1, err)
			}
			if seen[ap] {
				continue
			}
			if len(nodes) == MaxNodes {
				return nil, fmt.Errorf("node list: more than %d nodes", MaxNodes)
			}
			seen[ap] = true
			nodes = append(nodes, ap)
		}
	}
	return nodes, nil
}

// ParseAddrPort parses one "ip:port" or "[ipv6]:port" with a non-zero port.
// IPv4-mapped IPv6 addresses are turned into IPv4.
func ParseAddrPort(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(strings.TrimSpace(s))
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: want ip:port or [ipv6]:port: %w", s, err)
	}
	if ap.Port() == 0 {
		return netip.AddrPort{}, fmt.Errorf("address %q: port 0 is not a usable port", s)
	}
	if ap.Addr().IsUnspecified() {
		return netip.AddrPort{}, fmt.Errorf("address %q: the unspecified address is not a peer", s)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}
