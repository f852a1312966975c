package nft

import (
	"bytes"
	"slices"
	"testing"

	"github.com/ftwall/ftwall/inspect"
)

func TestFirstBytes(t *testing.T) {
	udp := func(p inspect.Prefilter) QueueRule {
		p.Hook, p.L4 = inspect.HookForward, inspect.ProtoUDP
		return QueueRule{Protocol: "t", Prefilter: p}
	}
	for _, tc := range []struct {
		name  string
		rules []QueueRule
		want  []byte // nil: no gate
	}{
		{"one exact byte", []QueueRule{udp(inspect.Prefilter{Match: []inspect.PayloadMatch{{Offset: 0, Value: []byte{0x27, 0}}}})}, []byte{0x27}},
		{"masked", []QueueRule{udp(inspect.Prefilter{Match: []inspect.PayloadMatch{{Offset: 0, Value: []byte{0x40, 0}, Mask: []byte{0xfe, 0xfc}}}})}, []byte{0x40, 0x41}},
		{"mask zero on the first byte tests nothing", []QueueRule{udp(inspect.Prefilter{Match: []inspect.PayloadMatch{{Offset: 0, Value: []byte{0, 1}, Mask: []byte{0, 0xff}}}})}, nil},
		{"one of", []QueueRule{udp(inspect.Prefilter{OneOf: &inspect.PayloadSet{Offset: 0, Len: 2, Values: [][]byte{{'d', '1'}, {'d', '2'}, {'e', '1'}}}})}, []byte{'d', 'e'}},
		{"match and one of intersect", []QueueRule{udp(inspect.Prefilter{
			Match: []inspect.PayloadMatch{{Offset: 0, Value: []byte{'d'}}},
			OneOf: &inspect.PayloadSet{Offset: 0, Len: 1, Values: [][]byte{{'d'}, {'e'}}},
		})}, []byte{'d'}},
		{"union of rules", []QueueRule{
			udp(inspect.Prefilter{Match: []inspect.PayloadMatch{{Offset: 0, Value: []byte{0x01}}}}),
			udp(inspect.Prefilter{Match: []inspect.PayloadMatch{{Offset: 0, Value: []byte{0x00}}}}),
		}, []byte{0x00, 0x01}},
		{"a rule testing a later offset only takes any first byte", []QueueRule{
			udp(inspect.Prefilter{Match: []inspect.PayloadMatch{{Offset: 0, Value: []byte{0x01}}}}),
			udp(inspect.Prefilter{Match: []inspect.PayloadMatch{{Offset: 4, Value: []byte{0x00}}}}),
		}, nil},
		{"contradictory rule takes nothing", []QueueRule{
			udp(inspect.Prefilter{Match: []inspect.PayloadMatch{{Offset: 0, Value: []byte{0x01}}, {Offset: 0, Value: []byte{0x02}}}}),
			udp(inspect.Prefilter{Match: []inspect.PayloadMatch{{Offset: 0, Value: []byte{0x05}}}}),
		}, []byte{0x05}},
		{"no rules", nil, nil},
	} {
		got, ok := firstBytes(tc.rules)
		if ok != (tc.want != nil) || !bytes.Equal(got, tc.want) {
			t.Errorf("%s: firstBytes = % x, %v; want % x", tc.name, got, ok, tc.want)
		}
	}
}

// TestFirstByteGateKeepsEveryCandidate: for every built-in UDP queue rule,
// a payload that meets the rule has a first byte the gate lets through,
// and the same payload with any first byte outside the gate fails the
// rule (checked with inspect.Prefilter.Matches, which mirrors the kernel
// rule).
func TestFirstByteGateKeepsEveryCandidate(t *testing.T) {
	rules := forwardRules(builtinQueue(), inspect.ProtoUDP)
	gate, ok := firstBytes(rules)
	if !ok {
		t.Fatal("the built-in UDP queue rules get no first-byte gate")
	}
	t.Logf("gate: % x", gate)
	for _, q := range rules {
		payload := satisfying(q.Prefilter)
		p := inspect.Packet{Transport: true, Proto: inspect.ProtoUDP, Payload: payload}
		if !q.Matches(&p, 28+len(payload)) {
			t.Fatalf("%s: the constructed payload % x does not meet the rule", q.ID(), payload)
		}
		if !slices.Contains(gate, payload[0]) {
			t.Errorf("%s: a candidate starting %#02x is outside the gate % x", q.ID(), payload[0], gate)
		}
		for b := range 256 {
			if slices.Contains(gate, byte(b)) {
				continue
			}
			alt := slices.Clone(payload)
			alt[0] = byte(b)
			p.Payload = alt
			if q.Matches(&p, 28+len(alt)) {
				t.Errorf("%s: a payload starting %#02x, outside the gate, meets the rule", q.ID(), b)
			}
		}
	}
}

// satisfying builds a payload that meets f's payload tests.
func satisfying(f inspect.Prefilter) []byte {
	n := 64
	if l := f.UDPLen; l != nil {
		n = max(int(l.Min), 1)
	}
	for _, m := range f.Match {
		n = max(n, int(m.Offset)+len(m.Value))
	}
	if s := f.OneOf; s != nil {
		n = max(n, int(s.Offset+s.Len))
	}
	b := make([]byte, n)
	for _, m := range f.Match {
		copy(b[m.Offset:], m.Value)
	}
	if s := f.OneOf; s != nil {
		copy(b[s.Offset:], s.Values[0])
	}
	return b
}
