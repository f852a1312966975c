package audit

import (
	"bufio"
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gopacket/gopacket"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/fasttrack"
	"github.com/ftwall/ftwall/inspect/stream"
)

// auditor holds the state of one Run: the reusable inspect values and
// everything learned so far.
type auditor struct {
	detectors inspect.Detectors
	settings  inspect.Settings
	pkt       inspect.Packet
	ev        inspect.Evidence
	dec       inspect.Decision
	// classifier judges TCP on the reassembled start of its connection.
	classifier *stream.Classifier
	sc         stream.Scratch

	files, packets, events        int
	nonIP, undecodable, truncated int
	drops, outside                int
	clients                       map[netip.Addr]*client
	peers, supernodes             map[netip.Addr]struct{}
	perProtocol                   map[string]*protocolSummary

	out    *bufio.Writer
	enc    *json.Encoder // nil for the readable report
	outErr error         // first write error
}

// client is what was seen from one LAN host.
type client struct {
	addr        netip.Addr
	locked      bool
	first, last time.Time
	kinds       map[string]int // "protocol kind" → events
	protocols   map[string]struct{}
	peers       map[netip.Addr]struct{}
	networks    map[string]string // lower-case → first spelling seen
	users       map[string]struct{}
	ports       map[uint16]struct{} // lock ports (FastTrack UDP ports, DHT ports)
}

func newAuditor(lan []netip.Prefix, ds inspect.Detectors, jsonOut bool, out *bufio.Writer) *auditor {
	a := &auditor{
		detectors: ds,
		// TCP judged on the reassembled start of each connection, as live.
		classifier: stream.NewClassifier(ds, stream.New(stream.Config{Window: inspect.StreamWindow})),
		// The live service's defaults: UDP blocking and time-lock on,
		// 0x29 pongs. No own addresses and no allowlist offline.
		settings:    inspect.Settings{LAN: lan, BlockUDP: true, TimeLock: true, PongType: fasttrack.MsgNodePong},
		clients:     map[netip.Addr]*client{},
		peers:       map[netip.Addr]struct{}{},
		supernodes:  map[netip.Addr]struct{}{},
		perProtocol: map[string]*protocolSummary{},
		out:         out,
	}
	a.settings.Compile()
	if jsonOut {
		a.enc = json.NewEncoder(out)
		a.enc.SetEscapeHTML(false)
	}
	return a
}

// event records one evidence event and its decision.
func (a *auditor) event(file string, rec int, ci gopacket.CaptureInfo, fromLAN bool) {
	a.events++
	ev, d := &a.ev, &a.dec
	ps := a.protocol(string(ev.Protocol))
	ps.events++
	ps.kinds[ev.KindName()]++
	if d.Verdict == inspect.Drop {
		a.drops++
	}
	if a.enc != nil {
		a.writeEvent(file, rec, ci, fromLAN)
	}
	if !fromLAN {
		a.outside++
		return
	}
	src := ev.Src.Addr().Unmap()
	c := a.clients[src]
	if c == nil {
		c = &client{addr: src, peers: map[netip.Addr]struct{}{}, networks: map[string]string{},
			users: map[string]struct{}{}, ports: map[uint16]struct{}{}, kinds: map[string]int{}, protocols: map[string]struct{}{}}
		a.clients[src] = c
	}
	c.kinds[string(ev.Protocol)+" "+ev.KindName()]++
	c.protocols[string(ev.Protocol)] = struct{}{}
	if t := ci.Timestamp; !t.IsZero() {
		if c.first.IsZero() || t.Before(c.first) {
			c.first = t
		}
		if t.After(c.last) {
			c.last = t
		}
	}
	if n := ev.Text("network"); n != "" {
		key := strings.ToLower(n)
		if _, ok := c.networks[key]; !ok {
			c.networks[key] = n
		}
	}
	if u := ev.Text("username"); u != "" {
		c.users[u] = struct{}{}
	}
	if d.Lock.Valid {
		c.locked = true
		ps.clients[src] = struct{}{}
		if d.Lock.Port != 0 {
			c.ports[d.Lock.Port] = struct{}{}
		}
	}
	for _, p := range d.PeerList() {
		c.peers[p.Addr] = struct{}{}
		a.peers[p.Addr] = struct{}{}
		ps.peers[p.Addr] = struct{}{}
		if ev.Hint.IsValid() && p.Addr == ev.Hint.Addr().Unmap() {
			a.supernodes[p.Addr] = struct{}{}
		}
	}
}

// lockedClients returns the clients Decide locked, sorted by address.
func (a *auditor) lockedClients() []*client {
	var out []*client
	for _, c := range a.clients {
		if c.locked {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(x, y *client) int { return x.addr.Compare(y.addr) })
	return out
}

// sortedAddrs returns the set's addresses in order, as strings.
func sortedAddrs(set map[netip.Addr]struct{}) []string {
	addrs := make([]netip.Addr, 0, len(set))
	for a := range set {
		addrs = append(addrs, a)
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}

// protocolSummary is what one detector found in the captures.
type protocolSummary struct {
	events         int
	kinds          map[string]int
	clients, peers map[netip.Addr]struct{}
}

func (a *auditor) protocol(name string) *protocolSummary {
	ps := a.perProtocol[name]
	if ps == nil {
		ps = &protocolSummary{kinds: map[string]int{}, clients: map[netip.Addr]struct{}{}, peers: map[netip.Addr]struct{}{}}
		a.perProtocol[name] = ps
	}
	return ps
}
