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
