package ftsim

import (
	"bytes"
	"net/netip"
	"time"

	"github.com/ftwall/ftwall/inspect/fasttrack"
)

// giftUDPBuffer is giFT-FastTrack's UDP_BUFFER_LEN: longer datagrams are
// truncated.
const giftUDPBuffer = 1024

// Kinds of datagrams from a pinged node, as giFT-FastTrack's
// udp_discover_receive sorts them.
const (
	replyOther   = iota // anything else (a ping too): the node is up but full
	replyPong           // 0x28 with its network name, or any 0x29
	replyCorrupt        // 0x28 without a NUL after its 11 fixed bytes
)

// classifyReply sorts a datagram from a pinged node. giFT reads a 0x28 as
// type, 4 bytes encryption type, 6 bytes it ignores or takes as load, then
// a NUL-terminated network name it does not check; of a 0x29 it reads only
// the encryption type and does not check the length. typ is the first byte
// (0 for an empty datagram).
func classifyReply(b []byte) (typ MsgType, kind int) {
	if len(b) == 0 {
		return 0, replyOther
	}
	switch MsgType(b[0]) {
	case TypeSupernodePong:
		if len(b) < 12 || bytes.IndexByte(b[11:], 0) < 0 {
			return TypeSupernodePong, replyCorrupt
		}
		return TypeSupernodePong, replyPong
	case TypeNodePong:
		return TypeNodePong, replyPong
	}
	return MsgType(b[0]), replyOther
}

// giftPing is a ping waiting for its answer.
type giftPing struct {
	node  netip.AddrPort
	round int // index in rep.Rounds, -1 when not recorded
}

// datagram is one received datagram.
type datagram struct {
	from netip.AddrPort
	to   netip.Addr
	b    []byte
}

// pending is the number of pings not answered yet (giFT's pinged_nodes).
func (g *Gift) pending() int { return len(g.pinged) + g.lost }

// startRound pings the first PingsPerRound nodes of the cache, as
// fst_plugin_connect_next does when no session is established and no ping
// is pending.
func (g *Gift) startRound() {
	nodes := g.cache.first(g.opts.PingsPerRound)
	if len(nodes) == 0 {
		return
	}
	ping := fasttrack.AppendPing(nil, g.opts.Network)
	g.mu.Lock()
	seq := g.nextSeq()
	round := GiftRound{Seq: seq, AtMS: g.since(), DoneMS: -1}
	ri := -1
	if len(g.rep.Rounds) < MaxRecords {
		ri = len(g.rep.Rounds)
		g.rep.Rounds = append(g.rep.Rounds, round)
	} else {
		g.rep.Dropped++
	}
	g.rep.PingRounds++
	g.mu.Unlock()

	sent := 0
	var sentTo []netip.AddrPort
	for _, n := range nodes {
		s := g.udpFor(n.Addr())
		if s == nil {
			g.note("no UDP socket of the family of " + n.String() + ": not pinged")
			continue
		}
		if err := s.send(ping, n, netip.Addr{}, 0); err != nil {
			g.log.Debug("sendto failed", "node", n, "err", err)
			continue
		}
		g.pinged = append(g.pinged, giftPing{node: n, round: ri})
		sentTo = append(sentTo, n)
		sent++
	}
	g.mu.Lock()
	g.rep.PingsSent += sent
	if ri >= 0 {
		g.rep.Rounds[ri].Nodes = sentTo
		if sent == 0 {
			g.rep.Rounds[ri].DoneMS = g.rep.Rounds[ri].AtMS
		}
	}
	g.mu.Unlock()
	g.log.Debug("discovery cycle started", "pings", sent)
	if sent > 0 {
		g.roundTimer = time.NewTimer(g.opts.UDPTimeout)
	}
}

// udpFor returns the UDP socket of a's family.
func (g *Gift) udpFor(a netip.Addr) *udpSock {
	for _, s := range g.socks.udp {
		if s.v6 == a.Is6() {
			return s
		}
	}
	return nil
}

// roundTimeout is giFT's discovery timer: every ping still pending has
// timed out. Its node is removed from the cache once UDP is known to work
// (unless it has a session), else moved to the back.
func (g *Gift) roundTimeout() {
	g.roundTimer = nil
	if len(g.pinged) == 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	at := g.since()
	rounds := map[int]bool{}
	for _, p := range g.pinged {
		g.rep.PingTimeouts++
		if p.round >= 0 {
			g.rep.Rounds[p.round].Missing++
			rounds[p.round] = true
		}
		if g.rep.UDPWorking {
			if _, busy := g.sessions[key(p.node)]; !busy {
				g.cache.remove(p.node.Addr())
			}
		} else {
			g.cache.moveBack(p.node.Addr())
		}
	}
	g.log.Info("discovery stalled: pings without pong", "missing", len(g.pinged), "waited", g.opts.UDPTimeout)
	g.pinged = g.pinged[:0]
	g.rep.DiscoveryStalls++
	for ri := range rounds {
		g.rep.Rounds[ri].Stalled = true
		if g.lost == 0 {
			g.rep.Rounds[ri].DoneMS = at
		}
	}
	g.rep.CacheSize = g.cache.len()
}

