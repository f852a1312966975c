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

// allPeers returns every peer of s.
func allPeers(t testing.TB, s *Store) []Peer {
	t.Helper()
	peers, err := s.Peers()
	if err != nil {
		t.Fatal(err)
	}
	return peers
}

// streamed opens path and streams it; it returns the store, the last peer
// Stream handed over for each address, and the line errors.
func streamed(t testing.TB, path string, maxAge time.Duration, now func() time.Time) (*Store, []Peer, []LineError) {
	t.Helper()
	s, err := open(path, maxAge, osFS{}, now)
	if err != nil {
		t.Fatal(err)
	}
	last := map[netip.Addr]Peer{}
	lerrs, err := s.Stream(func(p Peer) error { last[p.Addr] = p; return nil })
	if err != nil {
		t.Fatal(err)
	}
	var out []Peer
	for _, p := range last {
		out = append(out, p)
	}
	return s, sortPeers(out), lerrs
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peers")
	s, err := Open(path, 0)
	if err != nil || len(allPeers(t, s)) != 0 || s.Dirty() {
		t.Fatalf("Open(missing) = %v, dirty %v", err, s.Dirty())
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
	s2, streamedPeers, lerrs := streamed(t, path, 0, time.Now)
	samePeers(t, streamedPeers, samplePeers())
	samePeers(t, allPeers(t, s2), samplePeers())
	if len(lerrs) != 0 || s2.Dirty() {
		t.Error("freshly opened v1 store is dirty")
	}
}

func TestTimesAreUTCSeconds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peers")
	s, _ := Open(path, 0)
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

	s, streamedPeers, _ := streamed(t, path, 0, time.Now)
	samePeers(t, streamedPeers, want)
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
	if _, err := Open(v2, 0); err == nil {
		t.Error("Open(v2) succeeded; a save would destroy a newer file")
	}
	if os.Geteuid() != 0 {
		noread := filepath.Join(dir, "noread")
		os.WriteFile(noread, nil, 0)
		if _, _, err := Load(noread); err == nil {
			t.Error("Load(unreadable) succeeded")
		}
	}
	s, err := Open(filepath.Join(dir, "missing-dir", "peers"), 0)
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
	s, _ := Open(filepath.Join(t.TempDir(), "peers"), 0)
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
	samePeers(t, allPeers(t, s), []Peer{{a, 3, base.Add(time.Second), "newer"}})

	// Duplicates in a file merge the same way, and mark the store dirty.
	path := filepath.Join(t.TempDir(), "dups")
	os.WriteFile(path, []byte(Header+"\n198.51.100.1:1 2024-05-01T12:00:05Z new\n198.51.100.1:2 2024-05-01T12:00:00Z old\n"), 0o600)
	s, got, _ := streamed(t, path, 0, time.Now)
	samePeers(t, got, []Peer{{a, 1, base.Add(5 * time.Second), "new"}})
	samePeers(t, allPeers(t, s), got)
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
	s, got, _ := streamed(t, path, 2*time.Hour, func() time.Time { return now })
	fresh := []Peer{{netip.MustParseAddr("198.51.100.2"), 2, base.Add(-30 * time.Minute), "fresh"}}
	samePeers(t, got, fresh)
	samePeers(t, allPeers(t, s), fresh)
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
	if n := len(allPeers(t, s)); n != 0 {
		t.Errorf("%d peers after expiry", n)
	}
	got, _, _ = Load(path)
	if len(got) != 0 {
		t.Errorf("expired peers written: %v", got)
	}
	// maxAge 0 keeps everything.
	os.WriteFile(path, []byte(content), 0o600)
	s, got, _ = streamed(t, path, 0, func() time.Time { return now.Add(1000 * time.Hour) })
	if len(got) != 2 || len(allPeers(t, s)) != 2 || s.Dirty() {
		t.Errorf("maxAge 0: %d peers dirty %v", len(got), s.Dirty())
	}
}

