package store

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var base = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func samplePeers() []Peer {
	return []Peer{
		{netip.MustParseAddr("198.51.100.7"), 1214, base, "udp ping to peer"},
		{netip.MustParseAddr("203.0.113.9"), 80, base.Add(time.Hour), ""},
		{netip.MustParseAddr("2001:db8:100::7"), 3456, base.Add(2 * time.Second), "X-Kazaa-SupernodeIP header"},
		{netip.MustParseAddr("2001:db8::1"), 0, base.Add(-time.Hour), "réseau ünïcode"},
	}
}

func sortPeers(p []Peer) []Peer {
	slices.SortFunc(p, func(a, b Peer) int { return a.Addr.Compare(b.Addr) })
	return p
}

func samePeers(t *testing.T, got, want []Peer) {
	t.Helper()
	got, want = sortPeers(slices.Clone(got)), sortPeers(slices.Clone(want))
	if len(got) != len(want) {
		t.Fatalf("got %d peers, want %d:\n got %v\nwant %v", len(got), len(want), got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Addr != w.Addr || g.Port != w.Port || !g.LastSeen.Equal(w.LastSeen) || g.Reason != w.Reason {
			t.Errorf("peer %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peers")
	s, lerrs, err := Open(path, 0)
	if err != nil || len(lerrs) != 0 || s.Len() != 0 || s.Dirty() {
		t.Fatalf("Open(missing) = %v %v, len %d dirty %v", lerrs, err, s.Len(), s.Dirty())
	}
	for _, p := range samplePeers() {
		if !s.Put(p) {
			t.Fatalf("Put(%v) = false", p)
		}
	}
	if !s.Dirty() {
		t.Fatal("not dirty after Put")
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	if s.Dirty() {
		t.Fatal("dirty after Save")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != FileMode {
		t.Errorf("mode %v, want %v", fi.Mode().Perm(), FileMode)
	}
	data, _ := os.ReadFile(path)
	want := "# ftwall peers v1\n" +
		"198.51.100.7:1214 2024-05-01T12:00:00Z udp ping to peer\n" +
		"203.0.113.9:80 2024-05-01T13:00:00Z\n" +
		"[2001:db8::1]:0 2024-05-01T11:00:00Z réseau ünïcode\n" +
		"[2001:db8:100::7]:3456 2024-05-01T12:00:02Z X-Kazaa-SupernodeIP header\n"
	if string(data) != want {
		t.Errorf("file:\n%s\nwant:\n%s", data, want)
	}
	got, lerrs, err := Load(path)
	if err != nil || len(lerrs) != 0 {
		t.Fatal(lerrs, err)
	}
	samePeers(t, got, samplePeers())
	s2, _, err := Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	samePeers(t, s2.Peers(), samplePeers())
	if s2.Dirty() {
		t.Error("freshly opened v1 store is dirty")
	}
}

func TestTimesAreUTCSeconds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peers")
	s, _, _ := Open(path, 0)
	cest := time.FixedZone("CEST", 2*3600)
	s.Put(Peer{Addr: netip.MustParseAddr("198.51.100.1"), Port: 1, LastSeen: time.Date(2024, 5, 1, 14, 0, 0, 999_999_999, cest)})
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), "198.51.100.1:1 2024-05-01T12:00:00Z\n") {
		t.Errorf("file:\n%s", data)
	}
}

func TestLegacyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ftwall.peers")
	if err := os.WriteFile(path, []byte("198.51.100.7:1214\r\n203.0.113.9:3456\n\n198.51.100.8:80"), 0o644); err != nil {
		t.Fatal(err)
	}
	mtime := base.Add(-48 * time.Hour)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	want := []Peer{
		{netip.MustParseAddr("198.51.100.7"), 1214, mtime, LegacyReason},
		{netip.MustParseAddr("203.0.113.9"), 3456, mtime, LegacyReason},
		{netip.MustParseAddr("198.51.100.8"), 80, mtime, LegacyReason},
	}
	got, lerrs, err := Load(path)
	if err != nil || len(lerrs) != 0 {
		t.Fatal(lerrs, err)
	}
	samePeers(t, got, want)

	s, _, err := Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Dirty() {
		t.Fatal("1.x store not marked for conversion")
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), Header+"\n") {
		t.Errorf("not converted:\n%s", data)
	}
	got, _, _ = Load(path)
	samePeers(t, got, want)
}

func TestMalformedLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peers")
	long := strings.Repeat("x", 100_000)
	lines := []string{
		Header,                                   // 1
		"198.51.100.1:1 2024-05-01T12:00:00Z ok", // 2
		"198.51.100.2 2024-05-01T12:00:00Z",      // 3 no port
		"# a comment",                            // 4
		"",                                       // 5
		"[2001:db8::2]:70000 2024-05-01T12:00:00Z", // 6 port range
		"198.51.100.3:3 yesterday",                 // 7
		"[fe80::1%eth0]:4 2024-05-01T12:00:00Z",    // 8 zone
		long,                                       // 9
		"198.51.100.4:4 2024-05-01T12:00:00+02:00 in CEST\r", // 10
		"2001:db8::5:5 2024-05-01T12:00:00Z",                 // 11 unbracketed
		"not-an-address",                                     // 12
		"  198.51.100.6:6\t2024-05-01T12:00:00Z  tabbed  ",   // 13
		"198.51.100.7:7 9999-12-31T23:59:59-23:59",           // 14 year 10000 in UTC
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, lerrs, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var bad []int
	for _, le := range lerrs {
		bad = append(bad, le.Line)
		if le.Err == nil || len(le.Text) > 130 || !strings.Contains(le.Error(), fmt.Sprintf("line %d:", le.Line)) {
			t.Errorf("LineError %+v / %q", le, le.Error())
		}
	}
	if want := []int{3, 6, 7, 8, 9, 11, 12, 14}; !slices.Equal(bad, want) {
		t.Errorf("bad lines %v, want %v (%v)", bad, want, lerrs)
	}
	samePeers(t, got, []Peer{
		{netip.MustParseAddr("198.51.100.1"), 1, base, "ok"},
		{netip.MustParseAddr("198.51.100.4"), 4, base.Add(-2 * time.Hour), "in CEST"},
		{netip.MustParseAddr("198.51.100.6"), 6, base, "tabbed"},
	})
	if !errors.Is(&lerrs[4], errTooLong) {
		t.Errorf("long line error %v", lerrs[4].Err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Load(dir) = %v", err)
	}
	v2 := filepath.Join(dir, "v2")
	os.WriteFile(v2, []byte("# ftwall peers v2\n198.51.100.1:1 2024-05-01T12:00:00Z\n"), 0o600)
	if _, _, err := Load(v2); err == nil || !strings.Contains(err.Error(), `"v2" is not supported`) {
		t.Errorf("Load(v2) = %v", err)
	}
	if _, _, err := Open(v2, 0); err == nil {
		t.Error("Open(v2) succeeded; a save would destroy a newer file")
	}
	if os.Geteuid() != 0 {
		noread := filepath.Join(dir, "noread")
		os.WriteFile(noread, nil, 0)
		if _, _, err := Load(noread); err == nil {
			t.Error("Load(unreadable) succeeded")
		}
	}
	s, _, err := Open(filepath.Join(dir, "missing-dir", "peers"), 0)
	if err != nil {
		t.Fatal(err)
	}
	s.Put(samplePeers()[0])
	if err := s.Save(); err == nil || !strings.Contains(err.Error(), "missing-dir") {
		t.Errorf("Save into a missing directory = %v", err)
	}
	if !s.Dirty() {
		t.Error("failed save cleared dirty")
	}
}

func TestMerge(t *testing.T) {
	s, _, _ := Open(filepath.Join(t.TempDir(), "peers"), 0)
	a := netip.MustParseAddr("198.51.100.1")
	if !s.Put(Peer{a, 1, base, "first"}) {
		t.Fatal("first Put = false")
	}
	if s.Put(Peer{a, 2, base.Add(-time.Second), "older"}) {
		t.Error("older Put changed the store")
	}
	if s.Put(Peer{a, 1, base, "first"}) {
		t.Error("identical Put changed the store")
	}
	if !s.Put(Peer{netip.MustParseAddr("::ffff:198.51.100.1"), 3, base.Add(time.Second), "newer"}) {
		t.Error("newer Put = false")
	}
	if s.Put(Peer{netip.Addr{}, 1, base, ""}) || s.Put(Peer{netip.MustParseAddr("fe80::1%eth0"), 1, base, ""}) {
		t.Error("invalid peer accepted")
	}
	samePeers(t, s.Peers(), []Peer{{a, 3, base.Add(time.Second), "newer"}})

	// Duplicates in a file merge the same way, and mark the store dirty.
	path := filepath.Join(t.TempDir(), "dups")
	os.WriteFile(path, []byte(Header+"\n198.51.100.1:1 2024-05-01T12:00:05Z new\n198.51.100.1:2 2024-05-01T12:00:00Z old\n"), 0o600)
	s, _, _ = Open(path, 0)
	samePeers(t, s.Peers(), []Peer{{a, 1, base.Add(5 * time.Second), "new"}})
	if !s.Dirty() {
		t.Error("store with merged duplicates not dirty")
	}
}

func TestExpiry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peers")
	now := base
	content := Header + "\n" +
		"198.51.100.1:1 2024-05-01T09:59:59Z too old\n" +
		"198.51.100.2:2 2024-05-01T11:30:00Z fresh\n"
	os.WriteFile(path, []byte(content), 0o600)
	s, _, err := open(path, 2*time.Hour, osFS{}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	samePeers(t, s.Peers(), []Peer{{netip.MustParseAddr("198.51.100.2"), 2, base.Add(-30 * time.Minute), "fresh"}})
	if !s.Dirty() {
		t.Error("expiry at load did not mark dirty")
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	now = base.Add(90*time.Minute + time.Second) // the fresh peer is now 2h01 old
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 0 {
		t.Errorf("Len after expiry = %d", s.Len())
	}
	got, _, _ := Load(path)
	if len(got) != 0 {
		t.Errorf("expired peers written: %v", got)
	}
	// maxAge 0 keeps everything.
	os.WriteFile(path, []byte(content), 0o600)
	s, _, _ = open(path, 0, osFS{}, func() time.Time { return now.Add(1000 * time.Hour) })
	if s.Len() != 2 || s.Dirty() {
		t.Errorf("maxAge 0: len %d dirty %v", s.Len(), s.Dirty())
	}
}

func TestSaveWritesOnlyWhenDirty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peers")
	ffs := &faultFS{}
	s, _, _ := open(path, 0, ffs, time.Now)
	if err := s.Save(); err != nil || ffs.ops != 0 {
		t.Fatalf("clean Save: err %v, %d file-system ops", err, ffs.ops)
	}
	s.Put(samplePeers()[0])
	if err := s.Save(); err != nil || ffs.ops == 0 {
		t.Fatalf("dirty Save: err %v, %d ops", err, ffs.ops)
	}
	n := ffs.ops
	if err := s.Save(); err != nil || ffs.ops != n {
		t.Fatalf("second Save: err %v, %d ops", err, ffs.ops-n)
	}
}

func TestOpenRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "peers")
	stale := filepath.Join(dir, ".peers.tmp-123")
	other := filepath.Join(dir, ".other.tmp-123")
	for _, f := range []string{stale, other} {
		os.WriteFile(f, []byte("half a fi"), 0o600)
	}
	if _, _, err := Open(path, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Error("stale temp file kept")
	}
	if _, err := os.Stat(other); err != nil {
		t.Error("another file's temp removed")
	}
}

