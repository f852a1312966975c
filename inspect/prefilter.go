package inspect

import "slices"

// Matches reports whether the decoded packet p, an IP packet of ipLen
// bytes, meets the prefilter as the kernel rule built from it would
// (the hook and the connection-packet bound are the caller's: they are
// not in a packet). Tests use it to check that ordinary traffic is not
// queued, and `ftwall inspect` could use it to show what would be.
//
// A StreamMarked rule needs the connection's mark, which a packet does not
// show: Matches reports whether the packet carries payload.
func (f *Prefilter) Matches(p *Packet, ipLen int) bool {
	if !p.Transport || p.FragOffset != 0 || p.Proto != f.L4 {
		return false
	}
	if f.Stream == StreamMarked && len(p.Payload) == 0 {
		return false
	}
	if f.TCPFlags != nil && p.TCPFlags&f.TCPFlags.Mask != f.TCPFlags.Value {
		return false
	}
	for _, m := range f.Match {
		if !payloadAt(p.Payload, m.Offset, m.Value, m.Mask) {
			return false
		}
	}
	if l := f.UDPLen; l != nil && (len(p.Payload) < int(l.Min) || len(p.Payload) > int(l.Max)) {
		return false
	}
	if s := f.OneOf; s != nil {
		if uint64(s.Offset)+uint64(s.Len) > uint64(len(p.Payload)) {
			return false
		}
		got := p.Payload[s.Offset : s.Offset+s.Len]
		if !slices.ContainsFunc(s.Values, func(v []byte) bool { return string(v) == string(got) }) {
			return false
		}
	}
	if len(f.PacketLens) > 0 && !slices.Contains(f.PacketLens, uint32(ipLen)) {
		return false
	}
	return true
}

func payloadAt(b []byte, off uint32, val, mask []byte) bool {
	if uint64(off)+uint64(len(val)) > uint64(len(b)) {
		return false
	}
	for i, v := range val {
		c := b[int(off)+i]
		if mask != nil {
			c &= mask[i]
		}
		if c != v {
			return false
		}
	}
	return true
}
