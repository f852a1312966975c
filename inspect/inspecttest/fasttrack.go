package inspecttest

import (
	"fmt"
	"strings"

	"github.com/ftwall/ftwall/inspect/fasttrack"
)

// Fixture values used in the FastTrack HTTP messages below.
const (
	Hash      = "0123456789abcdef0123456789abcdef01234567"
	Username  = "alice"
	Network   = "KaZaA"
	SelfIP    = "192.0.2.10:3531"
	Supernode = "198.51.100.20:2409"
	UserAgent = "KazaaClient Nov  3 2002 20:29:03"
)

// Ping returns a node ping (0x27) for the network name.
func Ping(network string) []byte { return fasttrack.AppendPing(nil, network) }

// PingEnc returns a node ping with another minimum encryption type byte
// (0x29 usual, 0xA9 from some clients).
func PingEnc(network string, enc byte) []byte {
	b := Ping(network)
	b[4] = enc
	return b
}

// SupernodePong returns a supernode pong (0x28).
func SupernodePong(network string) []byte {
	return fasttrack.AppendSupernodePong(nil, network, 40)
}

// NodePong returns a 13-byte node pong (0x29).
func NodePong(id uint32) []byte { return fasttrack.AppendNodePong(nil, id) }

// NodePongAddr returns a 21-byte node pong (0x29, flag 1) carrying an IPv4
// address and port.
func NodePongAddr(id uint32, ip [4]byte, port uint16) []byte {
	b := fasttrack.AppendNodePong(nil, id)
	b[6] = 1
	b = append(b, ip[:]...)
	return append(b, byte(port>>8), byte(port), 0, 0)
}

// ID returns the 5-byte 0x2A message.
func ID(id uint32) []byte { return fasttrack.AppendID(nil, id) }

// Lines joins header lines with CRLF and ends the header block.
func Lines(lines ...string) []byte {
	return []byte(strings.Join(lines, "\r\n") + "\r\n\r\n")
}

// KazaaHeaders are the request headers of a Kazaa download.
func KazaaHeaders() []string {
	return []string{
		"Host: 198.51.100.7:1214",
		"UserAgent: " + UserAgent,
		"X-Kazaa-Username: " + Username,
		"X-Kazaa-Network: " + Network,
		"X-Kazaa-IP: " + SelfIP,
		"X-Kazaa-SupernodeIP: " + Supernode,
		"Connection: close",
	}
}

// GetHash returns a current-style Kazaa download request
// ("GET /.hash=<40 hex> HTTP/1.1") with KazaaHeaders.
func GetHash() []byte {
	return Lines(append([]string{"GET /.hash=" + Hash + " HTTP/1.1"}, KazaaHeaders()...)...)
}

// GetPath returns a request for target with KazaaHeaders.
func GetPath(target string) []byte {
	return Lines(append([]string{"GET " + target + " HTTP/1.1"}, KazaaHeaders()...)...)
}

// GetIDName returns an old-style request "GET /<id>/<name>" with a
// giFT-FastTrack user agent and no X-Kazaa headers.
func GetIDName() []byte {
	return Lines("GET /1234/song.mp3 HTTP/1.0", "UserAgent: giFT-FastTrack 0.8.9")
}

// GetPeerEnabler returns an Altnet-style request with "User-Agent:
// PeerEnabler/…" as the only FastTrack header.
func GetPeerEnabler() []byte {
	return Lines("GET /.hash="+Hash+" HTTP/1.1", "Host: 198.51.100.8", "User-Agent: PeerEnabler/3.1")
}

// Response returns a FastTrack HTTP response with the given status.
func Response(status int) []byte {
	return Lines(
		fmt.Sprintf("HTTP/1.1 %d %s", status, statusText(status)),
		"Server: "+UserAgent,
		"X-Kazaa-Username: bob",
		"X-Kazaa-Network: "+Network,
		"X-Kazaa-IP: 203.0.113.50:1214",
		"X-KazaaTag: 5=Song title",
		"Content-Length: 4",
	)
}

// Give returns the push request "GIVE <id>\r\n".
func Give(id uint32) []byte { return fmt.Appendf(nil, "GIVE %d\r\n", id) }

func statusText(code int) string {
	switch code {
	case 200:
		return "OK"
	case 206:
		return "Partial Content"
	case 404:
		return "Not Found"
	case 503:
		return "Service Unavailable"
	}
	return "Status"
}
