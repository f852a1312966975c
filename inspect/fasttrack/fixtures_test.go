package fasttrack_test

import (
	"net/netip"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/fasttrack"
	"github.com/ftwall/ftwall/inspect/inspecttest"
)

// Lab-like endpoints (documentation and namespace-only addresses).
var (
	client4 = netip.MustParseAddrPort("10.0.1.2:3531")
	peer4   = netip.MustParseAddrPort("198.51.100.7:1214")
	client6 = netip.MustParseAddrPort("[fd00:1::2]:3531")
	peer6   = netip.MustParseAddrPort("[2001:db8:100::7]:1214")
	own4    = netip.MustParseAddr("10.0.1.1")
	own6    = netip.MustParseAddr("fd00:1::1")
)

type family struct {
	name         string
	client, peer netip.AddrPort
}

func families() []family {
	return []family{{"ipv4", client4, peer4}, {"ipv6", client6, peer6}}
}

func networkNames() []string {
	return []string{"KaZaA", "fileshare", "Grokster", "MusicCity", "NewNet-2"}
}

func settings() *inspect.Settings {
	return &inspect.Settings{
		LAN:      []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")},
		Allow:    []netip.Prefix{netip.MustParsePrefix("203.0.113.200/32"), netip.MustParsePrefix("2001:db8:ffff::/48")},
		Own:      []netip.Addr{own4, own6, netip.MustParseAddr("203.0.113.1")},
		BlockUDP: true,
		TimeLock: true,
	}
}

// nearMiss is a packet that must not be FastTrack evidence.
type nearMiss struct {
	name string
	pkt  []byte
}

