package inspect

import "net/netip"

// Settings are the parts of the configuration Decide needs. The slices are
// read, never modified; share one Settings between goroutines only while
// nobody changes it.
type Settings struct {
	// LAN are the protected network's prefixes. Addresses inside them are
	// never peers. (Whether a packet came from the LAN side is the
	// caller's decision: the live service goes by input interface.)
	LAN []netip.Prefix
	// Allow are hosts ftwall never acts against: never a peer, never a
	// locked client, and traffic to them is never dropped.
	Allow []netip.Prefix
	// Own are the firewall's own addresses: never peers, never clients.
	Own []netip.Addr
	// BlockUDP drops FastTrack pings from LAN clients (and answers them
	// with a spoofed pong); false accepts them, still learning peers and
	// locking clients (the original's -n).
	BlockUDP bool
	// TimeLock enables client locks; false never sets Decision.Lock.
	TimeLock bool
	// PongType is the spoofed reply's message type: MsgNodePong (0x29, the
	// default when zero) or MsgSupernodePong (0x28).
	PongType byte

	// Compiled lookups of LAN and Allow (Compile); without them the
	// slices are scanned.
	lan, allow prefixSet
	compiled   bool
}

// Compile prepares O(log n) lookups of LAN and Allow; call it once after
// setting them (and again after changing them), before sharing s.
func (s *Settings) Compile() {
	s.lan, s.allow, s.compiled = newPrefixSet(s.LAN), newPrefixSet(s.Allow), true
}

// IsLAN reports whether a is inside one of the LAN prefixes.
func (s *Settings) IsLAN(a netip.Addr) bool {
	if s.compiled {
		return s.lan.contains(a)
	}
	return inPrefixes(s.LAN, a.Unmap())
}

// Allowed reports whether a is allowlisted.
func (s *Settings) Allowed(a netip.Addr) bool {
	if s.compiled {
		return s.allow.contains(a)
	}
	return inPrefixes(s.Allow, a.Unmap())
}

// IsOwn reports whether a is one of the firewall's own addresses.
func (s *Settings) IsOwn(a netip.Addr) bool {
	a = a.Unmap()
	for _, o := range s.Own {
		if o.Unmap() == a {
			return true
		}
	}
	return false
}

// PeerCandidate reports whether a may go on the blocked-peer list: a
// global unicast address that is not private or shared (RFC 1918, RFC 6598,
// fc00::/7), not in the LAN, not allowlisted and not the firewall's own.
func (s *Settings) PeerCandidate(a netip.Addr) bool {
	a = a.Unmap()
	return PublicUnicast(a) && !s.IsLAN(a) && !s.Allowed(a) && !s.IsOwn(a)
}

// PublicUnicast reports whether a is a global unicast address outside the
// private (RFC 1918, fc00::/7), shared (RFC 6598 100.64.0.0/10),
// "this network" (0.0.0.0/8) and reserved (240.0.0.0/4) ranges.
// Documentation ranges count as public (the test lab uses them).
func PublicUnicast(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	if a.Is4() {
		b := a.As4()
		switch {
		case b[0] == 0, b[0] >= 240:
			return false
		case b[0] == 100 && b[1]&0xc0 == 64:
			return false
		}
	}
	return true
}

func inPrefixes(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
