package bittorrent_test

import (
	"net/netip"
	"testing"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/inspecttest"
)

// nearMiss is ordinary traffic, or a near copy of a BitTorrent shape,
// that must not be evidence. queued says whether a prefilter may still
// queue it (only the near copies); ordinary UDP is never queued.
type nearMiss struct {
	name   string
	pkt    []byte
	queued bool
}

func nearMisses() []nearMiss {
	c := client4
	at := func(port uint16) netip.AddrPort {
		return netip.AddrPortFrom(netip.MustParseAddr("198.51.100.80"), port)
	}
	dns := []byte{0x64, 0x31, 0x01, 0x20, 0, 1, 0, 0, 0, 0, 0, 1,
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1,
		0, 0, 0x29, 0x10, 0, 0, 0, 0, 0, 0, 0}
	ntp := make([]byte, 48)
	ntp[0] = 0x23
	stunReq := []byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	stunOK := []byte{0x01, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
		0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43}
	quicInitial := make([]byte, 1200)
	copy(quicInitial, []byte{0xc3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x44, 0xd0})
	// QUIC short headers whose first byte is a uTP SYN's or a KRPC's.
	quicShortSyn := append([]byte{0x41, 0x02}, make([]byte, 28)...)
	for i := 2; i < len(quicShortSyn); i++ {
		quicShortSyn[i] = byte(i * 37)
	}
	quicShortD := append([]byte("d1:a"), make([]byte, 60)...)
	wgInit := make([]byte, 148)
	wgInit[0] = 1
	wgData := make([]byte, 64)
	wgData[0] = 4
	source := []byte("\xff\xff\xff\xffTSource Engine Query\x00")
	quake := []byte("\xff\xff\xff\xffgetstatus\n")
	rtpLike := []byte{0x80, 0x60, 0x12, 0x34, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8}
	utpState := inspecttest.UTPSynLibtorrent(7)
	utpState[0] = 0x21
	random3102 := []byte{0x31, 0x02, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8}
	getTorrent := inspecttest.Lines("GET /files/debian-13.iso.torrent HTTP/1.1", "Host: 198.51.100.80", "User-Agent: curl/8.5.0")
	getNews := inspecttest.Lines("GET /news/announce-2026.html HTTP/1.1", "Host: 198.51.100.80")
	getAnnounceNoHash := inspecttest.Lines("GET /announce?id=4&page=2 HTTP/1.1", "Host: 198.51.100.80")
	getAnnounceShortHash := inspecttest.Lines("GET /announce?info_hash=abc&peer_id=x&port=1 HTTP/1.1", "Host: 198.51.100.80")
	getAnnounceInQuery := inspecttest.Lines("GET /search?q=announce&info_hash=12345678901234567890 HTTP/1.1", "Host: 198.51.100.80")
	torrentBody := append(inspecttest.Lines("HTTP/1.1 200 OK", "Content-Type: application/x-bittorrent"), "d8:announce35:http://203.0.113.2:6969/announce4:infod6:lengthi4e4:name1:xee"...)
	krpcTrailing := append(inspecttest.KRPCPing("aa"), 'x')
	krpcNoID := []byte("d1:ad2:xx20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe")
	krpcShortID := []byte("d1:ad2:id19:abcdefghij012345678e1:q4:ping1:t2:aa1:y1:qe")
	krpcNoTID := []byte("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:y1:qe")
	krpcCut := inspecttest.KRPCPing("aa")[:50]
	connectAction1 := inspecttest.TrackerConnect(7)
	connectAction1[11] = 1
	connectLong := append(inspecttest.TrackerConnect(7), 0)
	announceBadEvent := inspecttest.TrackerAnnounce(1, 6881)
	announceBadEvent[83] = 9
	announceBadOpt := inspecttest.TrackerAnnounce(1, 6881, 7)
	synTrailing := append(inspecttest.UTPSynLibtorrent(7), 0xaa)
	synBadExt := inspecttest.UTPSynLibtorrent(7)
	synBadExt[1] = 1 // an extension announced, none there
	handshakeOther := append([]byte("\x13BitTorrent protocoX"), make([]byte, 48)...)
	lsdToUnicast := inspecttest.LSDSearch(6881)
	ssdp := []byte("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n")
	return []nearMiss{
		{"dns query with EDNS and id 'd1'", inspecttest.UDP(c, at(53), dns), false},
		{"ntp client", inspecttest.UDP(c, at(123), ntp), false},
		{"stun binding request", inspecttest.UDP(c, at(3478), stunReq), false},
		{"stun success response", inspecttest.UDP(c, at(3478), stunOK), false},
		{"quic initial", inspecttest.UDP(c, at(443), quicInitial), false},
		{"quic short header 0x41 0x02", inspecttest.UDP(c, at(443), quicShortSyn), false},
		{"wireguard handshake initiation", inspecttest.UDP(c, at(51820), wgInit), false},
		{"wireguard transport data", inspecttest.UDP(c, at(51820), wgData), false},
		{"source engine query", inspecttest.UDP(c, at(27015), source), false},
		{"quake getstatus", inspecttest.UDP(c, at(27960), quake), false},
		{"rtp", inspecttest.UDP(c, at(5004), rtpLike), false},
		{"ssdp m-search", inspecttest.UDP(c, netip.MustParseAddrPort("239.255.255.250:1900"), ssdp), false},
		{"utp st_state alone", inspecttest.UDP(c, seeder4, utpState), false},
		{"random 0x31 0x02", inspecttest.UDP(c, at(9000), random3102), false},
		{"http get of a .torrent file", inspecttest.TCP(c, at(80), getTorrent), true},
		{"url with announce in the path", inspecttest.TCP(c, at(80), getNews), true},
		{"announce without info_hash", inspecttest.TCP(c, at(80), getAnnounceNoHash), true},
		{"announce with a short info_hash", inspecttest.TCP(c, at(80), getAnnounceShortHash), true},
		{"announce only in the query", inspecttest.TCP(c, at(80), getAnnounceInQuery), true},
		{"torrent file in a response body", inspecttest.TCP(c, at(80), torrentBody), false},
		{"quic short header 'd1:a'", inspecttest.UDP(c, at(443), quicShortD), true},
		{"krpc with a trailing byte", inspecttest.UDP(c, node4, krpcTrailing), true},
		{"krpc without id", inspecttest.UDP(c, node4, krpcNoID), true},
		{"krpc with a 19-byte id", inspecttest.UDP(c, node4, krpcShortID), true},
		{"krpc without transaction id", inspecttest.UDP(c, node4, krpcNoTID), true},
		{"krpc cut short", inspecttest.UDP(c, node4, krpcCut), true},
		{"tracker connect with action 1", inspecttest.UDP(c, tracker4, connectAction1), false},
		{"tracker connect with a trailing byte", inspecttest.UDP(c, tracker4, connectLong), false},
		{"announce with event 9", inspecttest.UDP(c, tracker4, announceBadEvent), false},
		{"announce with a bad option", inspecttest.UDP(c, tracker4, announceBadOpt), false},
		{"utp syn with a trailing byte", inspecttest.UDP(c, seeder4, synTrailing), true},
		{"utp syn announcing a missing extension", inspecttest.UDP(c, seeder4, synBadExt), true},
		{"handshake with another protocol name", inspecttest.TCP(c, seeder4, handshakeOther), true},
		{"lsd text to a unicast address", inspecttest.UDP(c, at(6771), lsdToUnicast), false},
	}
}

func TestNearMisses(t *testing.T) {
	for _, c := range nearMisses() {
		t.Run(c.name, func(t *testing.T) {
			var p inspect.Packet
			if err := inspect.Decode(c.pkt, &p); err != nil {
				t.Fatal(err)
			}
			var ev inspect.Evidence
			if bt.Classify(&p, &ev) {
				t.Errorf("recognised as %s (%+v)", ev.KindName(), ev)
			}
			if q := anyPrefilter(&p, len(c.pkt), inspect.HookForward) || anyPrefilter(&p, len(c.pkt), inspect.HookInput); q && !c.queued {
				t.Errorf("queued by a prefilter")
			}
		})
	}
}
