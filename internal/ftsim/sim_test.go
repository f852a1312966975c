package ftsim

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect/fasttrack"
)

var loopbacks = []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}

func startNode(t *testing.T, o NodeOptions) *Node {
	t.Helper()
	if o.Listen == nil {
		o.Listen = loopbacks
	}
	n, err := StartNode(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop() })
	return n
}

// nodeAddrs returns the node's loopback addresses.
func nodeAddrs(n *Node) []netip.AddrPort {
	return []netip.AddrPort{netip.AddrPortFrom(loopbacks[0], n.Port()), netip.AddrPortFrom(loopbacks[1], n.Port())}
}

// closedPort returns a port number with nothing listening on the loopback
// addresses (for UDP and TCP).
func closedPort(t *testing.T) uint16 {
	t.Helper()
	s, err := openSockets(t.Context(), System{}, loopbacks, 0, true, true)
	if err != nil {
		t.Fatal(err)
	}
	p := s.port
	s.close()
	return p
}

// patient is the wait for things that happen at once on an idle machine;
// generous, because tests share loaded CI machines. Waits for pongs end
// early when every node has answered.
const patient = 10 * time.Second

// waitFor waits up to 30s for cond (the other side of a connection records
// after the client's run returned).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func runClient(t *testing.T, o ClientOptions) ClientReport {
	t.Helper()
	if o.Bind == nil && !o.NoUDP {
		o.Bind = loopbacks
	}
	r, err := RunClient(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	// Every report must survive the trip through the CLI's JSON.
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back ClientReport
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("report JSON does not decode: %v\n%s", err, b)
	}
	b2, _ := json.Marshal(back)
	if string(b) != string(b2) {
		t.Fatalf("report JSON round trip differs:\n%s\n%s", b, b2)
	}
	t.Logf("client report: %s", b)
	return r
}

func TestPingPongThenSession(t *testing.T) {
	n := startNode(t, NodeOptions{})
	nodes := nodeAddrs(n)
	r := runClient(t, ClientOptions{Nodes: nodes, PingWait: patient, ConnectTimeout: patient})

	for _, node := range nodes {
		p, ok := r.Ping(node)
		if !ok || p.Sent != 1 || p.Pong != TypeSupernodePong || p.PongFrom != node || !p.Invited || p.Pongs != 1 {
			t.Errorf("ping %s: %+v", node, p)
		}
	}
	if r.Outcome != OutcomeConnected || !slices.Equal(r.ModeSequence(), []string{ModeUDP}) {
		t.Logf("node: %+v", n.Report())
		t.Fatalf("outcome %s %q, modes %v", r.Outcome, r.Reason, r.ModeSequence())
	}
	atts := r.Attempts(ModeUDP)
	if len(atts) != 2 || len(r.TCP) != 2 {
		t.Fatalf("attempts %+v", r.TCP)
	}
	for _, a := range atts {
		if a.Result != ResultConnected || !a.Handshake || !a.Local.IsValid() {
			t.Errorf("attempt %+v", a)
		}
	}
	if !slices.Contains(nodes, r.Connected) {
		t.Errorf("connected to %s", r.Connected)
	}
	if r.Port == 0 || r.ProbesAnswered != 0 || len(r.StrayPongs) != 0 {
		t.Errorf("report %+v", r)
	}

	nr := n.Stop()
	if nr.PingsReceived != 2 || nr.PingsAnswered != 2 || nr.Sessions != 2 || nr.TCPAccepted != 2 {
		t.Fatalf("node report %+v", nr)
	}
	for _, p := range nr.Pings {
		if p.From.Port() != r.Port || p.Network != "KaZaA" || p.Reply != TypeSupernodePong || !slices.Contains(loopbacks, p.To) {
			t.Errorf("node ping %+v", p)
		}
	}
	for _, c := range nr.Conns {
		if c.Kind != ConnSession || c.Bytes != 12 {
			t.Errorf("node conn %+v", c)
		}
	}
}

