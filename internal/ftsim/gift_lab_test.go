package ftsim_test

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ftwall/ftwall/inspect/fasttrack"
	"github.com/ftwall/ftwall/internal/ftsim"
	"github.com/ftwall/ftwall/internal/lab"
)

// The giFT profile through the lab's router, without a firewall: on the
// client's wire the 5 SYNs leave before the first of the 10 pings; the 5
// sessions to a node in the internet namespace are established and stay
// open until the client stops; the pings are answered (0x29) and with
// sessions up no further cycle starts; a probe from the router's LAN
// address is ignored; the router's TCP connect and client2's download on
// port 1214 are accepted.
func TestLabGift(t *testing.T) {
	l := lab.NewT(t)
	ctx := t.Context()

	node, err := ftsim.StartNode(ctx, ftsim.NodeOptions{
		Net: ftsim.InNamespace(l.Internet.Do), Port: 1214, Pong: ftsim.TypeNodePong, IOTimeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Stop()
	var nodes []netip.AddrPort
	for i := range 20 {
		nodes = append(nodes, netip.AddrPortFrom(l.Peers4[i], 1214))
	}

	capture, err := startCapture(l.Client, lab.IfHost)
	if err != nil {
		t.Fatal(err)
	}
	defer capture.stop()

	g, err := ftsim.StartGift(ctx, ftsim.GiftOptions{
		Net: ftsim.InNamespace(l.Client.Do), Nodes: nodes, For: 3 * time.Second,
		UDPTimeout: time.Second, RetryInterval: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if g.Port() != 1214 {
		t.Fatalf("port %d, want giFT's 1214", g.Port())
	}
	client := netip.AddrPortFrom(l.ClientIP4, 1214)

	// A time-lock probe as a firewall sends it: never answered.
	probe, err := l.Router.DialUDP(l.RouterLAN4, client)
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	probe.Write(fasttrack.AppendPing(nil, "KaZaA"))
	probe.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if k, err := probe.Read(make([]byte, 64)); err == nil {
		t.Errorf("the client answered the probe with %d bytes", k)
	}
	// A firewall's TCP probe: the SYN-ACK shows the client runs.
	c, err := l.Router.DialTCPFrom(ctx, l.RouterLAN4, client)
	if err != nil {
		t.Fatalf("TCP connect to the client's port: %v", err)
	}
	c.Close()
	// A download from client2, through the router.
	c, err = l.Client2.DialTCP(ctx, "tcp4", client.String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET /.hash=%s HTTP/1.1\r\nHost: %s\r\n\r\n", ftsim.DefaultHash, client)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	status, err := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if err != nil || status != "HTTP/1.1 200 OK\r\n" {
		t.Errorf("download status %q, %v", status, err)
	}

	r := g.Wait()
	js, _ := json.Marshal(r)
	t.Logf("gift: %s", js)
	pkts := capture.stop()

	// The wire: 5 SYNs, then the pings (the handshakes' ACKs may come in
	// between: the lab's round trip is shorter than a connect call in a
	// namespace).
	var order []string
	for _, p := range pkts {
		if p.kind == "syn" || p.kind == "ping" {
			order = append(order, p.kind)
		}
	}
	if len(order) < 15 || !slices.Equal(order[:5], []string{"syn", "syn", "syn", "syn", "syn"}) || slices.Index(order, "ping") < 5 {
		t.Errorf("first packets on the client's wire %v, want 5 SYNs before the first ping", order)
	}
	var synTo, pingTo []netip.AddrPort
	for _, p := range pkts {
		switch p.kind {
		case "syn":
			synTo = append(synTo, p.dst)
		case "ping":
			pingTo = append(pingTo, p.dst)
		}
	}
	if !slices.Equal(synTo, nodes[:5]) || !slices.Equal(pingTo, nodes[5:15]) {
		t.Errorf("SYNs to %v, pings to %v", synTo, pingTo)
	}

	if r.Established != 5 || r.MaxEstablished != 5 || r.Connects != 5 || r.PingRounds != 1 || r.PongsReceived != 10 || r.PongsByType[ftsim.TypeNodePong] != 10 {
		t.Errorf("report %+v", r)
	}
	for _, s := range r.Sessions {
		if s.Up != 39 || s.Down != 14 || s.End != ftsim.EndStopped || s.EndMS < 3000 {
			t.Errorf("session %+v", s)
		}
	}
	if d := r.LongestSession(); d < 2900*time.Millisecond {
		t.Errorf("longest session %s", d)
	}
	if r.ProbesIgnored != 1 || len(r.Probes) != 1 || r.Probes[0].From.Addr() != l.RouterLAN4 || r.Probes[0].To != l.ClientIP4 {
		t.Errorf("probes %+v", r.Probes)
	}
	if r.TCPAccepted != 2 || r.AcceptedFrom(l.RouterLAN4) != 1 || r.AcceptedFrom(l.Client2IP4) != 1 || len(r.Listener.Downloads) != 1 {
		t.Errorf("accepted %d %+v, downloads %+v", r.TCPAccepted, r.Accepted, r.Listener.Downloads)
	}
	if !r.Stopped() || r.StopReason != ftsim.GiftStopFor {
		t.Errorf("stopped %v (%s)", r.StoppedAt, r.StopReason)
	}

	// The node saw 5 sessions of the genuine shape, closed by the client.
	deadline := time.Now().Add(10 * time.Second)
	for len(node.Report().Conns) < 5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	nr := node.Stop()
	if nr.Sessions != 5 || nr.PingsAnswered != 10 {
		t.Errorf("node %+v", nr)
	}
	for _, c := range nr.Conns {
		if c.Kind != ftsim.ConnSession || c.In != 39 || c.Out != 14 || c.End != ftsim.EndEOF || c.From.Addr() != l.ClientIP4 {
			t.Errorf("node conn %+v", c)
		}
	}
}

// Through the router, to peers that refuse (nothing listens on their
// port): every failed session removes its node, the empty cache reloads the
// fallback, and the connects loop as fast as they fail until the connect
// budget is used up; the pings to the silent peers stall discovery.
func TestLabGiftReconnectLoop(t *testing.T) {
	l := lab.NewT(t)
	var fallback []netip.AddrPort
	for _, p := range l.Peers4 {
		fallback = append(fallback, netip.AddrPortFrom(p, 1215))
	}
	start := time.Now()
	r, err := ftsim.RunGift(t.Context(), ftsim.GiftOptions{
		Net: ftsim.InNamespace(l.Client.Do), Fallback: fallback, MaxConnects: 2000, For: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("%d connects in %s (%.0f/s), %d reloads, %d pings in %d rounds", r.Connects, took,
		float64(r.Connects)/took.Seconds(), r.CacheReloads, r.PingsSent, r.PingRounds)
	if r.StopReason != ftsim.GiftStopMaxConnects || r.Connects != 2000 || r.Refused != 2000 || r.CacheReloads < 2000/len(fallback)-1 {
		t.Fatalf("report: %s, %d connects, %d refused, %d reloads", r.StopReason, r.Connects, r.Refused, r.CacheReloads)
	}
	// The first cycle's pings get no pong: discovery waits for the UDP
	// timeout (20 s), longer than this run.
	if r.PingRounds != 1 || r.PingsSent != 10 || r.PongsReceived != 0 {
		t.Errorf("%d rounds, %d pings, %d pongs", r.PingRounds, r.PingsSent, r.PongsReceived)
	}
	if took > 20*time.Second {
		t.Errorf("2000 refused connects took %s", took)
	}
}

// packet is an outgoing IPv4 packet of the client towards port 1214.
type packet struct {
	kind string // "syn", "ping", "tcp", "udp"
	dst  netip.AddrPort
}

type capture struct {
	fd   int
	quit chan struct{} // closed by stop
	done chan struct{} // closed when the reader has ended
	once sync.Once
	mu   sync.Mutex
	pkts []packet
}

// startCapture records the outgoing IPv4 TCP and UDP packets to port 1214
// on interface ifname of ns, with an AF_PACKET socket.
func startCapture(ns *lab.NS, ifname string) (*capture, error) {
	c := &capture{fd: -1, quit: make(chan struct{}), done: make(chan struct{})}
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		proto := int(htons(unix.ETH_P_ALL)) // outgoing packets reach ETH_P_ALL taps only
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return err
		}
		c.fd = fd
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: uint16(proto), Ifindex: ifi.Index}); err != nil {
			return err
		}
		return unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100_000})
	})
	if err != nil {
		if c.fd >= 0 {
			unix.Close(c.fd)
		}
		return nil, fmt.Errorf("capture on %s: %w", ifname, err)
	}
	go c.read()
	return c, nil
}

