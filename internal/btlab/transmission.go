package btlab

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// transmissionSpec runs transmission-cli with a settings.json and a
// dht.bootstrap file in its configuration directory (-g). Quirks: DHT, uTP
// and UDP tracker requests share one UDP socket on the peer port; DHT
// bootstrap is the dht.bootstrap file ("host port" lines) and then the
// built-in dht.transmissionbt.com (mapped to the lab node by the hosts
// file); the IPv6 UDP socket exists only with a global unicast address
// (2000::/3) and a route to the Internet.
func transmissionSpec(c *Client, env clientEnv) (procSpec, error) {
	o := c.Opts
	cfg := filepath.Join(c.Home, "transmission")
	if err := os.MkdirAll(cfg, 0o700); err != nil {
		return procSpec{}, err
	}
	enc := map[Encryption]int{EncryptionAllowed: 0, EncryptionPreferred: 1, EncryptionRequired: 2}[o.Encryption]
	bind4, bind6 := "0.0.0.0", "::"
	if c.Seeding {
		// In the internet namespace the lab DHT and the peer addresses
		// are local: bound to eth0's addresses the seeder announces
		// itself with those, not with a loopback peer address.
		bind4, bind6 = c.Addr4.String(), c.Addr6.String()
	}
	if o.Family == IPv4Only {
		// No IPv6 peer can be reached from ::1. A bind address that is
		// not the default also binds libcurl's tracker requests, IPv4
		// first: so bind IPv4 to the client's address, not leaving
		// ::1 for the HTTP tracker.
		bind4, bind6 = c.Addr4.String(), "::1"
	}
	settings := map[string]any{
		"bind-address-ipv4":           bind4,
		"bind-address-ipv6":           bind6,
		"blocklist-enabled":           false,
		"dht-enabled":                 !o.NoDHT,
		"download-dir":                c.Dir,
		"encryption":                  enc,
		"idle-seeding-limit-enabled":  false,
		"incomplete-dir-enabled":      false,
		"lpd-enabled":                 false,
		"message-level":               2,
		"peer-port":                   o.Port,
		"peer-port-random-on-start":   false,
		"pex-enabled":                 true,
		"port-forwarding-enabled":     false,
		"ratio-limit-enabled":         false,
		"rename-partial-files":        false,
		"rpc-enabled":                 false,
		"script-torrent-done-enabled": false,
		"speed-limit-down-enabled":    false,
		"speed-limit-up-enabled":      false,
		"start-added-torrents":        true,
		"utp-enabled":                 !o.NoUTP,
		"watch-dir-enabled":           false,
	}
	js, err := json.MarshalIndent(settings, "", "  ")
	if err != nil {
		return procSpec{}, err
	}
	if err := os.WriteFile(filepath.Join(cfg, "settings.json"), js, 0o600); err != nil {
		return procSpec{}, err
	}
	// Bootstrap: dht.dat (the saved routing table) lists every lab DHT
	// node, which transmission pings one by one (1–3 s apart); it does no
	// lookup before 4 of them answered and it knows more than 8.
	// dht.bootstrap names the bootstrap node too (tried after dht.dat,
	// 7–22 s apart).
	var nodes, nodes6 []byte
	var boot strings.Builder
	for _, ap := range env.dhtNodes {
		if ap.Addr().Is6() {
			nodes6 = append(nodes6, compactAddrPort(ap)...)
		} else {
			nodes = append(nodes, compactAddrPort(ap)...)
		}
	}
	for _, ap := range []netip.AddrPort{env.dht4, env.dht6} {
		if ap.IsValid() {
			fmt.Fprintf(&boot, "%s %d\n", ap.Addr(), ap.Port())
		}
	}
	id := randomID()
	dat := map[string]any{"id": string(id[:])}
	if len(nodes) > 0 {
		dat["nodes"] = string(nodes)
	}
	if len(nodes6) > 0 {
		dat["nodes6"] = string(nodes6)
	}
	if err := os.WriteFile(filepath.Join(cfg, "dht.dat"), bencode(dat), 0o600); err != nil {
		return procSpec{}, err
	}
	if err := os.WriteFile(filepath.Join(cfg, "dht.bootstrap"), []byte(boot.String()), 0o600); err != nil {
		return procSpec{}, err
	}
	args := []string{"-g", cfg, "-w", c.Dir}
	if c.Seeding {
		args = append(args, "-v") // verify the payload, then seed it
	}
	return procSpec{path: ProgTransmission, args: append(args, c.Torrent.Path)}, nil
}