// Nothing answers: the client goes through all three modes, each connect is
// refused.
func TestNoAnswerSwitchesModes(t *testing.T) {
	p := closedPort(t)
	nodes := []netip.AddrPort{netip.AddrPortFrom(loopbacks[0], p), netip.AddrPortFrom(loopbacks[1], p)}
	r := runClient(t, ClientOptions{Nodes: nodes, PingWait: 100 * time.Millisecond, UDPRounds: 2, PingsPerNode: 3})

	if want := []string{ModeUDP, ModeParallelTCP, ModeTraditional}; !slices.Equal(r.ModeSequence(), want) {
		t.Fatalf("modes %v, want %v", r.Modes, want)
	}
	if !strings.Contains(r.Modes[1].Reason, "no pong from any of 2 nodes (12 pings, 2 rounds") {
		t.Errorf("switch reason %q", r.Modes[1].Reason)
	}
	if r.Modes[1].AtMS < 200 {
		t.Errorf("switched after %d ms, before two rounds of 100ms", r.Modes[1].AtMS)
	}
	if !strings.Contains(r.Modes[2].Reason, "all 2 parallel connects failed (2 refused)") {
		t.Errorf("switch reason %q", r.Modes[2].Reason)
	}
	for _, node := range nodes {
		if p, _ := r.Ping(node); p.Sent != 6 || p.Pong != 0 || p.Pongs != 0 {
			t.Errorf("ping %+v", p)
		}
	}
	if len(r.Attempts(ModeParallelTCP)) != 2 || len(r.Attempts(ModeTraditional)) != 2 || len(r.Attempts(ModeUDP)) != 0 {
		t.Fatalf("attempts %+v", r.TCP)
	}
	for _, a := range r.TCP {
		if a.Result != ResultRefused || a.Error == "" {
			t.Errorf("attempt %+v", a)
		}
	}
	if r.Outcome != OutcomeBlocked || r.Connected.IsValid() {
		t.Errorf("outcome %s %q", r.Outcome, r.Reason)
	}
}

// UDP is silent but TCP accepts: the parallel connects succeed.
func TestSilentNodeConnectsInParallelMode(t *testing.T) {
	n := startNode(t, NodeOptions{NoPong: true})
	r := runClient(t, ClientOptions{Nodes: nodeAddrs(n), PingWait: 50 * time.Millisecond, ConnectTimeout: patient})
	if !slices.Equal(r.ModeSequence(), []string{ModeUDP, ModeParallelTCP}) || r.Outcome != OutcomeConnected {
		t.Fatalf("modes %v outcome %s", r.ModeSequence(), r.Outcome)
	}
	if atts := r.Attempts(ModeParallelTCP); len(atts) != 2 || atts[0].Result != ResultConnected || !atts[0].Handshake {
		t.Fatalf("attempts %+v", atts)
	}
	nr := n.Stop()
	if nr.PingsReceived != 2 || nr.PingsAnswered != 0 || nr.Pings[0].Reply != 0 || nr.Sessions != 2 {
		t.Fatalf("node %+v", nr)
	}
}

// Node pongs (0x29) only: the client keeps to UDP mode, unless told to treat
// them as blocked.
func TestNodePongOnly(t *testing.T) {
	n := startNode(t, NodeOptions{Pong: TypeNodePong})
	r := runClient(t, ClientOptions{Nodes: nodeAddrs(n), PingWait: patient})
	if r.Outcome != OutcomeUDPOnly || !slices.Equal(r.ModeSequence(), []string{ModeUDP}) || len(r.TCP) != 0 {
		t.Fatalf("outcome %s %q modes %v tcp %v", r.Outcome, r.Reason, r.ModeSequence(), r.TCP)
	}
	if p, _ := r.Ping(nodeAddrs(n)[0]); p.Pong != TypeNodePong || p.Invited {
		t.Errorf("ping %+v", p)
	}

	r = runClient(t, ClientOptions{Nodes: nodeAddrs(n), SwitchOnNodePong: true, PingWait: patient, ConnectTimeout: patient})
	if r.Outcome != OutcomeConnected || !slices.Equal(r.ModeSequence(), []string{ModeUDP, ModeParallelTCP}) {
		t.Fatalf("outcome %s modes %v", r.Outcome, r.Modes)
	}
	if !strings.Contains(r.Modes[1].Reason, "only node pongs (0x29) from 2 of 2 nodes") {
		t.Errorf("reason %q", r.Modes[1].Reason)
	}
}

// A node that invites but whose TCP is closed: the client gives up on UDP
// mode with that reason.
func TestInvitedButTCPRefused(t *testing.T) {
	n := startNode(t, NodeOptions{})
	// The node answers pings; a Net that refuses every TCP connect stands
	// for the node's TCP being blocked.
	r := runClient(t, ClientOptions{Nodes: nodeAddrs(n)[:1], Net: refusingNet{}, PingWait: patient})
	if want := []string{ModeUDP, ModeParallelTCP, ModeTraditional}; !slices.Equal(r.ModeSequence(), want) {
		t.Fatalf("modes %v", r.Modes)
	}
	if !strings.Contains(r.Modes[1].Reason, "1 nodes invited with 0x28 but no TCP connect") {
		t.Errorf("reason %q", r.Modes[1].Reason)
	}
	if a := r.Attempts(ModeUDP); len(a) != 1 || a[0].Result != ResultRefused {
		t.Errorf("UDP-mode attempts %+v", a)
	}
}