func TestSaveWritesOnlyWhenDirty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peers")
	ffs := &faultFS{}
	s, _ := open(path, 0, ffs, time.Now)
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
	if _, err := Open(path, 0); err != nil {
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
	s, _ := Open(path, 0)
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
		_ = allPeers(t, s)
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

// BenchmarkStreamSave1M opens a sorted storefile of a million peers, streams
// it, puts one peer and saves (a merge of the file with one pending peer).
func BenchmarkStreamSave1M(b *testing.B) {
	path := filepath.Join(b.TempDir(), "peers")
	peers := make([]Peer, 1_000_000)
	for i := range peers {
		peers[i] = Peer{netip.AddrFrom4([4]byte{198, byte(i >> 16), byte(i >> 8), byte(i)}), 1214, base, "udp ping to peer"}
	}
	if err := writeFile(osFS{}, path, peers); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s, err := Open(path, 0)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		if _, err := s.Stream(func(Peer) error { n++; return nil }); err != nil || n < len(peers) {
			b.Fatal(n, err)
		}
		s.Put(Peer{netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)}), 1, base, "x"})
		if err := s.Save(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestStreamSorted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peers")
	s, _ := Open(path, 0)
	for _, p := range samplePeers() {
		s.Put(p)
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []Peer
	if _, err := s.Stream(func(p Peer) error { got = append(got, p); return nil }); err != nil {
		t.Fatal(err)
	}
	want := sortPeers(samplePeers())
	if len(got) != len(want) {
		t.Fatalf("streamed %v", got)
	}
	samePeers(t, got, want)
	for i := range got {
		if got[i].Addr != want[i].Addr {
			t.Fatalf("streamed out of file order: %v", got)
		}
	}
	if s.Dirty() {
		t.Error("sorted file marked dirty by Stream")
	}
	// An error from fn stops the stream and comes back as it is.
	stop := errors.New("kernel says no")
	n := 0
	if _, err := s.Stream(func(Peer) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("Stream after an fn error: %d calls, %v", n, err)
	}
}

// TestStreamUnsorted streams a file out of order with duplicates far apart:
// the last call for each address must carry its newest entry, and the next
// save writes the file sorted without duplicates.
func TestStreamUnsorted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peers")
	lines := []string{
		Header,
		"198.51.100.1:1 2024-05-01T12:00:00Z a1",
		"198.51.100.5:5 2024-05-01T12:00:09Z e-newest",
		"198.51.100.9:9 2024-05-01T12:00:00Z i",
		"198.51.100.2:2 2024-05-01T12:00:00Z b", // out of order
		"198.51.100.5:5 2024-05-01T12:00:01Z e-old",
		"198.51.100.1:1 2024-05-01T12:00:07Z a-newest",
		"198.51.100.3:3 2024-05-01T12:00:00Z c",
		"198.51.100.2:2 2024-05-01T12:00:03Z b-newest",
	}
	os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	want := []Peer{
		{netip.MustParseAddr("198.51.100.1"), 1, base.Add(7 * time.Second), "a-newest"},
		{netip.MustParseAddr("198.51.100.2"), 2, base.Add(3 * time.Second), "b-newest"},
		{netip.MustParseAddr("198.51.100.3"), 3, base, "c"},
		{netip.MustParseAddr("198.51.100.5"), 5, base.Add(9 * time.Second), "e-newest"},
		{netip.MustParseAddr("198.51.100.9"), 9, base, "i"},
	}
	s, got, lerrs := streamed(t, path, 0, time.Now)
	if len(lerrs) != 0 {
		t.Fatal(lerrs)
	}
	samePeers(t, got, want)
	if !s.Dirty() {
		t.Fatal("unsorted file not marked for rewriting")
	}
	s.Put(Peer{netip.MustParseAddr("198.51.100.4"), 4, base, "put"})
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	want = sortPeers(append(want, Peer{netip.MustParseAddr("198.51.100.4"), 4, base, "put"}))
	onDisk, _, _ := Load(path)
	if len(onDisk) != len(want) {
		t.Fatalf("file holds %v", onDisk)
	}
	for i := range want {
		if onDisk[i].Addr != want[i].Addr || onDisk[i].Reason != want[i].Reason {
			t.Fatalf("file line %d = %+v, want %+v (file not sorted or not merged)", i, onDisk[i], want[i])
		}
	}
	if s.Dirty() {
		t.Error("dirty after the sorting save")
	}
}

// TestSaveMerges checks the line-by-line merge of the old file with the
// pending peers: newer entries win either way, expired ones go, the result is
// sorted, and a file made unsorted behind the store's back is sorted instead
// of merged.
func TestSaveMerges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peers")
	now := base
	s, _ := open(path, 2*time.Hour, osFS{}, func() time.Time { return now })
	a := func(i byte) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, i}) }
	for _, i := range []byte{2, 4, 6, 8} {
		s.Put(Peer{a(i), uint16(i), base.Add(-time.Hour), "file"})
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	now = base.Add(30 * time.Minute)
	s.Put(Peer{a(1), 1, now, "new"})                         // before the first
	s.Put(Peer{a(4), 40, now, "newer"})                      // replaces a file entry
	s.Put(Peer{a(6), 60, base.Add(-2 * time.Hour), "older"}) // older than the file's
	s.Put(Peer{a(9), 9, now, "new"})                         // after the last
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	got, _, _ := Load(path)
	want := []Peer{
		{a(1), 1, now, "new"}, {a(2), 2, base.Add(-time.Hour), "file"}, {a(4), 40, now, "newer"},
		{a(6), 6, base.Add(-time.Hour), "file"}, {a(8), 8, base.Add(-time.Hour), "file"}, {a(9), 9, now, "new"},
	}
	if len(got) != len(want) {
		t.Fatalf("file holds %v", got)
	}
	for i := range want {
		if got[i].Addr != want[i].Addr || got[i].Port != want[i].Port || got[i].Reason != want[i].Reason {
			t.Fatalf("line %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	// 70 minutes later the "file" peers (seen 1 h before base) have expired:
	// a save with nothing pending still rewrites the file without them.
	now = base.Add(70 * time.Minute)
	if !s.Dirty() {
		t.Fatal("expired peers in the file do not make the store dirty")
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	got, _, _ = Load(path)
	if len(got) != 3 {
		t.Fatalf("after expiry the file holds %v", got)
	}
	// Someone appends a line out of order; the next save sorts.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("198.51.100.3:3 2024-05-01T13:00:00Z appended\n")
	f.Close()
	s.Put(Peer{a(7), 7, now, "new"})
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	got, _, _ = Load(path)
	var addrs []netip.Addr
	for _, p := range got {
		addrs = append(addrs, p.Addr)
	}
	if want := []netip.Addr{a(1), a(3), a(4), a(7), a(9)}; !slices.Equal(addrs, want) {
		t.Errorf("after the sorting save: %v, want %v", addrs, want)
	}
}