func (c *capture) read() {
	defer close(c.done)
	buf := make([]byte, 2048)
	for {
		n, from, err := unix.Recvfrom(c.fd, buf, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			select {
			case <-c.quit:
				return
			default:
				continue
			}
		}
		if err != nil {
			return
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); !ok || ll.Pkttype != unix.PACKET_OUTGOING {
			continue
		}
		if p, ok := parsePacket(buf[:n]); ok {
			c.mu.Lock()
			c.pkts = append(c.pkts, p)
			c.mu.Unlock()
		}
	}
}

// stop ends the capture and returns the packets.
func (c *capture) stop() []packet {
	c.once.Do(func() {
		close(c.quit)
		<-c.done // within the socket's 100 ms receive timeout
		unix.Close(c.fd)
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]packet(nil), c.pkts...)
}

// parsePacket reads an Ethernet frame with an IPv4 TCP or UDP packet to
// port 1214.
func parsePacket(b []byte) (packet, bool) {
	if len(b) < 14+20 || binary.BigEndian.Uint16(b[12:14]) != unix.ETH_P_IP {
		return packet{}, false
	}
	ip := b[14:]
	ihl := int(ip[0]&0x0f) * 4
	if ihl < 20 || len(ip) < ihl+14 {
		return packet{}, false
	}
	dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip[16:20])), binary.BigEndian.Uint16(ip[ihl+2:ihl+4]))
	if dst.Port() != 1214 {
		return packet{}, false
	}
	switch ip[9] {
	case unix.IPPROTO_TCP:
		flags := ip[ihl+13]
		if flags&0x02 != 0 && flags&0x10 == 0 {
			return packet{kind: "syn", dst: dst}, true
		}
		return packet{kind: "tcp", dst: dst}, true
	case unix.IPPROTO_UDP:
		if len(ip) > ihl+8 && ip[ihl+8] == 0x27 {
			return packet{kind: "ping", dst: dst}, true
		}
		return packet{kind: "udp", dst: dst}, true
	}
	return packet{}, false
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
