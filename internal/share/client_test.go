package share

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ftwall/ftwall/internal/share/sharetest"
)

// TestServerVersion: the installed server is one this client works with:
// 2.9 or later (the ordered pull consumer and the consumer-create subjects
// with a name need 2.9; no per-key TTL is used, which 2.9 lacks).
func TestServerVersion(t *testing.T) {
	v := sharetest.Version(t)
	t.Logf("testing against %s", v)
	_, num, ok := strings.Cut(v, " v")
	var major, minor int
	if !ok {
		t.Fatalf("cannot read the version in %q", v)
	}
	if _, err := fmt.Sscanf(num, "%d.%d", &major, &minor); err != nil {
		t.Fatalf("cannot read the version in %q: %v", v, err)
	}
	if major < 2 || (major == 2 && minor < 9) {
		t.Fatalf("nats-server %d.%d: this client needs 2.9 or later", major, minor)
	}
}

func openT(t testing.TB, url string, mode Mode, name string, mut ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{URLs: []string{url}, Mode: mode, Name: name, PeerTTL: time.Hour, LockTTL: 2 * time.Minute}
	for _, m := range mut {
		m(&cfg)
	}
	c, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c
}

// collect reads batches until want entries arrived (or the time is up).
func collect(t *testing.T, c *Client, want int, within time.Duration) ([]Entry, []Batch) {
	t.Helper()
	var es []Entry
	var bs []Batch
	deadline := time.After(within)
	for len(es) < want {
		select {
		case b := <-c.Updates():
			bs = append(bs, b)
			es = append(es, b.Entries...)
		case <-deadline:
			t.Fatalf("received %d entries within %v, want %d: %+v", len(es), within, want, es)
		}
	}
	return es, bs
}

func waitLoaded(t *testing.T, c *Client) []Entry {
	t.Helper()
	var es []Entry
	kinds := 1
	if c.Mode().SharesLocks() {
		kinds = 2
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case b := <-c.Updates():
			if !b.Initial && len(b.Entries) > 0 {
				t.Fatalf("live batch before the initial contents were complete: %+v", b)
			}
			es = append(es, b.Entries...)
			if b.Loaded {
				kinds--
			}
			if kinds == 0 {
				if !c.Stats().Received {
					t.Fatal("every bucket delivered its contents, Stats().Received is false")
				}
				return es
			}
		case <-deadline:
			t.Fatalf("initial contents not loaded: %+v", c.Stats())
		}
	}
}

var (
	peerA = netip.MustParseAddr("198.51.100.7")
	peerB = netip.MustParseAddr("2001:db8:100::9")
	lanC  = netip.MustParseAddr("10.0.1.2")
)

