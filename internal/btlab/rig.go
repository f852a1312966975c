package btlab

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/ftwall/ftwall/internal/lab"
)

// DHTSwarmSize is how many of the internet namespace's peer addresses per
// family (the last ones: 198.51.100.21–.32, 2001:db8:100::15–::20) carry a
// lab DHT swarm node on UDP DHTSwarmPort.
const DHTSwarmSize = 12

// DefaultSeeder is the seeder's client when RigOptions.Seeder.Client is
// empty.
const DefaultSeeder = QBittorrent

// Bounds of the rig's waits.
const (
	// SeederReady bounds the wait for the seeder's first tracker or DHT
	// announce.
	SeederReady = 30 * time.Second
	// DownloadLimit is a generous bound for a DefaultSize download in the
	// lab (it takes a few seconds).
	DownloadLimit = 60 * time.Second
)

// RigOptions configure NewRig.
type RigOptions struct {
	Size int64 // payload bytes; 0: DefaultSize
	// Seeder configures the seeder (Tracker is ignored: it announces to
	// the HTTP tracker, if any, and to the lab DHT node unless NoDHT).
	// An empty Client means DefaultSeeder.
	Seeder    Options
	NoTracker bool // no opentracker: DHT-only leechers only
}

// Rig is everything a leecher needs in the internet namespace of a lab:
// the payload's torrent, opentracker, the lab DHT node and a seeder.
type Rig struct {
	Lab     *lab.Lab
	Torrent *Torrent // the payload (complete in Torrent.Dir); its .torrent names the HTTP tracker
	Tracker *Tracker // opentracker on InternetIP4:6969; nil with NoTracker
	DHT     *DHTNode // on InternetIP4 and InternetIP6, DHTNodePorts
	Seeder  *Client  // in the internet namespace, InternetIP4 and InternetIP6
	dir     string   // for the leechers' homes
	mu      sync.Mutex
	n       int
	dhtSeen map[bool]bool // family (IPv6?) → the seeder's DHT announce was seen
}

// NewRig makes a random payload and its torrent, starts opentracker
// (unless NoTracker), the lab DHT node and a seeder in l's internet
// namespace, and waits (SeederReady) until the tracker lists the seeder.
// Everything is stopped in t's cleanup.
func NewRig(t T, l *lab.Lab, opts RigOptions) *Rig {
	t.Helper()
	if opts.Seeder.Client == "" {
		opts.Seeder.Client = DefaultSeeder
	}
	Require(t, ProgOpentracker, opts.Seeder.Client.Program())
	start := time.Now()
	r := &Rig{Lab: l, dir: t.TempDir(), dhtSeen: map[bool]bool{}}
	var announce []string
	httpURL := "http://" + netip.AddrPortFrom(l.InternetIP4, TrackerPort).String() + "/announce"
	if !opts.NoTracker {
		announce = []string{httpURL}
	}
	r.Torrent = MakeTorrent(t, TorrentOptions{Size: opts.Size, Announce: announce})
	if !opts.NoTracker {
		r.Tracker = StartTracker(t, l.Internet, l.InternetIP4, r.Torrent.InfoHash)
	}
	swarm := append(slices.Clone(l.Peers4[lab.NumPeers-DHTSwarmSize:]), l.Peers6[lab.NumPeers-DHTSwarmSize:]...)
	r.DHT = StartDHTNode(t, l.Internet, []netip.Addr{l.InternetIP4, l.InternetIP6}, swarm)
	seed, err := r.startClient(t, l.Internet, l.InternetIP4, l.InternetIP6, true, opts.Seeder)
	if err != nil {
		t.Fatalf("seeder: %v", err)
	}
	r.Seeder = seed
	if r.Tracker != nil {
		err := poll(t.Context(), SeederReady, func() (bool, error) {
			if err := seed.p.exited(); err != nil {
				return false, err
			}
			complete, _, err := r.Tracker.Scrape(t.Context(), r.Torrent.InfoHash)
			return err == nil && complete > 0, nil
		})
		if err != nil {
			t.Fatalf("seeder %s: tracker announce: %v", seed.Opts.Client, err)
		}
	}
	t.Logf("rig: %s seeder (%v) ready after %v; payload %d bytes, info hash %s",
		seed.Opts.Client, seed.Opts, time.Since(start).Round(time.Millisecond), r.Torrent.Size, r.Torrent.InfoHashHex())
	return r
}

