package bittorrent_test

import (
	"bytes"
	"testing"
	"unsafe"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/bittorrent"
)

func within(sub, buf []byte) bool {
	if len(sub) == 0 {
		return true
	}
	if len(buf) == 0 {
		return false
	}
	s, b := uintptr(unsafe.Pointer(&sub[0])), uintptr(unsafe.Pointer(&buf[0]))
	return s >= b && s+uintptr(len(sub)) <= b+uintptr(len(buf))
}

// FuzzClassify feeds raw IP packets to the BitTorrent detector: it must not
// panic, change its input or point outside the payload, and what it
// returns must be consistent.
func FuzzClassify(f *testing.F) {
	for _, c := range positives() {
		f.Add(c.pkt, true)
	}
	for _, c := range nearMisses() {
		f.Add(c.pkt, true)
	}
	s := settings()
	f.Fuzz(func(t *testing.T, b []byte, fromLAN bool) {
		orig := append([]byte{}, b...)
		var p inspect.Packet
		_ = inspect.Decode(b, &p)
		var ev inspect.Evidence
		ok := bt.Classify(&p, &ev)
		if !bytes.Equal(orig, b) {
			t.Fatal("input modified")
		}
		if !ok {
			if ev.Kind != 0 || ev.NFields != 0 {
				t.Fatalf("false with evidence %+v", ev)
			}
			return
		}
		if ev.Protocol != bittorrent.Protocol || ev.Kind == 0 || ev.Kind >= bittorrent.NumKinds {
			t.Fatalf("evidence %v kind %d", ev.Protocol, ev.Kind)
		}
		if ev.Role != inspect.RoleQuery && ev.Role != inspect.RoleAnswer {
			t.Fatalf("role %d", ev.Role)
		}
		if ev.Reason == "" {
			t.Fatal("no reason")
		}
		if ev.LockPort != 0 && ev.LockPort != p.SrcPort {
			t.Fatalf("lock port %d, source port %d", ev.LockPort, p.SrcPort)
		}
		for _, fl := range ev.FieldList() {
			if !within(fl.Text, p.Payload) {
				t.Fatal("evidence field outside the payload")
			}
		}
		var d inspect.Decision
		inspect.Decide(&ev, fromLAN, s, &d)
		if !fromLAN && (d.Verdict != inspect.Accept || d.NPeers != 0 || d.Lock.Valid) {
			t.Fatalf("acted on outside evidence: %+v", d)
		}
		if d.Reply.Valid {
			t.Fatal("BitTorrent has no spoofed reply")
		}
		for _, peer := range d.PeerList() {
			if !s.PeerCandidate(peer.Addr) {
				t.Fatalf("bad peer %+v", peer)
			}
		}
	})
}
