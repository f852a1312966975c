package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect/inspecttest"
	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/internal/queue"
	"github.com/ftwall/ftwall/nft"
)

// writeStore writes a storefile: n sorted IPv4 peers from 11.0.0.1 seen an
// hour ago, then the given extra lines.
func writeStore(t *testing.T, n int, seen time.Time, extra ...string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("# ftwall peers v1\n")
	a := netip.MustParseAddr("11.0.0.0")
	for range n {
		a = a.Next()
		fmt.Fprintf(&b, "%s:1214 %s test\n", a, seen.UTC().Format(time.RFC3339))
	}
	for _, l := range extra {
		b.WriteString(l + "\n")
	}
	path := filepath.Join(t.TempDir(), "peers.store")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestStorefileLoad starts the service on a storefile of several load chunks
// and checks what reaches the (fake) kernel: every live peer with its
// remaining lifetime, in chunks; not the allowlisted, expired or malformed
// ones; and for an address listed twice out of order, its newest entry.
func TestStorefileLoad(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	n := 2*loadChunk + 5
	path := writeStore(t, n, now.Add(-time.Hour),
		"198.51.100.200:1214 "+now.Format(time.RFC3339)+" allowlisted",
		"198.51.100.9:1214 "+now.Add(-25*time.Hour).Format(time.RFC3339)+" expired",
		"[2001:db8:100::7]:1214 "+now.Add(-2*time.Hour).Format(time.RFC3339)+" v6",
		"not a peer line",
		"11.0.0.1:1214 "+now.Add(-time.Minute).Format(time.RFC3339)+" seen again, out of order",
	)
	cfg := baseConfig()
	cfg.Store = path
	h := start(t, cfg)
	eventually(t, "the service to start", func() bool { return strings.Contains(h.logs.String(), "storefile loaded") })
	if !strings.Contains(h.logs.String(), fmt.Sprintf("peers=%d", n+2)) {
		t.Errorf("log does not report %d peers loaded:\n%s", n+2, h.logs.String())
	}
	if !strings.Contains(h.logs.String(), "storefile line skipped") {
		t.Error("the malformed line was not reported")
	}
	loads := 0
	for _, c := range h.fw.Calls() {
		if c.Method == "LoadElements" {
			loads++
		}
	}
	if loads < 3 {
		t.Errorf("%d LoadElements calls for %d peers; want chunks of %d", loads, n+2, loadChunk)
	}
	elems, _ := h.fw.Elements(context.Background(), nft.SetPeers4)
	if len(elems) != n {
		t.Fatalf("peers4 has %d elements, want %d", len(elems), n)
	}
	for _, e := range elems {
		want := 23 * time.Hour
		if e.Addr == netip.MustParseAddr("11.0.0.1") {
			want = 24*time.Hour - time.Minute // the newest entry wins
		}
		if e.Timeout < want-2*time.Second || e.Timeout > want {
			t.Fatalf("element %v timeout %v, want %v", e.Addr, e.Timeout, want)
		}
		if a := e.Addr; a == netip.MustParseAddr("198.51.100.200") || a == netip.MustParseAddr("198.51.100.9") {
			t.Errorf("%v loaded", a)
		}
	}
	if !has(t, h.fw, nft.SetPeers6, peer6.Addr()) {
		t.Error("the IPv6 peer was not loaded")
	}
}

// TestStorefileLoadFailure makes the kernel refuse a chunk: the service must
// stop with that error (the parsing goroutine must not hang).
func TestStorefileLoadFailure(t *testing.T) {
	path := writeStore(t, 3*loadChunk, time.Now().Add(-time.Hour))
	cfg := baseConfig()
	cfg.Store = path
	fw := nft.NewFake()
	boom := errors.New("kernel says no")
	fw.FailNext("LoadElements", boom)
	logs := &lab.Buffer{}
	q := &fakeQueue{in: make(chan queue.Packet), verdicts: make(chan queue.Verdict)}
	svc, err := New(cfg, slog.New(slog.NewTextHandler(logs, nil)), Deps{
		Firewall: fw, Sender: &fakeSender{}, Interfaces: fakeIfaces{}, Signals: make(chan os.Signal),
		OpenQueue: func(queue.Config) (packetSource, error) { return q, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(context.Background()) }()
	select {
	case err := <-done:
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "storefile") {
			t.Errorf("Run = %v, want the load error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the load failed")
	}
}

// TestFinalSaveFailureIsTheStopsError: when the storefile cannot be written
// at stop (its directory is gone), Run returns an error naming it, so the
// process exits 1 instead of 0; the peers learned since the last save are
// lost and the operator must know.
func TestFinalSaveFailureIsTheStopsError(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig()
	cfg.Store = filepath.Join(dir, "peers")
	cfg.StoreInterval = time.Hour
	h := start(t, cfg)
	eventually(t, "the service to start", func() bool { return strings.Contains(h.logs.String(), "inspecting") })
	h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA")))
	eventually(t, "peer in peers4", func() bool { return has(t, h.fw, nft.SetPeers4, peer.Addr()) })
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err == nil || !strings.Contains(err.Error(), "storefile") || !strings.Contains(err.Error(), cfg.Store) {
			t.Errorf("Run after a failed final save: %v, want an error naming the storefile", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
}
