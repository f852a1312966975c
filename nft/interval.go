package nft

import (
	"net/netip"
	"slices"
)

// addrRange is an inclusive range of addresses of one family.
type addrRange struct {
	First, Last netip.Addr
}

// prefixRange returns the first and last address of p.
func prefixRange(p netip.Prefix) addrRange {
	p = p.Masked()
	first := p.Addr()
	b := first.AsSlice()
	hostBits := len(b)*8 - p.Bits()
	for i := len(b) - 1; i >= 0 && hostBits > 0; i-- {
		n := min(hostBits, 8)
		b[i] |= byte(1<<n - 1)
		hostBits -= n
	}
	last, _ := netip.AddrFromSlice(b)
	return addrRange{First: first, Last: last}
}

// mergeRanges turns prefixes of one family into sorted, disjoint and
// non-adjacent ranges, as an interval set needs them.
func mergeRanges(prefixes []netip.Prefix) []addrRange {
	rs := make([]addrRange, 0, len(prefixes))
	for _, p := range prefixes {
		rs = append(rs, prefixRange(p))
	}
	slices.SortFunc(rs, func(a, b addrRange) int {
		if c := a.First.Compare(b.First); c != 0 {
			return c
		}
		return a.Last.Compare(b.Last)
	})
	var out []addrRange
	for _, r := range rs {
		if n := len(out); n > 0 {
			prev := &out[n-1]
			next := prev.Last.Next() // invalid when prev.Last is the family's last address
			if !next.IsValid() || r.First.Compare(next) <= 0 {
				if r.Last.Compare(prev.Last) > 0 {
					prev.Last = r.Last
				}
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

// splitAllow separates prefixes by family (IPv4-mapped ones count as IPv4).
func splitAllow(prefixes []netip.Prefix) (v4, v6 []netip.Prefix) {
	for _, p := range prefixes {
		if !p.IsValid() {
			continue
		}
		if p.Addr().Is4() {
			v4 = append(v4, p.Masked())
		} else {
			v6 = append(v6, p.Masked())
		}
	}
	return v4, v6
}
