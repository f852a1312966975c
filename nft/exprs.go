package nft

import (
	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Building blocks of the rules. Every match loads into register 1 (16 bytes,
// enough for an IPv6 address).
const reg1 = 1

// payloadBaseInner is NFT_PAYLOAD_INNER_HEADER (nft's @ih): the start of the
// transport payload. google/nftables has no constant for it.
const payloadBaseInner expr.PayloadBase = 3

// ifnameKey pads an interface name to IFNAMSIZ as meta iifname loads it.
func ifnameKey(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

// matchNFProto matches the packet's family (meta nfproto ipv4 / ipv6); it
// must come before any network header payload in the inet family.
func matchNFProto(v6 bool) []expr.Any {
	p := byte(unix.NFPROTO_IPV4)
	if v6 {
		p = unix.NFPROTO_IPV6
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{p}},
	}
}

// matchL4Proto matches the transport protocol (meta l4proto).
func matchL4Proto(proto byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{proto}},
	}
}

// matchAddrInSet matches the source or destination address against a named
// set (ip saddr @set); the family match must precede it.
// matchAddrNotInSet is matchAddrInSet inverted (ip saddr != @set).
func matchAddrNotInSet(v6, source bool, set *nftables.Set) []expr.Any {
	e := matchAddrInSet(v6, source, set)
	e[1].(*expr.Lookup).Invert = true
	return e
}

func matchAddrInSet(v6, source bool, set *nftables.Set) []expr.Any {
	off, n := uint32(16), uint32(4) // IPv4 daddr
	switch {
	case v6 && source:
		off, n = 8, 16
	case v6:
		off, n = 24, 16
	case source:
		off = 12
	}
	return []expr.Any{
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n},
		&expr.Lookup{SourceRegister: reg1, SetName: set.Name, SetID: set.ID},
	}
}

// matchPayload compares len(value) bytes at off of base with value.
func matchPayload(base expr.PayloadBase, off uint32, value []byte) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: reg1, Base: base, Offset: off, Len: uint32(len(value))},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: value},
	}
}

// matchTCPSyn matches the first segment of a new TCP connection: SYN set,
// ACK, RST and FIN clear (tcp flags & (fin|syn|rst|ack) == syn).
//
// It stands where the specification says "ct state new": for TCP it picks
// the same connection attempts without needing conntrack, which would cost
// every forwarded packet a lookup, and conntrack calls the first packet it
// sees of an already established connection "new" too (after it was
// switched on, or after its entry timed out), which would reset that
// connection of a locked client.
func matchTCPSyn() []expr.Any {
	const fin, syn, rst, ack = 0x01, 0x02, 0x04, 0x10
	return []expr.Any{
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 1, Mask: []byte{fin | syn | rst | ack}, Xor: []byte{0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{syn}},
	}
}

func concat(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