// refusingNet opens real UDP sockets but refuses every TCP connect.
type refusingNet struct{ System }

func (refusingNet) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
}

// blackholeNet opens real UDP sockets; TCP connects hang until the context
// ends, like SYNs that are dropped.
type blackholeNet struct {
	System
	dials atomic.Int32
}

func (b *blackholeNet) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	b.dials.Add(1)
	<-ctx.Done()
	return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
}

func TestConnectTimeout(t *testing.T) {
	p := closedPort(t)
	nodes := []netip.AddrPort{netip.AddrPortFrom(loopbacks[0], p), netip.AddrPortFrom(loopbacks[0], p+1), netip.AddrPortFrom(loopbacks[1], p)}
	bn := &blackholeNet{}
	start := time.Now()
	r := runClient(t, ClientOptions{Nodes: nodes, Net: bn, NoUDP: true, ConnectTimeout: 100 * time.Millisecond})
	took := time.Since(start)
	if r.Outcome != OutcomeBlocked || r.Port != 0 || r.UDP || len(r.Pings) != 3 || r.Pings[0].Sent != 0 {
		t.Fatalf("report %+v", r)
	}
	if r.Modes[0].Mode != ModeParallelTCP || r.Modes[0].Reason != "start: UDP switched off" {
		t.Errorf("modes %+v", r.Modes)
	}
	if bn.dials.Load() != 6 || len(r.TCP) != 6 {
		t.Fatalf("%d dials, %d attempts", bn.dials.Load(), len(r.TCP))
	}
	for _, a := range r.TCP {
		if a.Result != ResultTimeout || a.MS < 100 {
			t.Errorf("attempt %+v", a)
		}
	}
	if !strings.Contains(r.Modes[1].Reason, "3 timeout") {
		t.Errorf("reason %q", r.Modes[1].Reason)
	}
	// Parallel: one timeout for all three; traditional: one each.
	if took < 400*time.Millisecond {
		t.Errorf("run took %s, less than 1+3 connect timeouts", took)
	}
}

func TestCancelStopsClient(t *testing.T) {
	bn := &blackholeNet{}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	nodes := []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:9"), netip.MustParseAddrPort("127.0.0.1:10")}
	r, err := RunClient(ctx, ClientOptions{Nodes: nodes, Net: bn, NoUDP: true, ConnectTimeout: time.Minute, HTTP: nodes[0]})
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != OutcomeCancelled || !strings.Contains(r.Reason, "parallel-tcp") || r.HTTP != nil {
		t.Fatalf("report %+v", r)
	}
	if r.ElapsedMS > 30_000 {
		t.Errorf("cancelled run took %d ms", r.ElapsedMS)
	}
}

