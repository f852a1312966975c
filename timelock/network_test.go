package timelock

import (
	"bytes"
	"testing"

	"github.com/ftwall/ftwall/inspect"
)

func TestCleanNetwork(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"KaZaA", "KaZaA"},
		{"KaZaA\x00", "KaZaA"},
		{"fileshare\x00trailing", "fileshare"},
		{"", ""},
		{"\x00KaZaA", ""},
		{"Ka ZaA", ""},
		{"Ka\x7fZaA", ""},
		{"K\xc3\xa4", ""},
		{string(bytes.Repeat([]byte("a"), MaxNetworkLen)), string(bytes.Repeat([]byte("a"), MaxNetworkLen))},
		{string(bytes.Repeat([]byte("a"), MaxNetworkLen+1)), ""},
	} {
		if got := string(cleanNetwork([]byte(tc.in))); got != tc.want {
			t.Errorf("cleanNetwork(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzNetworkName feeds arbitrary ping name bytes through Evidence and Due:
// the tracker must keep a valid network name and build a well-formed ping.
func FuzzNetworkName(f *testing.F) {
	f.Add([]byte("KaZaA\x00"))
	f.Add([]byte("fileshare"))
	f.Add([]byte{0xff, 0x00, 0x41})
	f.Fuzz(func(t *testing.T, name []byte) {
		tr := New(Config{TimeLock: T})
		c, _ := tr.Evidence(t0, c1, 1214, name, "fuzz")
		if !ValidNetwork(c.Network) {
			t.Fatalf("network %q from % x is not valid", c.Network, name)
		}
		probes := tr.Due(t0.Add(T/2), nil)
		if len(probes) != 1 {
			t.Fatalf("%d probes", len(probes))
		}
		p := probes[0].Payload
		if !bytes.Equal(p, inspect.AppendPing(nil, c.Network)) || len(p) != 7+len(c.Network) || bytes.IndexByte(p[6:], 0) != len(c.Network) {
			t.Fatalf("bad ping % x for %q", p, c.Network)
		}
	})
}
