package store

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestEach: the file merged with the peers put since the last save, newest
// entry per address, expired ones left out, in address order; nothing is
// written.
func TestEach(t *testing.T) {
	now := base.Add(48 * time.Hour)
	path := filepath.Join(t.TempDir(), "peers")
	s, err := open(path, 24*time.Hour, osFS{}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr
	s.Put(Peer{Addr: a("198.51.100.1"), LastSeen: now.Add(-2 * time.Hour), Reason: "old"})
	s.Put(Peer{Addr: a("198.51.100.3"), LastSeen: now.Add(-time.Hour)})
	s.Put(Peer{Addr: a("198.51.100.9"), LastSeen: now.Add(-25 * time.Hour)}) // expired
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	saved, _ := os.ReadFile(path)
	s.Put(Peer{Addr: a("198.51.100.1"), LastSeen: now.Add(-time.Minute), Reason: "new"})
	s.Put(Peer{Addr: a("198.51.100.2"), LastSeen: now.Add(-time.Minute)})
	s.Put(Peer{Addr: a("2001:db8::1"), LastSeen: now.Add(-time.Minute)})

	var got []Peer
	if err := s.Each(func(p Peer) error { got = append(got, p); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []Peer{
		{Addr: a("198.51.100.1"), LastSeen: now.Add(-time.Minute), Reason: "new"},
		{Addr: a("198.51.100.2"), LastSeen: now.Add(-time.Minute)},
		{Addr: a("198.51.100.3"), LastSeen: now.Add(-time.Hour)},
		{Addr: a("2001:db8::1"), LastSeen: now.Add(-time.Minute)},
	}
	if len(got) != len(want) {
		t.Fatalf("Each gave %v, want %v", got, want)
	}
	for i := range got {
		if got[i].Addr != want[i].Addr || !got[i].LastSeen.Equal(want[i].LastSeen) || got[i].Reason != want[i].Reason {
			t.Errorf("peer %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if now, _ := os.ReadFile(path); string(now) != string(saved) {
		t.Error("Each changed the file")
	}
	if !s.Dirty() {
		t.Error("Each took the pending peers")
	}
}

// TestEachUnsortedFile: a file changed on disk into disorder still gives
// every peer once.
func TestEachUnsortedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peers")
	line := func(ip string) string { return ip + ":1214 " + base.Format(time.RFC3339) + " r\n" }
	if err := os.WriteFile(path, []byte("# ftwall peers v1\n"+line("198.51.100.1")+line("198.51.100.5")+line("198.51.100.3")), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := open(path, 0, osFS{}, func() time.Time { return base })
	if err != nil {
		t.Fatal(err)
	}
	s.Put(Peer{Addr: netip.MustParseAddr("198.51.100.4"), LastSeen: base})
	seen := map[netip.Addr]int{}
	if err := s.Each(func(p Peer) error { seen[p.Addr]++; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 4 {
		t.Fatalf("Each gave %v, want 4 peers", seen)
	}
	for a, n := range seen {
		if n != 1 {
			t.Errorf("%v given %d times", a, n)
		}
	}
}