// datagram handles one datagram received on the UDP port.
func (g *Gift) datagram(d datagram) {
	idx := -1
	for i, p := range g.pinged {
		if key(p.node) == d.from.Addr().Unmap() {
			idx = i
			break
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	at := g.since()
	if idx < 0 {
		g.notInList(d, at)
		return
	}
	p := g.pinged[idx]
	g.pinged = append(g.pinged[:idx], g.pinged[idx+1:]...)
	g.rep.UDPWorking = true
	typ, kind := classifyReply(d.b)
	var round *GiftRound
	if p.round >= 0 {
		round = &g.rep.Rounds[p.round]
	}
	switch kind {
	case replyPong:
		g.rep.PongsReceived++
		g.rep.PongsByType[typ]++
		g.countPong(d.from, typ, at)
		if round != nil {
			round.Pongs++
		}
		// UdpNodeStateFree: the node goes to the front, so the next
		// connect goes to it.
		g.cache.moveFront(p.node.Addr())
		g.log.Debug("received udp reply (pong)", "type", typ, "from", d.from)
	case replyCorrupt:
		// giFT frees the ping without counting it as answered: its
		// pinged_nodes never reaches 0 again.
		g.rep.CorruptPongs++
		g.rep.DiscoveryStuck = true
		g.lost++
		g.log.Info("received corrupted udp reply", "from", d.from)
		return
	default:
		g.rep.OtherReplies++
		if round != nil {
			round.Others++
		}
		// UdpNodeStateUp: up, but no child slot for us.
		g.cache.moveBack(p.node.Addr())
		g.log.Debug("received udp reply", "type", typ, "from", d.from)
	}
	if round != nil && g.pending() == 0 {
		round.DoneMS = at
	}
	if g.pending() == 0 && g.roundTimer != nil {
		g.roundTimer.Stop()
		g.roundTimer = nil
	}
	g.rep.CacheSize = g.cache.len()
}

// notInList records a datagram from an address without a pending ping;
// g.mu is held.
func (g *Gift) notInList(d datagram, at int64) {
	g.rep.NotInList++
	g.log.Debug("received udp reply from node which is not in list", "from", d.from)
	if len(d.b) == 0 {
		return
	}
	switch MsgType(d.b[0]) {
	case TypePing:
		g.rep.ProbesIgnored++
		i, ok := g.probeIdx[d.from]
		if !ok {
			if len(g.rep.Probes) >= MaxRecords {
				g.rep.Dropped++
				return
			}
			i = len(g.rep.Probes)
			g.probeIdx[d.from] = i
			g.rep.Probes = append(g.rep.Probes, GiftProbe{From: d.from, To: d.to, FirstMS: at})
		}
		p := &g.rep.Probes[i]
		p.Count++
		p.LastMS = at
		if d.to.IsValid() {
			p.To = d.to
		}
	case TypeSupernodePong, TypeNodePong:
		g.rep.StrayPongs++
	}
}

// countPong adds a pong to its source's count; g.mu is held.
func (g *Gift) countPong(from netip.AddrPort, typ MsgType, at int64) {
	k := pongKey{from, typ}
	i, ok := g.pongIdx[k]
	if !ok {
		if len(g.rep.Pongs) >= MaxRecords {
			g.rep.Dropped++
			return
		}
		i = len(g.rep.Pongs)
		g.pongIdx[k] = i
		g.rep.Pongs = append(g.rep.Pongs, GiftPongSource{From: from, Type: typ, FirstMS: at})
	}
	p := &g.rep.Pongs[i]
	p.Count++
	p.LastMS = at
}

type pongKey struct {
	from netip.AddrPort
	typ  MsgType
}

// readLoop hands every datagram to the main loop until the socket closes.
func (g *Gift) readLoop(s *udpSock) {
	defer g.readers.Done()
	buf := make([]byte, giftUDPBuffer)
	oob := make([]byte, oobSize())
	errs := 0
	for {
		n, from, dst, _, err := s.read(buf, oob)
		if err != nil {
			if isClosed(err) {
				return
			}
			if errs++; errs > maxReadErrors {
				g.log.Warn("gift UDP reader gives up", "err", err)
				return
			}
			time.Sleep(time.Millisecond)
			continue
		}
		errs = 0
		d := datagram{from: from, to: dst, b: append([]byte(nil), buf[:n]...)}
		select {
		case g.events <- giftEvent{dgram: &d}:
		case <-g.loopDone:
			return
		}
	}
}
