package inspect

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

func randPrefix(r *rand.Rand, six bool) netip.Prefix {
	if six {
		var b [16]byte
		b[0], b[1] = 0x20, 0x01
		for i := 2; i < 16; i++ {
			b[i] = byte(r.IntN(4)) // few distinct values: overlaps
		}
		return netip.PrefixFrom(netip.AddrFrom16(b), r.IntN(129)).Masked()
	}
	b := [4]byte{byte(r.IntN(4) + 10), byte(r.IntN(4)), byte(r.IntN(4)), byte(r.IntN(256))}
	return netip.PrefixFrom(netip.AddrFrom4(b), r.IntN(33)).Masked()
}

func randAddr(r *rand.Rand, six bool) netip.Addr {
	if six {
		var b [16]byte
		b[0], b[1] = 0x20, 0x01
		for i := 2; i < 16; i++ {
			b[i] = byte(r.IntN(4))
		}
		return netip.AddrFrom16(b)
	}
	return netip.AddrFrom4([4]byte{byte(r.IntN(4) + 10), byte(r.IntN(4)), byte(r.IntN(4)), byte(r.IntN(256))})
}

// TestPrefixSetMatchesLinearScan compares the compiled set with a scan of
// the prefixes over random overlapping prefix lists and addresses.
func TestPrefixSetMatchesLinearScan(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		var ps []netip.Prefix
		for range r.IntN(40) {
			ps = append(ps, randPrefix(r, r.IntN(2) == 0))
		}
		set := newPrefixSet(ps)
		for range 200 {
			a := randAddr(r, r.IntN(2) == 0)
			if got, want := set.contains(a), inPrefixes(ps, a); got != want {
				t.Fatalf("round %d: contains(%v) = %v, scan %v; prefixes %v", round, a, got, want, ps)
			}
		}
	}
	edge := newPrefixSet([]netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")})
	for _, a := range []string{"0.0.0.0", "255.255.255.255", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::ffff:192.0.2.1"} {
		if !edge.contains(netip.MustParseAddr(a)) {
			t.Errorf("/0 does not contain %s", a)
		}
	}
	mapped := newPrefixSet([]netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")})
	if !mapped.contains(netip.MustParseAddr("::ffff:192.0.2.9")) || mapped.contains(netip.Addr{}) {
		t.Error("IPv4-mapped lookup or invalid address")
	}
}

func manyPrefixes(n int) []netip.Prefix {
	r := rand.New(rand.NewPCG(3, 4))
	var ps []netip.Prefix
	for i := range n {
		if i%2 == 0 {
			ps = append(ps, netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(1 + r.IntN(223)), byte(r.IntN(256)), byte(r.IntN(256)), 0}), 24).Masked())
		} else {
			var b [16]byte
			b[0], b[1], b[2], b[3], b[4] = 0x20, 0x01, byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))
			ps = append(ps, netip.PrefixFrom(netip.AddrFrom16(b), 48).Masked())
		}
	}
	return ps
}

func TestCompiledSettingsAllocateNothing(t *testing.T) {
	s := Settings{Allow: manyPrefixes(40000), LAN: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	s.Compile()
	a := netip.MustParseAddr("198.51.100.7")
	if n := testing.AllocsPerRun(100, func() { s.PeerCandidate(a) }); n != 0 {
		t.Errorf("PeerCandidate allocates %v", n)
	}
}

// BenchmarkAllowed40k: one allowlist lookup with 40,000 prefixes, compiled
// and scanned.
func BenchmarkAllowed40k(b *testing.B) {
	ps := manyPrefixes(40000)
	a := netip.MustParseAddr("198.51.100.7")
	b.Run("compiled", func(b *testing.B) {
		s := Settings{Allow: ps}
		s.Compile()
		for b.Loop() {
			s.Allowed(a)
		}
	})
	b.Run("scan", func(b *testing.B) {
		s := Settings{Allow: ps}
		for b.Loop() {
			s.Allowed(a)
		}
	})
}
