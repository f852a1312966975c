package inspect

const (
	udpHeader    = 8
	tcpMinHeader = 20
)

// decodeTransport decodes the TCP or UDP header at the start of b (already
// cut to the IP payload). Other protocols leave Transport false.
func decodeTransport(b []byte, p *Packet) error {
	switch p.Proto {
	case ProtoUDP:
		if len(b) < udpHeader {
			return ErrTruncated
		}
		p.SrcPort, p.DstPort = be16(b[0:2]), be16(b[2:4])
		ulen := int(be16(b[4:6]))
		switch {
		case ulen == 0:
			// IPv6 jumbogram or UDP segmentation offload.
			ulen = len(b)
		case ulen < udpHeader:
			return ErrTransport
		case ulen > len(b):
			p.Truncated = true
			ulen = len(b)
		}
		p.Transport = true
		p.Payload = b[udpHeader:ulen]
	case ProtoTCP:
		if len(b) < tcpMinHeader {
			return ErrTruncated
		}
		p.SrcPort, p.DstPort = be16(b[0:2]), be16(b[2:4])
		doff := int(b[12]>>4) * 4
		if doff < tcpMinHeader {
			return ErrTransport
		}
		if doff > len(b) {
			return ErrTruncated
		}
		p.TCPFlags = b[13]
		p.Seq = be32(b[4:8])
		p.Transport = true
		p.Payload = b[doff:]
	}
	return nil
}