// StartLeecher starts a leecher in the lab's client namespace (10.0.1.2,
// fd00:1::2) and returns once its process runs; see StartLeecherIn.
func (r *Rig) StartLeecher(t T, opts Options) *Client {
	t.Helper()
	c, err := r.StartLeecherIn(t, r.Lab.Client, r.Lab.ClientIP4, r.Lab.ClientIP6, opts)
	if err != nil {
		t.Fatalf("leecher: %v", err)
	}
	return c
}

// StartLeecherIn starts a leecher in ns, whose addresses are addr4 and
// addr6, with an empty download directory and its own copy of the torrent
// naming the tracker opts.Tracker asks for. For a DHT-only leecher it first
// waits (SeederReady) until the seeder has announced itself to the lab DHT
// node in the leecher's IP version. The process is stopped in t's cleanup.
func (r *Rig) StartLeecherIn(t T, ns *lab.NS, addr4, addr6 netip.Addr, opts Options) (*Client, error) {
	t.Helper()
	Require(t, opts.Client.Program())
	if opts.Tracker != TrackerNone && r.Tracker == nil {
		return nil, fmt.Errorf("tracker %s asked for, but the rig has none", opts.Tracker)
	}
	if opts.Tracker == TrackerNone && !r.Seeder.Opts.NoDHT {
		six := opts.Family == IPv6Only
		if err := r.waitSeederDHT(t, six); err != nil {
			return nil, err
		}
	}
	return r.startClient(t, ns, addr4, addr6, false, opts)
}

// waitSeederDHT waits until the seeder has announced the torrent to the
// lab DHT node over IPv6 (six) or IPv4.
func (r *Rig) waitSeederDHT(t T, six bool) error {
	r.mu.Lock()
	seen := r.dhtSeen[six]
	r.mu.Unlock()
	if seen {
		return nil
	}
	start := time.Now()
	seeder := r.Lab.InternetIP4
	if six {
		seeder = r.Lab.InternetIP6
	}
	p, err := r.DHT.WaitPeer(t.Context(), r.Torrent.InfoHash, SeederReady, func(p netip.AddrPort) bool { return p.Addr() == seeder })
	if err != nil {
		return fmt.Errorf("seeder %s: DHT announce from %s: %w", r.Seeder.Opts.Client, seeder, err)
	}
	t.Logf("rig: seeder announced %s to the lab DHT node after %v", p, time.Since(start).Round(time.Millisecond))
	r.mu.Lock()
	r.dhtSeen[six] = true
	r.mu.Unlock()
	return nil
}

func (r *Rig) startClient(t T, ns *lab.NS, addr4, addr6 netip.Addr, seed bool, opts Options) (*Client, error) {
	t.Helper()
	opts = opts.withDefaults(seed)
	if err := opts.check(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.n++
	name := fmt.Sprintf("%02d-%s", r.n, opts.Client)
	r.mu.Unlock()
	if seed {
		name += "-seeder"
	}
	home := filepath.Join(r.dir, name)
	c := &Client{Opts: opts, NS: ns, Seeding: seed, Home: home, Dir: filepath.Join(home, "download"), Addr4: addr4, Addr6: addr6}
	if opts.Family == IPv6Only {
		c.Addr4 = netip.Addr{}
	}
	if opts.Family == IPv4Only {
		c.Addr6 = netip.Addr{}
	}
	var announce []string
	switch {
	case seed && r.Tracker != nil:
		announce = []string{r.Tracker.HTTP}
	case seed:
	case opts.Tracker == TrackerHTTP:
		announce = []string{r.Tracker.HTTP}
	case opts.Tracker == TrackerUDP:
		announce = []string{r.Tracker.UDP}
	}
	tor, err := r.Torrent.Variant(filepath.Join(r.dir, name+".torrent"), announce, nil)
	if err != nil {
		return nil, err
	}
	c.Torrent = tor
	if seed {
		c.Dir = r.Torrent.Dir
	}
	env := clientEnv{}
	if opts.Family != IPv6Only {
		env.dht4, _ = r.DHT.Entry(false)
		env.hosts = append(env.hosts, env.dht4.Addr())
	}
	if opts.Family != IPv4Only {
		env.dht6, _ = r.DHT.Entry(true)
		env.hosts = append(env.hosts, env.dht6.Addr())
	}
	for _, ap := range append(slices.Clone(r.DHT.Addrs), r.DHT.Swarm...) {
		if (ap.Addr().Is6() && opts.Family != IPv4Only) || (ap.Addr().Is4() && opts.Family != IPv6Only) {
			env.dhtNodes = append(env.dhtNodes, ap)
		}
	}
	if err := startClient(t, c, env); err != nil {
		return nil, fmt.Errorf("start %s: %w", opts, err)
	}
	return c, nil
}
