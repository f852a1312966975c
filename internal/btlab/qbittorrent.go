package btlab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ftwall/ftwall/internal/lab"
)

// qbittorrentSpec runs qbittorrent-nox with a profile directory (--profile)
// holding a prepared qBittorrent.conf and the torrent on its command line.
// Quirks: libtorrent's DHT bootstrap list is built in
// (dht.libtorrent.org:25401, router.bittorrent.com:6881,
// router.utorrent.com:6881, dht.transmissionbt.com:6881,
// dht.aelitis.com:6881; no setting in 4.5.2), so the hosts file maps those
// names to the lab DHT node, which listens on both ports; LSD, UPnP/NAT-PMP
// and GeoIP look-ups (peer countries, database download) are switched off;
// the legal notice is accepted in the configuration; the Web UI (always on
// in nox) listens on 127.0.0.1:QBittorrentWebUIPort without log-in.
// DHT, uTP and UDP tracker requests use the peer port, on a socket per local
// address.
// QBittorrentWebUIPort is qbittorrent-nox's Web UI port on 127.0.0.1 of
// its namespace.
const QBittorrentWebUIPort = 8080

func qbittorrentSpec(c *Client, env clientEnv) (procSpec, error) {
	o := c.Opts
	cfgDir := filepath.Join(c.Home, "qBittorrent", "config")
	if err := os.MkdirAll(cfgDir, 0o700); err != nil {
		return procSpec{}, err
	}
	enc := map[Encryption]int{EncryptionAllowed: 0, EncryptionPreferred: 0, EncryptionRequired: 1}[o.Encryption]
	proto := "Both"
	if o.NoUTP {
		proto = "TCP"
	}
	iface, ifname := "", ""
	if c.Seeding {
		// In the internet namespace the lab DHT and the peer addresses
		// are local: on eth0 only the seeder announces itself with
		// eth0's addresses (and has no socket on 64 loopback ones).
		ifname = lab.IfHost
	}
	switch o.Family {
	case IPv4Only:
		iface = c.Addr4.String()
	case IPv6Only:
		iface = c.Addr6.String()
	}
	sections := []struct {
		name string
		kv   [][2]string
	}{
		{"LegalNotice", [][2]string{{"Accepted", "true"}}},
		{"Meta", [][2]string{{"MigrationVersion", "4"}}}, // no settings migration
		{"Application", [][2]string{{`FileLogger\Enabled`, "true"}}},
		{"BitTorrent", [][2]string{
			{`Session\DefaultSavePath`, c.Dir},
			{`Session\TempPathEnabled`, "false"},
			{`Session\AddExtensionToIncompleteFiles`, "false"},
			{`Session\Preallocation`, "false"},
			{`Session\Port`, fmt.Sprint(o.Port)},
			{`Session\UseRandomPort`, "false"},
			{`Session\DHTEnabled`, fmt.Sprint(!o.NoDHT)},
			{`Session\LSDEnabled`, "false"},
			{`Session\PeXEnabled`, "true"},
			{`Session\Encryption`, fmt.Sprint(enc)},
			{`Session\BTProtocol`, proto},
			{`Session\AnonymousModeEnabled`, "false"},
			{`Session\QueueingSystemEnabled`, "false"},
			{`Session\AddTrackersEnabled`, "false"},
			{`Session\GlobalMaxRatio`, "-1"},
			{`Session\StopTrackerTimeout`, "1"},
			{`Session\Interface`, ifname},
			{`Session\InterfaceName`, ifname},
			{`Session\InterfaceAddress`, iface},
			{`Session\IgnoreLimitsOnLAN`, "true"},
		}},
		{"Network", [][2]string{{"PortForwardingEnabled", "false"}}},
		{"Preferences", [][2]string{
			{`Connection\ResolvePeerCountries`, "false"},
			{`Connection\ResolvePeerHostNames`, "false"},
			{`Connection\UPnP`, "false"},
			{`DynDNS\Enabled`, "false"},
			{`General\Locale`, "en"},
			{`Search\SearchEnabled`, "false"},
			// qbittorrent-nox always runs its Web UI: on loopback only,
			// no log-in from there.
			{`WebUI\Address`, "127.0.0.1"},
			{`WebUI\Port`, fmt.Sprint(QBittorrentWebUIPort)},
			{`WebUI\LocalHostAuth`, "false"},
			{`WebUI\UseUPnP`, "false"},
		}},
		{"RSS", [][2]string{
			{`Session\EnableProcessing`, "false"},
			{`AutoDownloader\EnableProcessing`, "false"},
		}},
	}
	var b strings.Builder
	for _, s := range sections {
		fmt.Fprintf(&b, "[%s]\n", s.name)
		for _, kv := range s.kv {
			fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
		}
		b.WriteString("\n")
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "qBittorrent.conf"), []byte(b.String()), 0o600); err != nil {
		return procSpec{}, err
	}
	extraLogs := []string{filepath.Join(c.Home, "qBittorrent", "data", "logs", "qbittorrent.log")}
	args := []string{"--profile=" + c.Home, "--save-path=" + c.Dir, "--add-paused=false", "--skip-dialog=true"}
	if c.Seeding {
		args = append(args, "--skip-hash-check")
	}
	return procSpec{path: ProgQBittorrent, args: append(args, c.Torrent.Path), logs: extraLogs}, nil
}
