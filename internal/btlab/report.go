package btlab

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Describe formats p for logs and the lab notes: time since t0, protocol,
// addresses, payload length, kind (with the KRPC method) and the first
// bytes of the payload in hex and printable text.
func Describe(p Packet, t0 time.Time, prefix int) string {
	kind := string(p.Kind)
	if kind == "" {
		kind = tcpFlags(p.Flags)
	}
	if p.Kind == KindKRPCQuery {
		kind += " " + KRPCMethod(p.Payload)
	}
	b := p.Payload[:min(prefix, len(p.Payload))]
	return fmt.Sprintf("+%.3fs %s %s > %s len %d %s %s |%s|", p.Time.Sub(t0).Seconds(), p.Proto, p.Src, p.Dst, p.Len, kind,
		hex.EncodeToString(b), printable(b))
}

func tcpFlags(f uint8) string {
	var s []string
	for _, x := range []struct {
		bit  uint8
		name string
	}{{FlagSYN, "SYN"}, {FlagACK, "ACK"}, {FlagFIN, "FIN"}, {FlagRST, "RST"}} {
		if f&x.bit != 0 {
			s = append(s, x.name)
		}
	}
	return "tcp[" + strings.Join(s, ",") + "]"
}

func printable(b []byte) string {
	r := make([]byte, len(b))
	for i, c := range b {
		if c >= 0x20 && c < 0x7f {
			r[i] = c
		} else {
			r[i] = '.'
		}
	}
	return string(r)
}

// FirstOfEachKind returns, in order, the first packet of each (protocol,
// kind, destination port) that src sent: a compact summary of what a
// client put on the wire.
func FirstOfEachKind(pkts []Packet, src netip.Addr) []Packet {
	seen := map[string]bool{}
	var out []Packet
	for _, p := range pkts {
		if p.Src.Addr() != src || p.Kind == KindNone || p.Kind == KindTCPData {
			continue
		}
		key := fmt.Sprintf("%s/%s/%d/%s", p.Proto, p.Kind, p.Dst.Port(), KRPCMethod(p.Payload))
		if !seen[key] {
			seen[key] = true
			out = append(out, p)
		}
	}
	return out
}
