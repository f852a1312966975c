package service

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect/inspecttest"
	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/internal/queue"
	"github.com/ftwall/ftwall/nft"
)

// fakeRuleWatcher delivers a notification whenever the test says so, and
// one after every Setup the Fake records when echo is set (ftwall's own
// writes notify like anyone else's).
type fakeRuleWatcher struct {
	events chan nft.Change
}

func (w *fakeRuleWatcher) Run(ctx context.Context, changed func(nft.Change)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case ch := <-w.events:
			changed(ch)
		}
	}
}

// startHeal starts the service on fw with w as its ruleset watcher.
func startHeal(t *testing.T, cfg Config, fw *nft.Fake, w *fakeRuleWatcher) *harness {
	t.Helper()
	h := &harness{fw: fw, snd: &fakeSender{}, q: &fakeQueue{in: make(chan queue.Packet), verdicts: make(chan queue.Verdict)},
		done: make(chan error, 1), hup: make(chan os.Signal, 1), logs: &lab.Buffer{}}
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	deps := Deps{
		Firewall: h.fw, Sender: h.snd, Interfaces: fakeIfaces{}, Signals: h.hup,
		OpenQueue: func(queue.Config) (packetSource, error) { return h.q, nil },
		DialProbe: h.dial, ProtectFiles: &ProtectFiles{},
	}
	if w != nil {
		deps.WatchRuleset = func() (rulesetWatcher, error) { return w, nil }
	}
	svc, err := New(cfg, log, deps)
	if err != nil {
		t.Fatal(err)
	}
	h.svc = svc
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- svc.Run(ctx) }()
	t.Cleanup(func() { h.stop(t) })
	eventually(t, "the service to inspect", func() bool { return strings.Contains(h.logs.String(), "msg=inspecting") })
	return h
}

func healConfig(t *testing.T, storePeers int) Config {
	cfg := baseConfig()
	cfg.Ruleset.TimeLock = 10 * time.Minute
	cfg.StoreInterval = time.Hour // what is learned stays unsaved
	if storePeers > 0 {
		cfg.Store = writeStore(t, storePeers, time.Now().Add(-time.Hour))
	}
	return cfg
}

func elementOf(t *testing.T, fw *nft.Fake, set string, a netip.Addr) (nft.Element, bool) {
	t.Helper()
	elems, err := fw.Elements(context.Background(), set)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range elems {
		if e.Addr == a {
			return e, true
		}
	}
	return nft.Element{}, false
}

func countCalls(fw *nft.Fake, method string) int {
	n := 0
	for _, c := range fw.Calls() {
		if c.Method == method {
			n++
		}
	}
	return n
}

func repairs(h *harness) int {
	return strings.Count(h.logs.String(), "removed or changed by someone else")
}

// learnAndLock makes the service learn peer and lock client.
func learnAndLock(t *testing.T, h *harness) {
	t.Helper()
	h.q.send(t, queue.HookForward, ifLAN, inspecttest.UDP(client, peer, inspecttest.Ping("KaZaA")))
	eventually(t, "peer learned", func() bool { return has(t, h.fw, nft.SetPeers4, peer.Addr()) })
	eventually(t, "client locked", func() bool { return has(t, h.fw, nft.SetLocked4, client.Addr()) })
}

// TestRepairAfterTableRemoved: the table deleted by someone else comes back
// with the storefile's peers, the peer learned since the last save and the
// lock with its comment and remaining time; the repair's own notifications
// do not repair again.
func TestRepairAfterTableRemoved(t *testing.T) {
	cfg := healConfig(t, 20)
	fw := nft.NewFake()
	w := &fakeRuleWatcher{events: make(chan nft.Change, 16)}
	h := startHeal(t, cfg, fw, w)
	learnAndLock(t, h)
	before, _ := elementOf(t, fw, nft.SetLocked4, client.Addr())

	fw.RemoveTable()
	t0 := time.Now()
	w.events <- nft.Change{What: "deltable", PortID: 4242}
	eventually(t, "repair logged", func() bool { return repairs(h) == 1 })
	took := time.Since(t0)
	if took > 2*time.Second {
		t.Errorf("repair took %v after the notification", took)
	}
	for i := range 20 {
		a := netip.MustParseAddr("11.0.0.1")
		for range i {
			a = a.Next()
		}
		e, ok := elementOf(t, fw, nft.SetPeers4, a)
		if !ok {
			t.Fatalf("storefile peer %v not restored", a)
		}
		if e.Timeout < 23*time.Hour-5*time.Second || e.Timeout > 23*time.Hour {
			t.Errorf("peer %v restored with timeout %v, want its remaining ~23h", a, e.Timeout)
		}
	}
	if !has(t, fw, nft.SetPeers4, peer.Addr()) {
		t.Error("the peer learned since the last save was not restored")
	}
	e, ok := elementOf(t, fw, nft.SetLocked4, client.Addr())
	if !ok {
		t.Fatal("lock not restored")
	}
	if e.Comment != before.Comment || e.Comment == "" {
		t.Errorf("lock comment %q, want %q", e.Comment, before.Comment)
	}
	if e.Expires > before.Expires || e.Expires < before.Expires-5*time.Second {
		t.Errorf("lock restored with %v left, had %v", e.Expires, before.Expires)
	}
	logs := h.logs.String()
	for _, want := range []string{"level=WARN", "peers_restored=21", "locks_restored=1", "what=\"table absent\"", "found_by=\"nftables notification\""} {
		if !strings.Contains(logs, want) {
			t.Errorf("repair log lacks %s:\n%s", want, logs)
		}
	}

	// The repair's own writes notify: a check each, no repair.
	setups := countCalls(fw, "Setup")
	for range 10 {
		w.events <- nft.Change{What: "newrule"}
	}
	w.events <- nft.Change{Overflow: true}
	time.Sleep(1500 * time.Millisecond) // and a periodic check
	if n := repairs(h); n != 1 {
		t.Errorf("%d repairs after ftwall's own notifications, want 1", n)
	}
	if n := countCalls(fw, "Setup"); n != setups {
		t.Errorf("%d Setup calls after ftwall's own notifications", n-setups)
	}
	if n := countCalls(fw, "Check"); n < 2 {
		t.Errorf("%d checks, want the notifications and the ticker to check", n)
	}
}

