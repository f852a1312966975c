package ftsim

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect/fasttrack"
)

// In one burst the client opens TCP to its first 5 cached nodes, then pings
// the next 10; the 5 sessions wait in the handshake (the nodes accept and
// say nothing). A ping left without a pong stalls discovery for the UDP
// timeout; the next cycle starts on the retry timer.
func TestGiftConnectBeforePing(t *testing.T) {
	hold := startHold(t, loRange(1, 5), sessionClientBytes)
	silent := closedPort(t)
	nodes := append(loNodes(1, 5, hold.port), loNodes(6, 20, silent)...)
	r := runGift(t, GiftOptions{
		Nodes: nodes, For: 1200 * time.Millisecond, HandshakeTimeout: time.Minute,
		UDPTimeout: 300 * time.Millisecond, RetryInterval: 500 * time.Millisecond,
	})

	if len(r.Sessions) != 5 || r.Connects != 5 {
		t.Fatalf("%d connects, sessions %+v", r.Connects, r.Sessions)
	}
	for i, s := range r.Sessions {
		if s.Node != nodes[i] || s.Seq != int64(i+1) || s.Result != ResultConnected || s.Stage != StageHandshake ||
			s.End != EndStopped || s.Up != 12 || s.Down != 0 || !slices.Equal(s.Writes, []int{12}) {
			t.Errorf("session %d %+v", i, s)
		}
	}
	if len(r.Rounds) < 2 {
		t.Fatalf("rounds %+v", r.Rounds)
	}
	first := r.Rounds[0]
	if first.Seq != 6 || !slices.Equal(first.Nodes, nodes[5:15]) || first.Pongs != 0 || first.Missing != 10 || !first.Stalled {
		t.Errorf("first round %+v", first)
	}
	if first.AtMS-r.Sessions[0].StartMS > 50 {
		t.Errorf("pings %d ms after the connects", first.AtMS-r.Sessions[0].StartMS)
	}
	if first.DoneMS < 300 || first.DoneMS > 1000 {
		t.Errorf("first round done after %d ms, want the UDP timeout (300 ms)", first.DoneMS)
	}
	// The next cycle waits for the retry timer (no session ended).
	if second := r.Rounds[1]; second.AtMS < 450 || second.Seq != 7 || !slices.Equal(second.Nodes, append(nodes[15:20], nodes[:5]...)) {
		t.Errorf("second round %+v", second)
	}
	if r.PingsSent != 10*len(r.Rounds) || r.DiscoveryStalls < 1 || r.PingTimeouts < 10 || r.UDPWorking || r.RetryTicks < 2 {
		t.Errorf("report %+v", r)
	}
	// Each node got the genuine 12 bytes, and nothing else.
	waitFor(t, func() bool { hold.mu.Lock(); defer hold.mu.Unlock(); return len(hold.first) == 5 })
	for _, b := range hold.first {
		if !bytes.Equal(b, giftSessionStart[:]) || fmt.Sprintf("%x", b) != "fa00b62bfacb12383209d232" {
			t.Errorf("session start %x", b)
		}
	}
	if r.StopReason != GiftStopFor || r.ElapsedMS < 1200 || !r.Stopped() {
		t.Errorf("stop %s after %d ms", r.StopReason, r.ElapsedMS)
	}
}

