package e2e

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect/fasttrack"
	"github.com/ftwall/ftwall/internal/ftsim"
	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/internal/store"
	"github.com/ftwall/ftwall/nft"
)

// Issue 15 against the real kernel: what the genuine giFT client showed.

// TestKnownPeersDroppedWhileInspectorDown: after kill -9, a ping flood to a
// known peer (candidates: queued, accepted by bypass) still never reaches
// it, because the drops stand in a base chain after the queue chain; pings
// to other addresses pass (fail open).
func TestKnownPeersDroppedWhileInspectorDown(t *testing.T) {
	l := lab.NewT(t)
	node := startNode(t, l, ftsim.NodeOptions{})
	k := kernel(t, l)
	p := startRun(t, l, "--timelock", "60s")
	known := l.Peers4[3]
	runClient(t, l, ftsim.ClientOptions{Nodes: []netip.AddrPort{ap(known, ftPort)}})
	waitFor(t, 3*time.Second, "peer learned", func() bool { return setHas(t, k, nft.SetPeers4, known) })
	p.kill9(t)
	before := node.Report().PingsReceived
	dropBefore := counter(t, k, nft.RulePeerDrop4).Packets

	ping := string(fasttrack.AppendPing(nil, "KaZaA"))
	for i := 0; i < 200; i++ {
		sendUDP(t, l.Client2, netip.Addr{}, ap(known, ftPort), ping)
	}
	// Control: a ping to an unknown node passes while nobody inspects.
	unknown := l.Peers4[4]
	sendUDP(t, l.Client2, netip.Addr{}, ap(unknown, ftPort), ping)
	waitFor(t, 3*time.Second, "the ping to an unknown node passed (fail open)", func() bool {
		r := node.Report()
		return r.PingsReceived > before
	})
	time.Sleep(200 * time.Millisecond)
	r := node.Report()
	if got := r.PingsReceived - before; got != 1 {
		t.Errorf("after kill -9: the internet received %d pings; want 1 (the one to the unknown node; none of the 200 to the known peer)", got)
	}
	if d := counter(t, k, nft.RulePeerDrop4).Packets - dropBefore; d < 200 {
		t.Errorf("peer-drop4 counted %d drops after kill -9; want ≥ 200", d)
	}
}

// TestPeersLearnedBeforeFirstSaveSurvive follows the steps: learn a
// peer, kill -9 before the first save, start again: the storefile has the
// peer at once; stop, tear down, start again: the peer is back.
func TestPeersLearnedBeforeFirstSaveSurvive(t *testing.T) {
	l := lab.NewT(t)
	startNode(t, l, ftsim.NodeOptions{})
	k := kernel(t, l)
	path := filepath.Join(t.TempDir(), "peers")
	args := []string{"--store", path, "--store-interval", "10s", "--peer-timeout", "1h"}
	p := startRun(t, l, args...)
	peer := l.Peers4[6]
	runClient(t, l, ftsim.ClientOptions{Nodes: []netip.AddrPort{ap(peer, ftPort)}})
	waitFor(t, 3*time.Second, "peer learned", func() bool { return setHas(t, k, nft.SetPeers4, peer) })
	p.kill9(t)
	if _, err := os.Stat(path); err == nil {
		t.Fatal("the storefile exists before the first save: the test does not test what it says")
	}

	inStore := func() bool {
		peers, _, err := store.Load(path)
		if err != nil {
			return false
		}
		for _, pe := range peers {
			if pe.Addr == peer {
				return true
			}
		}
		return false
	}
	p2 := startRun(t, l, args...)
	if !inStore() {
		t.Fatalf("after the restart the storefile lacks the peer learned before kill -9:\n%s", p2.out.String())
	}
	p2.stop(t)
	if !inStore() {
		t.Fatal("after SIGTERM the storefile lacks the peer")
	}
	if out, err := l.Router.Run(context.Background(), ftwallBinary(t), "teardown"); err != nil {
		t.Fatalf("teardown: %v\n%s", err, out)
	}
	startRun(t, l, args...)
	if !setHas(t, k, nft.SetPeers4, peer) {
		t.Fatal("after teardown and restart the peer is not blocked")
	}
}

