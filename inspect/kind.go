package inspect

// Kind is the kind of FastTrack evidence found in one packet.
type Kind uint8

// Evidence kinds.
const (
	KindNone          Kind = iota // nothing recognised
	KindPing                      // UDP 0x27 node ping (client → node)
	KindSupernodePong             // UDP 0x28 supernode pong
	KindNodePong                  // UDP 0x29 node pong
	KindID                        // UDP 0x2A, 4-byte ID (client → node)
	KindHTTPRequest               // HTTP request with FastTrack headers
	KindHTTPResponse              // HTTP response with FastTrack headers
	KindGive                      // push request "GIVE <id>"
	KindSessionOpen               // 12-byte first payload of a TCP session (FastTrack session opener)
	kindCount
)

// NumKinds is the number of kinds including KindNone; every Kind is below it.
const NumKinds = int(kindCount)

// String returns a short, stable, lower-case name ("ping", "http-request" …),
// used in logs and in the JSON output of `ftwall inspect`.
func (k Kind) String() string {
	switch k {
	case KindNone:
		return "none"
	case KindPing:
		return "ping"
	case KindSupernodePong:
		return "supernode-pong"
	case KindNodePong:
		return "node-pong"
	case KindID:
		return "id"
	case KindHTTPRequest:
		return "http-request"
	case KindHTTPResponse:
		return "http-response"
	case KindGive:
		return "give"
	case KindSessionOpen:
		return "session-open"
	}
	return "unknown"
}

// UDP reports whether k is one of the FastTrack UDP messages.
func (k Kind) UDP() bool { return k >= KindPing && k <= KindID }

// HTTP reports whether k is one of the clear-text TCP forms (HTTP or GIVE).
func (k Kind) HTTP() bool { return k >= KindHTTPRequest && k <= KindGive }

// TCP reports whether k is found in TCP payloads.
func (k Kind) TCP() bool { return k.HTTP() || k == KindSessionOpen }