// The session's shape: 12 bytes up, 8 down, 6 up, 6 down, 21 up, then quiet
// and open until the client stops; against the real Node too.
func TestGiftSessionShape(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	type got struct {
		segs [][]byte
		more error // the read after the 21 bytes
		err  error
	}
	res := make(chan got, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			res <- got{err: err}
			return
		}
		defer c.Close()
		var g got
		c.SetDeadline(time.Now().Add(patient))
		for _, step := range []struct{ in, out int }{{12, 8}, {6, 6}, {21, 0}} {
			b := make([]byte, step.in)
			if _, err := io.ReadFull(c, b); err != nil {
				g.err = err
				break
			}
			g.segs = append(g.segs, b)
			if step.out > 0 {
				c.Write(make([]byte, step.out))
			}
		}
		// Quiet: nothing more until the client stops, then its FIN.
		_, g.more = c.Read(make([]byte, 1))
		res <- g
	}()
	fake := netip.MustParseAddrPort(l.Addr().String())
	node := startNode(t, NodeOptions{Listen: []netip.Addr{lo(2)}, IOTimeout: time.Minute})
	real := netip.AddrPortFrom(lo(2), node.Port())

	r := runGift(t, GiftOptions{Nodes: []netip.AddrPort{fake, real}, For: 1500 * time.Millisecond})

	g := <-res
	if g.err != nil || len(g.segs) != 3 || !bytes.Equal(g.segs[0], giftSessionStart[:]) || !errors.Is(g.more, io.EOF) {
		t.Fatalf("the fake node saw %x, then %v (err %v)", g.segs, g.more, g.err)
	}
	if r.Established != 2 || r.MaxEstablished != 2 || len(r.Sessions) != 2 || r.Ends[EndStopped] != 2 {
		t.Fatalf("report %+v", r)
	}
	for _, s := range r.Sessions {
		if s.Up != 39 || s.Down != 14 || !slices.Equal(s.Writes, []int{12, 6, 21}) || s.Stage != StageEstablished ||
			s.End != EndStopped || s.Error != "" || s.EstablishedMS < s.HandshakeMS || s.HandshakeMS < s.ConnectedMS || s.ConnectedMS < s.StartMS {
			t.Errorf("session %+v", s)
		}
		if s.EndMS < 1500 {
			t.Errorf("session ended after %d ms, before the client stopped", s.EndMS)
		}
	}
	if d := r.LongestSession(); d < 1400*time.Millisecond || d > 10*time.Second {
		t.Errorf("longest session %s", d)
	}
	if len(r.Timeline) != 4 || r.Timeline[1].Open != 2 || r.Timeline[3].Open != 0 || r.OpenAt(time.Second) != 2 || r.OpenAt(time.Hour) != 0 {
		t.Errorf("timeline %+v", r.Timeline)
	}
	// No pings: the cache is shorter than the session slots, and with
	// sessions up giFT does not ping.
	if r.PingsSent != 0 {
		t.Errorf("%d pings", r.PingsSent)
	}
	// The node sees the client's FIN.
	waitFor(t, func() bool { return len(node.Report().Conns) == 1 })
	nr := node.Stop()
	if len(nr.Conns) != 1 {
		t.Fatalf("node %+v", nr)
	}
	if c := nr.Conns[0]; c.Kind != ConnSession || c.In != 39 || c.Out != 14 || !c.NetName || c.End != EndEOF || c.EndMS < 1500 {
		t.Errorf("node's session %+v", c)
	}
}

// With a session established the client stops pinging: the retry timer
// then finds the session slots full and pings no more. Without one, every
// retry after a stalled cycle pings again.
func TestGiftStopsPingingWithSessions(t *testing.T) {
	for _, up := range []bool{true, false} {
		hold := startHold(t, loRange(1, 5), 1)
		node := startNode(t, NodeOptions{Listen: []netip.Addr{lo(1)}, NoPong: true, IOTimeout: time.Minute})
		nodes := append(loNodes(1, 5, hold.port), loNodes(6, 20, closedPort(t))...)
		if up {
			nodes[0] = netip.AddrPortFrom(lo(1), node.Port())
		}
		r := runGift(t, GiftOptions{
			Nodes: nodes, For: time.Second, HandshakeTimeout: time.Minute,
			UDPTimeout: 100 * time.Millisecond, RetryInterval: 150 * time.Millisecond,
		})
		if r.RetryTicks < 4 || r.Connects != 5 || r.DiscoveryStalls < 1 {
			t.Errorf("%d retries, %d connects, %d stalls", r.RetryTicks, r.Connects, r.DiscoveryStalls)
		}
		if up {
			if r.Established != 1 || r.PingRounds != 1 || r.Rounds[0].Seq != 6 {
				t.Errorf("with a session: %d established, %d rounds %+v", r.Established, r.PingRounds, r.Rounds)
			}
		} else if r.Established != 0 || r.PingRounds < 3 {
			t.Errorf("without a session: %d established, %d rounds", r.Established, r.PingRounds)
		}
	}
}

