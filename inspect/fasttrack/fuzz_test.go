package fasttrack_test

import (
	"bytes"
	"testing"
	"unsafe"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/fasttrack"
	"github.com/ftwall/ftwall/inspect/inspecttest"
)

// seedPackets are every positive and negative packet fixture.
func seedPackets() [][]byte {
	var out [][]byte
	for _, fam := range families() {
		for _, n := range networkNames() {
			out = append(out,
				inspecttest.UDP(fam.client, fam.peer, inspecttest.Ping(n)),
				inspecttest.UDP(fam.peer, fam.client, inspecttest.SupernodePong(n)))
		}
		out = append(out,
			inspecttest.UDP(fam.peer, fam.client, inspecttest.NodePong(1)),
			inspecttest.UDP(fam.peer, fam.client, inspecttest.NodePongAddr(1, [4]byte{198, 51, 100, 1}, 1214)),
			inspecttest.UDP(fam.client, fam.peer, inspecttest.ID(1)),
			inspecttest.TCP(fam.client, fam.peer, inspecttest.GetHash()),
			inspecttest.TCP(fam.client, fam.peer, inspecttest.GetIDName()),
			inspecttest.TCP(fam.client, fam.peer, inspecttest.GetPeerEnabler()),
			inspecttest.TCP(fam.client, fam.peer, inspecttest.Response(206)),
			inspecttest.TCP(fam.client, fam.peer, inspecttest.Give(7)))
	}
	out = append(out, inspecttest.IPv6(client6.Addr(), peer6.Addr(), inspecttest.ProtoUDP,
		inspecttest.UDPSegment(client6, peer6, inspecttest.Ping("KaZaA")),
		inspecttest.Ext{Type: 0}, inspecttest.Ext{Type: 44, Body: []byte{0, 0, 0, 0, 0, 1}}, inspecttest.Ext{Type: 51, Body: make([]byte, 10)}))
	for _, m := range nearMisses() {
		out = append(out, m.pkt)
	}
	return out
}

// within reports whether sub (if non-empty) lies inside buf.
func within(sub, buf []byte) bool {
	if len(sub) == 0 {
		return true
	}
	if len(buf) == 0 {
		return false
	}
	s, b := uintptr(unsafe.Pointer(unsafe.SliceData(sub))), uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	return s >= b && s+uintptr(len(sub)) <= b+uintptr(len(buf))
}

// FuzzDecodeClassify runs arbitrary bytes through Decode, Classify and
// Decide and checks the invariants the live service relies on.
func FuzzDecodeClassify(f *testing.F) {
	for _, p := range seedPackets() {
		f.Add(p, true)
	}
	s := settings()
	f.Fuzz(func(t *testing.T, b []byte, fromLAN bool) {
		orig := append([]byte{}, b...)
		var p inspect.Packet
		err := inspect.Decode(b, &p)
		if !within(p.Payload, b) {
			t.Fatal("Payload does not alias the input")
		}
		var ev inspect.Evidence
		ok := ft.Classify(&p, &ev)
		if !bytes.Equal(orig, b) {
			t.Fatal("input modified")
		}
		if !ok {
			if ev.Kind != fasttrack.KindNone {
				t.Fatalf("false with kind %v", ev.Kind)
			}
			return
		}
		if err != nil || !p.Transport || p.FragOffset != 0 {
			t.Fatalf("evidence from a packet that did not decode fully: err=%v %+v", err, p)
		}
		if ev.Kind == fasttrack.KindNone || int(ev.Kind) >= fasttrack.NumKinds {
			t.Fatalf("kind %v", ev.Kind)
		}
		if fasttrack.IsUDP(ev.Kind) != (p.Proto == inspect.ProtoUDP) || ev.UDP != (p.Proto == inspect.ProtoUDP) {
			t.Fatalf("kind %v from protocol %d", ev.Kind, p.Proto)
		}
		if ev.Protocol != fasttrack.Protocol || ev.Src != p.SrcAddrPort() || ev.Dst != p.DstAddrPort() {
			t.Fatalf("dispatcher fields %v %v → %v", ev.Protocol, ev.Src, ev.Dst)
		}
		for _, f := range ev.FieldList() {
			if !within(f.Text, p.Payload) {
				t.Fatal("evidence field outside the payload")
			}
		}
		if !within(ev.LockTag, p.Payload) || ev.LockTag != nil && !fasttrack.ValidNetworkName(ev.LockTag) {
			t.Fatalf("invalid network name %q", ev.LockTag)
		}
		var d inspect.Decision
		inspect.Decide(&ev, fromLAN, s, &d)
		if d.NPeers < 0 || d.NPeers > len(d.Peers) {
			t.Fatalf("NPeers %d", d.NPeers)
		}
		if !fromLAN && (d.Verdict != inspect.Accept || d.NPeers != 0 || d.Lock.Valid || d.Reply.Valid) {
			t.Fatalf("acted on outside evidence: %+v", d)
		}
		for _, peer := range d.PeerList() {
			if !s.PeerCandidate(peer.Addr) || peer.Reason == "" {
				t.Fatalf("bad peer %+v", peer)
			}
		}
		if d.Lock.Valid && (s.Allowed(d.Lock.Addr) || s.IsOwn(d.Lock.Addr) || d.Lock.Reason == "") {
			t.Fatalf("bad lock %+v", d.Lock)
		}
		if d.Reply.Valid {
			var rev fasttrack.Message
			if !fasttrack.ClassifyUDP(d.Reply.Payload, &rev) || (rev.Kind != fasttrack.KindNodePong && rev.Kind != fasttrack.KindSupernodePong) {
				t.Fatalf("reply % x is not a pong", d.Reply.Payload)
			}
		}
	})
}