func TestHTTPDownload(t *testing.T) {
	n := startNode(t, NodeOptions{BodySize: 100_000, Username: "peer7", Supernode: netip.MustParseAddrPort("198.51.100.3:1214")})
	target := nodeAddrs(n)[1] // IPv6
	supernode := netip.MustParseAddrPort("198.51.100.9:1214")
	r := runClient(t, ClientOptions{NoUDP: true, HTTP: target, Supernode: supernode, Username: "alice", HTTPTimeout: patient})

	if r.Outcome != OutcomeNoNodes || r.HTTP == nil {
		t.Fatalf("report %+v", r)
	}
	d := *r.HTTP
	if d.Result != ResultConnected || d.Status != 200 || d.Bytes != 100_000 || d.ContentLength != 100_000 || !d.Intact || d.Error != "" {
		t.Fatalf("download %+v", d)
	}
	for name, want := range map[string]string{
		"Server": KazaaAgent, "X-Kazaa-Username": "peer7", "X-Kazaa-Network": "KaZaA",
		"X-Kazaa-IP": target.String(), "X-Kazaa-SupernodeIP": "198.51.100.3:1214",
	} {
		if got := d.Headers.Get(name); got != want {
			t.Errorf("response %s = %q, want %q", name, got, want)
		}
	}
	if d.Headers.Get("X-KazaaTag") == "" {
		t.Errorf("no X-KazaaTag")
	}

	waitFor(t, func() bool { return len(n.Report().Conns) == 1 })
	nr := n.Stop()
	if len(nr.Downloads) != 1 || len(nr.Conns) != 1 || nr.Conns[0].Kind != ConnHTTP {
		t.Fatalf("node %+v", nr)
	}
	s := nr.Downloads[0]
	if s.Status != 200 || s.Bytes != 100_000 || !s.FastTrack || s.Path != "/.hash="+DefaultHash || s.Error != "" {
		t.Fatalf("served %+v", s)
	}
	hr, err := http.ReadRequest(bufio.NewReader(strings.NewReader(s.Head)))
	if err != nil {
		t.Fatalf("net/http cannot read the request: %v\n%s", err, s.Head)
	}
	if hr.Method != "GET" || hr.RequestURI != "/.hash="+DefaultHash || hr.Host != target.String() || hr.Header.Get("Connection") != "close" {
		t.Errorf("net/http: %+v", hr)
	}
	self := netip.AddrPortFrom(loopbacks[1], s.From.Port()) // UDP off: X-Kazaa-IP is the TCP source
	for name, want := range map[string]string{
		"UserAgent": KazaaAgent, "X-Kazaa-Username": "alice", "X-Kazaa-Network": "KaZaA",
		"X-Kazaa-IP": self.String(), "X-Kazaa-SupernodeIP": supernode.String(),
	} {
		if got := s.Headers.Get(name); got != want {
			t.Errorf("request %s = %q, want %q", name, got, want)
		}
	}
	if s.Headers[1].Name != "UserAgent" {
		t.Errorf("second request header %+v, want UserAgent (sic)", s.Headers[1])
	}
}

func TestHTTPDownloadRangeAndUDPPort(t *testing.T) {
	n := startNode(t, NodeOptions{BodySize: 5000})
	r := runClient(t, ClientOptions{HTTP: nodeAddrs(n)[0], Range: "bytes=1000-", HTTPTimeout: patient})
	if d := r.HTTP; d == nil || d.Status != 206 || d.Bytes != 4000 || !d.Intact || d.Headers.Get("Content-Range") != "bytes 1000-4999/5000" {
		t.Fatalf("download %+v", d)
	}
	// With UDP on, X-Kazaa-IP carries the FastTrack port.
	s := n.Stop().Downloads[0]
	if want := netip.AddrPortFrom(loopbacks[0], r.Port).String(); s.Headers.Get("X-Kazaa-IP") != want {
		t.Errorf("X-Kazaa-IP %q, want %q", s.Headers.Get("X-Kazaa-IP"), want)
	}
	if s.Headers.Get("X-Kazaa-SupernodeIP") != "" {
		t.Errorf("supernode header without a supernode: %q", s.Headers.Get("X-Kazaa-SupernodeIP"))
	}
}

func TestHTTPRefused(t *testing.T) {
	target := netip.AddrPortFrom(loopbacks[0], closedPort(t))
	r := runClient(t, ClientOptions{NoUDP: true, HTTP: target})
	if d := r.HTTP; d == nil || d.Result != ResultRefused || d.Status != 0 || !strings.HasPrefix(d.Error, "connect: ") {
		t.Fatalf("download %+v", d)
	}
}

func TestGive(t *testing.T) {
	n := startNode(t, NodeOptions{Hash: strings.Repeat("0f", 20)})
	r := runClient(t, ClientOptions{NoUDP: true, Give: nodeAddrs(n)[0], GiveID: 4242, BodySize: 70_000, HTTPTimeout: patient})
	g := r.Give
	if g == nil || g.Result != ResultConnected || g.ID != 4242 || g.Status != 200 || g.Bytes != 70_000 || g.Error != "" {
		t.Fatalf("give %+v", g)
	}
	if g.Request != "GET /.hash="+strings.Repeat("0f", 20)+" HTTP/1.1" || g.RequestHeaders.Get("X-Kazaa-Username") != DefaultUsername {
		t.Errorf("request %q %v", g.Request, g.RequestHeaders)
	}
	waitFor(t, func() bool { return len(n.Report().Gives) == 1 })
	nr := n.Stop()
	if len(nr.Gives) != 1 || nr.Conns[0].Kind != ConnGive {
		t.Fatalf("node %+v", nr)
	}
	ng := nr.Gives[0]
	if ng.ID != 4242 || ng.Status != 200 || ng.Bytes != 70_000 || !ng.Intact || ng.Error != "" || ng.Headers.Get("Server") != KazaaAgent {
		t.Errorf("node give %+v", ng)
	}
}