// A ping to the client's port is never answered: giFT logs "received udp
// reply from node … which is not in list".
func TestGiftIgnoresProbes(t *testing.T) {
	g := startGift(t, GiftOptions{For: time.Minute})
	conn, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo(1), g.Port())))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for range 2 {
		conn.Write(fasttrack.AppendPing(nil, "KaZaA"))
	}
	conn.Write(fasttrack.AppendNodePong(nil, 1))
	conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if k, err := conn.Read(make([]byte, 100)); err == nil {
		t.Errorf("the client answered a probe: %d bytes", k)
	}
	waitFor(t, func() bool { r := g.Report(); return r.NotInList == 3 })
	r := g.Stop()
	checkGiftJSON(t, r)
	sender := netip.MustParseAddrPort(conn.LocalAddr().String())
	if r.ProbesIgnored != 2 || len(r.Probes) != 1 || r.StrayPongs != 1 || r.PongsReceived != 0 {
		t.Fatalf("report %+v", r)
	}
	if p := r.Probes[0]; p.From != sender || p.To != lo(1) || p.Count != 2 || p.LastMS < p.FirstMS {
		t.Errorf("probe %+v", p)
	}
	if r.StopReason != GiftStopStopped {
		t.Errorf("stop reason %q", r.StopReason)
	}
}

// A pong, 0x28 and 0x29 alike, moves its node to the front of the cache:
// when the first session fails, the next connect goes to the node that
// ponged, not to the next one in the cache.
func TestGiftPongMovesNodeToFront(t *testing.T) {
	for _, pong := range []MsgType{TypeNodePong, TypeSupernodePong, 0} {
		t.Run(pong.String(), func(t *testing.T) {
			hold := startHold(t, loRange(1, 5), sessionClientBytes)
			// Only 127.0.0.9 answers pings (and accepts sessions); the other
			// pinged addresses are silent and refuse TCP.
			node := startNode(t, NodeOptions{Listen: []netip.Addr{lo(9)}, Pong: pong, NoPong: pong == 0, IOTimeout: time.Minute})
			nodes := append(loNodes(1, 5, hold.port), loNodes(6, 15, node.Port())...)
			ponged := nodes[8]
			r := runGift(t, GiftOptions{
				Nodes: nodes, For: 1500 * time.Millisecond, HandshakeTimeout: 500 * time.Millisecond, UDPTimeout: time.Minute,
			})
			if len(r.Sessions) < 6 {
				t.Fatalf("sessions %+v", r.Sessions)
			}
			for _, s := range r.Sessions[:5] {
				if s.End != EndTimeout || s.Stage != StageHandshake {
					t.Errorf("held session %+v", s)
				}
			}
			next := r.Sessions[5]
			if pong == 0 {
				if r.PongsReceived != 0 || next.Node != nodes[5] {
					t.Errorf("without pongs: next connect to %s, pongs %d", next.Node, r.PongsReceived)
				}
				return
			}
			if r.PongsReceived != 1 || r.PongsByType[pong] != 1 || len(r.Pongs) != 1 || r.Pongs[0].From != ponged || r.Pongs[0].Type != pong {
				t.Errorf("pongs %d %v %+v", r.PongsReceived, r.PongsByType, r.Pongs)
			}
			if r.Rounds[0].Pongs != 1 || !r.UDPWorking {
				t.Errorf("round %+v", r.Rounds[0])
			}
			if next.Node != ponged || next.EstablishedMS < 0 || r.Established != 1 {
				t.Errorf("next connect %+v, want an established session to %s", next, ponged)
			}
		})
	}
}

