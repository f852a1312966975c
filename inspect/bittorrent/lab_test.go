package bittorrent_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/ftwall/ftwall/inspect"
)

// The testdata captures are the first 80 packets that real clients
// (Debian 12's aria2 1.36, transmission 3.00, qbittorrent-nox 4.5.2) sent
// from the client namespace in internal/btlab's downloads, taken on the
// router's LAN interface (BTLAB_PCAP_DIR). Each must show the kinds the
// client was seen sending.
func TestLabCaptures(t *testing.T) {
	want := map[string][]string{
		"lab-aria2httptracker.pcap":     {"dht-query", "dht-response", "http-announce"},
		"lab-aria2ipv6dhtonly.pcap":     {"dht-query", "dht-response"},
		"lab-aria2encryptionrequi.pcap": {"dht-query", "udp-tracker-connect"},
		"lab-transmissionudptrack.pcap": {"dht-query", "udp-tracker-connect", "udp-tracker-announce", "utp-syn"},
		"lab-transmissionencrypti.pcap": {"dht-query", "utp-syn"},
		"lab-qbittorrentdhtonly.pcap":   {"dht-query", "utp-syn", "utp-handshake"},
		"lab-qbittorrentipv6dhton.pcap": {"dht-query", "utp-syn", "utp-handshake"},
		"lab-qbittorrentudptracke.pcap": {"dht-query", "udp-tracker-connect", "handshake"},
		"lab-qbittorrentencryptio.pcap": {"dht-query", "utp-syn"},
	}
	for file, kinds := range want {
		t.Run(file, func(t *testing.T) {
			got := classifyCapture(t, filepath.Join("testdata", file))
			for _, k := range kinds {
				if got[k] == 0 {
					t.Errorf("no %s in the capture (found %v)", k, got)
				}
			}
			if got["handshake"]+got["utp-handshake"] > 0 && (file == "lab-qbittorrentencryptio.pcap" || file == "lab-transmissionencrypti.pcap" || file == "lab-aria2encryptionrequi.pcap") {
				t.Errorf("a plaintext handshake with encryption required: %v", got)
			}
			t.Logf("%v", got)
		})
	}
}

func classifyCapture(t *testing.T, path string) map[string]int {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	skip := 0
	switch r.LinkType() {
	case layers.LinkTypeEthernet:
		skip = 14
	case layers.LinkTypeRaw:
	default:
		t.Fatalf("link type %v", r.LinkType())
	}
	got := map[string]int{}
	for {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var p inspect.Packet
		if len(data) <= skip || inspect.Decode(data[skip:], &p) != nil {
			continue
		}
		var ev inspect.Evidence
		if bt.Classify(&p, &ev) {
			got[ev.KindName()]++
		}
	}
	return got
}
