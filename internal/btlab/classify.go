package btlab

import (
	"bytes"
	"encoding/binary"
)

// Kind is what a captured packet's payload looks like, as far as the lab
// needs to tell (this is a test aid, not ftwall's classifier: it knows the
// lab's ports and trusts that nothing but BitTorrent runs there).
type Kind string

// Kinds of packets.
const (
	KindNone         Kind = ""                    // no payload (TCP SYN, ACK, FIN …)
	KindHTTPAnnounce Kind = "http-announce"       // GET /announce?info_hash=…
	KindHTTPScrape   Kind = "http-scrape"         // GET /scrape?…
	KindHTTP         Kind = "http"                // other HTTP request or reply (tracker replies)
	KindUDPConnect   Kind = "udp-tracker-connect" // BEP 15 connect request (16 B, magic 0x41727101980)
	KindUDPAnnounce  Kind = "udp-tracker-announce"
	KindUDPScrape    Kind = "udp-tracker-scrape"
	KindUDPReply     Kind = "udp-tracker-reply" // anything from the tracker's UDP port
	KindKRPCQuery    Kind = "krpc-query"        // bencoded dictionary, y=q
	KindKRPCReply    Kind = "krpc-response"     // y=r
	KindKRPCError    Kind = "krpc-error"        // y=e
	KindUTPSyn       Kind = "utp-syn"           // BEP 29 ST_SYN
	KindUTPData      Kind = "utp-data"
	KindUTPState     Kind = "utp-state"
	KindUTPFin       Kind = "utp-fin"
	KindUTPReset     Kind = "utp-reset"
	KindHandshake    Kind = "bt-handshake" // a segment holding the plaintext 0x13"BitTorrent protocol"
	KindMSE          Kind = "mse"          // first payload of a TCP stream, 96–608 B, none of the above
	KindTCPData      Kind = "tcp-data"     // later stream payload: peer messages, plain or encrypted
	KindLSD          Kind = "lsd"          // BT-SEARCH (BEP 14)
	KindDNS          Kind = "dns"
	KindOther        Kind = "other"
)

// IsBitTorrent reports whether k is evidence of BitTorrent by itself:
// tracker requests, KRPC, uTP, handshakes, MSE, LSD.
func (k Kind) IsBitTorrent() bool {
	switch k {
	case KindNone, KindHTTP, KindUDPReply, KindTCPData, KindDNS, KindOther:
		return false
	}
	return true
}

var btProtocol = []byte("\x13BitTorrent protocol")

const udpTrackerMagic = 0x41727101980

// Classify says what p's payload is.
func Classify(p Packet) Kind {
	b := p.Payload
	if p.Len == 0 {
		return KindNone
	}
	if p.Src.Port() == 53 || p.Dst.Port() == 53 {
		return KindDNS
	}
	switch p.Proto {
	case "tcp":
		switch {
		case bytes.HasPrefix(b, []byte("GET /announce")):
			return KindHTTPAnnounce
		case bytes.HasPrefix(b, []byte("GET /scrape")):
			return KindHTTPScrape
		case bytes.HasPrefix(b, []byte("GET ")), bytes.HasPrefix(b, []byte("POST ")), bytes.HasPrefix(b, []byte("HTTP/1.")):
			return KindHTTP
		case bytes.Contains(b, btProtocol):
			return KindHandshake
		case p.Offset == 0 && p.Len >= 96 && p.Len <= 608:
			return KindMSE
		default:
			return KindTCPData
		}
	case "udp":
		if p.Src.Port() == TrackerPort {
			return KindUDPReply
		}
		if len(b) >= 16 && binary.BigEndian.Uint64(b) == udpTrackerMagic && binary.BigEndian.Uint32(b[8:]) == 0 {
			return KindUDPConnect
		}
		if len(b) >= 16 {
			switch binary.BigEndian.Uint32(b[8:]) {
			case 1:
				if len(b) >= 98 {
					return KindUDPAnnounce
				}
			case 2:
				if (len(b)-16)%20 == 0 {
					return KindUDPScrape
				}
			}
		}
		if bytes.HasPrefix(b, []byte("BT-SEARCH ")) {
			return KindLSD
		}
		if len(b) > 0 && b[0] == 'd' {
			if v, _, err := bdecodePrefix(b); err == nil {
				if m, ok := v.(map[string]any); ok {
					switch m["y"] {
					case "q":
						return KindKRPCQuery
					case "r":
						return KindKRPCReply
					case "e":
						return KindKRPCError
					}
				}
			}
		}
		if len(b) >= 20 && b[0]&0x0f == 1 && b[1] <= 3 {
			switch b[0] >> 4 {
			case 0:
				return KindUTPData
			case 1:
				return KindUTPFin
			case 2:
				return KindUTPState
			case 3:
				return KindUTPReset
			case 4:
				return KindUTPSyn
			}
		}
	}
	return KindOther
}

// KRPCMethod is the query method of a KRPC query payload ("" otherwise).
func KRPCMethod(b []byte) string {
	v, _, err := bdecodePrefix(b)
	if err != nil {
		return ""
	}
	m, _ := v.(map[string]any)
	q, _ := m["q"].(string)
	return q
}
