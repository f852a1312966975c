package stream_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/inspecttest"
	"github.com/ftwall/ftwall/inspect/registry"
	"github.com/ftwall/ftwall/inspect/stream"
)

var (
	client = netip.MustParseAddrPort("10.0.1.2:40000")
	peer   = netip.MustParseAddrPort("198.51.100.8:1214")
	now    = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
)

// segments feeds the parts as consecutive segments of one connection and
// reports after which part (1-based) evidence was found, 0 for none.
func segments(t *testing.T, c *stream.Classifier, src netip.AddrPort, fromLAN bool, parts ...[]byte) (int, inspect.Evidence) {
	t.Helper()
	var sc stream.Scratch
	var ev inspect.Evidence
	var pkt inspect.Packet
	seq := uint32(0x7fff_fff0)
	for i, p := range parts {
		raw := inspecttest.TCPSeq(src, peer, seq, p)
		if err := inspect.Decode(raw, &pkt); err != nil {
			t.Fatal(err)
		}
		if c.Classify(now, &pkt, fromLAN, &sc, &ev) {
			return i + 1, ev
		}
		seq += uint32(len(p))
	}
	return 0, ev
}

func split(b []byte, at ...int) [][]byte {
	var out [][]byte
	prev := 0
	for _, a := range at {
		out = append(out, b[prev:a])
		prev = a
	}
	return append(out, b[prev:])
}

func TestClassifierJudgesTheStreamStart(t *testing.T) {
	get := inspecttest.GetHash()
	web := inspecttest.Lines("GET /index.html HTTP/1.1", "Host: www.example")
	for _, c := range []struct {
		name  string
		parts [][]byte
		want  int
		kind  string
	}{
		{"whole", [][]byte{get}, 1, "http-request"},
		{"split after G", split(get, 1), 2, "http-request"},
		{"split in every third byte", split(get, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45, 48, 51, 54, 57, 60), 21, "http-request"},
		{"pipelined", [][]byte{append(append([]byte(nil), web...), get...)}, 1, "http-request"},
		{"pipelined, split", split(append(append([]byte(nil), web...), get...), len(web)+5), 2, "http-request"},
		{"give split", split(inspecttest.Give(77), 2), 2, "give"},
		{"handshake split", split(inspecttest.Handshake(), 1), 2, "handshake"},
		{"ordinary web request split", split(web, 1, 10), 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl := stream.NewClassifier(registry.Builtin(), stream.New(stream.Config{}))
			got, ev := segments(t, cl, client, true, c.parts...)
			if got != c.want {
				t.Fatalf("evidence after part %d, want %d", got, c.want)
			}
			if c.want > 0 && ev.KindName() != c.kind {
				t.Errorf("kind %s, want %s", ev.KindName(), c.kind)
			}
		})
	}
}

// Segments that do not come from the LAN are judged one by one.
func TestClassifierNotFromLAN(t *testing.T) {
	cl := stream.NewClassifier(registry.Builtin(), stream.New(stream.Config{}))
	if got, _ := segments(t, cl, client, false, split(inspecttest.GetHash(), 1)...); got != 0 {
		t.Fatalf("a split request not from the LAN judged whole (part %d)", got)
	}
}

// A connection start whole in its first segment is judged without being
// tracked; one that is not whole is tracked until it is judged; a whole
// segment of a connection already tracked is judged on the reassembled
// stream, as before.
func TestClassifierWholeStartsAreNotTracked(t *testing.T) {
	tab := stream.New(stream.Config{})
	cl := stream.NewClassifier(registry.Builtin(), tab)
	web := inspecttest.Lines("GET /index.html HTTP/1.1", "Host: www.example")
	if got, _ := segments(t, cl, client, true, inspecttest.GetHash()); got != 1 {
		t.Fatalf("a whole Kazaa request: evidence after part %d, want 1", got)
	}
	if got, _ := segments(t, cl, netip.MustParseAddrPort("10.0.1.2:40001"), true, web); got != 0 {
		t.Fatalf("a whole ordinary request is evidence (part %d)", got)
	}
	if st := tab.Stats(); st.Tracked != 0 || st.Started != 2 {
		t.Errorf("after two whole starts: %+v, want none tracked, 2 started", st)
	}
	// An incomplete start is tracked, and the rest of it (a whole message
	// in itself too) completes it on the reassembled stream.
	get := inspecttest.GetHash()
	cut := len("GET /.hash=")
	if got, ev := segments(t, cl, netip.MustParseAddrPort("10.0.1.2:40002"), true, get[:cut], get[cut:]); got != 2 || ev.KindName() != "http-request" {
		t.Fatalf("a split request: evidence after part %d (%s), want 2", got, ev.KindName())
	}
	if st := tab.Stats(); st.Tracked != 0 || st.Started != 3 {
		t.Errorf("after the split request: %+v, want none tracked, 3 started", st)
	}
}

// A host whose quota of waiting starts is full is refused a new start
// that would wait too, but a whole request occupies nothing and is judged.
func TestClassifierWholeStartPastTheQuota(t *testing.T) {
	tab := stream.New(stream.Config{MaxPerHost: 1})
	cl := stream.NewClassifier(registry.Builtin(), tab)
	get := inspecttest.GetHash()
	var sc stream.Scratch
	var ev inspect.Evidence
	var pkt inspect.Packet
	classify := func(src netip.AddrPort, payload []byte) bool {
		t.Helper()
		if err := inspect.Decode(inspecttest.TCPSeq(src, peer, 1000, payload), &pkt); err != nil {
			t.Fatal(err)
		}
		return cl.Classify(now, &pkt, true, &sc, &ev)
	}
	if classify(netip.MustParseAddrPort("10.0.1.2:40010"), get[:5]) || sc.Refused {
		t.Fatal("the first incomplete start: evidence or refused")
	}
	if classify(netip.MustParseAddrPort("10.0.1.2:40011"), get[:5]) || !sc.Refused {
		t.Fatal("a second incomplete start past the quota of 1 is not refused")
	}
	if !classify(netip.MustParseAddrPort("10.0.1.2:40012"), get) || sc.Refused || ev.KindName() != "http-request" {
		t.Fatalf("a whole request past the quota: refused %v, kind %q; want judged as http-request", sc.Refused, ev.KindName())
	}
	if st := tab.Stats(); st.Tracked != 1 || st.Refused != 1 {
		t.Errorf("table %+v, want 1 tracked, 1 refused", st)
	}
}
