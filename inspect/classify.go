package inspect

// Detectors is the set of enabled detectors, tried in order.
type Detectors []Detector

// Classify looks for evidence of any of the detectors in a decoded packet.
// Only packets with a transport header, the first fragment of a datagram
// and a payload can carry evidence, and a UDP datagram cut short (snap
// length, first fragment) is not judged. It returns true when a detector
// recognised the packet; ev is overwritten (zero when false). It does not
// allocate.
func (ds Detectors) Classify(p *Packet, ev *Evidence) bool {
	ev.Reset()
	if !p.Transport || p.FragOffset != 0 || len(p.Payload) == 0 {
		return false
	}
	if p.Proto == ProtoUDP && p.Truncated {
		return false
	}
	if p.Proto != ProtoUDP && p.Proto != ProtoTCP {
		return false
	}
	for _, d := range ds {
		if d.Classify(p, ev) && ev.Kind != 0 {
			ev.Protocol = d.Protocol()
			ev.Detector = d
			ev.Src, ev.Dst = p.SrcAddrPort(), p.DstAddrPort()
			ev.UDP = p.Proto == ProtoUDP
			if len(ev.LockTag) > MaxTagLen {
				ev.LockTag = nil
			}
			return true
		}
		ev.Reset()
	}
	return false
}

// Lookup returns the detector of protocol p.
func (ds Detectors) Lookup(p Protocol) (Detector, bool) {
	for _, d := range ds {
		if d.Protocol() == p {
			return d, true
		}
	}
	return nil, false
}

// Index returns the position of protocol p's detector, -1 when absent.
func (ds Detectors) Index(p Protocol) int {
	for i, d := range ds {
		if d.Protocol() == p {
			return i
		}
	}
	return -1
}
