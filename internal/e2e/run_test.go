package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftwall/ftwall/internal/ftsim"
	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/nft"
)

const ftPort = 1214

// startNode runs a FastTrack node on every address of the internet
// namespace (the peers on its lo included), port 1214.
func startNode(t *testing.T, l *lab.Lab, opts ftsim.NodeOptions) *ftsim.Node {
	t.Helper()
	opts.Net = ftsim.InNamespace(l.Internet.Do)
	if opts.Port == 0 {
		opts.Port = ftPort
	}
	n, err := ftsim.StartNode(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop() })
	return n
}

func runClient(t *testing.T, l *lab.Lab, opts ftsim.ClientOptions) ftsim.ClientReport {
	t.Helper()
	opts.Net = ftsim.InNamespace(l.Client.Do)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := ftsim.RunClient(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func ap(a netip.Addr, port uint16) netip.AddrPort { return netip.AddrPortFrom(a, port) }

// dialResult classifies a TCP connect from ns: "ok", "reset" or "timeout".
func dialResult(ns *lab.NS, dst netip.AddrPort) (string, net.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	c, err := ns.DialTCP(ctx, "tcp", dst.String())
	switch {
	case err == nil:
		return "ok", c
	case errors.Is(err, syscall.ECONNREFUSED):
		return "reset", nil
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "i/o timeout"):
		return "timeout", nil
	}
	return "error: " + err.Error(), nil
}

// TestRunBlocksUDPFloodAndLocksClient: the client's pings never reach the
// internet, it gets a spoofed pong from each pinged peer, the peers and the
// client land in the kernel sets, and while locked its new TCP connections
// towards the WAN are reset, its established ones and LAN traffic untouched.
func TestRunBlocksUDPFloodAndLocksClient(t *testing.T) {
	l := lab.NewT(t)
	echo, err := l.Internet.StartEchoTCP("tcp", fmt.Sprintf(":%d", 9000))
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	echo2, err := l.Client2.StartEchoTCP("tcp", ":9000")
	if err != nil {
		t.Fatal(err)
	}
	defer echo2.Close()
	node := startNode(t, l, ftsim.NodeOptions{})
	k := kernel(t, l)
	p := startRun(t, l, "--timelock", "30s")

	// A connection established before the client is locked.
	est, err := l.Client.DialTCP(context.Background(), "tcp", ap(l.InternetIP4, 9000).String())
	if err != nil {
		t.Fatal(err)
	}
	defer est.Close()

	var nodes []netip.AddrPort
	for _, a := range l.Peers4[:8] {
		nodes = append(nodes, ap(a, ftPort))
	}
	for _, a := range l.Peers6[:4] {
		nodes = append(nodes, ap(a, ftPort))
	}
	rep := runClient(t, l, ftsim.ClientOptions{Nodes: nodes, PingWait: 500 * time.Millisecond})

	if got := node.Report().PingsReceived; got != 0 {
		t.Errorf("the internet received %d pings; want 0", got)
	}
	for _, n := range nodes {
		pr, ok := rep.Ping(n)
		if !ok || pr.Pong != ftsim.MsgType(0x29) || pr.PongFrom != n {
			t.Errorf("node %v: pong %v from %v; want a 0x29 node pong from the node itself", n, pr.Pong, pr.PongFrom)
		}
		set := nft.SetPeers4
		if n.Addr().Is6() {
			set = nft.SetPeers6
		}
		// The kernel write follows the pong asynchronously (the packet
		// path never waits for netlink): allow it a moment.
		waitFor(t, 3*time.Second, fmt.Sprintf("peer %v in %s", n.Addr(), set), func() bool { return setHas(t, k, set, n.Addr()) })
	}
	waitFor(t, 3*time.Second, "client locked (locked4 and locked6)", func() bool {
		return setHas(t, k, nft.SetLocked4, l.ClientIP4) && setHas(t, k, nft.SetLocked6, l.ClientIP6)
	})

	// New TCP towards the WAN: reset, for a known peer and for any other
	// address alike, IPv4 and IPv6.
	for _, dst := range []netip.AddrPort{ap(l.InternetIP4, 9000), ap(l.Peers4[0], ftPort), ap(l.Peers4[20], ftPort), ap(l.InternetIP6, 9000), ap(l.Peers6[0], ftPort)} {
		if res, c := dialResult(l.Client, dst); res != "reset" {
			if c != nil {
				c.Close()
			}
			t.Errorf("locked client → %v: %s; want reset", dst, res)
		}
	}
	// The established connection keeps working.
	if err := lab.RoundTrip(est, []byte("still here"), 2*time.Second); err != nil {
		t.Errorf("established connection broken by the lock: %v", err)
	}
	// LAN ↔ LAN is untouched.
	if res, c := dialResult(l.Client, ap(l.Client2IP4, 9000)); res != "ok" {
		t.Errorf("client → client2: %s; want ok", res)
	} else {
		c.Close()
	}
	// Another LAN host is not locked: it reaches the internet (not a peer).
	if res, c := dialResult(l.Client2, ap(l.InternetIP4, 9000)); res != "ok" {
		t.Errorf("client2 → internet: %s; want ok", res)
	} else {
		c.Close()
	}
	p.stop(t)
}

// TestRunTimeLockFollowsProbes: the lock stays while the client answers the
// probes and lapses --timelock after it stops answering.
func TestRunTimeLockFollowsProbes(t *testing.T) {
	l := lab.NewT(t)
	startNode(t, l, ftsim.NodeOptions{})
	k := kernel(t, l)
	startRun(t, l, "--timelock", "2s")

	done := make(chan ftsim.ClientReport, 1)
	go func() {
		done <- runClient(t, l, ftsim.ClientOptions{Nodes: []netip.AddrPort{ap(l.Peers4[3], ftPort)}, AnswerProbes: 5 * time.Second})
	}()
	waitFor(t, 3*time.Second, "client locked", func() bool { return setHas(t, k, nft.SetLocked4, l.ClientIP4) })
	locked := time.Now()
	// Well past one lock period the client is still locked: the probes
	// restart it.
	for time.Since(locked) < 4500*time.Millisecond {
		if !setHas(t, k, nft.SetLocked4, l.ClientIP4) {
			t.Fatalf("lock lapsed after %v although the client answers probes", time.Since(locked))
		}
		time.Sleep(100 * time.Millisecond)
	}
	rep := <-done
	if rep.ProbesAnswered < 2 {
		t.Fatalf("client answered %d probes; want ≥ 2 in 5s with --timelock 2s (probes: %+v)", rep.ProbesAnswered, rep.Probes)
	}
	for _, pr := range rep.Probes {
		if pr.From.Addr() != l.RouterLAN4 {
			t.Errorf("probe from %v; want the router's LAN address %v", pr.From, l.RouterLAN4)
		}
	}
	stopped := time.Now()
	waitFor(t, 4*time.Second, "lock lapsed after the client stopped answering", func() bool { return !setHas(t, k, nft.SetLocked4, l.ClientIP4) })
	if el := time.Since(stopped); el < 500*time.Millisecond {
		t.Errorf("lock lapsed %v after the last answer; want about --timelock (2s)", el)
	}
}

// TestRunSafetyNetHTTP: with its UDP off, the client's FastTrack HTTP
// download is stopped; the target and the X-Kazaa-SupernodeIP address are
// blocked and the client locked, over IPv4 and IPv6.
func TestRunSafetyNetHTTP(t *testing.T) {
	l := lab.NewT(t)
	node := startNode(t, l, ftsim.NodeOptions{})
	k := kernel(t, l)
	startRun(t, l)
	for _, fam := range []struct {
		name              string
		target, supernode netip.Addr
		peers, locked     string
		client            netip.Addr
	}{
		{"ipv4", l.Peers4[10], l.Peers4[11], nft.SetPeers4, nft.SetLocked4, l.ClientIP4},
		{"ipv6", l.Peers6[10], l.Peers6[11], nft.SetPeers6, nft.SetLocked6, l.ClientIP6},
	} {
		t.Run(fam.name, func(t *testing.T) {
			rep := runClient(t, l, ftsim.ClientOptions{NoUDP: true, HTTP: ap(fam.target, ftPort), Supernode: ap(fam.supernode, ftPort), HTTPTimeout: 2 * time.Second})
			if rep.HTTP == nil || rep.HTTP.Intact || rep.HTTP.Status != 0 {
				t.Errorf("FastTrack download not stopped: %+v", rep.HTTP)
			}
			for _, a := range []netip.Addr{fam.target, fam.supernode} {
				waitFor(t, 3*time.Second, fmt.Sprintf("%v in %s", a, fam.peers), func() bool { return setHas(t, k, fam.peers, a) })
			}
			waitFor(t, 3*time.Second, fmt.Sprintf("client %v in %s", fam.client, fam.locked), func() bool { return setHas(t, k, fam.locked, fam.client) })
		})
	}
	if d := node.Report().Downloads; len(d) != 0 {
		t.Errorf("the node served %d FastTrack downloads; want 0: %+v", len(d), d)
	}
}

// TestRunLeavesOrdinaryTrafficAlone: plain HTTP (also on port 1214),
// DNS-like UDP and plain UDP to 1214 pass, and nothing is learned.
func TestRunLeavesOrdinaryTrafficAlone(t *testing.T) {
	l := lab.NewT(t)
	k := kernel(t, l)
	body := strings.Repeat("ordinary file ", 5000)
	for _, port := range []int{80, ftPort} {
		ln, err := l.Internet.ListenTCP("tcp", fmt.Sprintf(":%d", port))
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) })}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
	}
	for _, port := range []int{53, ftPort} {
		e, err := l.Internet.StartEchoUDP("udp", fmt.Sprintf(":%d", port))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
	}
	p := startRun(t, l)
	hc := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return l.Client.DialTCP(ctx, network, addr)
	}}}
	for _, u := range []string{
		fmt.Sprintf("http://%s/file", l.InternetIP4),
		fmt.Sprintf("http://%s:%d/file", l.InternetIP4, ftPort),
		fmt.Sprintf("http://[%s]/file", l.InternetIP6),
		fmt.Sprintf("http://[%s]:%d/file", l.InternetIP6, ftPort),
	} {
		resp, err := hc.Get(u)
		if err != nil {
			t.Errorf("GET %s: %v", u, err)
			continue
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(got) != body {
			t.Errorf("GET %s: %d bytes, err %v; want the whole file", u, len(got), err)
		}
	}
	// DNS-like query and plain UDP to 1214 (not the ping shape).
	dnsQuery := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1}
	for _, dst := range []netip.AddrPort{ap(l.InternetIP4, 53), ap(l.InternetIP4, ftPort), ap(l.InternetIP6, 53), ap(l.InternetIP6, ftPort)} {
		c, err := l.Client.DialUDP(netip.Addr{}, dst)
		if err != nil {
			t.Fatal(err)
		}
		for _, msg := range [][]byte{dnsQuery, []byte("plain datagram to 1214")} {
			if err := lab.RoundTrip(c, msg, 2*time.Second); err != nil {
				t.Errorf("UDP to %v: %v", dst, err)
			}
		}
		c.Close()
	}
	for _, set := range []string{nft.SetPeers4, nft.SetPeers6, nft.SetLocked4, nft.SetLocked6} {
		if a := setAddrs(t, k, set); len(a) != 0 {
			t.Errorf("ordinary traffic put %v into %s", a, set)
		}
	}
	p.stop(t)
}

