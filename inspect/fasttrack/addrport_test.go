package fasttrack

import (
	"net/netip"
	"testing"
)

func TestParseAddrPort(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.10:3531":       "192.0.2.10:3531",
		"0.0.0.0:0":             "0.0.0.0:0",
		"255.255.255.255:65535": "255.255.255.255:65535",
		"[2001:db8::1]:1214":    "[2001:db8::1]:1214",
		"[::ffff:1.2.3.4]:80":   "1.2.3.4:80",
		"192.0.2.10":            "",
		"192.0.2.10:":           "",
		"192.0.2.10:65536":      "",
		"192.0.2.010:1":         "",
		"256.1.1.1:1":           "",
		"1.2.3:4":               "",
		"1.2.3.4.5:6":           "",
		"1.2.3.4:5x":            "",
		" 1.2.3.4:5":            "",
		"[fe80::1%eth0]:1":      "",
		"":                      "",
	} {
		got, ok := parseAddrPort([]byte(in))
		gs := ""
		if ok {
			gs = got.String()
		}
		if gs != want {
			t.Errorf("parseAddrPort(%q) = %q, want %q", in, gs, want)
		}
	}
}

// FuzzParseAddrPort checks the allocation-free IPv4 parser against
// net/netip.
func FuzzParseAddrPort(f *testing.F) {
	for _, s := range []string{"192.0.2.10:3531", "1.2.3.4:0", "01.2.3.4:1", "1.2.3.4:99999", "[2001:db8::1]:80", "1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseAddrPort([]byte(s))
		ref, err := netip.ParseAddrPort(s)
		refOK := err == nil && ref.Addr().Zone() == ""
		if ok != refOK {
			t.Fatalf("parseAddrPort(%q) ok=%v, netip ok=%v (%v)", s, ok, refOK, err)
		}
		if ok && (got.Addr() != ref.Addr().Unmap() || got.Port() != ref.Port()) {
			t.Fatalf("parseAddrPort(%q) = %v, netip %v", s, got, ref)
		}
	})
}
