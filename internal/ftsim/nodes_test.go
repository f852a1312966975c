package ftsim

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestParseNodes(t *testing.T) {
	got, err := ParseNodes("# cache\n198.51.100.1:1214, 198.51.100.2:80\n[2001:db8:100::1]:1214 198.51.100.1:1214\t[::ffff:203.0.113.5]:9 # dup and mapped\n\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.AddrPort{
		netip.MustParseAddrPort("198.51.100.1:1214"),
		netip.MustParseAddrPort("198.51.100.2:80"),
		netip.MustParseAddrPort("[2001:db8:100::1]:1214"),
		netip.MustParseAddrPort("203.0.113.5:9"),
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"198.51.100.1", "198.51.100.1:0", "0.0.0.0:1214", "[::]:1", "host:1214", "2001:db8::1:1214", "1.2.3.4:70000"} {
		if _, err := ParseNodes(bad); err == nil {
			t.Errorf("ParseNodes(%q): no error", bad)
		}
	}
	_, err = ParseNodes("198.51.100.1:1\n\nnope")
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("error should name line 3: %v", err)
	}
	var many strings.Builder
	for i := range MaxNodes + 1 {
		many.WriteString(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 1214).String())
		many.WriteByte('\n')
	}
	if _, err := ParseNodes(many.String()); err == nil {
		t.Errorf("more than MaxNodes accepted")
	}
}
