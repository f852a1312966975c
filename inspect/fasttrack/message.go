package fasttrack

import "net/netip"

// Message is what the FastTrack classifier read out of one packet. Byte
// slices alias the packet buffer.
type Message struct {
	Kind Kind

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
	// bytes, evidence only from a client already known.
	GiFTOpener bool
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
