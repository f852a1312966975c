package inspect

import (
	"encoding/binary"
	"net/netip"
	"slices"
)

// prefixSet answers "is this address inside one of these prefixes" in
// O(log n): the prefixes become sorted, merged, non-overlapping address
// ranges per family, searched by bisection. It allocates nothing per
// lookup, so a 40,000-prefix allowlist costs about 16 comparisons.
type prefixSet struct {
	v4 []range4
	v6 []range6
}

type range4 struct{ lo, hi uint32 }

type u128 struct{ hi, lo uint64 }

type range6 struct{ lo, hi u128 }

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

func (a u128) next() (u128, bool) {
	if a.lo == ^uint64(0) {
		if a.hi == ^uint64(0) {
			return a, false
		}
		return u128{a.hi + 1, 0}, true
	}
	return u128{a.hi, a.lo + 1}, true
}

func toU128(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// newPrefixSet compiles ps (invalid prefixes are skipped; IPv4-mapped
// IPv6 prefixes count as IPv4).
func newPrefixSet(ps []netip.Prefix) prefixSet {
	var s prefixSet
	for _, p := range ps {
		if !p.IsValid() {
			continue
		}
		p = p.Masked()
		a := p.Addr()
		if a.Is4In6() && p.Bits() >= 96 {
			a, p = a.Unmap(), netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		if a.Is4() {
			b := a.As4()
			lo := binary.BigEndian.Uint32(b[:])
			hi := lo | (uint32(1)<<(32-p.Bits()) - 1)
			if p.Bits() == 0 {
				hi = ^uint32(0)
			}
			s.v4 = append(s.v4, range4{lo, hi})
			continue
		}
		lo := toU128(a)
		hi := lo
		bits := p.Bits()
		switch {
		case bits == 0:
			hi = u128{^uint64(0), ^uint64(0)}
		case bits < 64:
			hi = u128{lo.hi | (uint64(1)<<(64-bits) - 1), ^uint64(0)}
		case bits == 64:
			hi = u128{lo.hi, ^uint64(0)}
		case bits < 128:
			hi = u128{lo.hi, lo.lo | (uint64(1)<<(128-bits) - 1)}
		}
		s.v6 = append(s.v6, range6{lo, hi})
	}
	slices.SortFunc(s.v4, func(a, b range4) int {
		switch {
		case a.lo < b.lo:
			return -1
		case a.lo > b.lo:
			return 1
		}
		return 0
	})
	s.v4 = mergeRanges(s.v4, func(prev, cur range4) (range4, bool) {
		if prev.hi == ^uint32(0) || cur.lo <= prev.hi+1 {
			return range4{prev.lo, max(prev.hi, cur.hi)}, true
		}
		return cur, false
	})
	slices.SortFunc(s.v6, func(a, b range6) int {
		switch {
		case a.lo.less(b.lo):
			return -1
		case b.lo.less(a.lo):
			return 1
		}
		return 0
	})
	s.v6 = mergeRanges(s.v6, func(prev, cur range6) (range6, bool) {
		n, ok := prev.hi.next()
		if !ok || !n.less(cur.lo) {
			hi := prev.hi
			if hi.less(cur.hi) {
				hi = cur.hi
			}
			return range6{prev.lo, hi}, true
		}
		return cur, false
	})
	return s
}

// mergeRanges folds sorted ranges: join returns the merged range and true
// when cur touches prev.
func mergeRanges[R any](rs []R, join func(prev, cur R) (R, bool)) []R {
	if len(rs) == 0 {
		return nil
	}
	out := rs[:1]
	for _, r := range rs[1:] {
		if m, ok := join(out[len(out)-1], r); ok {
			out[len(out)-1] = m
		} else {
			out = append(out, r)
		}
	}
	return slices.Clip(out)
}

// contains reports whether a is in the set.
func (s *prefixSet) contains(a netip.Addr) bool {
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		v := binary.BigEndian.Uint32(b[:])
		i, n := 0, len(s.v4)
		for i < n { // first range with hi >= v
			m := int(uint(i+n) >> 1)
			if s.v4[m].hi < v {
				i = m + 1
			} else {
				n = m
			}
		}
		return i < len(s.v4) && s.v4[i].lo <= v
	}
	if !a.IsValid() {
		return false
	}
	v := toU128(a)
	i, n := 0, len(s.v6)
	for i < n {
		m := int(uint(i+n) >> 1)
		if s.v6[m].hi.less(v) {
			i = m + 1
		} else {
			n = m
		}
	}
	return i < len(s.v6) && !v.less(s.v6[i].lo)
}
