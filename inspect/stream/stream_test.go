package stream

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"
)

var (
	t0 = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	k1 = Key{Src: netip.MustParseAddrPort("10.0.1.2:40000"), Dst: netip.MustParseAddrPort("198.51.100.8:1214")}
)

func add(t *testing.T, tb *Table, k Key, seq uint32, s string) Result {
	t.Helper()
	return tb.Add(t0, k, seq, []byte(s), true, nil, nil)
}

func TestSplitRequestReassembled(t *testing.T) {
	tb := New(Config{})
	r := add(t, tb, k1, 1000, "GE")
	if r.Status != Start || string(r.Stream) != "GE" {
		t.Fatalf("first: %+v", r)
	}
	r = add(t, tb, k1, 1002, "T /.hash=")
	if r.Status != More || string(r.Stream) != "GET /.hash=" {
		t.Fatalf("second: %v %q", r.Status, r.Stream)
	}
}

func TestOutOfOrderHeldThenMerged(t *testing.T) {
	tb := New(Config{})
	add(t, tb, k1, 1000, "GIV")
	r := add(t, tb, k1, 1005, "123\r\n")
	if string(r.Stream) != "GIV" {
		t.Fatalf("gap: stream %q, want only the contiguous start", r.Stream)
	}
	r = add(t, tb, k1, 1003, "E ")
	if string(r.Stream) != "GIVE 123\r\n" {
		t.Fatalf("filled: %q", r.Stream)
	}
}

func TestRetransmissionWithOtherBytesGivesBothVersions(t *testing.T) {
	tb := New(Config{})
	add(t, tb, k1, 1000, "GET /index.html HTTP/1.1\r\n")
	r := add(t, tb, k1, 1004, "/.hash=")
	if r.Alt == nil || string(r.Alt[:11]) != "GET /.hash=" || string(r.Stream) != "GET /index.html HTTP/1.1\r\n" {
		t.Fatalf("stream %q alt %q", r.Stream, r.Alt)
	}
	if tb.Stats().Conflicts != 1 {
		t.Fatalf("conflicts %d", tb.Stats().Conflicts)
	}
	// A plain retransmission is no conflict.
	r = add(t, tb, k1, 1000, "GET /")
	if r.Alt != nil || tb.Stats().Conflicts != 1 {
		t.Fatalf("plain retransmission: alt %q", r.Alt)
	}
}

func TestWindowBounds(t *testing.T) {
	tb := New(Config{Window: 16})
	add(t, tb, k1, 1000, "GET /0123456789abcdef")
	if r := add(t, tb, k1, 1000+16, "x"); r.Status != Out {
		t.Fatalf("past the window: %v", r.Status)
	}
	if r := add(t, tb, k1, 999, "x"); r.Status != Out {
		t.Fatalf("before the start: %v", r.Status)
	}
	r := add(t, tb, k1, 1010, "0123456789")
	if len(r.Stream) != 16 {
		t.Fatalf("stream of %d bytes, window 16", len(r.Stream))
	}
}

func TestSequenceWrap(t *testing.T) {
	tb := New(Config{})
	add(t, tb, k1, 0xfffffffe, "GE")
	if r := add(t, tb, k1, 0, "T /"); string(r.Stream) != "GET /" {
		t.Fatalf("across the wrap: %q", r.Stream)
	}
}

func TestNoStartWithoutCanStart(t *testing.T) {
	tb := New(Config{})
	if r := tb.Add(t0, k1, 1, []byte("xyz"), false, nil, nil); r.Status != Out || tb.Stats().Tracked != 0 {
		t.Fatalf("%v, tracked %d", r.Status, tb.Stats().Tracked)
	}
}

func TestDoneAndIdle(t *testing.T) {
	tb := New(Config{Idle: time.Second})
	add(t, tb, k1, 1, "GET")
	tb.Done(t0, k1)
	if st := tb.Stats(); st.Tracked != 0 {
		t.Fatalf("after Done: %d tracked", st.Tracked)
	}
	// Forgotten: a segment that cannot start a message is judged alone,
	// one that can starts again (a later pipelined request).
	if r := tb.Add(t0, k1, 4, []byte("T /"), false, nil, nil); r.Status != Out {
		t.Fatalf("after Done: %v", r.Status)
	}
	if r := add(t, tb, k1, 4, "GET /"); r.Status != Start {
		t.Fatalf("a new message after Done: %v", r.Status)
	}
	// Idle: the connection is forgotten and a new segment starts again.
	r := tb.Add(t0.Add(2*time.Second), k1, 100, []byte("GET /"), true, nil, nil)
	if r.Status != Start {
		t.Fatalf("after idle: %v", r.Status)
	}
}

