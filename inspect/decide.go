package inspect

import "net/netip"

// spoofLoad is the load percentage put in spoofed supernode pongs.
const spoofLoad = 25

// Decide turns evidence into actions. It is pure and does not allocate;
// d is reset first. fromLAN says whether the packet arrived from the
// protected side (live: on a LAN interface; offline: source inside the LAN
// prefixes): only such packets are evidence against a LAN client, anything
// else is accepted and teaches nothing.
//
// From the LAN side:
//   - ping (0x27): drop when BlockUDP (and spoof a pong from the peer to
//     the client), peer = destination, lock the client on its UDP source
//     port with the network name ("udp-ping");
//   - pong (0x28/0x29) to the firewall's own address (the answer to a
//     time-lock probe): accept, lock/refresh the client ("probe-answer");
//     a pong to anyone else (a LAN node answering an outside client): drop
//     when BlockUDP, peer = destination, lock ("udp-pong");
//   - HTTP request: drop, peers = destination ("http-request") and the
//     X-Kazaa-SupernodeIP address ("supernode-header"), lock the client on
//     the port of its X-Kazaa-IP header (0 if absent);
//   - HTTP response or GIVE (a LAN host serving or pushing to the outside):
//     drop, peer = destination (plus a supernode header), lock the source;
//   - session opener (12-byte first TCP payload): from a client already
//     known as a FastTrack client (ev.ClientKnown), or with giFT's fixed
//     opener bytes: drop, peer = destination ("session-open"), lock the
//     client (its FastTrack port stays the one its pings gave); from anyone
//     else it teaches nothing and is accepted;
//   - 0x2A: too short a shape to act on; accepted.
//
// Allowlisted, own or non-public addresses are never peers; traffic to an
// allowlisted destination is never dropped; an allowlisted or own source is
// never locked and its packets are accepted untouched.
func Decide(ev *Evidence, fromLAN bool, s *Settings, d *Decision) {
	d.reset()
	if ev.Kind == KindNone || !fromLAN {
		return
	}
	client := ev.Src.Addr().Unmap()
	if !client.IsValid() || s.Allowed(client) || s.IsOwn(client) {
		return
	}
	dst := ev.Dst.Addr().Unmap()
	exempt := s.Allowed(dst)

	switch ev.Kind {
	case KindPing:
		d.lock(s, client, ev.Src.Port(), ev.Network, ReasonUDPPing)
		if exempt {
			return
		}
		d.addPeer(ev.Dst, ReasonUDPPing, s)
		if s.BlockUDP {
			d.Verdict = Drop
			d.reply(ev, s)
		}
	case KindSupernodePong, KindNodePong:
		if s.IsOwn(dst) {
			d.lock(s, client, ev.Src.Port(), ev.Network, ReasonProbeAnswer)
			return
		}
		d.lock(s, client, ev.Src.Port(), ev.Network, ReasonUDPPong)
		if exempt {
			return
		}
		d.addPeer(ev.Dst, ReasonUDPPong, s)
		if s.BlockUDP {
			d.Verdict = Drop
		}
	case KindSessionOpen:
		if !ev.GiFTOpener && !ev.ClientKnown {
			return
		}
		d.lock(s, client, 0, nil, ReasonSessionOpen)
		if exempt {
			return
		}
		d.addPeer(ev.Dst, ReasonSessionOpen, s)
		d.Verdict = Drop
	case KindHTTPRequest, KindHTTPResponse, KindGive:
		reason := ReasonHTTPRequest
		switch ev.Kind {
		case KindHTTPResponse:
			reason = ReasonHTTPResponse
		case KindGive:
			reason = ReasonGive
		}
		d.lock(s, client, ev.SelfAddr.Port(), ev.Network, reason)
		d.addPeer(ev.Dst, reason, s)
		if ev.Supernode.IsValid() {
			d.addPeer(ev.Supernode, ReasonSupernodeHeader, s)
		}
		if !exempt {
			d.Verdict = Drop
		}
	}
}

func (d *Decision) lock(s *Settings, client netip.Addr, port uint16, network []byte, reason string) {
	if !s.TimeLock {
		return
	}
	d.Lock = Lock{Valid: true, Addr: client, Port: port, Network: network, Reason: reason}
}

// reply builds the spoofed pong from the pinged node to the client.
func (d *Decision) reply(ev *Evidence, s *Settings) {
	r := &d.Reply
	r.From = netip.AddrPortFrom(ev.Dst.Addr().Unmap(), ev.Dst.Port())
	r.To = netip.AddrPortFrom(ev.Src.Addr().Unmap(), ev.Src.Port())
	if s.PongType == MsgSupernodePong && ValidNetworkName(ev.Network) {
		r.Payload = appendSupernodePong(r.buf[:0], ev.Network, spoofLoad)
	} else {
		r.Payload = AppendNodePong(r.buf[:0], pongID(r.From.Addr()))
	}
	r.Valid = true
}

// pongID derives the node ID of a spoofed pong from the node's address, so
// repeated pongs from one node carry the same ID.
func pongID(a netip.Addr) uint32 {
	b := a.As16()
	return be32(b[0:4]) ^ be32(b[4:8]) ^ be32(b[8:12]) ^ be32(b[12:16])
}