// Each failed session removes its node from the cache; the empty cache is
// reloaded from the fallback and the connects loop as fast as they fail,
// until the connect budget is used up.
func TestGiftShrinkAndReload(t *testing.T) {
	p := closedPort(t)
	nodes := loNodes(1, 2, p)
	fallback := loNodes(3, 5, p)
	start := time.Now()
	r := runGift(t, GiftOptions{Nodes: nodes, Fallback: fallback, MaxConnects: 302, For: 20 * time.Second})
	took := time.Since(start)
	if r.StopReason != GiftStopMaxConnects || r.Connects != 302 || r.Refused != 302 || r.Ends[ResultRefused] != 302 || r.ConnectsOK != 0 {
		t.Fatalf("report %+v", r)
	}
	if r.CacheReloads != 100 || len(r.Reloads) != 100 || r.Reloads[0].Nodes != 3 || r.CacheSize != 0 {
		t.Errorf("%d reloads %+v, cache %d", r.CacheReloads, r.Reloads, r.CacheSize)
	}
	for i, s := range r.Sessions[:8] {
		want := nodes[i%2]
		if i >= 2 {
			want = fallback[(i-2)%3]
		}
		if s.Node != want || s.Result != ResultRefused || s.End != ResultRefused {
			t.Errorf("session %d %+v, want to %s", i, s, want)
		}
	}
	if took > 5*time.Second {
		t.Errorf("302 refused connects took %s", took)
	}
	t.Logf("%d connects in %s", r.Connects, took)
}

// With an empty fallback the client waits for its retry timer between
// rounds.
func TestGiftEmptyFallbackWaits(t *testing.T) {
	p := closedPort(t)
	r := runGift(t, GiftOptions{Nodes: loNodes(1, 1, p), For: time.Second, RetryInterval: 200 * time.Millisecond})
	if r.Connects != 1 || r.Refused != 1 || r.CacheReloads != 0 || r.StopReason != GiftStopFor {
		t.Fatalf("report %+v", r)
	}
	// Once after the failure, then at every retry.
	if r.FallbackEmpty != 1+r.RetryTicks || r.RetryTicks < 3 || r.RetryTicks > 5 {
		t.Errorf("fallback empty %d times, %d retries", r.FallbackEmpty, r.RetryTicks)
	}
}

// Against nodes that all pong but refuse TCP (a firewall answering pings
// and refusing connects), the client pings in bursts: every pass over the
// reloaded fallback pings (nearly) each of its nodes but the 5 it connects
// to first (pongs move them to the front, where the next connects take
// them). The refusals come a little after the
// pongs here, as through a firewall that answers pings at once; with
// instant refusals fewer cycles find no ping pending.
func TestGiftPingBurstOfFallbackSize(t *testing.T) {
	const size = 50
	p := startPonger(t, loRange(1, size), TypeNodePong)
	fallback := loNodes(1, size, p.port)
	r := runGift(t, GiftOptions{Net: slowRefusingNet{delay: 2 * time.Millisecond}, Fallback: fallback, MaxConnects: 3 * size, For: 20 * time.Second})
	if r.StopReason != GiftStopMaxConnects || r.Refused != 3*size || r.CacheReloads != 3 || r.DiscoveryStalls != 0 {
		t.Fatalf("report %+v", r)
	}
	passes := r.PingsPerPass()
	t.Logf("pings per pass %v, %d pings, %d pongs in %d ms", passes, r.PingsSent, r.PongsReceived, r.ElapsedMS)
	for i := range 3 {
		pinged := map[netip.AddrPort]bool{}
		for _, x := range r.Rounds {
			if x.Seq > r.Reloads[i].Seq && (i == 2 || x.Seq < r.Reloads[i+1].Seq) {
				for _, n := range x.Nodes {
					pinged[n] = true
				}
			}
		}
		// All but the first 5, connected (and refused) before the first
		// cycle of the pass, and maybe a few that reached the front of the
		// cache while a cycle's pongs were still on their way.
		if len(pinged) < size*4/5 || passes[i] < size || passes[i] > 12*size {
			t.Errorf("pass %d: %d pings to %d of the %d nodes", i, passes[i], len(pinged), size)
		}
	}
	// The pongs of the last cycle may come after the end.
	if r.PongsReceived < r.PingsSent-DefaultGiftPingsPerRound || r.PongsByType[TypeNodePong] != r.PongsReceived {
		t.Errorf("%d pings, %d pongs", r.PingsSent, r.PongsReceived)
	}
}

// slowRefusingNet opens real UDP sockets; each TCP connect is refused after
// a delay.
type slowRefusingNet struct {
	System
	delay time.Duration
}