// TestLockResetsRateLimited: a locked client in a reconnect loop (thousands
// of connects per second) gets at most LockResetRate resets per second
// sustained, plus LockResetBurst at once; the rest of its SYNs are dropped.
func TestLockResetsRateLimited(t *testing.T) {
	l := lab.NewT(t)
	startNode(t, l, ftsim.NodeOptions{})
	k := kernel(t, l)
	startRun(t, l, "--timelock", "60s")
	runClient(t, l, ftsim.ClientOptions{Nodes: []netip.AddrPort{ap(l.Peers4[7], ftPort)}})
	waitFor(t, 3*time.Second, "client locked", func() bool { return setHas(t, k, nft.SetLocked4, l.ClientIP4) })

	refused, limited := lockResets(t, k)
	var attempts atomic.Int64
	var resets atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	perSecond := make([]uint64, 0, 4)
	var windows []time.Duration
	sampler := make(chan struct{})
	go func() {
		defer close(sampler)
		// The kernel's counters are read at some instant inside a status
		// call; the window between two reads is at most from the start of
		// the earlier call to the end of the later one.
		lastStart := time.Now()
		last, _ := lockResets(t, k)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				start := time.Now()
				cur, _ := lockResets(t, k)
				perSecond = append(perSecond, cur-last)
				windows = append(windows, time.Since(lastStart))
				last, lastStart = cur, start
			}
		}
	}()
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				attempts.Add(1)
				dctx, dcancel := context.WithTimeout(ctx, 50*time.Millisecond)
				c, err := l.Client.DialTCP(dctx, "tcp", ap(l.InternetIP4, 9).String())
				dcancel()
				if c != nil {
					c.Close()
				}
				if errors.Is(err, syscall.ECONNREFUSED) {
					resets.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	<-sampler
	elapsed := 3.0
	nowRefused, nowLimited := lockResets(t, k)
	gotRefused, gotLimited := nowRefused-refused, nowLimited-limited
	t.Logf("reconnect loop: %d connects in %.0fs, %d resets received; kernel: %d resets, %d SYNs dropped by the limit; resets per second: %v",
		attempts.Load(), elapsed, resets.Load(), gotRefused, gotLimited, perSecond)
	if gotLimited == 0 {
		t.Fatalf("the loop never exceeded the limit (%d connects): the test does not test the limit", attempts.Load())
	}
	for i, n := range perSecond {
		// A sample window is a little longer than a second (the ticker and
		// the counter reads): the bound is the rate over the longest the
		// window can have been, plus the burst.
		limit := uint64(nft.LockResetRate*windows[i].Seconds()) + nft.LockResetBurst
		if n > limit {
			t.Errorf("sample %d (%v): %d resets to one client; want at most %d", i+1, windows[i], n, limit)
		}
	}
	if rate := float64(gotRefused) / elapsed; rate > 1000 {
		t.Errorf("%.0f resets per second on average; want at most 1000", rate)
	}
}

// lockResets is the number of resets the lock has sent: the lock-refuse4
// rule's counter, or with a binary from before the reset meter (run with
// FTWALL_E2E_BINARY for a before figure) the lock4 rule's, which then did
// the reject itself; limited is the lock-limit4 rule's count (0 then).
func lockResets(t *testing.T, k *nft.Kernel) (resets, limited uint64) {
	t.Helper()
	st, err := k.Status(t.Context(), 0)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	var old uint64
	found := false
	for _, c := range st.Counters {
		switch c.Rule {
		case nft.RuleRefuse4:
			resets += c.Packets
			found = true
		case nft.RuleLockLimit4:
			limited += c.Packets
		case nft.RuleLock4:
			old += c.Packets
		}
	}
	if !found {
		resets = old
	}
	return resets, limited
}

// pongCounter counts FastTrack pongs arriving at a client socket.
func pongCounter(t *testing.T, c *net.UDPConn) *atomic.Int64 {
	var n atomic.Int64
	go func() {
		buf := make([]byte, 256)
		for {
			m, _, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if m > 0 && (buf[0] == fasttrack.MsgNodePong || buf[0] == fasttrack.MsgSupernodePong) {
				n.Add(1)
			}
		}
	}()
	return &n
}

// burst sends n FastTrack pings from c to distinct nodes (the lab's 32 peer
// addresses × ports from 1214 up) within about d.
func burst(t *testing.T, l *lab.Lab, c *net.UDPConn, n int, d time.Duration) {
	t.Helper()
	ping := fasttrack.AppendPing(nil, "KaZaA")
	start := time.Now()
	for i := 0; i < n; i++ {
		dst := ap(l.Peers4[i%len(l.Peers4)], uint16(1214+i/len(l.Peers4)))
		if _, err := c.WriteToUDPAddrPort(ping, dst); err != nil {
			t.Fatalf("ping %d: %v", i, err)
		}
		if want := start.Add(time.Duration(i+1) * d / time.Duration(n)); time.Until(want) > 0 {
			time.Sleep(time.Until(want))
		}
	}
}

// TestPingBurstAnsweredInFull: two rounds of 3,000 pings in 0.6 s each, 0.6 s
// apart (giFT's measured bursts in its reconnect loop) get 6,000 pongs with
// the defaults; with a small --pong-burst the withheld pongs are counted and
// logged.
func TestPingBurstAnsweredInFull(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		withheld bool
	}{
		{"defaults", nil, false},
		{"pong-burst 500", []string{"--pong-burst", "500", "--pong-rate", "100", "--summary-interval", "1s"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := lab.NewT(t)
			p := startRun(t, l, append([]string{"--timelock", "60s"}, tc.args...)...)
			c, err := l.Client.ListenUDP("udp4", ":1214")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			pongs := pongCounter(t, c)
			const round = 3000
			const n = 2 * round
			burst(t, l, c, round, 600*time.Millisecond)
			time.Sleep(600 * time.Millisecond)
			burst(t, l, c, round, 600*time.Millisecond)
			if !tc.withheld {
				deadline := time.Now().Add(5 * time.Second)
				for pongs.Load() < n && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				t.Logf("%d pongs for %d pings", pongs.Load(), n)
				if got := pongs.Load(); got != n {
					t.Errorf("%d pongs for %d pings (two rounds of %d in 0.6 s); want all", got, n, round)
				}
				if strings.Contains(p.out.String(), "pongs withheld") {
					t.Errorf("pongs withheld with the defaults:\n%s", p.out.String())
				}
				return
			}
			waitFor(t, 5*time.Second, "withheld pongs logged in the summary", func() bool {
				return strings.Contains(p.out.String(), "spoofed pongs withheld")
			})
			if got := pongs.Load(); got >= n || got < 500 {
				t.Errorf("%d pongs with --pong-burst 500; want the burst (≥ 500) and fewer than %d", got, n)
			}
		})
	}
}
