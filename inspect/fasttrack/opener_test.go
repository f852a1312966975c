package fasttrack_test

import (
	"net/netip"
	"testing"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/fasttrack"
	"github.com/ftwall/ftwall/inspect/inspecttest"
)

// giFT's opener: fixed "random" bytes fa00b62b, a seed, the mangled
// encryption type (measured on giFT-FastTrack 0.8.9).
var giftOpener = []byte{0xfa, 0x00, 0xb6, 0x2b, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}

func opener(payload []byte, flags uint8, fam family) []byte {
	return inspecttest.IP(fam.client.Addr(), fam.peer.Addr(), inspecttest.ProtoTCP, inspecttest.TCPSegment(fam.client, fam.peer, flags, payload))
}

func TestClassifySessionOpener(t *testing.T) {
	const psh, ack, syn, fin, rst = 0x08, 0x10, 0x02, 0x01, 0x04
	other := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	for _, fam := range families() {
		cases := []struct {
			name    string
			payload []byte
			flags   uint8
			want    bool
			gift    bool
		}{
			{"giFT opener", giftOpener, psh | ack, true, true},
			{"other 12 bytes", other, psh | ack, true, false},
			{"without PSH", other, ack, false, false},
			{"with FIN", other, psh | ack | fin, false, false},
			{"with SYN", other, psh | syn, false, false},
			{"with RST", other, psh | rst, false, false},
			{"11 bytes", other[:11], psh | ack, false, false},
			{"13 bytes", append(append([]byte{}, other...), 0), psh | ack, false, false},
		}
		for _, c := range cases {
			t.Run(fam.name+"/"+c.name, func(t *testing.T) {
				var p inspect.Packet
				if err := inspect.Decode(opener(c.payload, c.flags, fam), &p); err != nil {
					t.Fatal(err)
				}
				var ev fasttrack.Message
				ok := fasttrack.ClassifyMessage(&p, &ev)
				if ok != c.want || (ok && (ev.Kind != fasttrack.KindSessionOpen || ev.GiFTOpener != c.gift)) {
					t.Errorf("Classify = %v kind %v giFT %v, want %v giFT %v", ok, ev.Kind, ev.GiFTOpener, c.want, c.gift)
				}
			})
		}
	}
}

func TestDecideSessionOpener(t *testing.T) {
	other := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	for _, fam := range families() {
		t.Run(fam.name, func(t *testing.T) {
			// From a client nobody knows, 12 bytes are no evidence.
			ev, d := decide(t, opener(other, 0x18, fam), true, settings())
			if d.Verdict != inspect.Accept || d.NPeers != 0 || d.Lock.Valid {
				t.Errorf("unknown client: %+v", d)
			}
			// From a known FastTrack client: drop, learn the node, refresh
			// the lock without changing its probe port.
			ev.ClientKnown = true
			var dk inspect.Decision
			inspect.Decide(&ev, true, settings(), &dk)
			if dk.Verdict != inspect.Drop || !equalStrings(peerStrings(&dk), []string{fam.peer.String() + " session-open"}) {
				t.Errorf("known client: %+v", dk)
			}
			if !dk.Lock.Valid || dk.Lock.Addr != fam.client.Addr() || dk.Lock.Port != 0 || dk.Lock.Reason != fasttrack.ReasonSessionOpen {
				t.Errorf("known client: lock %+v", dk.Lock)
			}
			// giFT's fixed bytes are evidence on their own.
			_, dg := decide(t, opener(giftOpener, 0x18, fam), true, settings())
			if dg.Verdict != inspect.Drop || dg.NPeers != 1 || !dg.Lock.Valid {
				t.Errorf("giFT opener: %+v", dg)
			}
			// Not from the LAN: nothing.
			_, dw := decide(t, opener(giftOpener, 0x18, fam), false, settings())
			if dw.Verdict != inspect.Accept || dw.NPeers != 0 || dw.Lock.Valid {
				t.Errorf("from the WAN: %+v", dw)
			}
		})
	}
}

func TestDecideSessionOpenerAllowlisted(t *testing.T) {
	s := settings()
	fam := families()[0]
	s.Allow = append(s.Allow, netip.PrefixFrom(fam.peer.Addr(), fam.peer.Addr().BitLen()))
	_, d := decide(t, opener(giftOpener, 0x18, fam), true, s)
	if d.Verdict != inspect.Accept || d.NPeers != 0 || !d.Lock.Valid {
		t.Errorf("opener to an allowlisted node: %+v (want accepted, the client locked)", d)
	}
}
