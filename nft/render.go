package nft

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
	"golang.org/x/sys/unix"
)

// render writes the ruleset as deterministic text, close to nft's netlink
// debug output: the golden files of the tests, and (without the fingerprint)
// the input of the fingerprint.
func (rs *ruleset) render(withFingerprint bool) string {
	var w strings.Builder
	fmt.Fprintf(&w, "table inet %s\n", rs.table.Name)
	fmt.Fprintf(&w, "backend %s\n", rs.backend)
	if withFingerprint {
		fmt.Fprintf(&w, "fingerprint %s\n", rs.fingerprint)
	}
	for _, s := range rs.sets {
		w.WriteString(renderSet(s))
	}
	for _, c := range rs.chains {
		ch := c.chain
		if ch.Hooknum == nil {
			fmt.Fprintf(&w, "chain %s (regular)\n", ch.Name)
		} else {
			fmt.Fprintf(&w, "chain %s type %s hook %s priority %d policy %s\n",
				ch.Name, ch.Type, hookName(ch.Hooknum), *ch.Priority, policyName(ch.Policy))
		}
		for _, r := range c.rules {
			if withFingerprint {
				fmt.Fprintf(&w, "  rule comment %q\n", r.comment(rs.fingerprint).String())
			} else {
				fmt.Fprintf(&w, "  rule %s: %s\n", r.id, r.desc)
			}
			for _, a := range r.anon {
				fmt.Fprintf(&w, "    with anonymous set id %d %s\n", a.set.ID, renderSetBody(a))
			}
			for _, e := range r.exprs {
				fmt.Fprintf(&w, "    %s\n", renderExpr(e))
			}
		}
	}
	return w.String()
}

func renderSet(s *setSpec) string {
	return fmt.Sprintf("set %s id %d %s\n", s.set.Name, s.set.ID, renderSetBody(s))
}

func renderSetBody(s *setSpec) string {
	set := s.set
	var flags []string
	if set.Anonymous {
		flags = append(flags, "anonymous")
	}
	if set.Constant {
		flags = append(flags, "constant")
	}
	if set.Interval {
		flags = append(flags, "interval")
	}
	if set.HasTimeout {
		flags = append(flags, "timeout")
	}
	if set.Dynamic {
		flags = append(flags, "dynamic")
	}
	out := "type " + set.KeyType.Name
	if len(flags) > 0 {
		out += " flags " + strings.Join(flags, ",")
	}
	if set.HasTimeout {
		out += " timeout " + renderDuration(set.Timeout)
	}
	if set.Size > 0 {
		out += fmt.Sprintf(" size %d", set.Size)
	}
	switch {
	case set.Interval:
		rs := make([]string, len(s.ranges))
		for i, r := range s.ranges {
			rs[i] = r.First.String() + "-" + r.Last.String()
		}
		out += " ranges {" + strings.Join(rs, ", ") + "}"
		es := make([]string, len(s.elems))
		for i, e := range s.elems {
			es[i] = renderBytes(e.Key)
			if e.IntervalEnd {
				es[i] += " end"
			}
		}
		out += " elements {" + strings.Join(es, ", ") + "}"
	case len(s.elems) > 0:
		es := make([]string, len(s.elems))
		for i, e := range s.elems {
			es[i] = renderBytes(e.Key)
		}
		out += " elements {" + strings.Join(es, ", ") + "}"
	}
	return out
}

func renderDuration(d time.Duration) string {
	if d == 0 {
		return "0 (none)"
	}
	return d.String()
}

func hookName(h *nftables.ChainHook) string {
	if h == nil {
		return "none"
	}
	switch *h {
	case *nftables.ChainHookForward:
		return "forward"
	case *nftables.ChainHookInput:
		return "input"
	}
	return fmt.Sprintf("%d", *h)
}

func policyName(p *nftables.ChainPolicy) string {
	switch {
	case p == nil:
		return "none"
	case *p == nftables.ChainPolicyAccept:
		return "accept"
	case *p == nftables.ChainPolicyDrop:
		return "drop"
	}
	return fmt.Sprintf("%d", *p)
}

// renderBytes shows b in hex, and also as a quoted string when it is a word
// of at least two letters, digits, spaces or ._- padded with NULs (interface
// names, "GET ").
func renderBytes(b []byte) string {
	s := "0x" + hex.EncodeToString(b)
	text := strings.TrimRight(string(b), "\x00")
	if len(text) < 2 {
		return s
	}
	for _, c := range []byte(text) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(" ._-", c) >= 0
		if !ok {
			return s
		}
	}
	return fmt.Sprintf("%s %q", s, text)
}

func metaKeyName(k expr.MetaKey) string {
	switch k {
	case expr.MetaKeyNFPROTO:
		return "nfproto"
	case expr.MetaKeyL4PROTO:
		return "l4proto"
	case expr.MetaKeyIIFNAME:
		return "iifname"
	case expr.MetaKeyOIFNAME:
		return "oifname"
	case expr.MetaKeyLEN:
		return "length"
	}
	return fmt.Sprintf("key %d", k)
}

