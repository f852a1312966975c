package bittorrent

// KRPC (BEP 5): the DHT's messages are one bencoded dictionary per UDP
// datagram with a message type "y" (q query, r response, e error) and a
// transaction id "t"; a query names its method "q" and carries its
// arguments "a" with the sender's 20-byte node id "id"; a response carries
// "r" with the responder's "id". libtorrent adds "ip" (BEP 42) ahead of
// "r", and every client may add "v" (version) and "ro" (BEP 43).

// krpc is what was read from a KRPC message.
type krpc struct {
	typ      byte   // 'q', 'r' or 'e'
	method   []byte // query method ("ping", "get_peers")
	tid      []byte // transaction id
	nodeID   []byte // sender's node id (20 bytes; errors have none)
	infoHash []byte // get_peers / announce_peer info_hash (20 bytes)
}

// Bounds that real clients stay far inside.
const (
	maxTIDLen    = 16
	maxMethodLen = 32
	nodeIDLen    = 20
)

// parseKRPC reads b as one KRPC message: exactly one well-formed bencoded
// dictionary, nothing after it, with a valid "y" and, for its type, the
// keys every client sends.
func parseKRPC(b []byte, m *krpc) bool {
	*m = krpc{}
	var args, resp []byte
	var haveErr, bad bool
	end := eachEntry(b, 0, 0, func(e dictEntry) bool {
		switch string(e.key) {
		case "y":
			if s, j := parseString(e.val, 0); j == len(e.val) && len(s) == 1 {
				m.typ = s[0]
			} else {
				bad = true
			}
		case "t":
			if s, j := parseString(e.val, 0); j == len(e.val) && len(s) >= 1 && len(s) <= maxTIDLen {
				m.tid = s
			} else {
				bad = true
			}
		case "q":
			if s, j := parseString(e.val, 0); j == len(e.val) && len(s) >= 1 && len(s) <= maxMethodLen && printable(s) {
				m.method = s
			} else {
				bad = true
			}
		case "a":
			args = e.val
		case "r":
			resp = e.val
		case "e":
			haveErr = len(e.val) > 0 && e.val[0] == 'l'
		}
		return !bad
	})
	if end != len(b) || bad || m.tid == nil {
		return false
	}
	switch m.typ {
	case 'q':
		return m.method != nil && readArgs(args, m)
	case 'r':
		return readArgs(resp, m)
	case 'e':
		return haveErr
	}
	return false
}

// readArgs reads the "a" or "r" dictionary d: it must hold a 20-byte "id".
func readArgs(d []byte, m *krpc) bool {
	if len(d) == 0 || d[0] != 'd' {
		return false
	}
	bad := false
	end := eachEntry(d, 0, 1, func(e dictEntry) bool {
		switch string(e.key) {
		case "id":
			if s, j := parseString(e.val, 0); j == len(e.val) && len(s) == nodeIDLen {
				m.nodeID = s
			} else {
				bad = true
			}
		case "info_hash":
			if s, j := parseString(e.val, 0); j == len(e.val) && len(s) == 20 {
				m.infoHash = s
			}
		}
		return !bad
	})
	return end == len(d) && m.nodeID != nil
}

// probeNodeID is the node id of ftwall's time-lock probe (20 bytes).
const probeNodeID = "ftwall:timelock:ping"

// probeTID is the probe's transaction id.
const probeTID = "fw"

// appendPing appends a KRPC ping query from probeNodeID. It says "ro"
// (BEP 43, read-only): the client answers but should not add the firewall
// to its routing table.
func appendPing(dst []byte) []byte {
	dst = append(dst, "d1:ad2:id20:"...)
	dst = append(dst, probeNodeID...)
	dst = append(dst, "e1:q4:ping2:roi1e1:t2:"...)
	dst = append(dst, probeTID...)
	return append(dst, "1:y1:qe"...)
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// atou parses decimal digits (at most 10); 0 when b is not that.
func atou(b []byte) uint64 {
	if len(b) == 0 || len(b) > 10 {
		return 0
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + uint64(c-'0')
	}
	return n
}
