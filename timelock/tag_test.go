package timelock

import (
	"bytes"
	"testing"
)

func TestCleanTag(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"KaZaA", "KaZaA"},
		{"KaZaA\x00", "KaZaA"},
		{"fileshare\x00trailing", "fileshare"},
		{"", ""},
		{"\x00KaZaA", ""},
		{"Ka ZaA", ""},
		{"Ka\x7fZaA", ""},
		{"K\xc3\xa4", ""},
		{string(bytes.Repeat([]byte("a"), MaxTagLen)), string(bytes.Repeat([]byte("a"), MaxTagLen))},
		{string(bytes.Repeat([]byte("a"), MaxTagLen+1)), ""},
	} {
		if got := string(cleanTag([]byte(tc.in))); got != tc.want {
			t.Errorf("cleanTag(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzTag feeds arbitrary tag bytes through Evidence and Due: the tracker
// keeps a valid tag or none, and the probe carries the protocol, port and tag.
func FuzzTag(f *testing.F) {
	f.Add([]byte("KaZaA\x00"))
	f.Add([]byte("fileshare"))
	f.Add([]byte{0xff, 0x00, 0x41})
	f.Fuzz(func(t *testing.T, tag []byte) {
		tr := New(Config{TimeLock: T})
		c, _ := tr.Evidence(t0, c1, "fasttrack", 1214, tag, "fuzz")
		if c.Tag != "" && !ValidTag(c.Tag) {
			t.Fatalf("tag %q from % x is not valid", c.Tag, tag)
		}
		probes := tr.Due(t0.Add(T/2), nil)
		if len(probes) != 1 {
			t.Fatalf("%d probes", len(probes))
		}
		if p := probes[0]; p.Tag != c.Tag || p.Protocol != "fasttrack" || p.Port != 1214 {
			t.Fatalf("probe %+v for %+v", p, c)
		}
	})
}
