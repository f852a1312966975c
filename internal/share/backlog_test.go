package share

import (
	"net/netip"
	"testing"
)

func addrN(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})
}

func TestBacklogDropsOldest(t *testing.T) {
	b := newBacklog(3)
	for i := range 5 {
		b.push(Entry{Addr: addrN(i)})
	}
	n, dropped := b.stats()
	if n != 3 || dropped != 2 {
		t.Fatalf("pending %d dropped %d, want 3 and 2", n, dropped)
	}
	got := b.take(nil, 10)
	for i, e := range got {
		if e.Addr != addrN(i+2) {
			t.Errorf("entry %d = %s, want %s (oldest first, oldest dropped)", i, e.Addr, addrN(i+2))
		}
	}
}

func TestBacklogPushFront(t *testing.T) {
	b := newBacklog(4)
	b.push(Entry{Addr: addrN(10)})
	b.push(Entry{Addr: addrN(11)})
	b.pushFront([]Entry{{Addr: addrN(1)}, {Addr: addrN(2)}, {Addr: addrN(3)}})
	n, dropped := b.stats()
	if n != 4 || dropped != 1 {
		t.Fatalf("pending %d dropped %d, want 4 and 1", n, dropped)
	}
	got := b.take(nil, 2)
	if got[0].Addr != addrN(2) || got[1].Addr != addrN(3) {
		t.Errorf("front = %v %v, want the newest of the failed first in order", got[0].Addr, got[1].Addr)
	}
	got = b.take(got[:0], 10)
	if len(got) != 2 || got[0].Addr != addrN(10) {
		t.Errorf("rest = %v", got)
	}
}

func TestBacklogGrowsAndShrinks(t *testing.T) {
	b := newBacklog(100000)
	if len(b.ring) != 0 {
		t.Fatalf("a new backlog holds %d slots, want none until used", len(b.ring))
	}
	for i := range 10000 {
		b.push(Entry{Addr: addrN(i)})
	}
	if n, d := b.stats(); n != 10000 || d != 0 {
		t.Fatalf("pending %d dropped %d", n, d)
	}
	got := b.take(nil, 20000)
	for i, e := range got {
		if e.Addr != addrN(i) {
			t.Fatalf("entry %d = %s, want %s: order lost while growing", i, e.Addr, addrN(i))
		}
	}
	if b.ring != nil {
		t.Errorf("an emptied large backlog keeps %d slots", len(b.ring))
	}
}
