package nft

import (
	"net/netip"
	"reflect"
	"testing"
)

func pfx(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func rng(first, last string) addrRange {
	return addrRange{netip.MustParseAddr(first), netip.MustParseAddr(last)}
}

func TestPrefixRange(t *testing.T) {
	for p, want := range map[string]addrRange{
		"192.0.2.0/24":    rng("192.0.2.0", "192.0.2.255"),
		"192.0.2.77/24":   rng("192.0.2.0", "192.0.2.255"), // host bits are masked
		"198.51.100.7/32": rng("198.51.100.7", "198.51.100.7"),
		"0.0.0.0/0":       rng("0.0.0.0", "255.255.255.255"),
		"10.0.0.0/13":     rng("10.0.0.0", "10.7.255.255"),
		"2001:db8::/32":   rng("2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"),
		"2001:db8::/61":   rng("2001:db8::", "2001:db8:0:7:ffff:ffff:ffff:ffff"),
		"::/0":            rng("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
	} {
		if got := prefixRange(netip.MustParsePrefix(p)); got != want {
			t.Errorf("prefixRange(%s) = %v, want %v", p, got, want)
		}
	}
}

func TestMergeRanges(t *testing.T) {
	tests := []struct {
		in   []netip.Prefix
		want []addrRange
	}{
		{nil, nil},
		{pfx("192.0.2.128/25", "192.0.2.0/25"), []addrRange{rng("192.0.2.0", "192.0.2.255")}}, // adjacent
		{pfx("10.0.0.0/8", "10.20.0.0/16"), []addrRange{rng("10.0.0.0", "10.255.255.255")}},   // contained
		{pfx("192.0.2.0/24", "198.51.100.0/24"), []addrRange{rng("192.0.2.0", "192.0.2.255"), rng("198.51.100.0", "198.51.100.255")}},
		{pfx("255.255.255.255/32", "255.255.255.0/24", "0.0.0.0/32"), []addrRange{rng("0.0.0.0", "0.0.0.0"), rng("255.255.255.0", "255.255.255.255")}},
		{pfx("0.0.0.0/0", "192.0.2.0/24"), []addrRange{rng("0.0.0.0", "255.255.255.255")}},
		{pfx("192.0.2.1/32", "192.0.2.1/32"), []addrRange{rng("192.0.2.1", "192.0.2.1")}},
	}
	for _, tt := range tests {
		if got := mergeRanges(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("mergeRanges(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestIntervalElements(t *testing.T) {
	els := intervalElements([]addrRange{rng("192.0.2.0", "192.0.2.255"), rng("255.255.255.0", "255.255.255.255")})
	if len(els) != 3 {
		t.Fatalf("%d elements, want 3 (no end after the last address)", len(els))
	}
	if !reflect.DeepEqual(els[1].Key, []byte{192, 0, 3, 0}) || !els[1].IntervalEnd || els[0].IntervalEnd || els[2].IntervalEnd {
		t.Errorf("elements %+v", els)
	}
}

func TestSplitAllow(t *testing.T) {
	v4, v6 := splitAllow(append(pfx("192.0.2.9/24", "2001:db8::1/32"), netip.Prefix{}))
	if !reflect.DeepEqual(v4, pfx("192.0.2.0/24")) || !reflect.DeepEqual(v6, pfx("2001:db8::/32")) {
		t.Errorf("splitAllow = %v %v", v4, v6)
	}
}

func FuzzMergeRanges(f *testing.F) {
	f.Add([]byte{192, 0, 2, 0, 24, 192, 0, 2, 128, 25})
	f.Add([]byte{0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var ps []netip.Prefix
		for len(b) >= 5 {
			a := netip.AddrFrom4([4]byte(b[:4]))
			ps = append(ps, netip.PrefixFrom(a, int(b[4])%33))
			b = b[5:]
		}
		rs := mergeRanges(ps)
		for i, r := range rs {
			if r.First.Compare(r.Last) > 0 {
				t.Fatalf("range %v inverted", r)
			}
			if i > 0 {
				next := rs[i-1].Last.Next()
				if !next.IsValid() || r.First.Compare(next) <= 0 {
					t.Fatalf("ranges %v and %v overlap or touch", rs[i-1], r)
				}
			}
		}
		// Every prefix is covered by one range.
		for _, p := range ps {
			pr := prefixRange(p)
			covered := false
			for _, r := range rs {
				if r.First.Compare(pr.First) <= 0 && r.Last.Compare(pr.Last) >= 0 {
					covered = true
				}
			}
			if !covered {
				t.Fatalf("prefix %v not covered by %v", p, rs)
			}
		}
	})
}
