package queue_test

import (
	"context"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/fasttrack"
	"github.com/ftwall/ftwall/inspect/registry"
	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/internal/queue"
	"github.com/ftwall/ftwall/nft"
)

// TestBatchedVerdictsUnderFlood floods the router's queue with ping-shaped
// datagrams, half of which the handler drops, and checks that exactly the
// accepted ones arrive: batch verdicts must never cover a packet of the other
// verdict.
func TestBatchedVerdictsUnderFlood(t *testing.T) {
	l := lab.NewT(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	k, err := nft.Open(nft.WithNetNS(l.Router.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if _, err := k.Setup(ctx, nft.Config{LAN: l.LANIfs, PeerTimeout: time.Hour, Queues: 1, Queue: nft.QueueRules(registry.Builtin())}, nft.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := queue.Open(queue.Config{Num: 0, NetNS: l.Router.Fd()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var seen atomic.Uint64
	h := func(p *queue.Packet) queue.Verdict {
		var pkt inspect.Packet
		if inspect.Decode(p.Payload, &pkt) != nil || len(pkt.Payload) < 5 {
			return queue.Accept
		}
		if seen.Add(1) == 1 {
			// Hold the first packet a moment so the queue backs up and
			// the following verdicts come in batches.
			time.Sleep(100 * time.Millisecond)
		}
		if pkt.Payload[4] == 0xA9 { // the marked runs: drop
			return queue.Drop
		}
		return queue.Accept
	}
	if err := r.Start(ctx, h); err != nil {
		t.Fatal(err)
	}
	sink, err := l.Internet.ListenUDP("udp4", netip.AddrPortFrom(l.InternetIP4, 9999).String())
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	// The released runs arrive faster than a default socket buffer holds;
	// the test is about verdicts, not about the sink keeping up.
	if err := sink.SetReadBuffer(16 << 20); err != nil {
		t.Fatal(err)
	}
	var got, bad atomic.Int64
	go func() {
		buf := make([]byte, 64)
		for {
			n, err := sink.Read(buf)
			if err != nil {
				return
			}
			if n > 4 && buf[4] == 0xA9 {
				bad.Add(1)
			}
			got.Add(1)
		}
	}()
	c, err := l.Client.DialUDP(netip.Addr{}, netip.AddrPortFrom(l.InternetIP4, 9999))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 4000
	for i := 0; i < n; i++ {
		p := fasttrack.AppendPing(nil, "KaZaA")
		if (i/7)%2 == 1 { // runs of 7 accepted, 7 dropped
			p[4] = 0xA9
		}
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for seen.Load() < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if s := seen.Load(); s != n {
		t.Fatalf("handler saw %d of %d packets", s, n)
	}
	if bad.Load() != 0 {
		t.Errorf("%d dropped packets arrived", bad.Load())
	}
	want := int64(0)
	for i := 0; i < n; i++ {
		if (i/7)%2 == 0 {
			want++
		}
	}
	if got.Load() != want {
		t.Errorf("%d packets arrived, want %d", got.Load(), want)
	}
	if r.Stats.Batches.Load() == 0 {
		t.Error("no batch verdict was sent although the queue was backed up")
	}
	t.Logf("verdict batches: %d for %d packets", r.Stats.Batches.Load(), n)
}

// TestBindBusyAndClose binds a queue twice (the second bind must fail with
// the hint about another process), then checks that Close stops a started
// reader promptly and frees the queue number for the next reader.
func TestBindBusyAndClose(t *testing.T) {
	l := lab.NewT(t)
	ctx := context.Background()
	accept := func(*queue.Packet) queue.Verdict { return queue.Accept }
	r1, err := queue.Open(queue.Config{Num: 3, NetNS: l.Router.Fd()})
	if err != nil {
		t.Fatal(err)
	}
	if err := r1.Start(ctx, accept); err != nil {
		t.Fatal(err)
	}
	r2, err := queue.Open(queue.Config{Num: 3, NetNS: l.Router.Fd()})
	if err != nil {
		t.Fatal(err)
	}
	err = r2.Start(ctx, accept)
	r2.Close()
	if err == nil || !strings.Contains(err.Error(), "other process") {
		t.Errorf("second bind of queue 3: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- r1.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	r3, err := queue.Open(queue.Config{Num: 3, NetNS: l.Router.Fd()})
	if err != nil {
		t.Fatal(err)
	}
	defer r3.Close()
	if err := r3.Start(ctx, accept); err != nil {
		t.Errorf("bind after Close: %v", err)
	}
}