func nearMisses() []nearMiss {
	c, p := client4, peer4
	at := func(port uint16) netip.AddrPort { return netip.AddrPortFrom(p.Addr(), port) }
	dns := []byte{0x27, 0x29, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1}
	ntp := make([]byte, 48)
	ntp[0] = 0x23 // v4 client
	ntpMode7 := []byte{0x27, 0x00, 0x03, 0x2a, 0, 0, 0, 0}
	stun := []byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	quic := make([]byte, 1200)
	copy(quic, []byte{0xc3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x44, 0xd0})
	ssdp := []byte("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n")
	ping := inspecttest.Ping("KaZaA")
	plainGet := inspecttest.Lines("GET / HTTP/1.1", "Host: 198.51.100.7", "User-Agent: curl/8.5.0", "Accept: */*")
	hashNoFT := inspecttest.Lines("GET /.hash="+inspecttest.Hash+" HTTP/1.1", "Host: 198.51.100.7:1214", "User-Agent: Wget/1.21")
	urlOnly := inspecttest.Lines("GET /.download/X-Kazaa-Username:bob HTTP/1.1", "Host: 198.51.100.7", "User-Agent: curl/8.5.0")
	bodyOnly := append(inspecttest.Lines("HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 40"),
		"X-Kazaa-Username: bob\r\nUserAgent: KazaaClient\r\n"...)
	valueOnly := inspecttest.Lines("GET /.hash="+inspecttest.Hash+" HTTP/1.1", "Referer: http://example.com/X-Kazaa-IP: 192.0.2.1:1214")
	cutHeader := []byte("GET /.hash=" + inspecttest.Hash + " HTTP/1.1\r\nHost: 198.51.100.7\r\nX-Kazaa-Username: al")
	ftHeadersOtherPath := inspecttest.GetPath("/index.html")
	return []nearMiss{
		{"dns query with id 0x27xx", inspecttest.UDP(c, at(53), dns)},
		{"ntp client", inspecttest.UDP(c, at(123), ntp)},
		{"ntp mode 7 (first byte 0x27)", inspecttest.UDP(c, at(123), ntpMode7)},
		{"stun binding request", inspecttest.UDP(c, at(3478), stun)},
		{"quic initial", inspecttest.UDP(c, at(443), quic)},
		{"ssdp m-search", inspecttest.UDP(c, netip.MustParseAddrPort("198.51.100.250:1900"), ssdp)},
		{"random udp to 1214", inspecttest.UDP(c, p, []byte{0x13, 0x37, 0xca, 0xfe, 0xba, 0xbe, 0x00, 0x01, 0x02})},
		{"zero udp to 1214", inspecttest.UDP(c, p, make([]byte, 12))},
		{"empty udp to 1214", inspecttest.UDP(c, p, nil)},
		{"ping without nul", inspecttest.UDP(c, p, ping[:len(ping)-1])},
		{"ping empty name", inspecttest.UDP(c, p, []byte{0x27, 0, 0, 0, 0x29, 0x80, 0, 'K', 'a', 'Z', 'a', 'A', 0})},
		{"ping one-char name then more", inspecttest.UDP(c, p, []byte{0x27, 0, 0, 0, 0x29, 0x80, 'K', 0, 'a', 'Z', 'a', 'A', 0})},
		{"ping non-printable name", inspecttest.UDP(c, p, []byte{0x27, 0, 0, 0, 0x29, 0x80, 'K', 0x01, 'Z', 'a', 'A', 0})},
		{"ping high-bit name", inspecttest.UDP(c, p, []byte{0x27, 0, 0, 0, 0x29, 0x80, 'K', 0xe9, 'Z', 'a', 'A', 0})},
		{"ping one-char name", inspecttest.UDP(c, p, inspecttest.Ping("K"))},
		{"ping name too long", inspecttest.UDP(c, p, inspecttest.Ping("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg"))},
		{"ping wrong enc type", inspecttest.UDP(c, p, inspecttest.PingEnc("KaZaA", 0x30))},
		{"ping wrong marker byte", inspecttest.UDP(c, p, []byte{0x27, 0, 0, 0, 0x29, 0x81, 'K', 'a', 'Z', 'a', 'A', 0})},
		{"node pong wrong length", inspecttest.UDP(c, p, append(inspecttest.NodePong(7), 0))},
		{"node pong flag without address", inspecttest.UDP(c, p, func() []byte { b := inspecttest.NodePong(7); b[6] = 1; return b }())},
		{"id wrong length", inspecttest.UDP(c, p, append(inspecttest.ID(7), 0))},
		{"supernode pong trailing byte", inspecttest.UDP(c, p, append(inspecttest.SupernodePong("KaZaA"), 0))},
		{"plain http get", inspecttest.TCP(c, at(80), plainGet)},
		{"plain http get to 1214", inspecttest.TCP(c, p, plainGet)},
		{"hash path without fasttrack headers", inspecttest.TCP(c, p, hashNoFT)},
		{"x-kazaa in url only", inspecttest.TCP(c, p, urlOnly)},
		{"x-kazaa in body only", inspecttest.TCP(p, c, bodyOnly)},
		{"x-kazaa in a header value only", inspecttest.TCP(c, p, valueOnly)},
		{"fasttrack header cut by segment end", inspecttest.TCP(c, p, cutHeader)},
		{"fasttrack headers on another path", inspecttest.TCP(c, p, ftHeadersOtherPath)},
		{"post with fasttrack headers", inspecttest.TCP(c, p, append([]byte("POST"), inspecttest.GetHash()[3:]...))},
		{"give with letters", inspecttest.TCP(c, p, []byte("GIVE 12a4\r\n"))},
		{"give without line end", inspecttest.TCP(c, p, []byte("GIVE 1234"))},
		{"give too many digits", inspecttest.TCP(c, p, []byte("GIVE 123456789012\r\n"))},
		{"tcp syn", inspecttest.IP(c.Addr(), p.Addr(), inspecttest.ProtoTCP, inspecttest.TCPSegment(c, p, inspecttest.FlagSYN, nil))},
		{"icmp echo", inspecttest.IPv4(c.Addr(), p.Addr(), 1, 0, []byte{8, 0, 0xf7, 0xff, 0, 0, 0, 0})},
	}
}

// ft is the dispatcher with the FastTrack detector alone, as the service runs it.
var ft = inspect.Detectors{fasttrack.New()}
