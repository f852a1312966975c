package clientdir

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ftwall/ftwall/timelock"
)

var base = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func entry(addr string, at time.Duration, reason string) Entry {
	last := base.Add(at)
	return Entry{
		Addr:         netip.MustParseAddr(addr),
		Port:         1214,
		Network:      "KaZaA",
		Protocol:     "fasttrack",
		FirstSeen:    base,
		LastEvidence: last,
		Expires:      last.Add(2 * time.Minute),
		Reason:       reason,
	}
}

func readEntry(t *testing.T, path string) Entry {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseEntry(data)
	if err != nil {
		t.Fatalf("%s: %v\n%s", path, err, data)
	}
	return e
}

func sameEntry(t *testing.T, got, want Entry) {
	t.Helper()
	if got.Addr != want.Addr || got.Port != want.Port || got.Protocol != want.Protocol || got.Network != want.Network || got.Reason != want.Reason ||
		!got.FirstSeen.Equal(want.FirstSeen) || !got.LastEvidence.Equal(want.LastEvidence) || !got.Expires.Equal(want.Expires) {
		t.Errorf("entry\n got %+v\nwant %+v", got, want)
	}
}

func TestPutWritesFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "clients") // created by Open
	d, err := Open(dir, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	e4 := entry("10.0.1.2", 0, "udp ping to 198.51.100.7:1214")
	e6 := entry("fd00:1::2", 0, "HTTP GET /.hash=")
	e6.Port, e6.Network = 0, "fileshare"
	for _, e := range []Entry{e4, e6} {
		if ok, err := d.Put(e); !ok || err != nil {
			t.Fatalf("Put(%v) = %v, %v", e.Addr, ok, err)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "10.0.1.2"))
	if err != nil {
		t.Fatal(err)
	}
	want := "# ftwall time-locked client\naddr=10.0.1.2\nport=1214\nnetwork=KaZaA\nprotocol=fasttrack\n" +
		"first_seen=2024-05-01T12:00:00Z\nlast_evidence=2024-05-01T12:00:00Z\nexpires=2024-05-01T12:02:00Z\n" +
		"reason=udp ping to 198.51.100.7:1214\n"
	if string(data) != want {
		t.Errorf("file:\n%s\nwant:\n%s", data, want)
	}
	sameEntry(t, readEntry(t, filepath.Join(dir, "fd00:1::2")), e6)
	fi, _ := os.Stat(filepath.Join(dir, "fd00:1::2"))
	if fi.Mode().Perm() != FileMode {
		t.Errorf("mode %v", fi.Mode())
	}
	all, err := ReadAll(dir)
	if err != nil || len(all) != 2 {
		t.Errorf("ReadAll = %v, %v", all, err)
	}
}

func TestPutRateLimit(t *testing.T) {
	dir := t.TempDir()
	d, _ := Open(dir, 10*time.Second)
	path := filepath.Join(dir, "10.0.1.2")
	steps := []struct {
		e     Entry
		write bool
	}{
		{entry("10.0.1.2", 0, "ping"), true},
		{entry("10.0.1.2", 0, "ping"), false},
		{entry("10.0.1.2", 5*time.Second, "ping"), false},
		{entry("10.0.1.2", 9*time.Second, "ping"), false},
		{entry("10.0.1.2", 10*time.Second, "ping"), true},
		{entry("10.0.1.2", 11*time.Second, "probe answered"), true}, // reason changed
		{entry("10.0.1.2", 12*time.Second, "probe answered"), false},
		{func() Entry { e := entry("10.0.1.2", 13*time.Second, "probe answered"); e.Port = 4000; return e }(), true},
		{entry("::ffff:10.0.1.2", 30*time.Second, "ping"), true},
	}
	var lastWritten Entry
	for i, s := range steps {
		wrote, err := d.Put(s.e)
		if err != nil || wrote != s.write {
			t.Fatalf("step %d: Put = %v, %v, want %v", i, wrote, err, s.write)
		}
		if wrote {
			lastWritten = s.e
			lastWritten.Addr = lastWritten.Addr.Unmap()
		}
		sameEntry(t, readEntry(t, path), lastWritten)
	}
	// Interval 0: every change is written, an unchanged entry is not.
	d0, _ := Open(t.TempDir(), 0)
	for i, s := range []struct {
		at    time.Duration
		write bool
	}{{0, true}, {0, false}, {time.Millisecond, true}} {
		if wrote, _ := d0.Put(entry("10.0.1.2", s.at, "x")); wrote != s.write {
			t.Errorf("interval 0, step %d: wrote %v", i, wrote)
		}
	}
	if _, err := d.Put(Entry{}); err == nil {
		t.Error("Put of an invalid address succeeded")
	}
}

