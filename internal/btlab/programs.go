package btlab

import (
	"os"
	"os/exec"
	"strings"
)

// Programs the rig runs, by the name looked up in PATH. Debian packages:
// aria2, transmission-cli, qbittorrent-nox, opentracker, mktorrent;
// unshare, mount (util-linux) and cmp (diffutils) are on every Debian
// system.
const (
	ProgAria2        = "aria2c"
	ProgTransmission = "transmission-cli"
	ProgQBittorrent  = "qbittorrent-nox"
	ProgOpentracker  = "opentracker"
	ProgMktorrent    = "mktorrent"
)

// basePrograms are needed by every rig: the torrent maker and the private
// mount namespace wrapper (sandbox.go).
var basePrograms = []string{ProgMktorrent, "unshare", "mount", "sh", "cmp"}

// Require skips t unless it runs as root (the lab needs namespaces) and
// every named program, plus the rig's base programs, is in PATH.
func Require(t T, programs ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("real-client lab test: needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) to create network namespaces; run `sudo go test` or `make test` as root")
	}
	var missing []string
	for _, p := range append(append([]string(nil), basePrograms...), programs...) {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		t.Skipf("real-client lab test: programs not installed: %s (as root: `make deps`, Debian packages aria2 transmission-cli qbittorrent-nox opentracker mktorrent)",
			strings.Join(missing, ", "))
	}
}
