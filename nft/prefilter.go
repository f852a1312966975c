package nft

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/ftwall/ftwall/inspect"
)

// QueueRule is one of a detector's prefilters: packets the kernel queues to
// the inspector. nft builds one rule from it and knows no protocol bytes.
type QueueRule struct {
	Protocol inspect.Protocol
	inspect.Prefilter
}

// StreamProtocol names the stream-start rules, which serve every
// detector that is an inspect.Streamer.
const StreamProtocol inspect.Protocol = "stream"

// QueueRules collects the prefilters of the detectors, in order, after
// the two stream-start rules when a detector is an inspect.Streamer.
func QueueRules(ds inspect.Detectors) []QueueRule {
	var out []QueueRule
	if starts := ds.StreamStarts(); len(starts) > 0 {
		values := make([][]byte, len(starts))
		for i, c := range starts {
			values[i] = []byte{c}
		}
		out = append(out,
			QueueRule{Protocol: StreamProtocol, Prefilter: inspect.Prefilter{
				Name: "more", Desc: "more of a marked LAN connection's first bytes", Hook: inspect.HookForward, L4: inspect.ProtoTCP,
				Stream: inspect.StreamMarked,
			}},
			QueueRule{Protocol: StreamProtocol, Prefilter: inspect.Prefilter{
				Name: "start", Desc: fmt.Sprintf("LAN connection starting with one of % x, mark it", starts), Hook: inspect.HookForward, L4: inspect.ProtoTCP,
				OneOf: &inspect.PayloadSet{Offset: 0, Len: 1, Values: values}, Stream: inspect.StreamMark,
			}})
	}
	for _, d := range ds {
		for _, p := range d.Prefilters() {
			out = append(out, QueueRule{Protocol: d.Protocol(), Prefilter: p})
		}
	}
	return out
}

// QueueRuleID is the identifier of a queue rule: "queue-<protocol>-<name>",
// the first word of its comment and its key in Status.Counters.
func QueueRuleID(protocol inspect.Protocol, name string) string {
	return "queue-" + string(protocol) + "-" + name
}

// ID returns the rule's identifier.
func (q QueueRule) ID() string { return QueueRuleID(q.Protocol, q.Name) }

// ctStateEstablished is conntrack's state bit of an established connection
// (NF_CT_STATE_BIT(IP_CT_ESTABLISHED)).
const ctStateEstablished = 1 << 1

// QueueRulePrefix starts every queue rule's identifier.
const QueueRulePrefix = "queue-"

