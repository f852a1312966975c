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
)

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
