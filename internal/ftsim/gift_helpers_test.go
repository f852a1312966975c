package ftsim

import (
	"encoding/json"
	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/ftwall/ftwall/inspect/fasttrack"
)

// lo returns 127.0.0.i (every 127/8 address is on the loopback interface).
func lo(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, 0, 0, byte(i)})
}

// loNodes returns 127.0.0.from … 127.0.0.to on port.
func loNodes(from, to int, port uint16) []netip.AddrPort {
	var out []netip.AddrPort
	for i := from; i <= to; i++ {
		out = append(out, netip.AddrPortFrom(lo(i), port))
	}
	return out
}

func loRange(from, to int) []netip.Addr {
	var out []netip.Addr
	for i := from; i <= to; i++ {
		out = append(out, lo(i))
	}
	return out
}

// checkGiftJSON checks that a report survives the trip through the CLI's
// JSON and logs it.
func checkGiftJSON(t *testing.T, r GiftReport) {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back GiftReport
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("report JSON does not decode: %v\n%s", err, b)
	}
	b2, _ := json.Marshal(back)
	if string(b) != string(b2) {
		t.Fatalf("report JSON round trip differs:\n%s\n%s", b, b2)
	}
	if len(b) > 6000 {
		b = append(b[:6000], "…"...)
	}
	t.Logf("gift report: %s", b)
}

// runGift runs a gift on the IPv4 loopback on a free port.
func runGift(t *testing.T, o GiftOptions) GiftReport {
	t.Helper()
	g := startGift(t, o)
	r := g.Wait()
	checkGiftJSON(t, r)
	return r
}

func startGift(t *testing.T, o GiftOptions) *Gift {
	t.Helper()
	if o.Bind == nil {
		o.Bind = loopbacks[:1]
	}
	o.RandomPort = true
	g, err := StartGift(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Stop() })
	return g
}

// holdListener accepts TCP connections on addrs (one port) and keeps them
// open without a byte, recording what each one received first.
type holdListener struct {
	port  uint16
	mu    sync.Mutex
	conns []net.Conn
	first [][]byte
}

func startHold(t *testing.T, addrs []netip.Addr, want int) *holdListener {
	t.Helper()
	s, err := openSockets(t.Context(), System{}, addrs, 0, false, true)
	if err != nil {
		t.Fatal(err)
	}
	h := &holdListener{port: s.port}
	t.Cleanup(func() {
		s.close()
		h.mu.Lock()
		for _, c := range h.conns {
			c.Close()
		}
		h.mu.Unlock()
	})
	for _, l := range s.tcp {
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				h.mu.Lock()
				h.conns = append(h.conns, c)
				h.mu.Unlock()
				go func() {
					b := make([]byte, want)
					n, _ := readFullConn(c, b)
					h.mu.Lock()
					h.first = append(h.first, b[:n])
					h.mu.Unlock()
				}()
			}
		}()
	}
	return h
}

func readFullConn(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := c.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// ponger answers pings on addrs (one port, UDP only: TCP there is refused)
// with pongs of type typ from the address pinged.
type ponger struct {
	port  uint16
	mu    sync.Mutex
	pings int
}

func startPonger(t *testing.T, addrs []netip.Addr, typ MsgType) *ponger {
	t.Helper()
	s, err := openSockets(t.Context(), System{}, addrs, 0, true, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	p := &ponger{port: s.port}
	pong := fasttrack.AppendNodePong(nil, 7)
	if typ == TypeSupernodePong {
		pong = fasttrack.AppendSupernodePong(nil, "KaZaA", 10)
	}
	for _, u := range s.udp {
		go func() {
			buf := make([]byte, 2048)
			oob := make([]byte, oobSize())
			for {
				n, from, dst, ifi, err := u.read(buf, oob)
				if err != nil {
					return
				}
				if m, ok := parseMessage(buf[:n]); !ok || m.Type != TypePing {
					continue
				}
				p.mu.Lock()
				p.pings++
				p.mu.Unlock()
				u.send(pong, from, dst, ifi)
			}
		}()
	}
	return p
}

func (p *ponger) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pings
}