func validToken(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validate checks one queue rule.
func (q QueueRule) validate() error {
	switch {
	case !validToken(string(q.Protocol)):
		return fmt.Errorf("protocol %q: want 1 to 32 of a-z, 0-9 and -", q.Protocol)
	case !validToken(q.Name):
		return fmt.Errorf("%s prefilter %q: want a name of 1 to 32 of a-z, 0-9 and -", q.Protocol, q.Name)
	case q.L4 != inspect.ProtoUDP && q.L4 != inspect.ProtoTCP:
		return fmt.Errorf("%s: transport protocol %d, want UDP or TCP", q.ID(), q.L4)
	case q.Hook != inspect.HookForward && q.Hook != inspect.HookInput:
		return fmt.Errorf("%s: unknown hook %d", q.ID(), q.Hook)
	case q.TCPFlags != nil && q.L4 != inspect.ProtoTCP:
		return fmt.Errorf("%s: TCP flags on a UDP prefilter", q.ID())
	case q.UDPLen != nil && (q.L4 != inspect.ProtoUDP || q.UDPLen.Min > q.UDPLen.Max || q.UDPLen.Max > 65535-8):
		return fmt.Errorf("%s: bad UDP length range", q.ID())
	}
	for _, m := range q.Match {
		if len(m.Value) == 0 || len(m.Value) > 16 || (m.Mask != nil && len(m.Mask) != len(m.Value)) {
			return fmt.Errorf("%s: a payload match needs 1 to 16 bytes and a mask of the same length", q.ID())
		}
	}
	if s := q.OneOf; s != nil {
		if s.Len == 0 || s.Len > 16 || len(s.Values) == 0 {
			return fmt.Errorf("%s: a payload set needs 1 to 16 bytes and values", q.ID())
		}
		for _, v := range s.Values {
			if len(v) != int(s.Len) {
				return fmt.Errorf("%s: payload set value % x is not %d bytes", q.ID(), v, s.Len)
			}
		}
	}
	switch {
	case q.Stream != inspect.StreamNone && q.L4 != inspect.ProtoTCP:
		return fmt.Errorf("%s: a stream rule is TCP", q.ID())
	case q.Stream == inspect.StreamMark && q.OneOf == nil:
		return fmt.Errorf("%s: a stream-marking rule needs the first bytes (OneOf)", q.ID())
	case q.Stream > inspect.StreamMarked:
		return fmt.Errorf("%s: unknown stream rule %d", q.ID(), q.Stream)
	case q.Stream != inspect.StreamNone && q.Hook != inspect.HookForward:
		return fmt.Errorf("%s: a stream rule is on the forward hook", q.ID())
	}
	if len(q.Match) == 0 && q.OneOf == nil && q.TCPFlags == nil && q.PacketLens == nil && q.UDPLen == nil && q.Stream == inspect.StreamNone {
		return fmt.Errorf("%s: a prefilter must match something (it would queue every %s packet)", q.ID(), l4Name(q.L4))
	}
	return nil
}

func l4Name(p uint8) string {
	if p == inspect.ProtoTCP {
		return "TCP"
	}
	return "UDP"
}

// validateQueueRules checks the rules and that identifiers are unique.
func validateQueueRules(rules []QueueRule) []error {
	var errs []error
	seen := map[string]bool{}
	for _, q := range rules {
		if err := q.validate(); err != nil {
			errs = append(errs, &OptionError{Option: "--protocols", Err: err})
			continue
		}
		if seen[q.ID()] {
			errs = append(errs, &OptionError{Option: "--protocols", Err: fmt.Errorf("queue rule %s given twice", q.ID())})
		}
		seen[q.ID()] = true
	}
	if len(rules) > 0 && !hasForward(rules) {
		errs = append(errs, &OptionError{Option: "--protocols", Err: errors.New("no detector queues forwarded packets")})
	}
	return errs
}

func hasForward(rules []QueueRule) bool {
	for _, q := range rules {
		if q.Hook == inspect.HookForward {
			return true
		}
	}
	return false
}

// payloadOffset returns the base and offset of byte off of the transport
// payload: behind the 8-byte UDP header, or the inner header (@ih) for TCP.
func payloadOffset(l4 uint8, off uint32) (expr.PayloadBase, uint32) {
	if l4 == inspect.ProtoUDP {
		return expr.PayloadBaseTransportHeader, 8 + off
	}
	return payloadBaseInner, off
}

// queueRule builds the rule of q. Cheap comparisons come first (protocol,
// flags, payload bytes), set lookups and the conntrack counter last: every
// forwarded packet from the LAN walks these rules, and most leave a rule at
// its first mismatch. fromLAN (the input hook's interface match) comes first
// when given; the transport is tested when l4 is set (in a chain of one
// transport it is known).
func queueRule(b *builder, q QueueRule, fromLAN []expr.Any, l4 bool, queue expr.Any) *ruleSpec {
	r := &ruleSpec{id: q.ID(), desc: fmt.Sprintf("%s: %s, to the inspector", q.Protocol, q.Desc)}
	r.exprs = append(r.exprs, fromLAN...)
	if l4 {
		r.exprs = append(r.exprs, matchL4Proto(q.L4)...)
	}
	if f := q.TCPFlags; f != nil {
		r.exprs = append(r.exprs,
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},
			&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 1, Mask: []byte{f.Mask}, Xor: []byte{0}},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{f.Value}})
	}
	for _, m := range q.Match {
		base, off := payloadOffset(q.L4, m.Offset)
		n := uint32(len(m.Value))
		r.exprs = append(r.exprs, &expr.Payload{DestRegister: reg1, Base: base, Offset: off, Len: n})
		if m.Mask != nil {
			r.exprs = append(r.exprs, &expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: n, Mask: m.Mask, Xor: make([]byte, n)})
		}
		r.exprs = append(r.exprs, &expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: m.Value})
	}
	if l := q.UDPLen; l != nil {
		r.exprs = append(r.exprs,
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 4, Len: 2},
			&expr.Cmp{Op: expr.CmpOpGte, Register: reg1, Data: binary.BigEndian.AppendUint16(nil, l.Min+8)},
			&expr.Cmp{Op: expr.CmpOpLte, Register: reg1, Data: binary.BigEndian.AppendUint16(nil, l.Max+8)})
	}
	if s := q.OneOf; s != nil {
		set := b.constSet(nftables.SetDatatype{Name: "integer", Bytes: s.Len}, s.Values)
		r.anon = append(r.anon, set)
		base, off := payloadOffset(q.L4, s.Offset)
		r.exprs = append(r.exprs,
			&expr.Payload{DestRegister: reg1, Base: base, Offset: off, Len: s.Len},
			&expr.Lookup{SourceRegister: reg1, SetName: set.set.Name, SetID: set.set.ID})
	}
	if len(q.PacketLens) > 0 {
		var keys [][]byte
		for _, l := range q.PacketLens {
			keys = append(keys, binary.NativeEndian.AppendUint32(nil, l))
		}
		set := b.constSet(nftables.TypeInteger, keys)
		r.anon = append(r.anon, set)
		r.exprs = append(r.exprs,
			&expr.Meta{Key: expr.MetaKeyLEN, Register: reg1},
			&expr.Lookup{SourceRegister: reg1, SetName: set.set.Name, SetID: set.set.ID})
	}
	if q.MaxConnPackets > 0 {
		var maxPkts [8]byte
		binary.BigEndian.PutUint64(maxPkts[:], q.MaxConnPackets)
		r.exprs = append(r.exprs,
			&expr.Ct{Register: reg1, Key: expr.CtKeyPKTS},
			&expr.Byteorder{SourceRegister: reg1, DestRegister: reg1, Op: expr.ByteorderHton, Len: 8, Size: 8},
			&expr.Cmp{Op: expr.CmpOpLte, Register: reg1, Data: maxPkts[:]})
	}
	if q.Stream != inspect.StreamNone {
		r.exprs = append(r.exprs, streamExprs(q.Stream)...)
	}
	// TCP evidence only on a connection that completed its handshake
	// (conntrack has seen the other side answer: ct state established). A
	// bare forged segment, with no SYN before it, is never queued.
	if q.L4 == inspect.ProtoTCP {
		r.exprs = append(r.exprs,
			&expr.Ct{Register: reg1, Key: expr.CtKeySTATE},
			&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: binary.NativeEndian.AppendUint32(nil, ctStateEstablished), Xor: []byte{0, 0, 0, 0}},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: []byte{0, 0, 0, 0}})
	}
	// Reverse path: only a packet whose source is routed back out of the
	// interface it came in on is queued (fib saddr . iif oif != 0). A LAN
	// host forging another subnet's address (or an outside one) cannot
	// make ftwall lock or learn anything with it. Last, so only packets
	// that match the prefilter pay for the route lookup.
	r.exprs = append(r.exprs,
		&expr.Fib{Register: reg1, FlagSADDR: true, FlagIIF: true, ResultOIF: true},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: []byte{0, 0, 0, 0}},
		&expr.Counter{})
	if q.Stream == inspect.StreamMark {
		r.exprs = append(r.exprs,
			&expr.Immediate{Register: reg1, Data: StreamLabel()},
			&expr.Ct{Register: reg1, SourceRegister: true, Key: expr.CtKeyLABELS})
	}
	r.exprs = append(r.exprs, queue)
	return r
}

