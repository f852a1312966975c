package audit

import (
	"io"
	"net/netip"

	"github.com/ftwall/ftwall/inspect"
)

// Options select what Run reads and how it reports.
type Options struct {
	// Files are the capture files, read in order.
	Files []string
	// LAN are the protected network's prefixes: a packet whose source is
	// inside one of them came from the LAN side. Empty means DefaultLAN().
	LAN []netip.Prefix
	// JSON prints one JSON object per evidence event and a final summary
	// object instead of the readable report.
	JSON bool
	// Detectors are the protocols to look for; nil means every built-in
	// detector.
	Detectors inspect.Detectors
	// Stdin is read for a file named "-" (nil: such a file is an error).
	Stdin io.Reader
}

// StdinName is the file name that stands for standard input.
const StdinName = "-"

// DefaultLAN returns the prefixes assumed to be the protected network when
// none are given: RFC 1918, RFC 6598 (shared address space) and fc00::/7.
func DefaultLAN() []netip.Prefix {
	return []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("100.64.0.0/10"),
		netip.MustParsePrefix("fc00::/7"),
	}
}