// TestRunSupernodeHeaderTrust: X-Kazaa-SupernodeIP naming the firewall's own
// address, a private address or an allowlisted one adds nothing (the
// request's target is still blocked); a WAN-side response naming them adds
// nothing either.
func TestRunSupernodeHeaderTrust(t *testing.T) {
	l := lab.NewT(t)
	startNode(t, l, ftsim.NodeOptions{})
	k := kernel(t, l)
	allowed := l.Peers4[20]
	// No time-lock here: each download must reach its GET, which a locked
	// client's new connections never would.
	startRun(t, l, "--allow", allowed.String(), "--timelock", "0")

	// A WAN server that answers a plain GET with FastTrack response headers.
	ln, err := l.Internet.ListenTCP("tcp", ":8080")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nServer: KazaaClient Nov  3 2002 20:29:03\r\nX-Kazaa-Username: x\r\nX-Kazaa-Network: KaZaA\r\nX-Kazaa-SupernodeIP: %s:1214\r\nContent-Length: 2\r\n\r\nok", l.RouterWAN4)
			}()
		}
	}()

	targets := l.Peers4[21:24]
	supernodes := []netip.Addr{l.RouterWAN4, netip.MustParseAddr("10.9.9.9"), allowed}
	for i := range targets {
		runClient(t, l, ftsim.ClientOptions{NoUDP: true, HTTP: ap(targets[i], ftPort), Supernode: ap(supernodes[i], ftPort), HTTPTimeout: time.Second})
	}
	c, err := l.Client.DialTCP(context.Background(), "tcp", ap(l.InternetIP4, 8080).String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	resp, _ := io.ReadAll(c)
	c.Close()
	if !strings.Contains(string(resp), "KazaaClient") {
		t.Errorf("WAN response did not arrive: %q", resp)
	}
	got := setAddrs(t, k, nft.SetPeers4)
	want := map[netip.Addr]bool{targets[0]: true, targets[1]: true, targets[2]: true}
	if len(got) != len(want) {
		t.Errorf("peers4 = %v; want exactly the download targets %v", got, targets)
	}
	for _, a := range got {
		if !want[a] {
			t.Errorf("peers4 holds %v", a)
		}
	}
}

