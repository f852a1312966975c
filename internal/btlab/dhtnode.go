package btlab

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/ftwall/ftwall/internal/lab"
)

// DHTNodePorts are the UDP ports of the lab DHT's bootstrap node: 6881,
// the port of router.bittorrent.com and the other bootstrap names, and
// 25401, that of dht.libtorrent.org. With BootstrapNames mapped to the
// node's addresses a client's built-in bootstrap list reaches it.
var DHTNodePorts = []uint16{6881, 25401}

// DHTSwarmPort is the UDP port of the lab DHT's other nodes.
const DHTSwarmPort = 6881

// DHTNode is the lab's whole DHT, a minimal BEP 5 implementation (IPv4
// "nodes", IPv6 "nodes6" and 18-byte "values" as BEP 32 wants): one
// bootstrap node on DHTNodePorts of its bootstrap addresses plus one node
// per swarm address (port DHTSwarmPort), each with its own id. All answer
// ping, find_node, get_peers and announce_peer from one shared peer store
// (so a seeder's announce reaches a leecher's get_peers whatever the
// clients' lookup strategies), return the 8 closest nodes they know (each
// other and every node that queried them), and record every message.
//
// transmission needs the swarm: it does no DHT lookup before its routing
// table holds at least 4 good and 9 nodes in all.
type DHTNode struct {
	Addrs []netip.AddrPort // the bootstrap node's sockets: each bootstrap address × DHTNodePorts
	Swarm []netip.AddrPort // the other nodes

	socks []*dhtSocket
	wg    sync.WaitGroup

	mu      sync.Mutex
	peers   map[[20]byte][]netip.AddrPort
	remote  map[netip.AddrPort][20]byte // nodes outside that queried
	msgs    []DHTMessage
	changed chan struct{} // closed and replaced on every message
}

type dhtSocket struct {
	conn *net.UDPConn
	addr netip.AddrPort
	id   [20]byte
}

// DHTMessage is one datagram the lab DHT received.
type DHTMessage struct {
	Time     time.Time
	From, To netip.AddrPort
	Y        string // "q", "r" or "e"; "" when not KRPC
	Method   string // query method
	InfoHash string // get_peers / announce_peer, raw 20 bytes
	Raw      []byte
}

// StartDHTNode opens the lab DHT's sockets in ns: the bootstrap node on
// each of bootstrap (addresses of ns) and DHTNodePorts, a swarm node on
// each of swarm, port DHTSwarmPort. t's cleanup closes them.
func StartDHTNode(t T, ns *lab.NS, bootstrap, swarm []netip.Addr) *DHTNode {
	t.Helper()
	d := &DHTNode{peers: map[[20]byte][]netip.AddrPort{}, remote: map[netip.AddrPort][20]byte{}, changed: make(chan struct{})}
	t.Cleanup(d.close)
	open := func(ap netip.AddrPort, id [20]byte) {
		network := "udp4"
		if ap.Addr().Is6() {
			network = "udp6"
		}
		c, err := ns.ListenUDP(network, ap.String())
		if err != nil {
			t.Fatalf("lab DHT: %v", err)
		}
		d.socks = append(d.socks, &dhtSocket{conn: c, addr: ap, id: id})
	}
	main := randomID()
	for _, a := range bootstrap {
		for _, port := range DHTNodePorts {
			ap := netip.AddrPortFrom(a, port)
			d.Addrs = append(d.Addrs, ap)
			open(ap, main)
		}
	}
	for _, a := range swarm {
		ap := netip.AddrPortFrom(a, DHTSwarmPort)
		d.Swarm = append(d.Swarm, ap)
		open(ap, randomID())
	}
	// Serve only once d.socks is complete: closest reads it unlocked.
	for _, s := range d.socks {
		d.wg.Go(func() { d.serve(s) })
	}
	return d
}

func randomID() (id [20]byte) {
	_, _ = rand.Read(id[:])
	return id
}

func (d *DHTNode) close() {
	for _, s := range d.socks {
		s.conn.Close()
	}
	d.wg.Wait()
}

// Entry returns the bootstrap node's first socket of one family (ipv6 or
// IPv4), the entry point to give a client; ok is false when it has none.
func (d *DHTNode) Entry(ipv6 bool) (ap netip.AddrPort, ok bool) {
	for _, a := range d.Addrs {
		if a.Addr().Is6() == ipv6 {
			return a, true
		}
	}
	return netip.AddrPort{}, false
}

// Peers returns the peers announced for infoHash so far.
func (d *DHTNode) Peers(infoHash [20]byte) []netip.AddrPort {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.peers[infoHash])
}

// Messages returns every datagram received so far.
func (d *DHTNode) Messages() []DHTMessage {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.msgs)
}

