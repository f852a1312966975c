package ftsim

import (
	"encoding/json"
	"testing"

	"github.com/ftwall/ftwall/inspect/fasttrack"
)

func TestParseMessageEncoders(t *testing.T) {
	for _, name := range []string{"KaZaA", "fileshare", "Grokster", ""} {
		m, ok := parseMessage(fasttrack.AppendPing(nil, name))
		if !ok || m.Type != TypePing || m.Network != name {
			t.Errorf("ping %q: got %+v ok=%v", name, m, ok)
		}
		m, ok = parseMessage(fasttrack.AppendSupernodePong(nil, name, 42))
		if !ok || m.Type != TypeSupernodePong || m.Network != name {
			t.Errorf("supernode pong %q: got %+v ok=%v", name, m, ok)
		}
	}
	m, ok := parseMessage(fasttrack.AppendNodePong(nil, 0xdeadbeef))
	if !ok || m.Type != TypeNodePong || m.ID != 0xdeadbeef {
		t.Errorf("node pong: got %+v ok=%v", m, ok)
	}
	// The spec's example ping.
	m, ok = parseMessage([]byte{0x27, 0, 0, 0, 0x29, 0x80, 'K', 'a', 'Z', 'a', 'A', 0})
	if !ok || m.Network != "KaZaA" {
		t.Errorf("spec example: got %+v ok=%v", m, ok)
	}
}

func TestParseMessageRejects(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":               nil,
		"unknown type":        {0x30, 0, 0, 0, 0x29, 0x80, 'K', 0},
		"short ping":          {0x27, 0, 0, 0, 0x29, 0x80},
		"ping without 0x80":   {0x27, 0, 0, 0, 0x29, 0x00, 'K', 0},
		"ping without NUL":    {0x27, 0, 0, 0, 0x29, 0x80, 'K', 'a'},
		"ping NUL inside":     {0x27, 0, 0, 0, 0x29, 0x80, 'K', 0, 'a', 0},
		"short supernode":     {0x28, 0, 0, 0, 0x29, 0, 1, 0, 0, 5, 0},
		"node pong 14 bytes":  append(fasttrack.AppendNodePong(nil, 1), 0),
		"node pong 12 bytes":  fasttrack.AppendNodePong(nil, 1)[:12],
		"ping binary in name": {0x27, 0, 0, 0, 0x29, 0x80, 0x01, 0},
	} {
		if m, ok := parseMessage(b); ok {
			t.Errorf("%s: accepted as %+v", name, m)
		}
	}
	// A 21-byte node pong (with address) is accepted.
	long := append(fasttrack.AppendNodePong(nil, 7), 192, 0, 2, 1, 0x04, 0xbe, 0, 0)
	if m, ok := parseMessage(long); !ok || m.ID != 7 {
		t.Errorf("21-byte node pong: got %+v ok=%v", m, ok)
	}
}

func TestMsgTypeText(t *testing.T) {
	for in, want := range map[string]MsgType{"0x28": 0x28, "0X29": 0x29, "40": 40, "none": 0, "": 0, " 0x27 ": 0x27} {
		got, err := ParseMsgType(in)
		if err != nil || got != want {
			t.Errorf("ParseMsgType(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"0x128", "x", "-1", "256"} {
		if _, err := ParseMsgType(in); err == nil {
			t.Errorf("ParseMsgType(%q): no error", in)
		}
	}
	b, err := json.Marshal(struct{ T, N MsgType }{0x28, 0})
	if err != nil || string(b) != `{"T":"0x28","N":"none"}` {
		t.Fatalf("marshal: %s %v", b, err)
	}
	var back struct{ T, N MsgType }
	if err := json.Unmarshal(b, &back); err != nil || back.T != 0x28 || back.N != 0 {
		t.Fatalf("unmarshal: %+v %v", back, err)
	}
}
