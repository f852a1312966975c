package bittorrent

import "github.com/ftwall/ftwall/inspect"

type kindID = inspect.Kind

// BitTorrent's kinds of evidence.
const (
	KindNone kindID = iota
	// KindDHTQuery is a KRPC query (ping, find_node, get_peers,
	// announce_peer, …) to a DHT node.
	KindDHTQuery
	// KindDHTResponse is a KRPC response.
	KindDHTResponse
	// KindDHTError is a KRPC error.
	KindDHTError
	// KindTrackerConnect is a UDP tracker connect request.
	KindTrackerConnect
	// KindTrackerAnnounce is a UDP tracker announce.
	KindTrackerAnnounce
	// KindTrackerScrape is a UDP tracker scrape.
	KindTrackerScrape
	// KindHTTPAnnounce is an HTTP tracker announce.
	KindHTTPAnnounce
	// KindHTTPScrape is an HTTP tracker scrape.
	KindHTTPScrape
	// KindHandshake is the plaintext peer-wire handshake over TCP.
	KindHandshake
	// KindUTPSyn is a uTP connection request.
	KindUTPSyn
	// KindUTPHandshake is the peer-wire handshake in a uTP ST_DATA.
	KindUTPHandshake
	// KindLSD is a Local Service Discovery announce.
	KindLSD
	// NumKinds is the number of kinds, KindNone included.
	NumKinds
)

var kindNames = [NumKinds]string{
	KindNone:            "none",
	KindDHTQuery:        "dht-query",
	KindDHTResponse:     "dht-response",
	KindDHTError:        "dht-error",
	KindTrackerConnect:  "udp-tracker-connect",
	KindTrackerAnnounce: "udp-tracker-announce",
	KindTrackerScrape:   "udp-tracker-scrape",
	KindHTTPAnnounce:    "http-announce",
	KindHTTPScrape:      "http-scrape",
	KindHandshake:       "handshake",
	KindUTPSyn:          "utp-syn",
	KindUTPHandshake:    "utp-handshake",
	KindLSD:             "lsd",
}

// KindName names k.
func KindName(k inspect.Kind) string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Reasons given for BitTorrent peers and locks.
const (
	ReasonDHT         = "dht"
	ReasonUDPTracker  = "udp-tracker"
	ReasonHTTPTracker = "http-tracker"
	ReasonHandshake   = "handshake"
	ReasonUTP         = "utp"
	ReasonLSD         = "lsd"
)