func (n slowRefusingNet) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	select {
	case <-time.After(n.delay):
	case <-ctx.Done():
		return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
	}
	return refusingNet{}.DialContext(ctx, network, address)
}

// The TCP listener at the UDP port serves GET and takes GIVE pushes like a
// node, accepts any connection (a firewall's plain connect too) and takes no
// FastTrack session; it counts connections by source.
func TestGiftListener(t *testing.T) {
	g := startGift(t, GiftOptions{For: time.Minute, BodySize: 3000, Username: "alice"})
	addr := netip.AddrPortFrom(lo(1), g.Port()).String()

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()

	c, err = net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET /.hash=%s HTTP/1.1\r\nHost: x\r\n\r\n", DefaultHash)
	c.SetDeadline(time.Now().Add(patient))
	h, body, err := readResponse(bufio.NewReader(c), 1<<20)
	c.Close()
	if err != nil || body.Status != 200 || body.Bytes != 3000 || !body.Intact || h.Headers.Get("X-Kazaa-Username") != "alice" {
		t.Fatalf("download: %v %+v %v", err, body, h.Headers)
	}

	c, err = net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Write(giftSessionStart[:])
	c.SetDeadline(time.Now().Add(patient))
	if k, err := c.Read(make([]byte, 8)); err == nil {
		t.Errorf("the listener answered a session start with %d bytes", k)
	}
	c.Close()

	// A GIVE push: the listener asks for the file over the connection.
	c, err = net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(patient))
	c.Write([]byte("GIVE 77\r\n"))
	br := bufio.NewReader(c)
	req, err := readHead(br)
	if err != nil || req.Start != "GET /.hash="+DefaultHash+" HTTP/1.1" || req.Headers.Get("X-Kazaa-Username") != "alice" {
		t.Fatalf("request after GIVE %q %v: %v", req.Start, req.Headers, err)
	}
	serveRequest(c, req, fileParams{Username: "bob", Network: "KaZaA", Hash: DefaultHash, Size: 500})
	c.Close()

	waitFor(t, func() bool { return len(g.Report().Listener.Conns) == 4 })
	r := g.Stop()
	checkGiftJSON(t, r)
	if gv := r.Listener.Gives; len(gv) != 1 || gv[0].ID != 77 || gv[0].Bytes != 500 || !gv[0].Intact {
		t.Errorf("gives %+v", gv)
	}
	if r.TCPAccepted != 4 || r.AcceptedFrom(lo(1)) != 4 || len(r.Accepted) != 1 {
		t.Fatalf("accepted %d %+v", r.TCPAccepted, r.Accepted)
	}
	kinds := map[string]int{}
	for _, c := range r.Listener.Conns {
		kinds[c.Kind]++
	}
	if kinds[ConnEmpty] != 1 || kinds[ConnHTTP] != 1 || kinds[ConnOther] != 1 || kinds[ConnGive] != 1 || r.Listener.Sessions != 0 || len(r.Listener.Downloads) != 1 {
		t.Errorf("listener %+v", r.Listener)
	}
	if d := r.Listener.Downloads[0]; d.Status != 200 || d.Bytes != 3000 {
		t.Errorf("served %+v", d)
	}
}