// One host cannot hold more than MaxPerHost connections waiting: its next
// start is refused (not tracked, not evicting anyone); an IPv6 host counts
// per /64, whatever its addresses.
func TestPerHostQuota(t *testing.T) {
	tb := New(Config{MaxPerHost: 3})
	other := Key{Src: netip.MustParseAddrPort("10.0.1.3:40000"), Dst: k1.Dst}
	add(t, tb, other, 1, "G")
	for i := range 5 {
		k := Key{Src: netip.AddrPortFrom(k1.Src.Addr(), uint16(1000+i)), Dst: k1.Dst}
		want := Start
		if i >= 3 {
			want = Refused
		}
		if r := add(t, tb, k, 1, "G"); r.Status != want {
			t.Fatalf("connection %d: %v, want %v", i, r.Status, want)
		}
	}
	if st := tb.Stats(); st.Refused != 2 || st.Tracked != 4 || st.Evicted != 0 {
		t.Fatalf("stats %+v", st)
	}
	// Done frees a place.
	tb.Done(t0, Key{Src: netip.AddrPortFrom(k1.Src.Addr(), 1000), Dst: k1.Dst})
	if r := add(t, tb, Key{Src: netip.AddrPortFrom(k1.Src.Addr(), 2000), Dst: k1.Dst}, 1, "G"); r.Status != Start {
		t.Fatalf("after Done: %v", r.Status)
	}
	// IPv6: addresses of one /64 share the quota, another /64 does not.
	for i := range 4 {
		k := Key{Src: netip.AddrPortFrom(netip.MustParseAddr(fmt.Sprintf("2001:db8:1:2::%x", i+1)), 40000), Dst: k1.Dst}
		want := Start
		if i == 3 {
			want = Refused
		}
		if r := add(t, tb, k, 1, "G"); r.Status != want {
			t.Fatalf("IPv6 address %d of one /64: %v, want %v", i, r.Status, want)
		}
	}
	if r := add(t, tb, Key{Src: netip.MustParseAddrPort("[2001:db8:1:3::1]:40000"), Dst: k1.Dst}, 1, "G"); r.Status != Start {
		t.Fatalf("another /64: %v", r.Status)
	}
}