func TestConcurrentPutSave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peers")
	s, _, _ := Open(path, 0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 2000 {
			s.Put(Peer{netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), uint16(i), base.Add(time.Duration(i) * time.Second), "c"})
		}
	}()
	for range 20 {
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
		_ = s.Peers()
	}
	<-done
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	got, lerrs, err := Load(path)
	if err != nil || len(lerrs) != 0 || len(got) != 256 {
		t.Fatalf("%d peers, %v, %v", len(got), lerrs, err)
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"198.51.100.7:1214 2024-05-01T12:00:00Z udp ping",
		"[2001:db8::1]:80 2024-05-01T12:00:00.5+02:00",
		"198.51.100.7:1214",
		"[::ffff:1.2.3.4]:1 2024-05-01T12:00:00Z \x00\xff réason",
		"# ftwall peers v1",
		"9999-12-31T23:59:59-23:59",
	} {
		f.Add([]byte(s))
	}
	legacy := base
	f.Fuzz(func(t *testing.T, line []byte) {
		p, ok, err := parseOne(line, legacy, map[string]string{})
		if err != nil || !ok {
			return
		}
		out := appendLine(nil, p)
		if bytes.Count(out, []byte{'\n'}) != 1 {
			t.Fatalf("line %q formats as %q", line, out)
		}
		q, ok, err := parseOne(out, legacy, nil)
		if err != nil || !ok {
			t.Fatalf("%q (from %q) does not parse back: %v", out, line, err)
		}
		if p.Reason == LegacyReason && !bytes.ContainsAny(bytes.TrimSpace(line), " \t") {
			p.LastSeen = legacy // 1.x line: written in v1 form with the legacy time
		}
		if q.Addr != p.Addr || q.Port != p.Port || q.Reason != p.Reason || !q.LastSeen.Equal(p.LastSeen.Truncate(time.Second)) {
			t.Fatalf("round trip of %q: %+v, want %+v", line, q, p)
		}
	})
}

