package bittorrent

import (
	"bytes"
	"net/netip"
)

// Local Service Discovery (BEP 14): "BT-SEARCH * HTTP/1.1" datagrams to the
// multicast group 239.192.152.143:6771 or [ff15::efc0:988f]:6771, with a
// Port and one or more Infohash headers. A LAN host sending them runs a
// BitTorrent client: early evidence against the client, nobody to block.

var (
	lsdGroup4 = netip.AddrFrom4([4]byte{239, 192, 152, 143})
	lsdGroup6 = netip.MustParseAddr("ff15::efc0:988f")
)

const lsdPort = 6771

var lsdStart = []byte("BT-SEARCH * HTTP/1.1\r\n")

// parseLSD reads an LSD announce to dst: its Port header (0 when absent
// or bad) and its first Infohash (40 hexadecimal digits).
func parseLSD(b []byte, dst netip.AddrPort) (port uint16, infoHash []byte, ok bool) {
	if dst.Port() != lsdPort || (dst.Addr().Unmap() != lsdGroup4 && dst.Addr() != lsdGroup6) || !bytes.HasPrefix(b, lsdStart) {
		return 0, nil, false
	}
	rest := b[len(lsdStart):]
	for len(rest) > 0 {
		i := bytes.Index(rest, []byte("\r\n"))
		if i < 0 {
			break
		}
		line := rest[:i:i]
		rest = rest[i+2:]
		k, v, found := bytes.Cut(line, []byte(":"))
		if !found {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Port")):
			if n := atou(v); n > 0 && n <= 65535 {
				port = uint16(n)
			}
		case bytes.EqualFold(k, []byte("Infohash")) && infoHash == nil && len(v) == 40 && allHex(v):
			infoHash = v
		}
	}
	return port, infoHash, infoHash != nil
}

func allHex(b []byte) bool {
	for _, c := range b {
		if !isHex(c) {
			return false
		}
	}
	return true
}
