package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/ftwall/ftwall/internal/ftsim"
	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/nft"
)

// The genuine giFT client's behaviour (ftsim's giFT profile, issue 15)
// through `ftwall run`.

func startGift(t *testing.T, l *lab.Lab, opts ftsim.GiftOptions) *ftsim.Gift {
	t.Helper()
	opts.Net = ftsim.InNamespace(l.Client.Do)
	g, err := ftsim.StartGift(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Stop() })
	return g
}

// giftCache is a realistic node cache of n nodes on the lab's peers.
func giftCache(l *lab.Lab, n int) []netip.AddrPort {
	var nodes []netip.AddrPort
	for i := range n {
		nodes = append(nodes, ap(l.Peers4[i], ftPort))
	}
	return nodes
}

// TestGiftNoSessionSurvives: giFT opens TCP to its first 5 cached nodes in
// the same millisecond as it pings the next 10; none of those sessions may
// stay established for more than 2 s, including those to nodes it never
// pinged, and those nodes are learned. A neighbour's and the locked client's
// ordinary 12-byte messages are left alone.
func TestGiftNoSessionSurvives(t *testing.T) {
	l := lab.NewT(t)
	startNode(t, l, ftsim.NodeOptions{Pong: ftsim.TypeNodePong, IOTimeout: time.Minute})
	echo, err := l.Internet.StartEchoTCP("tcp", ":9000")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	k := kernel(t, l)
	startRun(t, l, "--timelock", "30s")

	// An ordinary connection of the client, established before it runs
	// giFT, whose messages are 12 bytes long.
	est, err := l.Client.DialTCP(context.Background(), "tcp", ap(l.InternetIP4, 9000).String())
	if err != nil {
		t.Fatal(err)
	}
	defer est.Close()
	if err := lab.RoundTrip(est, []byte("hello, 12 b!"), 2*time.Second); err != nil {
		t.Fatal(err)
	}

	g := startGift(t, l, ftsim.GiftOptions{Nodes: giftCache(l, 18), For: 6 * time.Second, UDPTimeout: 2 * time.Second})
	<-g.Done()
	r := g.Wait()
	t.Logf("giFT: %d connects, %d sessions established (at most %d at once), longest %v; %d pings, %d pongs",
		r.Connects, r.Established, r.MaxEstablished, r.LongestSession(), r.PingsSent, r.PongsReceived)
	if longest := r.LongestSession(); longest > 2*time.Second {
		t.Errorf("a FastTrack session stayed established for %v; want at most 2s (sessions: %+v)", longest, r.SessionDurations())
	}
	// The first five connects went to nodes giFT never pinged: those whose
	// TCP connected (the others met the lock already) are learned all the
	// same.
	connected := 0
	for _, s := range r.Sessions[:min(5, len(r.Sessions))] {
		if s.ConnectedMS < 0 {
			continue
		}
		connected++
		if !setHas(t, k, nft.SetPeers4, s.Node.Addr()) {
			t.Errorf("node %v that giFT opened a session to is not in peers4 (session %+v)", s.Node, s)
		}
	}
	if connected == 0 {
		t.Error("none of giFT's first five connects got through before the lock: the test does not test the race")
	}
	if !setHas(t, k, nft.SetLocked4, l.ClientIP4) {
		t.Error("the giFT client is not locked")
	}

	// Ordinary traffic: the locked client's established connection with
	// 12-byte messages, and a neighbour's new connection whose first
	// payload is 12 bytes, both work and teach nothing.
	if err := lab.RoundTrip(est, []byte("again 12 by!"), 2*time.Second); err != nil {
		t.Errorf("the locked client's established connection broke: %v", err)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer dcancel()
	n, err := l.Client2.DialTCP(dctx, "tcp", ap(l.InternetIP4, 9000).String())
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := lab.RoundTrip(n, []byte("neighbour12!"), 2*time.Second); err != nil {
		t.Errorf("a neighbour's connection with a 12-byte first payload: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	if setHas(t, k, nft.SetPeers4, l.InternetIP4) || setHas(t, k, nft.SetLocked4, l.Client2IP4) {
		t.Error("ordinary 12-byte payloads taught ftwall something")
	}
}

// TestGiftLockHeldWhileRunning: giFT answers no ping probe; its lock must
// hold continuously while it runs (sampled every 2 s for at least 3 × T)
// and lapse within T + 5 s after it stops. FTWALL_E2E_LONG=1 also runs it
// with --timelock 30s (2 minutes).
func TestGiftLockHeldWhileRunning(t *testing.T) {
	timelocks := []time.Duration{10 * time.Second}
	if os.Getenv("FTWALL_E2E_LONG") != "" {
		timelocks = append(timelocks, 30*time.Second)
	}
	for _, tl := range timelocks {
		t.Run(fmt.Sprint(tl), func(t *testing.T) {
			l := lab.NewT(t)
			startNode(t, l, ftsim.NodeOptions{Pong: ftsim.TypeNodePong, IOTimeout: time.Minute})
			k := kernel(t, l)
			startRun(t, l, "--timelock", tl.String())
			run := 3*tl + 4*time.Second
			g := startGift(t, l, ftsim.GiftOptions{Nodes: giftCache(l, 18), For: run, UDPTimeout: 2 * time.Second})
			waitFor(t, 3*time.Second, "client locked", func() bool { return setHas(t, k, nft.SetLocked4, l.ClientIP4) })
			samples, held := 0, 0
			tick := time.NewTicker(2 * time.Second)
		sample:
			for {
				select {
				case <-g.Done():
					break sample
				case <-tick.C:
					samples++
					if setHas(t, k, nft.SetLocked4, l.ClientIP4) {
						held++
					}
				}
			}
			tick.Stop()
			r := g.Wait()
			stopped := r.StoppedAt
			coverage := 100 * float64(held) / float64(max(samples, 1))
			t.Logf("--timelock %v: locked in %d of %d samples (%.0f%%) over %v; giFT: %d connects, %d TCP probes accepted, %d UDP probes ignored",
				tl, held, samples, coverage, run, r.Connects, r.TCPAccepted, r.ProbesIgnored)
			if samples < int(3*tl/(2*time.Second)) || held != samples {
				t.Errorf("lock held in %d of %d samples; want all, over at least 3 × %v", held, samples, tl)
			}
			waitFor(t, tl+5*time.Second, fmt.Sprintf("lock lapsed within %v of the client's stop", tl+5*time.Second), func() bool {
				return !setHas(t, k, nft.SetLocked4, l.ClientIP4)
			})
			t.Logf("lock lapsed %v after the client stopped", time.Since(stopped).Round(100*time.Millisecond))
		})
	}
}

// TestGiftReconnectLoopResetsBounded: giFT's empty-cache loop (a fallback
// list reloaded as fast as every connect fails) draws at most 1,000 resets
// per second from the lock.
func TestGiftReconnectLoopResetsBounded(t *testing.T) {
	l := lab.NewT(t)
	startNode(t, l, ftsim.NodeOptions{Pong: ftsim.TypeNodePong})
	k := kernel(t, l)
	startRun(t, l, "--timelock", "30s")
	before, limitedBefore := lockResets(t, k)
	g := startGift(t, l, ftsim.GiftOptions{Nodes: giftCache(l, 2), Fallback: giftCache(l, 32), For: 4 * time.Second,
		UDPTimeout: time.Second, ConnectTimeout: 100 * time.Millisecond, HandshakeTimeout: 100 * time.Millisecond})
	var perSecond []uint64
	var windows []time.Duration
	last, lastAt := before, time.Now()
	tick := time.NewTicker(time.Second)
loop:
	for {
		select {
		case <-g.Done():
			break loop
		case <-tick.C:
			cur, _ := lockResets(t, k)
			perSecond = append(perSecond, cur-last)
			windows = append(windows, time.Since(lastAt))
			last, lastAt = cur, time.Now()
		}
	}
	tick.Stop()
	r := g.Wait()
	nowResets, nowLimited := lockResets(t, k)
	resets, limited := nowResets-before, nowLimited-limitedBefore
	secs := float64(r.ElapsedMS) / 1000
	t.Logf("giFT reconnect loop: %d connects in %.1fs (%.0f/s), %d refused, %d timed out, %d reloads; kernel: %d resets (%.0f/s), %d SYNs dropped by the limit; resets per second %v",
		r.Connects, secs, float64(r.Connects)/secs, r.Refused, r.TimedOut, r.CacheReloads, resets, float64(resets)/secs, limited, perSecond)
	if resets == 0 || r.CacheReloads == 0 {
		t.Fatalf("no reconnect loop (%d resets, %d reloads): the test does not test it", resets, r.CacheReloads)
	}
	for i, n := range perSecond {
		limit := uint64(nft.LockResetRate*windows[i].Seconds()) + nft.LockResetBurst
		if n > limit {
			t.Errorf("sample %d (%v): %d resets to one client; want at most %d", i+1, windows[i], n, limit)
		}
	}
}