func TestPublishReceiveDelete(t *testing.T) {
	srv := sharetest.Start(t)
	a := openT(t, srv.URL, ModeAll, "gw-a")
	b := openT(t, srv.URL, ModeAll, "gw-b")
	waitLoaded(t, a)
	waitLoaded(t, b)

	a.Publish(Entry{Kind: KindPeer, Addr: peerA, Timeout: time.Hour, Protocol: "fasttrack", Reason: "ping"})
	a.Publish(Entry{Kind: KindPeer, Addr: peerB, Timeout: time.Hour, Protocol: "bittorrent", Reason: "dht"})
	a.Publish(Entry{Kind: KindLock, Addr: lanC, Timeout: 2 * time.Minute, Protocol: "fasttrack", Reason: "ping", Probe: "proto=fasttrack port=1214"})
	es, _ := collect(t, b, 3, 5*time.Second)
	got := map[netip.Addr]Entry{}
	for _, e := range es {
		got[e.Addr] = e
	}
	if e := got[peerA]; e.Kind != KindPeer || e.Gateway != "gw-a" || e.Protocol != "fasttrack" || e.Timeout != time.Hour || e.Stored.IsZero() {
		t.Errorf("peer entry = %+v", e)
	}
	if e := got[lanC]; e.Kind != KindLock || e.Probe != "proto=fasttrack port=1214" {
		t.Errorf("lock entry = %+v", e)
	}
	// a does not get its own live entries back.
	select {
	case bt := <-a.Updates():
		t.Errorf("publisher received its own entries: %+v", bt)
	case <-time.After(300 * time.Millisecond):
	}
	if a.Stats().Echoes != 3 {
		t.Errorf("echoes = %d, want 3", a.Stats().Echoes)
	}

	a.Delete(KindPeer, peerA)
	es, _ = collect(t, b, 1, 5*time.Second)
	if !es[0].Deleted || es[0].Addr != peerA {
		t.Errorf("deletion = %+v", es[0])
	}

	// A gateway that starts later loads the contents (its own included).
	c := openT(t, srv.URL, ModeAll, "gw-a")
	init := waitLoaded(t, c)
	seen := map[netip.Addr]bool{}
	for _, e := range init {
		seen[e.Addr] = !e.Deleted
	}
	if !seen[peerB] || !seen[lanC] || seen[peerA] {
		t.Errorf("initial contents = %+v, want peerB and the lock, peerA deleted", init)
	}
	if st := a.Stats(); st.Published != 4 || st.Dropped != 0 || !st.Connected || st.Backlog != 0 {
		t.Errorf("publisher stats = %+v", st)
	}
}

func TestReceiveModePublishesNothing(t *testing.T) {
	srv := sharetest.Start(t)
	a := openT(t, srv.URL, ModePeers, "gw-a")
	waitLoaded(t, a)
	r := openT(t, srv.URL, ModeReceive, "gw-r")
	waitLoaded(t, r)
	r.Publish(Entry{Kind: KindPeer, Addr: peerA, Timeout: time.Hour})
	r.Delete(KindPeer, peerB)
	a.Publish(Entry{Kind: KindPeer, Addr: peerB, Timeout: time.Hour})
	a.Publish(Entry{Kind: KindLock, Addr: lanC, Timeout: time.Hour}) // mode peers shares no lock
	es, _ := collect(t, r, 1, 5*time.Second)
	if es[0].Addr != peerB {
		t.Errorf("received %+v, want peerB only", es)
	}
	select {
	case bt := <-r.Updates():
		t.Errorf("unexpected %+v", bt)
	case <-time.After(300 * time.Millisecond):
	}
	if st := r.Stats(); st.Published != 0 || st.Backlog != 0 {
		t.Errorf("receive mode published: %+v", st)
	}
	// The locks bucket was never created in mode peers.
	js := sharetest.JetStream(t, srv.URL, srv.ClientOptions()...)
	if _, err := js.KeyValue(context.Background(), DefaultLocksBucket); err == nil {
		t.Error("mode peers created the locks bucket")
	}
}

