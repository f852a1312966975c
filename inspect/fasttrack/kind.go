package fasttrack

import "github.com/ftwall/ftwall/inspect"

// Kind is the kind of FastTrack message found in one packet.
type Kind = inspect.Kind

// FastTrack kinds.
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

var kindNames = [kindCount]string{"none", "ping", "supernode-pong", "node-pong", "id", "http-request", "http-response", "give", "session-open"}

// KindName returns a short, stable, lower-case name ("ping",
// "http-request" …), used in logs and in the JSON output of `ftwall inspect`.
func KindName(k Kind) string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// IsUDP reports whether k is one of the FastTrack UDP messages.
func IsUDP(k Kind) bool { return k >= KindPing && k <= KindID }
