package bench

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/ftwall/ftwall/inspect/fasttrack"
	"github.com/ftwall/ftwall/inspect/inspecttest"
	"github.com/ftwall/ftwall/internal/inetsum"
)

// smallPayload makes 64-byte Ethernet frames for IPv4 UDP (14 Ethernet + 20
// IP + 8 UDP + 18 payload + 4 FCS).
const smallPayload = 18

// smallUDP returns one small datagram to each destination on port: zeros,
// or with dnsLike a DNS query header (an id whose first byte is 0x80 +
// the destination's index, flags 01 00, one question), as ordinary UDP
// starts with bytes that no queue rule takes (zeros meet the UDP tracker
// rule's first byte, so they walk every UDP queue rule).
func smallUDP(dsts []netip.Addr, port uint16, dnsLike bool) []Datagram {
	out := make([]Datagram, 0, len(dsts))
	for i, a := range dsts {
		b := make([]byte, smallPayload)
		if dnsLike {
			copy(b, []byte{0x80 + byte(i%32), 0x2a, 0x01, 0x00, 0x00, 0x01})
		}
		out = append(out, Datagram{To: netip.AddrPortFrom(a, port), Data: b})
	}
	return out
}

// pingFlood returns a FastTrack UDP node ping ("KaZaA") to each peer on port
// 1214: the candidate ftwall's ping rule queues.
func pingFlood(peers []netip.Addr) []Datagram {
	ping := fasttrack.AppendPing(nil, "KaZaA")
	out := make([]Datagram, 0, len(peers))
	for _, a := range peers {
		out = append(out, Datagram{To: netip.AddrPortFrom(a, PortFT), Data: ping})
	}
	return out
}

// getRequest is a Kazaa download request: the candidate ftwall's HTTP rule
// queues and its inspector recognises (no X-Kazaa-SupernodeIP, so each
// request names one peer).
func getRequest() []byte {
	return inspecttest.Lines(
		"GET /.hash="+inspecttest.Hash+" HTTP/1.1",
		"Host: peer:1214",
		"UserAgent: "+inspecttest.UserAgent,
		"X-Kazaa-Username: ftwbench",
		"X-Kazaa-Network: KaZaA",
		"Connection: close",
	)
}

// The GET flood's connections: inspecttest.TCP's segments carry sequence
// number getSeq and acknowledge getAck, so the handshake before them is
// the client's SYN with getSeq-1, the peer's SYN-ACK with getAck-1, and the
// client's ACK.
const (
	getSeq = 1000
	getAck = 2000
)

// getSourcePort is the client's port of the connection to the i-th peer.
func getSourcePort(i int) uint16 { return uint16(20000 + i) }

// tcpPacket returns a whole IPv4 packet with one TCP segment (window
// 65535, no options).
func tcpPacket(src, dst netip.AddrPort, seq, ack uint32, flags uint8, payload []byte) []byte {
	seg := inspecttest.TCPSegment(src, dst, flags, payload)
	binary.BigEndian.PutUint32(seg[4:], seq)
	binary.BigEndian.PutUint32(seg[8:], ack)
	binary.BigEndian.PutUint16(seg[16:], 0)
	binary.BigEndian.PutUint16(seg[16:], inetsum.Checksum(seg, inetsum.Pseudo(src.Addr(), dst.Addr(), inspecttest.ProtoTCP, len(seg))))
	return inspecttest.IP(src.Addr(), dst.Addr(), inspecttest.ProtoTCP, seg)
}

// getHandshake returns, for the GET flood's connection to each peer, the
// three packets of a TCP handshake as whole IPv4 packets for raw sockets:
// the client's SYNs, the peers' SYN-ACKs (sent from the internet
// namespace) and the client's ACKs. The router's conntrack sees each
// connection answered, so its segments are `ct state established`, which
// ftwall's TCP queue rules require.
func getHandshake(src netip.Addr, peers []netip.Addr) (syn, synAck, ack []Datagram) {
	for i, a := range peers {
		c := netip.AddrPortFrom(src, getSourcePort(i))
		p := netip.AddrPortFrom(a, PortFT)
		syn = append(syn, Datagram{To: netip.AddrPortFrom(a, 0), Data: tcpPacket(c, p, getSeq-1, 0, inspecttest.FlagSYN, nil)})
		synAck = append(synAck, Datagram{To: netip.AddrPortFrom(src, 0), Data: tcpPacket(p, c, getAck-1, getSeq, inspecttest.FlagSYN|inspecttest.FlagACK, nil)})
		ack = append(ack, Datagram{To: netip.AddrPortFrom(a, 0), Data: tcpPacket(c, p, getSeq, getAck, inspecttest.FlagACK, nil)})
	}
	return syn, synAck, ack
}

// getFlood returns one TCP segment (PSH|ACK) carrying a Kazaa download
// request from src to each peer's port 1214, as whole IPv4 packets for a raw
// socket. Each peer gets its own source port (its own connection, the one
// getHandshake opens; the flood repeats its first segment).
func getFlood(src netip.Addr, peers []netip.Addr) []Datagram {
	req := getRequest()
	out := make([]Datagram, 0, len(peers))
	for i, a := range peers {
		s := netip.AddrPortFrom(src, getSourcePort(i))
		d := netip.AddrPortFrom(a, PortFT)
		out = append(out, Datagram{To: netip.AddrPortFrom(a, 0), Data: inspecttest.TCP(s, d, req)})
	}
	return out
}

// aria2GetPeers is aria2's get_peers query (transaction id tid, 2 bytes),
// shaped like its ping (inspecttest.KRPCPing): node id, info hash, version
// "A2\x00\x03", keys sorted.
func aria2GetPeers(tid string) []byte {
	return fmt.Appendf(nil, "d1:ad2:id20:%s9:info_hash20:%se1:q9:get_peers1:t%d:%s1:v4:A2\x00\x031:y1:qe",
		inspecttest.NodeID, inspecttest.InfoHash, len(tid), tid)
}

// dhtQuery is the KRPC query of the DHT flood and of P3's BitTorrent round
// to the i-th peer: aria2's ping for even i, its get_peers for odd i, with
// transaction id i (2 bytes, as aria2's).
func dhtQuery(i int) []byte {
	tid := string([]byte{byte(i >> 8), byte(i)})
	if i%2 == 0 {
		return inspecttest.KRPCPing(tid)
	}
	return aria2GetPeers(tid)
}

// dhtFlood returns a KRPC query (dhtQuery) to each peer's UDP port 6881:
// the candidate ftwall's bittorrent-dht rule queues.
func dhtFlood(peers []netip.Addr) []Datagram {
	out := make([]Datagram, 0, len(peers))
	for i, a := range peers {
		out = append(out, Datagram{To: netip.AddrPortFrom(a, PortBT), Data: dhtQuery(i)})
	}
	return out
}

// utpFlood returns libtorrent's 20-byte uTP ST_SYN (`41 00 …`, no
// extension, timestamp difference 0), one connection id per peer, to each
// peer's UDP port 6881: the candidate ftwall's bittorrent-utp-syn rule
// queues.
func utpFlood(peers []netip.Addr) []Datagram {
	out := make([]Datagram, 0, len(peers))
	for i, a := range peers {
		out = append(out, Datagram{To: netip.AddrPortFrom(a, PortBT), Data: inspecttest.UTPSynLibtorrent(uint16(0x1000 + i))})
	}
	return out
}
