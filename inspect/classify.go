package inspect

// Classify looks for FastTrack evidence in a decoded packet: a FastTrack UDP
// message in a complete UDP datagram (any port), a FastTrack HTTP request,
// response or GIVE push at the start of a TCP payload (any port), or a TCP
// segment of the session opener's shape (KindSessionOpen: whether it is the
// connection's first payload is the kernel prefilter's to say).
// Non-first fragments never carry evidence; a UDP datagram cut short (snap
// length, first fragment) is not judged. It returns true when evidence was
// found; ev is overwritten (zero when false). It does not allocate.
func Classify(p *Packet, ev *Evidence) bool {
	*ev = Evidence{}
	if !p.Transport || p.FragOffset != 0 || len(p.Payload) == 0 {
		return false
	}
	var ok bool
	switch p.Proto {
	case ProtoUDP:
		ok = !p.Truncated && ClassifyUDP(p.Payload, ev)
	case ProtoTCP:
		ok = ClassifyHTTP(p.Payload, ev) || classifyOpener(p, ev)
	}
	if !ok {
		*ev = Evidence{}
		return false
	}
	ev.Src = p.SrcAddrPort()
	ev.Dst = p.DstAddrPort()
	return true
}