// WaitPeer waits, at most limit, until a peer matching match (nil: any)
// has announced infoHash, and returns it.
func (d *DHTNode) WaitPeer(ctx context.Context, infoHash [20]byte, limit time.Duration, match func(netip.AddrPort) bool) (netip.AddrPort, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		d.mu.Lock()
		for _, p := range d.peers[infoHash] {
			if match == nil || match(p) {
				d.mu.Unlock()
				return p, nil
			}
		}
		ch := d.changed
		d.mu.Unlock()
		select {
		case <-ctx.Done():
			return netip.AddrPort{}, fmt.Errorf("no DHT announce of %x within %v", infoHash, limit)
		case <-ch:
		}
	}
}

func (d *DHTNode) serve(s *dhtSocket) {
	buf := make([]byte, 4096)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if reply := d.handle(slices.Clone(buf[:n]), from, s); reply != nil {
			_, _ = s.conn.WriteToUDPAddrPort(reply, from)
		}
	}
}

// handle records a datagram and returns the reply (nil: none).
func (d *DHTNode) handle(raw []byte, from netip.AddrPort, s *dhtSocket) []byte {
	m := DHTMessage{Time: time.Now(), From: from, To: s.addr, Raw: raw}
	v, _ := bdecode(raw)
	msg, _ := v.(map[string]any)
	m.Y, _ = msg["y"].(string)
	m.Method, _ = msg["q"].(string)
	args, _ := msg["a"].(map[string]any)
	m.InfoHash, _ = args["info_hash"].(string)

	d.mu.Lock()
	defer d.mu.Unlock()
	d.msgs = append(d.msgs, m)
	defer func() { close(d.changed); d.changed = make(chan struct{}) }()
	if m.Y != "q" {
		return nil
	}
	tid, _ := msg["t"].(string)
	if id, _ := args["id"].(string); len(id) == 20 {
		d.remote[from] = [20]byte([]byte(id))
	}
	r := map[string]any{"id": string(s.id[:])}
	six := s.addr.Addr().Is6()
	nodesKey := "nodes"
	if six {
		nodesKey = "nodes6"
	}
	target, _ := args["target"].(string)
	switch m.Method {
	case "ping":
	case "get_peers":
		r["token"] = "lab-token"
		var values []any
		if len(m.InfoHash) == 20 {
			for _, p := range d.peers[[20]byte([]byte(m.InfoHash))] {
				if p.Addr().Is6() == six {
					values = append(values, string(compactAddrPort(p)))
				}
			}
		}
		if len(values) > 0 {
			r["values"] = values
		}
		r[nodesKey] = d.closest(m.InfoHash, from, s, six)
	case "announce_peer":
		if len(m.InfoHash) != 20 {
			return krpcError(tid, 203, "announce_peer without info_hash")
		}
		port, _ := args["port"].(int64)
		if implied, _ := args["implied_port"].(int64); implied == 1 || port <= 0 || port > 65535 {
			port = int64(from.Port())
		}
		p := netip.AddrPortFrom(from.Addr(), uint16(port))
		ih := [20]byte([]byte(m.InfoHash))
		if !slices.Contains(d.peers[ih], p) {
			d.peers[ih] = append(d.peers[ih], p)
		}
	default: // find_node and anything else: nodes
		r[nodesKey] = d.closest(target, from, s, six)
	}
	return bencode(map[string]any{"t": tid, "y": "r", "r": r})
}

// closest is the compact node info (20-byte id, address, port) of the 8
// nodes of one family closest to target (XOR metric), lab nodes and
// remote ones, other than the asker and the answering socket.
func (d *DHTNode) closest(target string, asker netip.AddrPort, self *dhtSocket, six bool) string {
	type node struct {
		id [20]byte
		ap netip.AddrPort
	}
	var cand []node
	seen := map[[20]byte]bool{self.id: true}
	for _, s := range d.socks {
		if s != self && s.addr.Addr().Is6() == six && !seen[s.id] {
			seen[s.id] = true
			cand = append(cand, node{s.id, s.addr})
		}
	}
	for ap, id := range d.remote {
		if ap != asker && ap.Addr().Is6() == six && !seen[id] {
			seen[id] = true
			cand = append(cand, node{id, ap})
		}
	}
	var t [20]byte
	copy(t[:], target)
	slices.SortFunc(cand, func(a, b node) int {
		var da, db [20]byte
		for i := range t {
			da[i], db[i] = a.id[i]^t[i], b.id[i]^t[i]
		}
		return bytes.Compare(da[:], db[:])
	})
	var b []byte
	for _, n := range cand[:min(8, len(cand))] {
		b = append(b, n.id[:]...)
		b = append(b, compactAddrPort(n.ap)...)
	}
	return string(b)
}

// compactAddrPort is the 6- or 18-byte compact form of BEP 5 / BEP 32.
func compactAddrPort(ap netip.AddrPort) []byte {
	b := ap.Addr().AsSlice()
	return append(b, byte(ap.Port()>>8), byte(ap.Port()))
}

func krpcError(tid string, code int, text string) []byte {
	return bencode(map[string]any{"t": tid, "y": "e", "e": []any{int64(code), text}})
}