// TestRunRestartAndFailOpen: after SIGTERM the kernel keeps dropping known
// peers; a restart finds the state intact; after kill -9 ordinary traffic
// (even queued candidates) keeps flowing.
func TestRunRestartAndFailOpen(t *testing.T) {
	l := lab.NewT(t)
	startNode(t, l, ftsim.NodeOptions{})
	k := kernel(t, l)
	p := startRun(t, l, "--timelock", "60s")
	peer := l.Peers4[5]
	runClient(t, l, ftsim.ClientOptions{Nodes: []netip.AddrPort{ap(peer, ftPort)}})
	waitFor(t, 2*time.Second, "peer learned", func() bool { return setHas(t, k, nft.SetPeers4, peer) })
	p.stop(t)

	// Stopped: the kernel still drops the known peer (for an unlocked host
	// too) and resets the locked client.
	if res, c := dialResult(l.Client2, ap(peer, ftPort)); res != "timeout" {
		if c != nil {
			c.Close()
		}
		t.Errorf("client2 → known peer with ftwall stopped: %s; want timeout (dropped)", res)
	}
	if res, _ := dialResult(l.Client, ap(l.InternetIP4, ftPort)); res != "reset" {
		t.Errorf("locked client → internet with ftwall stopped: %s; want reset", res)
	}

	p2 := startRun(t, l, "--timelock", "60s")
	if !setHas(t, k, nft.SetPeers4, peer) || !setHas(t, k, nft.SetLocked4, l.ClientIP4) {
		t.Fatal("restart lost the sets' elements")
	}
	if !strings.Contains(p2.out.String(), "time-locks restored") || !strings.Contains(p2.out.String(), "probeable=1") {
		t.Errorf("restart did not restore the time-lock state:\n%s", p2.out.String())
	}

	// kill -9 while traffic flows: a plain HTTP request (queued as a
	// candidate) and plain UDP still pass.
	srvLn, err := l.Internet.ListenTCP("tcp", ":8081")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "fine") })}
	go srv.Serve(srvLn)
	defer srv.Close()
	p2.kill9(t)
	hc := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return l.Client2.DialTCP(ctx, network, addr)
	}}}
	for i := 0; i < 5; i++ {
		resp, err := hc.Get(fmt.Sprintf("http://%s:8081/", l.InternetIP4))
		if err != nil {
			t.Fatalf("plain HTTP after kill -9: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "fine" {
			t.Fatalf("plain HTTP after kill -9: %q", b)
		}
	}
	if !setHas(t, k, nft.SetPeers4, peer) {
		t.Error("kill -9 lost the peers")
	}
}