// StreamLabelBit is the conntrack label bit (0-127) that marks a
// connection whose start is queued (see inspect.Streamer). Setting a
// label bit leaves the others alone; `nft list ruleset` shows it as
// "ct label 120".
const StreamLabelBit = 120

// StreamLabel is the 16-byte conntrack label with StreamLabelBit set, as
// the kernel holds it.
func StreamLabel() []byte {
	b := make([]byte, 16)
	b[StreamLabelBit/8] = 1 << (StreamLabelBit % 8)
	return b
}

// streamExprs: the connection was opened by the LAN host (ct direction
// original) and has carried at most inspect.StreamBytes (both directions,
// headers included: conntrack's count); for StreamMarked also the label
// and a payload (loading its first byte fails on a bare ACK).
func streamExprs(role inspect.StreamRule) []expr.Any {
	var maxBytes [8]byte
	binary.BigEndian.PutUint64(maxBytes[:], inspect.StreamBytes)
	var out []expr.Any
	if role == inspect.StreamMarked {
		out = append(out,
			&expr.Ct{Register: reg1, Key: expr.CtKeyLABELS},
			&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 16, Mask: StreamLabel(), Xor: make([]byte, 16)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: make([]byte, 16)},
			&expr.Payload{DestRegister: reg1, Base: payloadBaseInner, Offset: 0, Len: 1})
	}
	return append(out,
		&expr.Ct{Register: reg1, Key: expr.CtKeyDIRECTION},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{0}},
		&expr.Ct{Register: reg1, Key: expr.CtKeyBYTES},
		&expr.Byteorder{SourceRegister: reg1, DestRegister: reg1, Op: expr.ByteorderHton, Len: 8, Size: 8},
		&expr.Cmp{Op: expr.CmpOpLte, Register: reg1, Data: maxBytes[:]})
}
