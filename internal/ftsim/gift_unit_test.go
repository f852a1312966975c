package ftsim

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect/fasttrack"
)

// The node answers the client's first encrypted message (its network name)
// with its own and keeps the session open, quiet, until IOTimeout; Stop
// ends it at once.
func TestNodeSessionNetNameThenQuiet(t *testing.T) {
	n := startNode(t, NodeOptions{IOTimeout: 500 * time.Millisecond})
	dial := func() net.Conn {
		c, err := net.Dial("tcp", nodeAddrs(n)[0].String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(patient))
		return c
	}
	exchange := func(c net.Conn) {
		t.Helper()
		c.Write(giftSessionStart[:])
		if _, err := io.ReadFull(c, make([]byte, 8)); err != nil {
			t.Fatal(err)
		}
		c.Write(make([]byte, 6))
		if _, err := io.ReadFull(c, make([]byte, 6)); err != nil {
			t.Fatal(err)
		}
		c.Write(make([]byte, 21))
	}
	c := dial()
	defer c.Close()
	exchange(c)
	start := time.Now()
	k, err := c.Read(make([]byte, 10))
	if !errors.Is(err, io.EOF) || k != 0 {
		t.Fatalf("after the handshake: %d bytes, %v; want the node's FIN at its I/O timeout", k, err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("closed after %s", took)
	}
	waitFor(t, func() bool { return len(n.Report().Conns) == 1 })
	if r := n.Report(); r.Conns[0].In != 39 || r.Conns[0].Out != 14 || !r.Conns[0].NetName || r.Conns[0].End != EndTimeout || r.Sessions != 1 || r.SessionsOpen != 0 {
		t.Fatalf("report %+v", r)
	}

	c2 := dial()
	defer c2.Close()
	exchange(c2)
	waitFor(t, func() bool { return n.Report().SessionsOpen == 1 })
	start = time.Now()
	nr := n.Stop()
	if took := time.Since(start); took > 900*time.Millisecond {
		t.Errorf("Stop took %s with a quiet session open", took)
	}
	if c := nr.Conns[1]; c.End != EndStopped || c.In < 18 || c.Out != 14 || c.Error != "" { // the last 21 bytes may be on their way
		t.Errorf("session %+v", c)
	}
}

func TestNodeCache(t *testing.T) {
	a := netip.MustParseAddrPort("198.51.100.1:1214")
	b := netip.MustParseAddrPort("198.51.100.2:1214")
	c := netip.MustParseAddrPort("[2001:db8::3]:1214")
	dup := netip.MustParseAddrPort("[::ffff:198.51.100.1]:80")
	nc := newNodeCache()
	if skipped := nc.load([]netip.AddrPort{a, b, c, dup}); !slices.Equal(skipped, []netip.AddrPort{netip.MustParseAddrPort("198.51.100.1:80")}) {
		t.Fatalf("skipped %v", skipped)
	}
	if f, _ := nc.front(); f != a || nc.len() != 3 {
		t.Fatalf("front %s, %d nodes", f, nc.len())
	}
	nc.moveBack(a.Addr())
	nc.moveFront(c.Addr())
	if got := nc.nodes(); !slices.Equal(got, []netip.AddrPort{c, b, a}) {
		t.Fatalf("order %v", got)
	}
	if !nc.remove(b.Addr()) || nc.remove(b.Addr()) || nc.moveFront(b.Addr()) || nc.moveBack(b.Addr()) {
		t.Fatal("a removed node is moved or removed again")
	}
	if got := nc.first(1); !slices.Equal(got, []netip.AddrPort{c}) || nc.len() != 2 {
		t.Fatalf("first %v", got)
	}
	nc.remove(a.Addr())
	nc.remove(c.Addr())
	if _, ok := nc.front(); ok || nc.len() != 0 {
		t.Fatal("empty cache has a front")
	}
}

func TestClassifyReply(t *testing.T) {
	for _, tc := range []struct {
		b    []byte
		typ  MsgType
		kind int
	}{
		{fasttrack.AppendSupernodePong(nil, "KaZaA", 3), TypeSupernodePong, replyPong},
		{fasttrack.AppendSupernodePong(nil, "", 3), TypeSupernodePong, replyPong},
		{fasttrack.AppendSupernodePong(nil, "KaZaA", 3)[:16], TypeSupernodePong, replyCorrupt},
		{[]byte{0x28, 0, 0, 0, 0x29}, TypeSupernodePong, replyCorrupt},
		{fasttrack.AppendNodePong(nil, 1), TypeNodePong, replyPong},
		{[]byte{0x29}, TypeNodePong, replyPong},
		{fasttrack.AppendPing(nil, "KaZaA"), TypePing, replyOther},
		{[]byte{0x2a, 1, 2, 3, 4}, 0x2a, replyOther},
		{nil, 0, replyOther},
	} {
		if typ, kind := classifyReply(tc.b); typ != tc.typ || kind != tc.kind {
			t.Errorf("%x: %s %d, want %s %d", tc.b, typ, kind, tc.typ, tc.kind)
		}
	}
}

func FuzzClassifyReply(f *testing.F) {
	f.Add(fasttrack.AppendSupernodePong(nil, "KaZaA", 3))
	f.Add(fasttrack.AppendNodePong(nil, 1))
	f.Add(fasttrack.AppendPing(nil, "KaZaA"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, kind := classifyReply(b)
		if len(b) == 0 {
			if typ != 0 || kind != replyOther {
				t.Fatalf("empty: %s %d", typ, kind)
			}
			return
		}
		if typ != MsgType(b[0]) {
			t.Fatalf("type %s of %x", typ, b)
		}
		wantPong := typ == TypeNodePong || typ == TypeSupernodePong && len(b) >= 12 && bytes.IndexByte(b[11:], 0) >= 0
		if (kind == replyPong) != wantPong || (kind == replyCorrupt) != (typ == TypeSupernodePong && !wantPong) {
			t.Fatalf("%x: kind %d", b, kind)
		}
		// Every pong the simulator's parser accepts, giFT takes as a pong.
		if m, ok := parseMessage(b); ok && (m.Type == TypeNodePong || m.Type == TypeSupernodePong) && kind != replyPong {
			t.Fatalf("%x: parsed as %s, classified %d", b, m.Type, kind)
		}
	})
}