// Pings to the client's port (the firewall's time-lock probes) are answered
// while it runs and for AnswerProbes after its steps.
func TestAnswerProbes(t *testing.T) {
	for _, reply := range []MsgType{0, TypeNodePong} {
		c, err := NewClient(t.Context(), ClientOptions{Bind: loopbacks, AnswerProbes: 2 * time.Second, ProbeReply: reply, Network: "fileshare"})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan ClientReport)
		go func() { done <- c.Run(t.Context()) }()

		var senders []netip.AddrPort
		for _, lo := range loopbacks {
			conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo, c.Port())))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			senders = append(senders, addrPortOf(conn.LocalAddr()))
			for range 2 {
				if _, err := conn.Write(fasttrack.AppendPing(nil, "KaZaA")); err != nil {
					t.Fatal(err)
				}
				conn.SetReadDeadline(time.Now().Add(patient))
				buf := make([]byte, 100)
				k, from, err := conn.ReadFromUDPAddrPort(buf)
				if err != nil {
					t.Fatalf("no answer to the probe: %v", err)
				}
				m, ok := parseMessage(buf[:k])
				want := TypeSupernodePong
				if reply == TypeNodePong {
					want = TypeNodePong
				}
				if !ok || m.Type != want || (want == TypeSupernodePong && m.Network != "fileshare") || from.Addr().Unmap() != lo || from.Port() != c.Port() {
					t.Fatalf("answer %x from %s", buf[:k], from)
				}
			}
		}
		r := <-done
		if r.ProbesAnswered != 4 || len(r.Probes) != 2 {
			t.Fatalf("probes %+v", r.Probes)
		}
		for i, p := range r.Probes {
			if p.From != senders[i] || p.Count != 2 || p.Network != "KaZaA" || p.To != loopbacks[i] || p.Error != "" {
				t.Errorf("probe %+v", p)
			}
		}
		if r.ElapsedMS < 2000 {
			t.Errorf("ran %d ms, less than the answer-probes time", r.ElapsedMS)
		}
		// After Run, the port is closed: nothing answers any more.
		conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopbacks[0], c.Port())))
		if err != nil {
			t.Fatal(err)
		}
		conn.Write(fasttrack.AppendPing(nil, "KaZaA"))
		conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if k, err := conn.Read(make([]byte, 100)); err == nil {
			t.Errorf("answered after Run: %d bytes", k)
		}
		conn.Close()
	}
}

func TestStrayPong(t *testing.T) {
	c, err := NewClient(t.Context(), ClientOptions{Bind: loopbacks[:1], Nodes: []netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:1214")}})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopbacks[0], c.Port())))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write(fasttrack.AppendSupernodePong(nil, "KaZaA", 3))
	waitFor(t, func() bool { return len(c.Report().StrayPongs) == 1 })
	c.Close()
	r := c.Report()
	if len(r.StrayPongs) != 1 || r.StrayPongs[0].From != addrPortOf(conn.LocalAddr()) || r.StrayPongs[0].Type != TypeSupernodePong {
		t.Fatalf("stray pongs %+v", r.StrayPongs)
	}
	if r.Pings[0].Pongs != 0 {
		t.Errorf("pong credited to an unrelated node: %+v", r.Pings[0])
	}
}

func TestNodeConnectionKinds(t *testing.T) {
	n := startNode(t, NodeOptions{IOTimeout: patient})
	addr := nodeAddrs(n)[0].String()
	send := func(b []byte) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(b)
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(patient))
		buf := make([]byte, 1000)
		for {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
		c.Close()
	}
	send(nil)
	send([]byte("xy"))
	send([]byte("GIVE abc\r\n"))
	send([]byte("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"))
	send([]byte("GET broken\r\n\r\n"))
	nr := n.Stop()
	kinds := map[string]int{}
	for _, c := range nr.Conns {
		kinds[c.Kind]++
	}
	if kinds[ConnEmpty] != 1 || kinds[ConnOther] != 1 || kinds[ConnGive] != 1 || kinds[ConnHTTP] != 2 || nr.TCPAccepted != 5 || nr.Sessions != 0 {
		t.Fatalf("kinds %v, report %+v", kinds, nr)
	}
	if len(nr.Gives) != 1 || !strings.Contains(nr.Gives[0].Error, "malformed GIVE") {
		t.Errorf("gives %+v", nr.Gives)
	}
	if len(nr.Downloads) != 2 || nr.Downloads[0].Status != 404 || nr.Downloads[0].FastTrack || nr.Downloads[1].Status != 404 {
		t.Errorf("downloads %+v", nr.Downloads)
	}
}

// A silent connection is closed after IOTimeout, and Stop ends open
// connections at once.
func TestNodeBoundedConnections(t *testing.T) {
	n := startNode(t, NodeOptions{IOTimeout: time.Minute, MaxConns: 1})
	addr := nodeAddrs(n)[0].String()
	c1, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	waitFor(t, func() bool { return n.Report().TCPAccepted == 1 })
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetReadDeadline(time.Now().Add(patient))
	var ne net.Error
	if _, err := c2.Read(make([]byte, 1)); err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("second connection over the limit was not closed: %v", err)
	}
	start := time.Now()
	nr := n.Stop()
	if time.Since(start) > 30*time.Second {
		t.Errorf("Stop took %s with a silent connection open", time.Since(start))
	}
	if nr.TCPAccepted != 2 || nr.TCPRejected != 1 || len(nr.Conns) != 1 || nr.Conns[0].Kind != ConnEmpty {
		t.Fatalf("report %+v", nr)
	}
}

