// Package btlab is a test rig that runs real BitTorrent clients in the
// namespace lab of internal/lab: Debian's aria2c, transmission-cli and
// qbittorrent-nox as leechers in the client namespace, one of them as the
// seeder in the internet namespace, opentracker there too, and a lab DHT
// written here. It is for ftwall's integration tests (does a real client
// get its payload through the router, when does its first BitTorrent packet
// leave, how many body bytes arrive) and for measuring what the clients put
// on the wire. It is test code, never part of ftwall. Its functions take a
// T (the part of testing.TB they use) rather than a testing.TB, so that
// `make demo` (internal/demo, whose adapter turns Fatalf into an error and
// runs the cleanups at the end of its BitTorrent scene) can run it outside
// a test.
//
// A typical test:
//
//	btlab.Require(t, btlab.ProgOpentracker, btlab.ProgQBittorrent)
//	l := lab.NewT(t)
//	capt := btlab.StartCapture(t, l.Router, lab.IfLAN0) // before the leecher
//	r := btlab.NewRig(t, l, btlab.RigOptions{})           // torrent, tracker, DHT, seeder
//	c := r.StartLeecher(t, btlab.Options{Client: btlab.QBittorrent, Tracker: btlab.TrackerUDP})
//	first, err := capt.WaitBitTorrent(t.Context(), 30*time.Second, l.ClientIP4, l.ClientIP6)
//	err = c.WaitComplete(t.Context(), btlab.DownloadLimit) // or c.CompletedBytes() at any time
//	err = c.Cmp()
//	err = c.Stop()
//
// What keeps the clients inside the lab: every program runs through
// `ip netns exec <ns> unshare --mount …` with a private /etc/hosts (the
// built-in DHT bootstrap names, BootstrapNames, resolve to the lab DHT) and
// a resolv.conf naming 127.0.0.1 of its namespace, where nothing listens;
// HOME, XDG directories and configuration live in a directory of the test;
// LSD, UPnP/NAT-PMP and GeoIP look-ups are off (none of the three checks
// for updates); trackers are lab addresses, and the tests check that the
// leecher sent nothing to any other address. Each process is stopped in the test's cleanup (SIGTERM,
// then SIGKILL after 5 s) and gets SIGTERM should the test binary die.
//
// The lab DHT (DHTNode) is a bootstrap node on 203.0.113.2 and
// 2001:db8:1::2, UDP 6881 and 25401 (the ports of the built-in names), plus
// DHTSwarmSize swarm nodes on the internet namespace's last peer addresses
// (198.51.100.21–.32, 2001:db8:100::15–::20, UDP 6881). All share one peer
// store, so whoever announces is found at once by the next get_peers.
//
// Files: options.go (knobs), rig.go (NewRig, StartLeecher), client.go (a
// running client), aria2.go, transmission.go, qbittorrent.go (each
// client's configuration), torrent.go (mktorrent, variants, piece
// verification), tracker.go (opentracker), dhtnode.go (lab DHT), krpc.go
// (the router's KRPC ping probe), capture.go, frame.go, classify.go,
// report.go (AF_PACKET capture and packet kinds), sandbox.go (private
// hosts file, process life), bencode.go, programs.go, poll.go.
//
// docs/bittorrent-lab.md has the measurements made with this rig.
package btlab
