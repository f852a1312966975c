package store

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func addrsOf(peers []Peer) []string {
	var out []string
	for _, p := range peers {
		out = append(out, p.Addr.String())
	}
	return out
}

// TestDelete checks that a deleted peer leaves every read at once and the
// file at the next save, from a sorted and from an unsorted file, and that a
// later Put brings it back.
func TestDelete(t *testing.T) {
	for _, sorted := range []bool{true, false} {
		name := "sorted"
		if !sorted {
			name = "unsorted"
		}
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "peers")
			lines := []string{Header,
				"198.51.100.1:1 2024-05-01T12:00:00Z a",
				"198.51.100.2:2 2024-05-01T12:00:00Z b",
				"198.51.100.3:3 2024-05-01T12:00:00Z c",
			}
			if !sorted {
				lines[1], lines[3] = lines[3], lines[1]
			}
			os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
			s, err := Open(path, 0)
			if err != nil {
				t.Fatal(err)
			}
			s.Put(Peer{netip.MustParseAddr("198.51.100.4"), 4, base, "d"})
			if n := s.Delete(netip.MustParseAddr("198.51.100.2"), netip.MustParseAddr("::ffff:198.51.100.4"), netip.Addr{}); n != 2 {
				t.Errorf("Delete counted %d valid addresses, want 2", n)
			}
			if !s.Dirty() {
				t.Error("not dirty after Delete")
			}
			if got := strings.Join(addrsOf(allPeers(t, s)), " "); got != "198.51.100.1 198.51.100.3" {
				t.Errorf("Peers after Delete = %s", got)
			}
			var each []Peer
			if err := s.Each(func(p Peer) error { each = append(each, p); return nil }); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(addrsOf(each), " "); got != "198.51.100.1 198.51.100.3" {
				t.Errorf("Each after Delete = %s", got)
			}
			if err := s.Save(); err != nil {
				t.Fatal(err)
			}
			onDisk, _, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(addrsOf(onDisk), " "); got != "198.51.100.1 198.51.100.3" {
				t.Errorf("file after Save = %s", got)
			}
			if s.Dirty() {
				t.Error("dirty after the save")
			}
			// Put again: back.
			s.Put(Peer{netip.MustParseAddr("198.51.100.2"), 2, base.Add(time.Hour), "again"})
			if err := s.Save(); err != nil {
				t.Fatal(err)
			}
			onDisk, _, _ = Load(path)
			if got := strings.Join(addrsOf(onDisk), " "); got != "198.51.100.1 198.51.100.2 198.51.100.3" {
				t.Errorf("file after a new Put = %s", got)
			}
		})
	}
}

// TestDeleteBeforeStream: a deletion made before the start-up stream hides
// the address from it (the unsorted path keeps the file in memory).
func TestDeleteBeforeStream(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peers")
	os.WriteFile(path, []byte(Header+"\n198.51.100.3:3 2024-05-01T12:00:00Z c\n198.51.100.1:1 2024-05-01T12:00:00Z a\n198.51.100.2:2 2024-05-01T12:00:00Z b\n"), 0o600)
	s, err := Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	s.Delete(netip.MustParseAddr("198.51.100.1"))
	var got []Peer
	if _, err := s.Stream(func(p Peer) error { got = append(got, p); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, p := range got {
		if p.Addr == netip.MustParseAddr("198.51.100.1") {
			t.Fatal("Stream handed over a deleted peer")
		}
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	onDisk, _, _ := Load(path)
	if g := strings.Join(addrsOf(onDisk), " "); g != "198.51.100.2 198.51.100.3" {
		t.Errorf("file = %s", g)
	}
}

// TestDeleteSurvivesFailedSave: a save that fails keeps the deletion for the
// next one.
func TestDeleteSurvivesFailedSave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peers")
	os.WriteFile(path, []byte(Header+"\n198.51.100.1:1 2024-05-01T12:00:00Z a\n198.51.100.2:2 2024-05-01T12:00:00Z b\n"), 0o600)
	fs := &faultFS{failAt: 1}
	s, err := open(path, 0, fs, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	fs.ops, fs.failAt = 0, 1
	s.Delete(netip.MustParseAddr("198.51.100.1"))
	if err := s.Save(); err == nil {
		t.Fatal("save with a failing file system succeeded")
	}
	fs.failAt = 0
	if !s.Dirty() {
		t.Fatal("the deletion was lost with the failed save")
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	onDisk, _, _ := Load(path)
	if g := strings.Join(addrsOf(onDisk), " "); g != "198.51.100.2" {
		t.Errorf("file = %s", g)
	}
}