func TestNodeLifetime(t *testing.T) {
	n := startNode(t, NodeOptions{For: 100 * time.Millisecond})
	select {
	case <-n.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("node did not stop after its lifetime")
	}
	if r := n.Report(); r.ElapsedMS < 100 || r.Port == 0 || len(r.Listen) != 4 {
		t.Errorf("report %+v", r)
	}
	if _, err := net.Dial("tcp", nodeAddrs(n)[0].String()); err == nil {
		t.Errorf("node still accepts after it stopped")
	}
}

func TestNodeFixedPortInUse(t *testing.T) {
	n := startNode(t, NodeOptions{})
	if _, err := StartNode(t.Context(), NodeOptions{Listen: loopbacks, Port: n.Port()}); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("second node on the same port: %v", err)
	}
}

// InNamespace opens every socket through the runner.
func TestInNamespaceRunner(t *testing.T) {
	var calls atomic.Int32
	do := func(fn func() error) error { calls.Add(1); return fn() }
	n := startNode(t, NodeOptions{Net: InNamespace(do)})
	if calls.Load() != 4 {
		t.Fatalf("node: %d runner calls, want 4 (UDP+TCP, IPv4+IPv6)", calls.Load())
	}
	r := runClient(t, ClientOptions{Net: InNamespace(do), Nodes: nodeAddrs(n)[:1], HTTP: nodeAddrs(n)[0], PingWait: patient, ConnectTimeout: patient, HTTPTimeout: patient})
	if r.Outcome != OutcomeConnected || r.HTTP.Status != 200 {
		t.Fatalf("report %+v", r)
	}
	if calls.Load() != 4+2+2 {
		t.Errorf("%d runner calls, want 8 (2 client sockets, 1 session, 1 download)", calls.Load())
	}
	failing := InNamespace(func(fn func() error) error { return errors.New("no such namespace") })
	if _, err := NewClient(t.Context(), ClientOptions{Net: failing}); err == nil || !strings.Contains(err.Error(), "no such namespace") {
		t.Errorf("runner error lost: %v", err)
	}
}

func TestOptionErrors(t *testing.T) {
	for name, o := range map[string]ClientOptions{
		"hash":        {Hash: "abc"},
		"probe reply": {ProbeReply: 0x27},
		"no UDP":      {NoUDP: true, AnswerProbes: time.Second},
		"rounds":      {UDPRounds: 1000},
		"node":        {Nodes: []netip.AddrPort{netip.MustParseAddrPort("0.0.0.0:1")}},
		"network":     {Network: "Ka\x00ZaA"},
		"negative":    {PingWait: -time.Second},
		"http port":   {HTTP: netip.MustParseAddrPort("192.0.2.1:0")},
	} {
		if _, err := NewClient(t.Context(), o); !errors.Is(err, ErrOptions) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, o := range map[string]NodeOptions{
		"pong":      {Pong: 0x2a},
		"twice":     {Listen: []netip.Addr{loopbacks[0], loopbacks[0]}},
		"body size": {BodySize: -1},
	} {
		if _, err := StartNode(t.Context(), o); !errors.Is(err, ErrOptions) {
			t.Errorf("node %s: %v", name, err)
		}
	}
}
