package demo

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftwall/ftwall/internal/btlab"
)

// Fatalf ends the rig's goroutine there, as in a test; run returns the
// message, and close runs every cleanup, last first, ends Context and
// removes the temporary directories.
func TestBTTFatalf(t *testing.T) {
	bt := newBTT(t.Context(), "test", nil)
	var order []string
	var dir string
	reached := false
	err := bt.run(func() {
		dir = bt.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
			t.Error(err)
		}
		bt.Cleanup(func() { order = append(order, "first") })
		bt.Cleanup(func() {
			order = append(order, "second")
			if bt.Context().Err() == nil {
				t.Error("Context not ended before the cleanups")
			}
		})
		bt.Fatalf("seeder: %v", errors.New("boom"))
		reached = true
	})
	if reached {
		t.Error("the code after Fatalf ran")
	}
	if err == nil || err.Error() != "seeder: boom" {
		t.Errorf("run = %v; want the Fatalf message", err)
	}
	if !bt.Failed() {
		t.Error("Failed() = false after Fatalf")
	}
	if len(order) != 0 {
		t.Errorf("cleanups ran before close: %v", order)
	}
	bt.close()
	bt.close() // idempotent
	if strings.Join(order, ",") != "second,first" {
		t.Errorf("cleanups ran %v; want second,first", order)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("TempDir %s left behind: %v", dir, err)
	}
	if !strings.Contains(bt.tail(), "seeder: boom") {
		t.Errorf("log tail %q lacks the Fatalf message", bt.tail())
	}
}

// Skipf ends the goroutine too; run says why in an *errBTSkipped.
func TestBTTSkipf(t *testing.T) {
	bt := newBTT(t.Context(), "test", nil)
	defer bt.close()
	err := bt.run(func() {
		bt.Skipf("programs not installed: %s", "aria2c")
		t.Error("the code after Skipf ran")
	})
	var skip *errBTSkipped
	if !errors.As(err, &skip) || skip.reason != "programs not installed: aria2c" {
		t.Errorf("run = %v; want a skip", err)
	}
	if bt.Failed() {
		t.Error("a skip counts as a failure")
	}
}

// btlab.Require skips through the adapter when the programs are missing
// (or, not as root, at once).
func TestBTTRequireSkips(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	bt := newBTT(t.Context(), "test", nil)
	defer bt.close()
	err := bt.run(func() { btlab.Require(bt, btlab.ProgOpentracker, btlab.ProgAria2) })
	var skip *errBTSkipped
	if !errors.As(err, &skip) {
		t.Fatalf("run = %v; want a skip", err)
	}
	want := "needs root"
	if os.Geteuid() == 0 {
		want = "programs not installed: mktorrent, unshare, mount, sh, cmp, opentracker, aria2c (as root: `make deps`"
	}
	if !strings.Contains(skip.reason, want) {
		t.Errorf("skip reason %q; want %q in it", skip.reason, want)
	}
}

// A panic becomes an error instead of taking the demo (and its cleanup)
// down; a Fatalf in a cleanup ends only that cleanup; a normal end is nil.
func TestBTTPanicsAndCleanups(t *testing.T) {
	bt := newBTT(context.Background(), "test", nil)
	if err := bt.run(func() { panic("oops") }); err == nil || !strings.Contains(err.Error(), "panic: oops") {
		t.Errorf("run after a panic = %v", err)
	}
	bt2 := newBTT(context.Background(), "test", nil)
	ran := false
	bt2.Cleanup(func() { ran = true })
	bt2.Cleanup(func() { bt2.Fatalf("cleanup failed") })
	if err := bt2.run(func() { bt2.Logf("fine") }); err != nil {
		t.Errorf("run = %v; want nil", err)
	}
	bt2.close()
	if !ran {
		t.Error("a cleanup after a failing one did not run")
	}
}

func TestDescribeBTPacket(t *testing.T) {
	p := btlab.Packet{Proto: "udp", Src: netip.MustParseAddrPort("10.0.1.2:6882"), Dst: netip.MustParseAddrPort("203.0.113.2:6881"),
		Payload: []byte("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe"), Kind: btlab.KindKRPCQuery}
	p.Len = len(p.Payload)
	want := "a DHT ping query (krpc-query), UDP 10.0.1.2:6882 → 203.0.113.2:6881, 56 bytes"
	if got := describeBTPacket(p); got != want {
		t.Errorf("describeBTPacket = %q; want %q", got, want)
	}
	p = btlab.Packet{Proto: "tcp", Src: netip.MustParseAddrPort("10.0.1.2:40000"), Dst: netip.MustParseAddrPort("203.0.113.2:6969"), Len: 380, Kind: btlab.KindHTTPAnnounce}
	if got := describeBTPacket(p); !strings.HasPrefix(got, "an HTTP tracker announce") || !strings.Contains(got, "TCP 10.0.1.2:40000 → 203.0.113.2:6969, 380 bytes") {
		t.Errorf("describeBTPacket = %q", got)
	}
}

func TestLastLines(t *testing.T) {
	if got := lastLines("a\nb\nc\n", 2); got != "b\nc" {
		t.Errorf("lastLines = %q", got)
	}
	if got := lastLines("a", 5); got != "a" {
		t.Errorf("lastLines = %q", got)
	}
}