func renderExpr(e expr.Any) string {
	switch e := e.(type) {
	case *expr.Meta:
		return fmt.Sprintf("meta load %s => reg %d", metaKeyName(e.Key), e.Register)
	case *expr.Cmp:
		op := map[expr.CmpOp]string{expr.CmpOpEq: "eq", expr.CmpOpNeq: "neq", expr.CmpOpLte: "lte", expr.CmpOpLt: "lt", expr.CmpOpGt: "gt", expr.CmpOpGte: "gte"}[e.Op]
		if op == "" {
			op = fmt.Sprintf("op %d", e.Op)
		}
		return fmt.Sprintf("cmp %s reg %d %s", op, e.Register, renderBytes(e.Data))
	case *expr.Payload:
		base := map[expr.PayloadBase]string{
			expr.PayloadBaseNetworkHeader: "network header", expr.PayloadBaseTransportHeader: "transport header (@th)",
			payloadBaseInner: "inner header (@ih)",
		}[e.Base]
		if base == "" {
			base = fmt.Sprintf("base %d", e.Base)
		}
		return fmt.Sprintf("payload load %db @ %s + %d => reg %d", e.Len, base, e.Offset, e.DestRegister)
	case *expr.Lookup:
		inv := ""
		if e.Invert {
			inv = " invert"
		}
		return fmt.Sprintf("lookup reg %d set %s id %d%s", e.SourceRegister, e.SetName, e.SetID, inv)
	case *expr.Bitwise:
		return fmt.Sprintf("bitwise reg %d = (reg %d & %s) ^ %s", e.DestRegister, e.SourceRegister, renderBytes(e.Mask), renderBytes(e.Xor))
	case *expr.Ct:
		key := map[expr.CtKey]string{expr.CtKeySTATE: "state", expr.CtKeyPKTS: "packets", expr.CtKeyBYTES: "bytes",
			expr.CtKeyDIRECTION: "direction", expr.CtKeyLABELS: "label"}[e.Key]
		if key == "" {
			key = fmt.Sprintf("key %d", e.Key)
		}
		if e.SourceRegister {
			return fmt.Sprintf("ct set %s with reg %d", key, e.Register)
		}
		return fmt.Sprintf("ct load %s => reg %d", key, e.Register)
	case *expr.Fib:
		if e.FlagSADDR && e.FlagIIF && e.ResultOIF {
			return fmt.Sprintf("fib saddr . iif oif => reg %d", e.Register)
		}
		return fmt.Sprintf("fib %+v", *e)
	case *expr.Byteorder:
		op := "ntoh"
		if e.Op == expr.ByteorderHton {
			op = "hton"
		}
		return fmt.Sprintf("byteorder reg %d = %s(reg %d, %d, %d)", e.DestRegister, op, e.SourceRegister, e.Size, e.Len)
	case *expr.Dynset:
		op := map[uint32]string{unix.NFT_DYNSET_OP_ADD: "add", unix.NFT_DYNSET_OP_UPDATE: "update"}[e.Operation]
		out := fmt.Sprintf("dynset %s reg_key %d set %s id %d", op, e.SrcRegKey, e.SetName, e.SetID)
		for _, x := range e.Exprs {
			out += " expr [ " + renderExpr(x) + " ]"
		}
		return out
	case *expr.Limit:
		over := ""
		if e.Over {
			over = "over "
		}
		return fmt.Sprintf("limit rate %s%d/%ds burst %d", over, e.Rate, e.Unit, e.Burst)
	case *expr.Counter:
		return "counter"
	case *expr.Immediate:
		return fmt.Sprintf("immediate reg %d %s", e.Register, renderBytes(e.Data))
	case *expr.Verdict:
		v := map[expr.VerdictKind]string{expr.VerdictReturn: "return", expr.VerdictDrop: "drop", expr.VerdictAccept: "accept"}[e.Kind]
		switch e.Kind {
		case expr.VerdictGoto:
			v = "goto " + e.Chain
		case expr.VerdictJump:
			v = "jump " + e.Chain
		}
		if v == "" {
			v = fmt.Sprintf("kind %d", e.Kind)
		}
		return "immediate reg 0 " + v
	case *expr.Queue:
		var flags []string
		if e.Flag&expr.QueueFlagBypass != 0 {
			flags = append(flags, "bypass")
		}
		if e.Flag&expr.QueueFlagFanout != 0 {
			flags = append(flags, "fanout")
		}
		return fmt.Sprintf("queue num %d total %d flags %s (native nft_queue)", e.Num, e.Total, strings.Join(flags, ","))
	case *expr.Target:
		info := ""
		if u, ok := e.Info.(*xt.Unknown); ok {
			info = renderBytes(*u)
			if e.Name == "NFQUEUE" && len(*u) >= 6 {
				b := []byte(*u)
				info += fmt.Sprintf(" {num %d, total %d, flags %#x}", binary.NativeEndian.Uint16(b),
					binary.NativeEndian.Uint16(b[2:]), binary.NativeEndian.Uint16(b[4:]))
			}
		}
		return fmt.Sprintf("target %s rev %d info %s (xtables compat)", e.Name, e.Rev, info)
	case *expr.Reject:
		if e.Type == unix.NFT_REJECT_TCP_RST {
			return "reject type tcp reset"
		}
		return fmt.Sprintf("reject type %d code %d", e.Type, e.Code)
	}
	return fmt.Sprintf("%T %+v", e, e)
}
