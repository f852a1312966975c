package service

import "testing"

func TestLockComment(t *testing.T) {
	if c := lockComment(0, []byte("KaZaA")); c != "" {
		t.Errorf("port 0: %q", c)
	}
	for _, tc := range []struct {
		port uint16
		net  string
		want string
	}{
		{3456, "KaZaA", "port=3456 net=KaZaA"},
		{1214, "", "port=1214"},
	} {
		c := lockComment(tc.port, []byte(tc.net))
		if c != tc.want {
			t.Errorf("lockComment(%d, %q) = %q, want %q", tc.port, tc.net, c, tc.want)
		}
		port, net, ok := parseLockComment(c)
		if !ok || port != tc.port || net != tc.net {
			t.Errorf("parseLockComment(%q) = %d %q %v", c, port, net, ok)
		}
	}
	for _, bad := range []string{"", "port=0", "port=70000", "port=x", "net=KaZaA", "hello", "port=1 colour=red"} {
		if _, _, ok := parseLockComment(bad); ok {
			t.Errorf("parseLockComment(%q) accepted", bad)
		}
	}
}

func FuzzParseLockComment(f *testing.F) {
	for _, s := range []string{"port=3456 net=KaZaA", "port=1214", "", "port=0", "net=x port=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		port, net, ok := parseLockComment(s)
		if !ok {
			return
		}
		// What parses again formats to something that parses the same.
		if p2, n2, ok2 := parseLockComment(lockComment(port, []byte(net))); !ok2 || p2 != port || n2 != net {
			t.Fatalf("%q → %d %q → %d %q %v", s, port, net, p2, n2, ok2)
		}
	})
}