// The run is bounded: For, the context, Stop; every socket is closed when
// Done is.
func TestGiftStopsWithinBounds(t *testing.T) {
	start := time.Now()
	g := startGift(t, GiftOptions{For: 300 * time.Millisecond})
	select {
	case <-g.Done():
	case <-time.After(patient):
		t.Fatal("gift did not stop after For")
	}
	r := g.Report()
	if took := time.Since(start); r.StopReason != GiftStopFor || took < 300*time.Millisecond || took > 5*time.Second {
		t.Errorf("stopped (%s) after %s", r.StopReason, took)
	}
	if r.StoppedAt.Before(r.StartedAt.Add(300*time.Millisecond)) || r.StoppedAt.After(time.Now()) {
		t.Errorf("started %s stopped %s", r.StartedAt, r.StoppedAt)
	}
	if _, err := net.Dial("tcp", netip.AddrPortFrom(lo(1), g.Port()).String()); err == nil {
		t.Errorf("still listening after it stopped")
	}

	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	hold := startHold(t, loRange(1, 1), 1)
	r, err := RunGift(ctx, GiftOptions{Bind: loopbacks[:1], RandomPort: true, Nodes: loNodes(1, 1, hold.port), For: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if r.StopReason != GiftStopCancelled || r.ElapsedMS > 5000 || r.Sessions[0].End != EndStopped {
		t.Errorf("cancelled: %+v", r)
	}

	// A blackholed connect ends with the run too.
	bn := &blackholeNet{}
	g = startGift(t, GiftOptions{Net: bn, Nodes: loNodes(1, 1, 9), For: time.Minute})
	waitFor(t, func() bool { return bn.dials.Load() == 1 })
	r = g.Stop()
	if r.StopReason != GiftStopStopped || len(r.Sessions) != 1 || r.Sessions[0].End != EndStopped || r.TimedOut != 0 ||
		!strings.Contains(strings.Join(r.Notes, " "), "DialContext") {
		t.Errorf("stopped: %+v", r)
	}
}

// A connect that gets no answer times out after ConnectTimeout, a
// handshake without the node's 8 bytes after HandshakeTimeout.
func TestGiftTimeouts(t *testing.T) {
	bn := &blackholeNet{}
	r := runGift(t, GiftOptions{Net: bn, Nodes: loNodes(1, 1, 9), ConnectTimeout: 100 * time.Millisecond, For: time.Second})
	if r.Connects != 1 || r.TimedOut != 1 || r.Sessions[0].End != ResultTimeout || r.Sessions[0].EndMS < 100 {
		t.Errorf("connect timeout: %+v", r)
	}
	hold := startHold(t, loRange(1, 1), 1)
	r = runGift(t, GiftOptions{Nodes: loNodes(1, 1, hold.port), HandshakeTimeout: 100 * time.Millisecond, MaxConnects: 1})
	if s := r.Sessions[0]; r.StopReason != GiftStopMaxConnects || s.End != EndTimeout || s.Stage != StageHandshake || s.EndMS < 100 || s.Result != ResultConnected {
		t.Errorf("handshake timeout: %+v", r)
	}
}

func TestGiftOptionErrors(t *testing.T) {
	for name, o := range map[string]GiftOptions{
		"node":        {Nodes: []netip.AddrPort{netip.MustParseAddrPort("0.0.0.0:1")}},
		"fallback":    {Fallback: []netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:0")}},
		"sessions":    {Sessions: 65},
		"pings":       {PingsPerRound: -1},
		"for":         {For: 25 * time.Hour},
		"udp timeout": {UDPTimeout: -time.Second},
		"connects":    {MaxConnects: -1},
		"network":     {Network: "Ka\x00ZaA"},
		"hash":        {Hash: "x"},
		"body":        {BodySize: -1},
	} {
		if _, err := StartGift(t.Context(), o); !errors.Is(err, ErrOptions) {
			t.Errorf("%s: %v", name, err)
		}
	}
	o, err := GiftOptions{}.withDefaults()
	if err != nil || o.Port != 1214 || o.Sessions != 5 || o.PingsPerRound != 10 || o.UDPTimeout != 20*time.Second ||
		o.RetryInterval != time.Minute || o.ConnectTimeout != 15*time.Second || o.HandshakeTimeout != 10*time.Second ||
		o.For != 30*time.Second || o.MaxConnects != 1_000_000 || o.Username != "giFTed" {
		t.Errorf("defaults %+v %v", o, err)
	}
}

// Nodes with an address already in the cache are ignored, as giFT keys its
// cache by IP address.
func TestGiftOneNodePerAddress(t *testing.T) {
	p := closedPort(t)
	r := runGift(t, GiftOptions{Nodes: []netip.AddrPort{netip.AddrPortFrom(lo(1), p), netip.AddrPortFrom(lo(1), p+1)}, MaxConnects: 1})
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "already in the cache") || r.Sessions[0].Node.Port() != p {
		t.Errorf("notes %q sessions %+v", r.Notes, r.Sessions)
	}
}
