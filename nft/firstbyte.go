package nft

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/ftwall/ftwall/inspect"
)

// firstBytes returns the first payload bytes that some rule of rules can
// take, and false when a rule takes any first byte (it tests none, or the
// set would hold all 256). The transport chain of UDP starts with a rule
// that leaves at once for any other first byte: one payload load and one
// set lookup instead of every queue rule's tests, for the ordinary UDP
// (DNS, QUIC, games) that makes up most of a LAN's datagrams.
func firstBytes(rules []QueueRule) ([]byte, bool) {
	var take [256]bool
	for _, q := range rules {
		ok := [256]bool{}
		for i := range ok {
			ok[i] = true
		}
		tested := false
		for _, m := range q.Match {
			if m.Offset != 0 || len(m.Value) == 0 {
				continue
			}
			mask := byte(0xff)
			if len(m.Mask) > 0 {
				mask = m.Mask[0]
			}
			if mask == 0 {
				continue
			}
			tested = true
			for b := range ok {
				if byte(b)&mask != m.Value[0]&mask {
					ok[b] = false
				}
			}
		}
		if s := q.OneOf; s != nil && s.Offset == 0 && s.Len > 0 {
			tested = true
			var in [256]bool
			for _, v := range s.Values {
				if len(v) > 0 {
					in[v[0]] = true
				}
			}
			for b := range ok {
				ok[b] = ok[b] && in[b]
			}
		}
		if !tested {
			return nil, false
		}
		for b := range ok {
			take[b] = take[b] || ok[b]
		}
	}
	var out []byte
	for b, t := range take {
		if t {
			out = append(out, byte(b))
		}
	}
	if len(out) == 0 || len(out) == 256 {
		return nil, false
	}
	return out, true
}

// forwardRules returns the forward-hook rules of transport l4.
func forwardRules(rules []QueueRule, l4 uint8) []QueueRule {
	var out []QueueRule
	for _, q := range rules {
		if q.Hook == inspect.HookForward && q.L4 == l4 {
			out = append(out, q)
		}
	}
	return out
}

// firstByteGate is the rule that ends the UDP chain for a datagram whose
// first payload byte no queue rule takes. (A datagram too short to have one
// does not match it and meets the queue rules, whose tests it fails.)
func firstByteGate(b *builder, first []byte) *ruleSpec {
	keys := make([][]byte, len(first))
	for i, c := range first {
		keys[i] = []byte{c}
	}
	set := b.constSet(nftables.SetDatatype{Name: "integer", Bytes: 1}, keys)
	return &ruleSpec{
		id:   RuleUDPOther,
		desc: fmt.Sprintf("UDP whose first payload byte is none of % x (no queue rule takes it), leave", first),
		anon: []*setSpec{set},
		exprs: []expr.Any{
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 8, Len: 1},
			&expr.Lookup{SourceRegister: reg1, SetName: set.set.Name, SetID: set.set.ID, Invert: true},
			&expr.Counter{},
			&expr.Verdict{Kind: expr.VerdictReturn},
		},
	}
}