func TestOutageBacklogAndResume(t *testing.T) {
	srv := sharetest.Start(t)
	a := openT(t, srv.URL, ModePeers, "gw-a", func(c *Config) { c.Backlog = 50 })
	b := openT(t, srv.URL, ModePeers, "gw-b")
	waitLoaded(t, a)
	waitLoaded(t, b)
	a.Publish(Entry{Kind: KindPeer, Addr: addrN(1), Timeout: time.Hour})
	collect(t, b, 1, 5*time.Second)
	// b can hold the entry before a has read the server's acknowledgement;
	// a publish still unacknowledged when the server stops is put back
	// into the backlog and retried, and would take one of its 50 places.
	deadline := time.Now().Add(5 * time.Second)
	for a.Stats().Published != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("first publish never acknowledged: %+v", a.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}

	srv.Stop()
	deadline = time.Now().Add(10 * time.Second)
	for a.Stats().Connected {
		if time.Now().After(deadline) {
			t.Fatal("still connected after the server stopped")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Learned while the server is away: 80 entries into a backlog of 50.
	for i := 100; i < 180; i++ {
		a.Publish(Entry{Kind: KindPeer, Addr: addrN(i), Timeout: time.Hour})
	}
	if st := a.Stats(); st.Dropped != 30 || st.Backlog != 50 {
		t.Errorf("during the outage: %+v, want 30 dropped and 50 waiting", st)
	}
	srv.Restart()
	es, _ := collect(t, b, 50, 15*time.Second)
	for _, e := range es {
		if e.Addr.Compare(addrN(130)) < 0 {
			t.Errorf("received %s, which was dropped as one of the oldest", e.Addr)
		}
	}
	if st := a.Stats(); st.Backlog != 0 || !st.Connected || st.Reconnects == 0 {
		t.Errorf("after the outage: %+v", st)
	}
}

func TestUndecodableEntriesAreCountedNotDelivered(t *testing.T) {
	srv := sharetest.Start(t)
	a := openT(t, srv.URL, ModePeers, "gw-a")
	waitLoaded(t, a)
	kv := srv.KV(t, DefaultPeersBucket)
	ctx := context.Background()
	for k, v := range map[string]string{"not-an-address": `{"v":1,"timeout":60}`, "198.51.100.8": `garbage`, "2001_0db8__1": `{"v":1}`} {
		if _, err := kv.Put(ctx, k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := kv.Put(ctx, "198.51.100.9", []byte(`{"v":1,"timeout":60,"gateway":"by-hand"}`)); err != nil {
		t.Fatal(err)
	}
	es, _ := collect(t, a, 1, 5*time.Second)
	if len(es) != 1 || es[0].Addr != netip.MustParseAddr("198.51.100.9") {
		t.Errorf("delivered %+v, want only the valid entry", es)
	}
	if st := a.Stats(); st.Undecodable != 3 {
		t.Errorf("undecodable = %d, want 3", st.Undecodable)
	}
}

// TestLostConsumerIsMadeAgain: the server deletes the gateway's bucket
// reader (as happens when its server dies); the client notices, makes a
// new one from the last revision it saw, and entries stored meanwhile and
// after arrive.
func TestLostConsumerIsMadeAgain(t *testing.T) {
	srv := sharetest.Start(t)
	b := openT(t, srv.URL, ModePeers, "gw-b")
	waitLoaded(t, b)
	kv := srv.KV(t, DefaultPeersBucket)
	put := func(a netip.Addr) {
		t.Helper()
		if _, err := kv.Put(t.Context(), Key(a), []byte(`{"v":1,"timeout":3600,"gateway":"gw-a"}`)); err != nil {
			t.Fatal(err)
		}
	}
	first := netip.MustParseAddr("198.51.100.61")
	put(first)
	if es, _ := collect(t, b, 1, 5*time.Second); es[0].Addr != first {
		t.Fatalf("received %+v, want %s", es[0], first)
	}

	js := sharetest.JetStream(t, srv.URL, srv.ClientOptions()...)
	st, err := js.Stream(t.Context(), "KV_"+DefaultPeersBucket)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range st.ConsumerNames(t.Context()).Name() {
		names = append(names, n)
	}
	if len(names) != 1 {
		t.Fatalf("the bucket has consumers %v, want the gateway's one", names)
	}
	if err := st.DeleteConsumer(t.Context(), names[0]); err != nil {
		t.Fatal(err)
	}
	second := netip.MustParseAddr("198.51.100.62")
	put(second)
	es, _ := collect(t, b, 1, 10*time.Second)
	if es[0].Addr != second {
		t.Errorf("after the reader was lost received %+v, want only %s (nothing twice)", es, second)
	}
	if n := b.Stats().ConsumersLost; n != 1 {
		t.Errorf("consumers lost = %d, want 1", n)
	}
	third := netip.MustParseAddr("198.51.100.63")
	put(third)
	if es, _ := collect(t, b, 1, 5*time.Second); es[0].Addr != third {
		t.Errorf("received %+v, want %s", es[0], third)
	}
}
