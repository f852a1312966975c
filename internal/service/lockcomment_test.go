package service

import "testing"

func TestLockComment(t *testing.T) {
	if c := lockComment("fasttrack", 0, []byte("KaZaA")); c != "" {
		t.Errorf("port 0: %q", c)
	}
	for _, tc := range []struct {
		proto string
		port  uint16
		tag   string
		want  string
	}{
		{"fasttrack", 3456, "KaZaA", "proto=fasttrack port=3456 tag=KaZaA"},
		{"fasttrack", 1214, "", "proto=fasttrack port=1214"},
		{"bittorrent", 6881, "", "proto=bittorrent port=6881"},
	} {
		c := lockComment(tc.proto, tc.port, []byte(tc.tag))
		if c != tc.want {
			t.Errorf("lockComment(%s, %d, %q) = %q, want %q", tc.proto, tc.port, tc.tag, c, tc.want)
		}
		proto, port, tag, ok := parseLockComment(c)
		if !ok || proto != tc.proto || port != tc.port || tag != tc.tag {
			t.Errorf("parseLockComment(%q) = %s %d %q %v", c, proto, port, tag, ok)
		}
	}
	// Comments of ftwall before detectors mean FastTrack.
	if proto, port, tag, ok := parseLockComment("port=3456 net=KaZaA"); !ok || proto != "fasttrack" || port != 3456 || tag != "KaZaA" {
		t.Errorf("old comment: %s %d %q %v", proto, port, tag, ok)
	}
	for _, bad := range []string{"", "port=0", "port=70000", "port=x", "net=KaZaA", "hello", "port=1 colour=red",
		"proto= port=1", "proto=Fast port=1", "port=1 tag=a\x01b"} {
		if _, _, _, ok := parseLockComment(bad); ok {
			t.Errorf("parseLockComment(%q) accepted", bad)
		}
	}
}

func FuzzParseLockComment(f *testing.F) {
	for _, s := range []string{"proto=fasttrack port=3456 tag=KaZaA", "port=3456 net=KaZaA", "port=1214", "", "port=0", "net=x port=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		proto, port, tag, ok := parseLockComment(s)
		if !ok {
			return
		}
		// What parses formats to something that parses the same.
		if p2, port2, t2, ok2 := parseLockComment(lockComment(proto, port, []byte(tag))); !ok2 || p2 != proto || port2 != port || t2 != tag {
			t.Fatalf("%q → %s %d %q → %s %d %q %v", s, proto, port, tag, p2, port2, t2, ok2)
		}
	})
}
