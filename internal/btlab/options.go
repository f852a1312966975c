package btlab

import (
	"fmt"
)

// ClientKind names a BitTorrent client the rig can run.
type ClientKind string

// The clients (Debian 12: aria2 1.36, transmission 3.00, qBittorrent 4.5.2
// with libtorrent 2.0.8).
const (
	Aria2        ClientKind = "aria2"        // aria2c
	Transmission ClientKind = "transmission" // transmission-cli
	QBittorrent  ClientKind = "qbittorrent"  // qbittorrent-nox
)

// Clients lists every ClientKind.
var Clients = []ClientKind{Aria2, Transmission, QBittorrent}

// Program is the client's executable.
func (k ClientKind) Program() string {
	switch k {
	case Aria2:
		return ProgAria2
	case Transmission:
		return ProgTransmission
	case QBittorrent:
		return ProgQBittorrent
	}
	return string(k)
}

// TrackerKind is how a leecher finds the seeder.
type TrackerKind int

const (
	// TrackerHTTP: the leecher's .torrent names the HTTP tracker only.
	TrackerHTTP TrackerKind = iota
	// TrackerUDP: the UDP tracker (BEP 15) only.
	TrackerUDP
	// TrackerNone: a trackerless .torrent; the leecher finds the seeder
	// through the lab DHT node only.
	TrackerNone
)

func (k TrackerKind) String() string {
	switch k {
	case TrackerHTTP:
		return "http"
	case TrackerUDP:
		return "udp"
	case TrackerNone:
		return "none"
	}
	return fmt.Sprintf("TrackerKind(%d)", int(k))
}

// Family restricts a client to one IP version.
type Family int

const (
	DualStack Family = iota // both (client defaults)
	IPv4Only
	IPv6Only // needs TrackerNone: the only tracker (opentracker) is IPv4-only
)

func (f Family) String() string {
	switch f {
	case DualStack:
		return "dual"
	case IPv4Only:
		return "ipv4"
	case IPv6Only:
		return "ipv6"
	}
	return fmt.Sprintf("Family(%d)", int(f))
}

// Encryption is the client's MSE/PE policy.
type Encryption int

const (
	// EncryptionPreferred: try MSE first, accept plaintext (aria2 and
	// transmission default, qBittorrent "allow encryption").
	EncryptionPreferred Encryption = iota
	// EncryptionRequired: MSE only (aria2 --bt-require-crypto with arc4,
	// transmission "encryption": 2, qBittorrent Encryption=1 "require").
	EncryptionRequired
	// EncryptionAllowed: prefer plaintext, accept MSE (transmission
	// "encryption": 0 "tolerated"). aria2 and qBittorrent have no such
	// mode and treat it as EncryptionPreferred.
	EncryptionAllowed
)

func (e Encryption) String() string {
	switch e {
	case EncryptionPreferred:
		return "preferred"
	case EncryptionRequired:
		return "required"
	case EncryptionAllowed:
		return "allowed"
	}
	return fmt.Sprintf("Encryption(%d)", int(e))
}

// Default ports. DHTNodePorts (6881, 25401) are taken in the internet
// namespace by the lab DHT node, so seeders there use another.
const (
	DefaultLeecherPort = 6881
	DefaultSeederPort  = 51413
)

// Options configure one client. The zero value (but Client) is the
// client's defaults inside the lab: HTTP tracker, both IP versions,
// encryption preferred, uTP and DHT on, DefaultLeecherPort or
// DefaultSeederPort.
type Options struct {
	Client     ClientKind
	Tracker    TrackerKind // leechers; a seeder announces to the rig's HTTP tracker (if any) and to the DHT
	Family     Family
	Encryption Encryption
	// NoUTP switches uTP off (transmission utp-enabled=false, qBittorrent
	// BTProtocol=TCP). aria2 has no uTP at all, whatever this says. Set it
	// for transmission with TrackerNone: its uTP link to the libtorrent
	// seeder stalls when made that late (docs/bittorrent-lab.md).
	NoUTP bool
	// NoDHT switches DHT off; not with TrackerNone, nor with aria2 and
	// TrackerUDP (aria2 sends UDP tracker requests from its DHT socket).
	NoDHT bool
	// Port is the peer port: TCP, and for transmission and qBittorrent
	// also the one UDP socket of uTP, DHT and UDP tracker requests.
	Port uint16
	// DHTPort is aria2's DHT (and UDP tracker) port; 0: Port. The others
	// have no separate DHT port (setting it is an error unless it equals
	// Port).
	DHTPort uint16
}

func (o Options) check() error {
	switch o.Client {
	case Aria2, Transmission, QBittorrent:
	default:
		return fmt.Errorf("unknown client %q", o.Client)
	}
	if o.Tracker == TrackerNone && o.NoDHT {
		return fmt.Errorf("%s: a trackerless download needs DHT", o.Client)
	}
	if o.Client == Aria2 && o.Tracker == TrackerUDP && o.NoDHT {
		return fmt.Errorf("aria2 sends UDP tracker requests from its DHT socket: TrackerUDP needs DHT")
	}
	if o.Family == IPv6Only && o.Tracker != TrackerNone {
		return fmt.Errorf("%s: IPv6 only needs TrackerNone (opentracker is IPv4-only)", o.Client)
	}
	if o.Family == IPv6Only && o.Client == Transmission {
		return fmt.Errorf("transmission 3.00 opens its IPv6 UDP socket (DHT, uTP) only on a global unicast address (2000::/3); the lab client has fd00:1::2, so IPv6 only with DHT is impossible")
	}
	if o.Client != Aria2 && o.DHTPort != 0 && o.DHTPort != o.Port {
		return fmt.Errorf("%s has no separate DHT port: its DHT uses the peer port", o.Client)
	}
	return nil
}

// withDefaults fills the ports.
func (o Options) withDefaults(seed bool) Options {
	if o.Port == 0 {
		o.Port = DefaultLeecherPort
		if seed {
			o.Port = DefaultSeederPort
		}
	}
	if o.DHTPort == 0 {
		o.DHTPort = o.Port
	}
	return o
}

func (o Options) String() string {
	s := fmt.Sprintf("%s tracker=%s family=%s encryption=%s port=%d", o.Client, o.Tracker, o.Family, o.Encryption, o.Port)
	if o.DHTPort != o.Port && o.DHTPort != 0 {
		s += fmt.Sprintf(" dht-port=%d", o.DHTPort)
	}
	if o.NoUTP {
		s += " no-utp"
	}
	if o.NoDHT {
		s += " no-dht"
	}
	return s
}
