package btlab

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ftwall/ftwall/internal/lab"
)

// aria2Spec runs aria2c with every setting on its command line (--no-conf:
// no aria2.conf is read). Quirks: no uTP; the UDP tracker is spoken from
// the DHT socket, so udp:// needs DHT; DHT bootstrap is --dht-entry-point
// (no built-in names); it keeps seeding (--seed-ratio=0.0) until stopped.
func aria2Spec(c *Client, env clientEnv) (procSpec, error) {
	o := c.Opts
	v4 := o.Family != IPv6Only
	v6 := o.Family != IPv4Only
	dht4 := !o.NoDHT && v4
	dht6 := !o.NoDHT && v6 && c.Addr6.IsValid()
	args := []string{
		"--no-conf=true",
		"--dir=" + c.Dir,
		"--listen-port=" + fmt.Sprint(o.Port),
		"--dht-listen-port=" + fmt.Sprint(o.DHTPort),
		"--enable-dht=" + fmt.Sprint(dht4),
		"--enable-dht6=" + fmt.Sprint(dht6),
		"--dht-file-path=" + filepath.Join(c.Home, "dht.dat"),
		"--dht-file-path6=" + filepath.Join(c.Home, "dht6.dat"),
		"--bt-enable-lpd=false",
		"--enable-peer-exchange=true",
		"--seed-ratio=0.0",
		"--bt-seed-unverified=" + fmt.Sprint(c.Seeding),
		"--check-integrity=false",
		"--file-allocation=none",
		"--bt-save-metadata=false",
		"--disable-ipv6=" + fmt.Sprint(!v6),
		"--async-dns=false",
		"--summary-interval=0",
		"--show-console-readout=false",
		"--enable-color=false",
		"--console-log-level=notice",
		"--log=" + filepath.Join(c.Home, "aria2-debug.log"),
		"--log-level=info",
		// Dies with the test binary even if everything else fails.
		"--stop-with-process=" + fmt.Sprint(os.Getpid()),
	}
	if dht4 && env.dht4.IsValid() {
		args = append(args, "--dht-entry-point="+env.dht4.String())
	}
	if dht6 {
		args = append(args, "--dht-listen-addr6="+c.Addr6.String())
		if env.dht6.IsValid() {
			args = append(args, "--dht-entry-point6="+env.dht6.String())
		}
	}
	switch {
	case o.Family == IPv6Only:
		args = append(args, "--interface="+c.Addr6.String())
	case o.Family == IPv4Only:
		args = append(args, "--interface="+c.Addr4.String())
	case c.Seeding:
		// In the internet namespace the lab DHT and the peer addresses
		// are local: bound to eth0 the seeder announces itself with
		// eth0's addresses, not with a loopback peer address.
		args = append(args, "--interface="+lab.IfHost)
	}
	if o.Encryption == EncryptionRequired {
		args = append(args, "--bt-require-crypto=true", "--bt-min-crypto-level=arc4")
	}
	return procSpec{path: ProgAria2, args: append(args, c.Torrent.Path), logs: []string{filepath.Join(c.Home, "aria2-debug.log")}}, nil
}
