package inspect

import "net/netip"

// Evidence is what Classify found in one packet. Byte slices alias the
// packet buffer: copy them before the buffer is reused.
type Evidence struct {
	Kind     Kind
	Src, Dst netip.AddrPort // the packet's endpoints

	// Network is the FastTrack network name ("KaZaA", "fileshare", …) from
	// a ping or supernode pong, or from an X-Kazaa-Network header.
	Network []byte
	// Username is the X-Kazaa-Username header value.
	Username []byte
	// Hash is the 40 hex digits of a "GET /.hash=" request.
	Hash []byte
	// Path is the request target of an HTTP request.
	Path []byte
	// UserAgent is the UserAgent / User-Agent / Server value that marked
	// the message as FastTrack, if one did.
	UserAgent []byte
	// Status is the status code of an HTTP response.
	Status uint16
	// GiveID is the decimal ID of a "GIVE <id>" push.
	GiveID []byte

	// SelfAddr is the sender's own address from X-Kazaa-IP; Supernode is
	// the sender's supernode from X-Kazaa-SupernodeIP. Invalid when the
	// header is absent or its value is not ip:port.
	SelfAddr, Supernode netip.AddrPort

	// ID is the 4-byte ID of a node pong (0x29) or of a 0x2A message.
	ID uint32
	// NodeAddr is the IPv4 address and port carried by a 21-byte node pong
	// (flag 1). Its meaning is undocumented; it is reported, never blocked.
	NodeAddr netip.AddrPort
	// Load is the load percentage of a supernode pong (0x28).
	Load uint8

	// GiFTOpener is true for a session opener (KindSessionOpen) that starts
	// with the four bytes giFT-FastTrack always sends there (fa 00 b6 2b):
	// FastTrack evidence on its own. Other openers are 12 random-looking
	// bytes, evidence only from a client already known (ClientKnown).
	GiFTOpener bool
	// ClientKnown is set by the caller, not by Classify: the packet's source
	// is a LAN client already recognised as a FastTrack client (locked, or
	// seen pinging). Decide takes a session opener from such a client as
	// evidence.
	ClientKnown bool
}

// FromPacket reports whether the evidence came out of packet p (same
// endpoints); handy for callers that keep evidence around.
func (ev *Evidence) FromPacket(p *Packet) bool {
	return ev.Src == p.SrcAddrPort() && ev.Dst == p.DstAddrPort()
}
