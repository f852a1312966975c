package inspect_test

import (
	"testing"

	"net/netip"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/fasttrack"
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

// ft is the dispatcher with the FastTrack detector alone.
var ft = inspect.Detectors{fasttrack.New()}

func classify(t *testing.T, pkt []byte) (inspect.Evidence, bool) {
	t.Helper()
	var p inspect.Packet
	if err := inspect.Decode(pkt, &p); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	var ev inspect.Evidence
	ok := ft.Classify(&p, &ev)
	return ev, ok
}