func TestRemove(t *testing.T) {
	dir := t.TempDir()
	d, _ := Open(dir, time.Minute)
	d.Put(entry("fd00:1::2", 0, "x"))
	if err := d.Remove(netip.MustParseAddr("fd00:1::2")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "fd00:1::2")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file still there: %v", err)
	}
	if err := d.Remove(netip.MustParseAddr("fd00:1::2")); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	// After a removal the next Put writes again, even within the interval.
	if wrote, _ := d.Put(entry("fd00:1::2", time.Second, "x")); !wrote {
		t.Error("Put after Remove not written")
	}
}

func TestReconcile(t *testing.T) {
	dir := t.TempDir()
	foreign := []string{"README", "notes.txt", "010.0.0.1", "FD00::9", "::ffff:10.0.9.9", ".hidden", ".10.0.1.5.swp", ".README.tmp-1"}
	stale := []string{"10.0.1.9", "fd00:1::9", ".10.0.1.9.tmp-123", ".fd00:1::9.tmp-9"}
	kept := []string{"10.0.1.2"} // still locked: rewritten
	for _, n := range slices.Concat(foreign, stale, kept) {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("someone's data\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "10.0.1.7"), 0o755); err != nil { // a directory named like a client
		t.Fatal(err)
	}
	d, err := Open(dir, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	current := []Entry{entry("10.0.1.2", 0, "restored"), entry("fd00:2::2", 0, "restored")}
	if err := d.Reconcile(current); err != nil {
		t.Fatal(err)
	}
	var names []string
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		names = append(names, de.Name())
	}
	want := slices.Concat(foreign, []string{"10.0.1.2", "10.0.1.7", "fd00:2::2"})
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("directory after Reconcile:\n got %v\nwant %v", names, want)
	}
	for _, n := range foreign {
		if data, _ := os.ReadFile(filepath.Join(dir, n)); string(data) != "someone's data\n" {
			t.Errorf("foreign file %s changed", n)
		}
	}
	sameEntry(t, readEntry(t, filepath.Join(dir, "10.0.1.2")), current[0])
	sameEntry(t, readEntry(t, filepath.Join(dir, "fd00:2::2")), current[1])
	// Reconciled entries count as written: an unchanged Put does nothing.
	if wrote, _ := d.Put(current[0]); wrote {
		t.Error("Put right after Reconcile rewrote the file")
	}
}

func TestOpenErrors(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o600)
	if _, err := Open(f, 0); err == nil || !strings.Contains(err.Error(), f) {
		t.Errorf("Open(file) = %v", err)
	}
	if _, err := Open(filepath.Join(f, "sub"), 0); err == nil {
		t.Error("Open under a file succeeded")
	}
}

// TestWatcherNeverSeesHalfAFile reads a client file continuously while it is
// rewritten: every read must be a complete, parseable file.
func TestWatcherNeverSeesHalfAFile(t *testing.T) {
	dir := t.TempDir()
	d, _ := Open(dir, 0)
	long := strings.Repeat("r", 20000) // several pages
	d.Put(entry("10.0.1.2", 0, long))
	path := filepath.Join(dir, "10.0.1.2")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	reads := 0
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("read: %v", err)
				return
			}
			e, err := ParseEntry(data)
			if err != nil || len(e.Reason) != len(long) {
				t.Errorf("partial file (%d bytes): %v", len(data), err)
				return
			}
			reads++
		}
	}()
	for i := 1; i <= 500; i++ {
		if _, err := d.Put(entry("10.0.1.2", time.Duration(i)*time.Second, long)); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d complete reads during 500 rewrites", reads)
	if des, _ := os.ReadDir(dir); len(des) != 1 {
		t.Errorf("leftover files: %v", des)
	}
}

func TestFromClient(t *testing.T) {
	tr := timelock.New(timelock.Config{TimeLock: 2 * time.Minute})
	c, _ := tr.Evidence(base, netip.MustParseAddr("10.0.1.2"), "fasttrack", 1214, []byte("KaZaA"), "udp ping")
	sameEntry(t, FromClient(c), entry("10.0.1.2", 0, "udp ping"))
}

func TestParseFileName(t *testing.T) {
	for name, ok := range map[string]bool{
		"10.0.1.2": true, "fd00:1::2": true, "2001:db8::1": true,
		"FD00:1::2": false, "fd00:1:0::2": false, "010.0.1.2": false, "::ffff:10.0.1.2": false,
		"fe80::1%eth0": false, "10.0.1.2.tmp": false, "": false, "README": false,
	} {
		if _, got := ParseFileName(name); got != ok {
			t.Errorf("ParseFileName(%q) = %v, want %v", name, got, ok)
		}
	}
	if FileName(netip.MustParseAddr("fe80::1%eth0")) != "fe80::1" {
		t.Error("zone kept in file name")
	}
}
