package nft

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect"
)

// fakeClock is a settable clock for the Fake.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestFake() (*Fake, *fakeClock) {
	f := NewFake()
	c := &fakeClock{t: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
	f.SetClock(c.now)
	return f, c
}

func TestFakeSetupIdempotentAndKeepsElements(t *testing.T) {
	ctx := context.Background()
	f, clock := newTestFake()
	if err := f.AddElements(ctx, SetPeers4, []Element{{Addr: addr("198.51.100.1")}}); !errors.Is(err, ErrNoTable) {
		t.Errorf("AddElements without a table: %v, want ErrNoTable", err)
	}
	if _, err := f.Elements(ctx, SetPeers4); !errors.Is(err, ErrNoTable) {
		t.Errorf("Elements without a table: %v, want ErrNoTable", err)
	}
	cfg := validConfig()
	res, err := f.Setup(ctx, cfg, SetupOptions{})
	if err != nil || !reflect.DeepEqual(res, SetupResult{Backend: BackendCompat, Created: true, Changed: true, NewSets: writableSets()}) {
		t.Fatalf("first Setup = %+v, %v", res, err)
	}
	if err := f.AddElements(ctx, SetPeers4, []Element{{Addr: addr("198.51.100.1")}, {Addr: addr("198.51.100.2"), Timeout: time.Hour}}); err != nil {
		t.Fatal(err)
	}
	if err := f.AddElements(ctx, SetLocked6, []Element{{Addr: addr("fd00:1::2")}}); err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Minute)
	res, err = f.Setup(ctx, cfg, SetupOptions{})
	if err != nil || res.Changed || res.Created {
		t.Fatalf("second Setup = %+v, %v", res, err)
	}
	cfg.LockAction = LockDrop
	if res, err = f.Setup(ctx, cfg, SetupOptions{}); err != nil || !res.Changed || res.Created {
		t.Fatalf("changed Setup = %+v, %v", res, err)
	}
	els, err := f.Elements(ctx, SetPeers4)
	if err != nil {
		t.Fatal(err)
	}
	want := []Element{
		{Addr: addr("198.51.100.1"), Expires: 24*time.Hour - time.Minute},
		{Addr: addr("198.51.100.2"), Timeout: time.Hour, Expires: 59 * time.Minute},
	}
	if !reflect.DeepEqual(els, want) {
		t.Errorf("elements %v, want %v", els, want)
	}

	// A new default timeout: elements keep their remaining lifetime.
	cfg.PeerTimeout = 0
	if _, err := f.Setup(ctx, cfg, SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	els, _ = f.Elements(ctx, SetPeers4)
	if len(els) != 2 || els[0].Expires != 24*time.Hour-time.Minute || els[0].Timeout != els[0].Expires {
		t.Errorf("after timeout change: %v", els)
	}

	// Expiry follows the clock.
	clock.advance(59 * time.Minute)
	els, _ = f.Elements(ctx, SetPeers4)
	if len(els) != 1 || els[0].Addr != addr("198.51.100.1") {
		t.Errorf("after an hour: %v", els)
	}

	// Reset empties peers and locked sets, keeps the allow sets.
	cfg.Allow = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	if res, err := f.Setup(ctx, cfg, SetupOptions{Reset: true}); err != nil || !res.Changed {
		t.Fatalf("reset Setup %+v %v", res, err)
	}
	st, err := f.Status(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st.Sets {
		want := 0
		if s.Name == SetAllow4 {
			want = 1
		}
		if s.Count != want {
			t.Errorf("set %s count %d after reset, want %d", s.Name, s.Count, want)
		}
	}
}

func TestFakeRefreshAndDelete(t *testing.T) {
	ctx := context.Background()
	f, clock := newTestFake()
	cfg := validConfig()
	if _, err := f.Setup(ctx, cfg, SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	a := addr("10.0.1.2")
	if err := f.AddElements(ctx, SetLocked4, []Element{{Addr: a}}); err != nil {
		t.Fatal(err)
	}
	clock.advance(100 * time.Second)
	if err := f.AddElements(ctx, SetLocked4, []Element{{Addr: a}}); err != nil {
		t.Fatal(err)
	}
	els, _ := f.Elements(ctx, SetLocked4)
	if len(els) != 1 || els[0].Expires != cfg.TimeLock {
		t.Errorf("refresh did not restart the countdown: %v", els)
	}
	if err := f.DeleteElements(ctx, SetLocked4, []netip.Addr{a, addr("10.0.1.3")}); err != nil {
		t.Fatalf("delete with an absent element: %v", err)
	}
	if els, _ := f.Elements(ctx, SetLocked4); len(els) != 0 {
		t.Errorf("after delete: %v", els)
	}
	if err := f.AddElements(ctx, SetAllow4, []Element{{Addr: a}}); err == nil {
		t.Error("AddElements to allow4 accepted")
	}
	if err := f.AddElements(ctx, SetPeers6, []Element{{Addr: a}}); err == nil {
		t.Error("IPv4 address accepted for peers6")
	}
}

func TestFakeStatusCallsAndFailures(t *testing.T) {
	ctx := context.Background()
	f, _ := newTestFake()
	st, err := f.Status(ctx, 3)
	if err != nil || st.Present {
		t.Fatalf("Status without table = %+v %v", st, err)
	}
	f.SetNativeQueue(true)
	cfg := validConfig()
	if res, err := f.Setup(ctx, cfg, SetupOptions{}); err != nil || res.Backend != BackendNative {
		t.Fatalf("Setup %+v %v", res, err)
	}
	var elems []Element
	for i := 1; i <= 5; i++ {
		elems = append(elems, Element{Addr: netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})})
	}
	if err := f.AddElements(ctx, SetPeers4, elems); err != nil {
		t.Fatal(err)
	}
	f.SetCounter(RuleToPeers4, CounterValue{Packets: 3, Bytes: 180})
	f.SetCounter(RuleToPeers6, CounterValue{Packets: 1, Bytes: 80})
	f.SetCounter(ruleFTPing, CounterValue{Packets: 7, Bytes: 7 * 40})
	st, err = f.Status(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Present || st.Backend != BackendNative || st.Sets[0].Count != 5 || len(st.Sets[0].Sample) != 3 {
		t.Errorf("status %+v", st)
	}
	if st.DroppedToPeers != (CounterValue{4, 260}) || st.Queued.Packets != 7 {
		t.Errorf("sums %+v %+v", st.DroppedToPeers, st.Queued)
	}
	// No --allow: no allowlist rules; forward 1, from_lan 2 (one per
	// transport), from_lan_udp's first-byte rule, enforce 3, enforce_lan
	// 4, lock_refuse 2×3, peer_drop 2×3, and one queue rule per
	// prefilter, the input hook's last.
	q := builtinQueue()
	if len(st.Counters) != 23+len(q) || st.Counters[len(st.Counters)-1].Rule != q[len(q)-1].ID() || q[len(q)-1].Hook != inspect.HookInput {
		t.Errorf("counters %+v", st.Counters)
	}

	boom := errors.New("boom")
	f.FailNext("AddElements", boom)
	if err := f.AddElements(ctx, SetPeers4, elems); !errors.Is(err, boom) {
		t.Errorf("injected error: %v", err)
	}
	if err := f.AddElements(ctx, SetPeers4, elems); err != nil {
		t.Errorf("error injected twice: %v", err)
	}

	f.SetNativeQueue(false)
	cfg.Backend = BackendNative
	if _, err := f.Setup(ctx, cfg, SetupOptions{}); err == nil || !strings.Contains(err.Error(), "nft_queue") {
		t.Errorf("native Setup without nft_queue: %v", err)
	}
	if _, err := f.Setup(ctx, Config{}, SetupOptions{}); err == nil {
		t.Error("invalid config accepted")
	}

	calls := f.Calls()
	var methods []string
	for _, c := range calls {
		methods = append(methods, c.Method)
	}
	want := []string{"Status", "Setup", "AddElements", "Status", "AddElements", "AddElements", "Setup", "Setup"}
	if !reflect.DeepEqual(methods, want) {
		t.Errorf("calls %v, want %v", methods, want)
	}
	if calls[2].Set != SetPeers4 || len(calls[2].Elements) != 5 {
		t.Errorf("recorded call %+v", calls[2])
	}
	f.ResetCalls()
	if removed, err := f.Teardown(ctx); !removed || err != nil {
		t.Errorf("Teardown %v %v", removed, err)
	}
	if removed, err := f.Teardown(ctx); removed || err != nil {
		t.Errorf("second Teardown %v %v", removed, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Status(ctx, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Status after Close: %v", err)
	}
	if len(f.Calls()) != 4 {
		t.Errorf("calls after reset: %+v", f.Calls())
	}
}
