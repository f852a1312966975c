package bench

import (
	"net/netip"

	"github.com/ftwall/ftwall/inspect/fasttrack"
	"github.com/ftwall/ftwall/inspect/inspecttest"
)

// smallPayload makes 64-byte Ethernet frames for IPv4 UDP (14 Ethernet + 20
// IP + 8 UDP + 18 payload + 4 FCS).
const smallPayload = 18

// smallUDP returns one small datagram to each destination on port.
func smallUDP(dsts []netip.Addr, port uint16) []Datagram {
	out := make([]Datagram, 0, len(dsts))
	for _, a := range dsts {
		out = append(out, Datagram{To: netip.AddrPortFrom(a, port), Data: make([]byte, smallPayload)})
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

// getFlood returns one TCP segment (PSH|ACK) carrying a Kazaa download
// request from src to each peer's port 1214, as whole IPv4 packets for a raw
// socket. Each peer gets its own source port (its own connection).
func getFlood(src netip.Addr, peers []netip.Addr) []Datagram {
	req := getRequest()
	out := make([]Datagram, 0, len(peers))
	for i, a := range peers {
		s := netip.AddrPortFrom(src, uint16(20000+i))
		d := netip.AddrPortFrom(a, PortFT)
		out = append(out, Datagram{To: netip.AddrPortFrom(a, 0), Data: inspecttest.TCP(s, d, req)})
	}
	return out
}
