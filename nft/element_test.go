package nft

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestLookupSet(t *testing.T) {
	for _, name := range setNames() {
		k, err := lookupSet(name)
		if err != nil || k.name != name {
			t.Errorf("lookupSet(%s) = %+v %v", name, k, err)
		}
		_, werr := writableSet(name)
		writable := strings.HasPrefix(name, "peers") || strings.HasPrefix(name, "locked") || strings.HasPrefix(name, "pardon")
		if (werr == nil) != writable {
			t.Errorf("writableSet(%s) error %v", name, werr)
		}
	}
	if _, err := lookupSet("peers"); err == nil || !strings.Contains(err.Error(), "unknown set") {
		t.Errorf("lookupSet(peers) error %v", err)
	}
	if _, err := writableSet(SetAllow4); err == nil || !strings.Contains(err.Error(), "--allow") {
		t.Errorf("writableSet(allow4) error %v", err)
	}
}

func TestNormalizeElements(t *testing.T) {
	k4, _ := lookupSet(SetPeers4)
	k6, _ := lookupSet(SetLocked6)
	got, err := k4.normalizeElements([]Element{
		{Addr: addr("198.51.100.1")},
		{Addr: addr("::ffff:198.51.100.2"), Timeout: 1500 * time.Microsecond}, // unmapped, rounded up
		{Addr: addr("198.51.100.1"), Timeout: time.Hour},                      // last one wins
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Element{{Addr: addr("198.51.100.1"), Timeout: time.Hour}, {Addr: addr("198.51.100.2"), Timeout: 2 * time.Millisecond}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("normalizeElements = %v, want %v", got, want)
	}
	if got, err := k6.normalizeElements([]Element{{Addr: addr("fe80::1%eth0")}}); err != nil || got[0].Addr != addr("fe80::1") {
		t.Errorf("zone not stripped: %v %v", got, err)
	}
	for _, tc := range []struct {
		k    setKind
		e    Element
		text string
	}{
		{k4, Element{Addr: addr("2001:db8::1")}, "holds IPv4 addresses"},
		{k6, Element{Addr: addr("192.0.2.1")}, "holds IPv6 addresses"},
		{k6, Element{Addr: addr("::ffff:192.0.2.1")}, "holds IPv6 addresses"},
		{k4, Element{}, "invalid"},
		{k4, Element{Addr: addr("192.0.2.1"), Timeout: -time.Second}, "negative"},
	} {
		if _, err := tc.k.normalizeElements([]Element{tc.e}); err == nil || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("normalizeElements(%s, %v) error %v, want %q", tc.k.name, tc.e, err, tc.text)
		}
	}
	addrs, err := k4.normalizeAddrs([]netip.Addr{addr("192.0.2.1"), addr("::ffff:192.0.2.1"), addr("192.0.2.2")})
	if err != nil || !reflect.DeepEqual(addrs, []netip.Addr{addr("192.0.2.1"), addr("192.0.2.2")}) {
		t.Errorf("normalizeAddrs = %v %v", addrs, err)
	}
	if _, err := k4.normalizeAddrs([]netip.Addr{addr("2001:db8::1")}); err == nil {
		t.Error("normalizeAddrs accepted IPv6 for peers4")
	}
}

func TestChunks(t *testing.T) {
	var got [][2]int
	chunks(2500, maxElemsPerMessage, func(lo, hi int) { got = append(got, [2]int{lo, hi}) })
	if want := [][2]int{{0, 1000}, {1000, 2000}, {2000, 2500}}; !reflect.DeepEqual(got, want) {
		t.Errorf("chunks = %v", got)
	}
	got = nil
	chunks(0, maxElemsPerMessage, func(lo, hi int) { got = append(got, [2]int{lo, hi}) })
	if got != nil {
		t.Errorf("chunks(0) = %v", got)
	}
}

// TestPerMessage checks that messages with long comments hold fewer
// elements, so an element list never passes its u16 length.
func TestPerMessage(t *testing.T) {
	if n := perMessage(0); n != maxElemsPerMessage {
		t.Errorf("perMessage(0) = %d", n)
	}
	for _, l := range []int{1, 20, 40, 100, maxElemCommentLen} {
		n := perMessage(l)
		if n < 1 || n > maxElemsPerMessage {
			t.Fatalf("perMessage(%d) = %d", l, n)
		}
		// The largest element: IPv6 key, timeout, comment of l bytes.
		size := 4 + 4 + (4 + 16) + (4 + 8) + 4 + (2+l+1+3)&^3
		if n*size > 65535 {
			t.Errorf("perMessage(%d) = %d: %d bytes of elements overflow the attribute length", l, n, n*size)
		}
	}
	if perMessage(maxElemCommentLen) >= perMessage(20) {
		t.Error("long comments do not shrink the messages")
	}
}

func TestElementCommentLimit(t *testing.T) {
	k, _ := lookupSet(SetLocked6)
	ok := Element{Addr: netip.MustParseAddr("fd00::1"), Comment: strings.Repeat("c", maxElemCommentLen)}
	if _, err := k.normalizeElements([]Element{ok}); err != nil {
		t.Errorf("a %d-byte comment refused: %v", maxElemCommentLen, err)
	}
	long := ok
	long.Comment += "c"
	if _, err := k.normalizeElements([]Element{long}); err == nil {
		t.Errorf("a %d-byte comment accepted; this kernel refuses or drops it", len(long.Comment))
	}
}