func TestComplete(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
		{"GET / HTTP/1.1\n\n", true},
		{"GET / HTTP/1.1\r\nHost: a\r\n", false},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /x", false},
		{"GIVE 12\r\n", true},
		{"GIVE 12", false},
		{"\x13BitTorrent protocol", false},
		{"0123456789", true}, // the window (10) is full
	} {
		if got := Complete([]byte(c.in), 10+len(c.in)*boolInt(c.in != "0123456789")); got != c.want {
			t.Errorf("Complete(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestFullTableForgetsTheOldest(t *testing.T) {
	tb := New(Config{MaxFlows: 3})
	keys := make([]Key, 5)
	for i := range keys {
		keys[i] = Key{Src: netip.AddrPortFrom(k1.Src.Addr(), uint16(1000+i)), Dst: k1.Dst}
		add(t, tb, keys[i], 1, "GE")
	}
	st := tb.Stats()
	if st.Tracked != 3 || st.Evicted != 2 {
		t.Fatalf("stats %+v, want 3 tracked, 2 evicted", st)
	}
	if r := add(t, tb, keys[0], 3, "T"); r.Status != Start {
		t.Fatalf("oldest still known: %v", r.Status)
	}
	if r := add(t, tb, keys[4], 3, "T"); r.Status != More {
		t.Fatalf("newest forgotten: %v", r.Status)
	}
}

// The ring of keys stays bounded when connections keep going idle.
func TestOrderCompacted(t *testing.T) {
	tb := New(Config{MaxFlows: 4, Idle: time.Second})
	for i := range 1000 {
		k := Key{Src: netip.AddrPortFrom(k1.Src.Addr(), uint16(i)), Dst: k1.Dst}
		tb.Add(t0.Add(time.Duration(i)*2*time.Second), k, 1, []byte("G"), true, nil, nil)
	}
	if n := len(tb.order); n > 8 {
		t.Fatalf("order holds %d entries for at most 4 connections", n)
	}
}

func TestHoldBounded(t *testing.T) {
	tb := New(Config{})
	add(t, tb, k1, 0, "G")
	for i := range 10 {
		add(t, tb, k1, uint32(10+2*i), "x")
	}
	if got := tb.Stats().Dropped; got != 10-maxPending {
		t.Fatalf("dropped %d, want %d", got, 10-maxPending)
	}
}

func TestMessages(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
	}{
		{"GET / HTTP/1.1\r\n\r\n", []int{0}},
		{"\r\n\r\nGET / HTTP/1.1\r\n", []int{4}},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /.hash=x HTTP/1.1\r\n", []int{0, 27}},
		{"GET /a HTTP/1.1\n\nGET /b HTTP/1.1\n\n\r\nGET /c", []int{0, 17, 36}},
		{"GIVE 123\r\nGET /x", []int{0, 10}},
		{"GIVE 1\n\nX", []int{0, 8}},
		{"\r\n", nil},
	} {
		if got := Messages([]byte(c.in), nil); !slices.Equal(got, c.want) {
			t.Errorf("Messages(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	var many []byte
	for i := range 20 {
		many = fmt.Appendf(many, "GET /%d HTTP/1.1\r\n\r\n", i)
	}
	if got := Messages(many, nil); len(got) != MaxMessages {
		t.Fatalf("%d messages, want at most %d", len(got), MaxMessages)
	}
}

func FuzzAdd(f *testing.F) {
	f.Add(uint32(1), []byte("GE"), uint32(3), []byte("T /"), uint32(2), []byte("ET"))
	f.Add(uint32(0xffffffff), []byte("G"), uint32(0), []byte("IVE 1\r\n"), uint32(5), []byte("x"))
	f.Fuzz(func(t *testing.T, s1 uint32, p1 []byte, s2 uint32, p2 []byte, s3 uint32, p3 []byte) {
		tb := New(Config{Window: 64, MaxFlows: 2})
		for i, seg := range []struct {
			seq uint32
			p   []byte
		}{{s1, p1}, {s2, p2}, {s3, p3}} {
			k := k1
			if i == 2 && len(p3) > 0 && p3[0]&1 == 1 {
				k.Src = netip.AddrPortFrom(k.Src.Addr(), 1)
			}
			r := tb.Add(t0, k, seg.seq, seg.p, true, nil, nil)
			if len(r.Stream) > 64 || len(r.Alt) > 64 {
				t.Fatalf("stream %d / alt %d bytes past the window", len(r.Stream), len(r.Alt))
			}
			Messages(r.Stream, nil)
			Messages(r.Alt, nil)
		}
		if st := tb.Stats(); st.Tracked > 2 {
			t.Fatalf("tracked %d", st.Tracked)
		}
	})
}

func FuzzMessages(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\n\r\nGET /.hash= HTTP/1.1\r\n"))
	f.Add([]byte("GIVE 1\r\n\r\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := Messages(b, nil)
		if len(got) > MaxMessages {
			t.Fatalf("%d messages", len(got))
		}
		for i, o := range got {
			if o < 0 || o >= len(b) || (i > 0 && o <= got[i-1]) {
				t.Fatalf("offsets %v for %d bytes", got, len(b))
			}
		}
		if want := messagesByteByByte(b, nil); !slices.Equal(got, want) {
			t.Fatalf("Messages(%q) = %v, the byte-by-byte scan finds %v", b, got, want)
		}
	})
}

// messagesByteByByte is Messages as it was before it jumped from line end
// to line end: the reference the fuzz target holds it to.
func messagesByteByByte(b []byte, dst []int) []int {
	at := skipEOL(b, 0)
	if at < len(b) {
		dst = append(dst, at)
	}
	line := 0
	for j := at; j < len(b); j++ {
		if b[j] == '\n' {
			line = j + 1
			break
		}
	}
	if line > 0 && hasWord(b[at:], "GIVE ") {
		if n := skipEOL(b, line); n < len(b) && len(dst) < MaxMessages {
			dst = append(dst, n)
		}
	}
	for i := at; i+1 < len(b) && len(dst) < MaxMessages; i++ {
		if b[i] != '\n' {
			continue
		}
		j := i + 1
		if j < len(b) && b[j] == '\r' {
			j++
		}
		if j < len(b) && b[j] == '\n' {
			n := skipEOL(b, j+1)
			if n < len(b) && (len(dst) == 0 || dst[len(dst)-1] != n) {
				dst = append(dst, n)
			}
			i = n - 1
		}
	}
	return dst
}