// endOfHeaders returns the length of b up to and including its first blank
// line, or -1.
func endOfHeaders(b []byte) int {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		if i+1 < len(b) && b[i+1] == '\n' {
			return i + 2
		}
		if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
			return i + 3
		}
	}
	return -1
}

// FuzzHTTPHeaders fuzzes the HTTP classifier and header parser: no panics,
// fields alias the input, and nothing after the blank line (the body)
// changes the outcome.
func FuzzHTTPHeaders(f *testing.F) {
	f.Add(inspecttest.GetHash())
	f.Add(inspecttest.GetIDName())
	f.Add(inspecttest.GetPeerEnabler())
	f.Add(inspecttest.Response(206))
	f.Add(inspecttest.Give(42))
	f.Add(bytes.ReplaceAll(inspecttest.GetHash(), []byte("\r\n"), []byte("\n")))
	for _, m := range nearMisses() {
		var p inspect.Packet
		if inspect.Decode(m.pkt, &p) == nil && p.Proto == inspect.ProtoTCP {
			f.Add(append([]byte{}, p.Payload...))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev fasttrack.Message
		ok := fasttrack.ClassifyHTTP(b, &ev)
		if ok != (ev.Kind != fasttrack.KindNone) || (ok && fasttrack.IsUDP(ev.Kind)) {
			t.Fatalf("ok=%v kind=%v", ok, ev.Kind)
		}
		for _, f := range [][]byte{ev.Network, ev.Username, ev.Hash, ev.Path, ev.UserAgent, ev.GiveID} {
			if !within(f, b) {
				t.Fatal("field outside the input")
			}
		}
		if ev.Hash != nil && len(ev.Hash) != 40 {
			t.Fatalf("hash %q", ev.Hash)
		}
		if e := endOfHeaders(b); e >= 0 {
			var head fasttrack.Message
			hok := fasttrack.ClassifyHTTP(b[:e], &head)
			if hok != ok || head.Kind != ev.Kind || !bytes.Equal(head.Username, ev.Username) ||
				!bytes.Equal(head.Network, ev.Network) || head.SelfAddr != ev.SelfAddr || head.Supernode != ev.Supernode {
				t.Fatalf("body changed the outcome: %v/%v vs head-only %v/%v", ok, ev.Kind, hok, head.Kind)
			}
		}
		var hev fasttrack.Message
		fasttrack.ParseHeaders(b, &hev)
		for _, f := range [][]byte{hev.Network, hev.Username, hev.UserAgent} {
			if !within(f, b) {
				t.Fatal("header field outside the input")
			}
		}
	})
}
