package fasttrack

import "net/netip"

// parseAddrPort parses "a.b.c.d:port" without allocating; "[v6]:port" is
// accepted too (FastTrack itself only sends IPv4).
func parseAddrPort(b []byte) (netip.AddrPort, bool) {
	if len(b) == 0 {
		return netip.AddrPort{}, false
	}
	if b[0] == '[' {
		ap, err := netip.ParseAddrPort(string(b))
		if err != nil || ap.Addr().Zone() != "" {
			return netip.AddrPort{}, false
		}
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
	}
	var ip [4]byte
	i := 0
	for k := range 4 {
		v, n := 0, 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' && n < 4 {
			v = v*10 + int(b[i]-'0')
			i++
			n++
		}
		if n == 0 || n > 3 || v > 255 || (n > 1 && b[i-n] == '0') {
			return netip.AddrPort{}, false
		}
		ip[k] = byte(v)
		sep := byte('.')
		if k == 3 {
			sep = ':'
		}
		if i >= len(b) || b[i] != sep {
			return netip.AddrPort{}, false
		}
		i++
	}
	port, ok := parsePort(b[i:])
	if !ok {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(netip.AddrFrom4(ip), port), true
}

// parsePort parses a decimal port number (leading zeros allowed, like
// net/netip), all of b.
func parsePort(b []byte) (uint16, bool) {
	if len(b) == 0 {
		return 0, false
	}
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
		if v > 65535 {
			return 0, false
		}
	}
	return uint16(v), true
}

// parseUint parses 1 to maxDigits decimal digits, all of b.
func parseUint(b []byte, maxDigits int) (uint64, bool) {
	if len(b) == 0 || len(b) > maxDigits {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}