func BenchmarkLoad1M(b *testing.B) {
	path := filepath.Join(b.TempDir(), "peers")
	peers := make([]Peer, 1_000_000)
	for i := range peers {
		var a netip.Addr
		if i%4 == 3 {
			a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i), 10: byte(i >> 16)})
		} else {
			a = netip.AddrFrom4([4]byte{198, byte(i >> 16), byte(i >> 8), byte(i)})
		}
		peers[i] = Peer{a, uint16(1024 + i%60000), base.Add(time.Duration(i) * time.Second), "udp ping to peer"}
	}
	if err := writeFile(osFS{}, path, peers); err != nil {
		b.Fatal(err)
	}
	fi, _ := os.Stat(path)
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for b.Loop() {
		got, lerrs, err := Load(path)
		if err != nil || len(lerrs) != 0 || len(got) != len(peers) {
			b.Fatalf("%d peers, %d line errors, %v", len(got), len(lerrs), err)
		}
	}
}

func BenchmarkOpenSave1M(b *testing.B) {
	path := filepath.Join(b.TempDir(), "peers")
	peers := make([]Peer, 1_000_000)
	for i := range peers {
		peers[i] = Peer{netip.AddrFrom4([4]byte{198, byte(i >> 16), byte(i >> 8), byte(i)}), 1214, base, "udp ping to peer"}
	}
	if err := writeFile(osFS{}, path, peers); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		s, _, err := Open(path, 0)
		if err != nil || s.Len() < len(peers) {
			b.Fatal(err)
		}
		s.Put(Peer{netip.MustParseAddr("203.0.113.1"), 1, base, "x"})
		if err := s.Save(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRange(t *testing.T) {
	s, _, err := Open(filepath.Join(t.TempDir(), "peers"), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range samplePeers() {
		s.Put(p)
	}
	var got []Peer
	s.Range(func(p Peer) bool { got = append(got, p); return true })
	samePeers(t, sortPeers(got), s.Peers())
	n := 0
	s.Range(func(Peer) bool { n++; return false })
	if n != 1 {
		t.Errorf("Range went on after fn returned false: %d calls", n)
	}
}
