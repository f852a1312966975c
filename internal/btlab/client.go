package btlab

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/ftwall/ftwall/internal/lab"
)

// Client is one BitTorrent client process in a lab namespace, leeching or
// seeding one torrent. It runs until Stop or the end of the test.
type Client struct {
	Opts    Options  // with the ports filled in
	NS      *lab.NS  // where it runs
	Seeding bool     // started with the complete payload
	Torrent *Torrent // the client's copy of the .torrent (its own trackers)
	Home    string   // private HOME and configuration directory
	Dir     string   // download directory: the payload is Dir/Torrent.Name
	// Addr4 and Addr6 are the namespace's addresses the client may use
	// (invalid when its Family excludes one).
	Addr4, Addr6 netip.Addr

	p *process
}

// clientEnv is what a client needs from the rig.
type clientEnv struct {
	dht4, dht6 netip.AddrPort   // lab DHT bootstrap node entry points (invalid: none)
	dhtNodes   []netip.AddrPort // every lab DHT node of the client's families
	hosts      []netip.Addr     // where BootstrapNames resolve
}

// startClient starts the client described by c (whose fields but p are
// set) with env.
func startClient(t T, c *Client, env clientEnv) error {
	t.Helper()
	for _, d := range []string{c.Home, c.Dir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	var spec procSpec
	var err error
	switch c.Opts.Client {
	case Aria2:
		spec, err = aria2Spec(c, env)
	case Transmission:
		spec, err = transmissionSpec(c, env)
	case QBittorrent:
		spec, err = qbittorrentSpec(c, env)
	default:
		err = fmt.Errorf("unknown client %q", c.Opts.Client)
	}
	if err != nil {
		return err
	}
	spec.ns, spec.home, spec.hosts = c.NS, c.Home, env.hosts
	spec.name = string(c.Opts.Client)
	if c.Seeding {
		spec.name += "-seeder"
	}
	c.p, err = startProcess(t, spec)
	return err
}

// Started is when the client process was started.
func (c *Client) Started() time.Time { return c.p.proc.Started() }

// Pid is the client's process id.
func (c *Client) Pid() int { return c.p.proc.Pid() }

// Running reports whether the client has not exited.
func (c *Client) Running() bool { return c.p.proc.Running() }

// Output is the client's standard output and error so far (its log file,
// <Home>/<name>.log).
func (c *Client) Output() string { return c.p.output() }

// DataPath is the payload file the client writes (or seeds from).
func (c *Client) DataPath() string { return filepath.Join(c.Dir, c.Torrent.Name) }

// PeerPort is the client's TCP peer port.
func (c *Client) PeerPort() uint16 { return c.Opts.Port }

// DHTPort is the client's DHT UDP port (for transmission and qBittorrent
// the peer port).
func (c *Client) DHTPort() uint16 { return c.Opts.DHTPort }

// DHTAddrs are where the client's DHT listens, for the families it uses.
func (c *Client) DHTAddrs() []netip.AddrPort {
	var a []netip.AddrPort
	for _, ip := range []netip.Addr{c.Addr4, c.Addr6} {
		if ip.IsValid() {
			a = append(a, netip.AddrPortFrom(ip, c.DHTPort()))
		}
	}
	return a
}

// CompletedBytes is how many payload bytes the client has on disk and
// correct (pieces whose hash matches): the body bytes it received.
func (c *Client) CompletedBytes() (int64, error) { return c.Torrent.VerifiedBytes(c.DataPath()) }

// WaitComplete waits, at most limit, until the whole payload is on disk
// and correct. It fails early if the client exits.
func (c *Client) WaitComplete(ctx context.Context, limit time.Duration) error {
	err := poll(ctx, limit, func() (bool, error) {
		if err := c.p.exited(); err != nil {
			return false, err
		}
		n, err := c.CompletedBytes()
		return n == c.Torrent.Size, err
	})
	if err != nil {
		n, _ := c.CompletedBytes()
		return fmt.Errorf("%s: download of %d bytes: %d done: %w", c.Opts.Client, c.Torrent.Size, n, err)
	}
	return nil
}

// Cmp compares the client's payload file with the original (cmp(1)).
func (c *Client) Cmp() error { return c.Torrent.Cmp(c.DataPath()) }

// Stop ends the client (SIGTERM, SIGKILL after 5 s); idempotent. Its
// exit status after SIGTERM is not an error; having to kill it, or finding
// it ended already, is.
func (c *Client) Stop() error { return c.p.stop() }

// Kill ends the client at once with SIGKILL (no "stopped" announce) and
// waits for it; idempotent, and Stop afterwards does nothing.
func (c *Client) Kill() { c.p.kill() }