// TestRepairWithoutWatcher: with no notifications at all, the periodic
// check finds a deleted rule within a second and a half; the sets keep
// their elements (nothing to refill).
func TestRepairWithoutWatcher(t *testing.T) {
	fw := nft.NewFake()
	h := startHeal(t, healConfig(t, 3), fw, nil)
	learnAndLock(t, h)
	loads := countCalls(fw, "LoadElements")
	fw.RemoveRule(2)
	t0 := time.Now()
	eventually(t, "repair logged", func() bool { return repairs(h) == 1 })
	if d := time.Since(t0); d > 1500*time.Millisecond {
		t.Errorf("periodic check repaired after %v", d)
	}
	if d, err := fw.Check(context.Background()); err != nil || !d.InSync {
		t.Fatalf("after repair: %+v, %v", d, err)
	}
	if n := countCalls(fw, "LoadElements"); n != loads {
		t.Errorf("%d element loads for a deleted rule; the sets were intact", n-loads)
	}
	if !strings.Contains(h.logs.String(), "found_by=\"periodic check\"") || !strings.Contains(h.logs.String(), "peers_restored=0") {
		t.Errorf("repair log:\n%s", h.logs.String())
	}
	if !has(t, fw, nft.SetPeers4, peer.Addr()) || !has(t, fw, nft.SetLocked4, client.Addr()) {
		t.Error("elements lost")
	}
}

// TestRepairOneSet: a peers set deleted alone is refilled; the locks are
// left as they are.
func TestRepairOneSet(t *testing.T) {
	fw := nft.NewFake()
	w := &fakeRuleWatcher{events: make(chan nft.Change, 1)}
	h := startHeal(t, healConfig(t, 5), fw, w)
	learnAndLock(t, h)
	fw.RemoveSet(nft.SetPeers4)
	w.events <- nft.Change{What: "delset"}
	eventually(t, "repair logged", func() bool { return repairs(h) == 1 })
	if !strings.Contains(h.logs.String(), "peers_restored=6") || !strings.Contains(h.logs.String(), "locks_restored=0") {
		t.Errorf("repair log:\n%s", h.logs.String())
	}
	if !has(t, fw, nft.SetPeers4, peer.Addr()) {
		t.Error("peer not restored")
	}
}

// TestRepairNoStore: without a storefile the peers written lately are
// restored.
func TestRepairNoStore(t *testing.T) {
	fw := nft.NewFake()
	w := &fakeRuleWatcher{events: make(chan nft.Change, 1)}
	h := startHeal(t, healConfig(t, 0), fw, w)
	learnAndLock(t, h)
	fw.RemoveTable()
	w.events <- nft.Change{What: "deltable"}
	eventually(t, "repair logged", func() bool { return repairs(h) == 1 })
	if !has(t, fw, nft.SetPeers4, peer.Addr()) || !has(t, fw, nft.SetLocked4, client.Addr()) {
		t.Error("peer or lock not restored")
	}
}

// TestStopDoesNotRepair: --teardown-on-exit removes the table and nothing
// puts it back, however many notifications arrive meanwhile.
func TestStopDoesNotRepair(t *testing.T) {
	cfg := healConfig(t, 2)
	cfg.TeardownOnExit = true
	fw := nft.NewFake()
	w := &fakeRuleWatcher{events: make(chan nft.Change, 64)}
	h := startHeal(t, cfg, fw, w)
	learnAndLock(t, h)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case w.events <- nft.Change{What: "deltable"}:
			default:
				time.Sleep(time.Millisecond)
			}
		}
	}()
	h.stop(t)
	close(stop)
	wg.Wait()
	st, err := fw.Status(context.Background(), 0)
	if err != nil || st.Present {
		t.Fatalf("table after a teardown on exit: %+v, %v", st, err)
	}
	if n := repairs(h); n != 0 {
		t.Errorf("%d repairs around the service's own teardown", n)
	}
}

// TestReloadRefillsMissingSets: a SIGHUP after the table vanished re-creates
// it with its elements (it used to come back empty).
func TestReloadRefillsMissingSets(t *testing.T) {
	cfg := healConfig(t, 4)
	cfg.Reload = func() (Config, error) {
		next := baseConfig()
		next.Ruleset.TimeLock = cfg.Ruleset.TimeLock
		next.Store, next.StoreInterval = cfg.Store, cfg.StoreInterval
		return next, nil
	}
	fw := nft.NewFake()
	// A watcher that never fires; the reload or the periodic check,
	// whichever comes first, restores the elements.
	h := startHeal(t, cfg, fw, &fakeRuleWatcher{events: make(chan nft.Change)})
	learnAndLock(t, h)
	fw.RemoveTable()
	h.hup <- os.Interrupt
	holds := func(set string, a netip.Addr) bool {
		elems, err := fw.Elements(context.Background(), set)
		return err == nil && slices.ContainsFunc(elems, func(e nft.Element) bool { return e.Addr == a })
	}
	eventually(t, "table back", func() bool {
		return holds(nft.SetPeers4, peer.Addr()) && holds(nft.SetLocked4, client.Addr()) &&
			holds(nft.SetPeers4, netip.MustParseAddr("11.0.0.4"))
	})
}
