package inspect

import "net/netip"

// Decide turns evidence into actions, the same for every protocol. It is
// pure and does not allocate; d is reset first. fromLAN says whether the
// packet arrived from the protected side (live: on a LAN interface;
// offline: source inside the LAN prefixes): only such packets are evidence
// against a LAN client, anything else is accepted and teaches nothing.
//
// From the LAN side, with the client neither allowlisted nor one of the
// firewall's own addresses:
//   - RoleAnswer to one of the firewall's own addresses (an answer to a
//     time-lock probe): lock/refresh the client ("probe-answer"), accept;
//   - Weak evidence from a client not known (ev.ClientKnown false):
//     nothing;
//   - RoleQuery and RoleAnswer to anyone else: lock the client (on
//     ev.LockPort, with ev.LockTag); unless the destination is allowlisted,
//     the destination and ev.Hint become peers and the packet is dropped:
//     UDP only with Settings.BlockUDP (which also sends the detector's
//     spoofed reply to a query), TCP always;
//   - RoleInfo: nothing.
//
// Allowlisted, own or non-public addresses are never peers; traffic to an
// allowlisted destination is never dropped; an allowlisted or own source is
// never locked and its packets are accepted untouched.
func Decide(ev *Evidence, fromLAN bool, s *Settings, d *Decision) {
	d.reset()
	if ev.Kind == 0 || !fromLAN || ev.Role == RoleNone || ev.Role == RoleInfo {
		return
	}
	client := ev.Src.Addr().Unmap()
	if !client.IsValid() || s.Allowed(client) || s.IsOwn(client) {
		return
	}
	dst := ev.Dst.Addr().Unmap()
	if ev.Role == RoleAnswer && s.IsOwn(dst) {
		d.ProbeAnswer = true
		d.lock(s, ev, client, ReasonProbeAnswer)
		return
	}
	if ev.Weak && !ev.ClientKnown {
		return
	}
	d.lock(s, ev, client, ev.Reason)
	if s.Allowed(dst) {
		return
	}
	d.addPeer(ev.Dst, ev.Protocol, ev.Reason, s)
	if ev.Hint.IsValid() {
		d.addPeer(ev.Hint, ev.Protocol, ev.HintReason, s)
	}
	switch {
	case !ev.UDP:
		d.Verdict = Drop
	case s.BlockUDP:
		d.Verdict = Drop
		if ev.Role == RoleQuery {
			d.reply(ev, s)
		}
	}
}

func (d *Decision) lock(s *Settings, ev *Evidence, client netip.Addr, reason string) {
	if !s.TimeLock {
		return
	}
	d.Lock = Lock{Valid: true, Addr: client, Protocol: ev.Protocol, Port: ev.LockPort, Tag: ev.LockTag, Reason: reason}
}

// reply asks the detector for a spoofed answer from the queried peer.
func (d *Decision) reply(ev *Evidence, s *Settings) {
	rp, ok := ev.Detector.(Replier)
	if !ok {
		return
	}
	r := &d.Reply
	r.Payload = rp.Reply(r.buf[:0], ev, s)
	if len(r.Payload) == 0 {
		r.Payload = nil
		return
	}
	r.From = netip.AddrPortFrom(ev.Dst.Addr().Unmap(), ev.Dst.Port())
	r.To = netip.AddrPortFrom(ev.Src.Addr().Unmap(), ev.Src.Port())
	r.Valid = true
}
