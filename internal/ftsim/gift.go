package ftsim

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// Gift is the profile of the genuine giFT 0.11.9 + giFT-FastTrack 0.8.9
// client (behaviour spec §5), one event loop like giFT's:
//
//   - it connects first: TCP connects to the first Sessions (5) nodes of
//     its cache, each moved to the back of the cache, then, in the same
//     millisecond and only while no session is established and no ping is
//     pending, 0x27 pings to the first PingsPerRound (10) nodes of the
//     cache; connect and ping targets overlap only when the cache is short;
//   - a session sends the fixed 12-byte start, waits for the node's 8
//     bytes, sends its network name (6 bytes), waits for the node's, sends
//     its node info (21 bytes) and then stays open and quiet until the node
//     ends it or the client stops; with a session established it stops
//     pinging;
//   - each session that ends (refused, reset, timed out, closed) removes
//     its node from the cache and starts the next connect at once, so
//     refused connects loop as fast as they fail; an empty cache is
//     reloaded from Fallback, and with no fallback the client waits for its
//     retry timer (RetryInterval, 60s);
//   - a pong, 0x28 or 0x29 alike, matched to its ping by source IP only,
//     moves the node to the front of the cache, so the next connect goes to
//     it; a ping left without an answer stalls discovery for UDPTimeout
//     (20s);
//   - it never answers a ping: a 0x27 from an address it has not pinged is
//     "not in list" and ignored;
//   - it listens for TCP on its UDP port and serves GET and GIVE there like
//     a Node (without FastTrack sessions), accepting any connection.
//
// It stops by itself after For, or when MaxConnects are used up and no
// session is left, or when its context ends or Stop is called.
type Gift struct {
	opts  GiftOptions
	log   *slog.Logger
	socks *sockets // UDP sockets and TCP listeners, one port number
	http  *Node    // serves the TCP listeners
	start time.Time
	raw   func(func() error) error // opens raw sockets; nil: Net.DialContext

	events   chan giftEvent
	stop     chan struct{}
	stopOnce sync.Once
	loopDone chan struct{} // the loop no longer reads events
	done     chan struct{}

	sessCtx    context.Context
	sessCancel context.CancelFunc
	sessWG     sync.WaitGroup
	readers    sync.WaitGroup

	// Owned by the loop goroutine.
	cache       *nodeCache
	sessions    map[netip.Addr]*giftConn // by node address: connecting or established
	established int
	pinged      []giftPing // pings waiting for an answer, in the order sent
	lost        int        // pings giFT will never count as answered
	roundTimer  *time.Timer
	stopping    bool

	mu        sync.Mutex
	rep       GiftReport
	seq       int64
	probeIdx  map[netip.AddrPort]int
	pongIdx   map[pongKey]int
	acceptIdx map[netip.Addr]int
	final     GiftReport
}

// giftEvent is what the loop waits for besides its timers.
type giftEvent struct {
	dgram       *datagram
	established *giftConn
	ended       *giftConn
}

// StartGift checks opts, opens the UDP port and the TCP listeners on the
// same port number and starts the client. It stops by itself (see Gift);
// Done is closed when it has.
func StartGift(ctx context.Context, opts GiftOptions) (*Gift, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	port := o.Port
	if o.RandomPort {
		port = 0
	}
	s, err := openSockets(ctx, o.Net, o.Bind, port, true, true)
	if err != nil {
		return nil, fmt.Errorf("ftsim gift: %w", err)
	}
	g := &Gift{
		opts:      o,
		log:       o.Log.With("role", "gift"),
		socks:     s,
		start:     time.Now(),
		raw:       rawConnector(o.Net),
		events:    make(chan giftEvent, 1024),
		stop:      make(chan struct{}),
		loopDone:  make(chan struct{}),
		done:      make(chan struct{}),
		cache:     newNodeCache(),
		sessions:  make(map[netip.Addr]*giftConn),
		probeIdx:  make(map[netip.AddrPort]int),
		pongIdx:   make(map[pongKey]int),
		acceptIdx: make(map[netip.Addr]int),
	}
	g.sessCtx, g.sessCancel = context.WithCancel(context.Background())
	g.rep = GiftReport{
		Network:     o.Network,
		Port:        s.port,
		Notes:       append([]string(nil), s.notes...),
		StartedAt:   g.start,
		Ends:        map[string]int{},
		PongsByType: map[MsgType]int{},
		Sessions:    []GiftSession{},
		Timeline:    []GiftSessionChange{},
		Rounds:      []GiftRound{},
	}
	for _, n := range g.cache.load(o.Nodes) {
		g.rep.Notes = append(g.rep.Notes, fmt.Sprintf("node %s ignored: its address is already in the cache (giFT keeps one node per IP)", n))
	}
	g.rep.CacheSize = g.cache.len()
	if g.raw == nil {
		g.rep.Notes = append(g.rep.Notes, "connects go through the Net's DialContext: SYNs and pings may leave in any order")
	}
	for _, u := range s.udp {
		g.rep.Listen = append(g.rep.Listen, "udp "+u.pc.LocalAddr().String())
	}
	for _, l := range s.tcp {
		g.rep.Listen = append(g.rep.Listen, "tcp "+l.Addr().String())
	}

	lo, err := o.listenerOptions().withDefaults()
	if err != nil {
		s.close()
		return nil, fmt.Errorf("ftsim gift: listener: %w", err)
	}
	g.http = newNode(lo, &sockets{tcp: s.tcp, port: s.port}, g.log.With("part", "http"))
	g.http.httpOnly = true
	g.http.onAccept = g.accepted
	g.http.serve(context.Background())

	for _, u := range s.udp {
		g.readers.Add(1)
		go g.readLoop(u)
	}
	g.log.Info("gift started", "port", s.port, "listen", g.rep.Listen, "nodes", g.cache.len(), "fallback", len(o.Fallback))
	go g.loop(ctx)
	return g, nil
}

// RunGift starts a Gift and waits until it stops.
func RunGift(ctx context.Context, opts GiftOptions) (GiftReport, error) {
	g, err := StartGift(ctx, opts)
	if err != nil {
		return GiftReport{}, err
	}
	return g.Wait(), nil
}

// Port returns the client's UDP and TCP port number.
func (g *Gift) Port() uint16 { return g.socks.port }

// Done is closed when the client has stopped (every socket closed) and
// its report is final.
func (g *Gift) Done() <-chan struct{} { return g.done }

// Wait waits until the client stops by itself and returns the final report.
func (g *Gift) Wait() GiftReport {
	<-g.done
	return g.final.clone()
}

// Stop stops the client and returns the final report.
func (g *Gift) Stop() GiftReport {
	g.stopOnce.Do(func() { close(g.stop) })
	return g.Wait()
}

// Report returns a snapshot of the report (the final one once Done is
// closed).
func (g *Gift) Report() GiftReport {
	select {
	case <-g.done:
		return g.final.clone()
	default:
	}
	g.mu.Lock()
	r := g.copyReport()
	r.ElapsedMS = g.since()
	g.mu.Unlock()
	r.Listener = g.http.Report()
	r.TCPAccepted = r.Listener.TCPAccepted
	return r
}

// loop is giFT's event loop.
func (g *Gift) loop(ctx context.Context) {
	forTimer := time.NewTimer(g.opts.For)
	defer forTimer.Stop()
	retry := time.NewTicker(g.opts.RetryInterval)
	defer retry.Stop()

	reason := ""
	g.connectNext()
	for reason == "" {
		var roundC <-chan time.Time
		if g.roundTimer != nil {
			roundC = g.roundTimer.C
		}
		select {
		case <-ctx.Done():
			reason = GiftStopCancelled
		case <-g.stop:
			reason = GiftStopStopped
		case <-forTimer.C:
			reason = GiftStopFor
		case <-retry.C:
			g.mu.Lock()
			g.rep.RetryTicks++
			g.mu.Unlock()
			g.connectNext()
		case <-roundC:
			g.roundTimeout()
		case ev := <-g.events:
			g.handle(ev)
		}
		if reason == "" && g.connectsLeft() == 0 && len(g.sessions) == 0 {
			reason = GiftStopMaxConnects
		}
	}
	g.shutdown(reason)
}

// handle handles one event of a session or the UDP port.
func (g *Gift) handle(ev giftEvent) {
	switch {
	case ev.dgram != nil:
		if !g.stopping {
			g.datagram(*ev.dgram)
		}
	case ev.established != nil:
		c := ev.established
		c.established = true
		g.established++
		g.mu.Lock()
		g.rep.Established++
		g.rep.MaxEstablished = max(g.rep.MaxEstablished, g.established)
		g.timeline(c, TimelineEstablished)
		g.mu.Unlock()
	case ev.ended != nil:
		c := ev.ended
		delete(g.sessions, key(c.node))
		g.mu.Lock()
		if c.established {
			g.established--
			g.timeline(c, TimelineEnded)
		}
		g.countEnd(c)
		// fst_plugin_session_callback, SessMsgDisconnected: the node
		// leaves the cache, the next connect starts. A stopping giFT
		// keeps its connected nodes (it saves them).
		if !g.stopping {
			g.cache.remove(c.node.Addr())
		}
		g.rep.CacheSize = g.cache.len()
		g.mu.Unlock()
		g.connectNext()
	}
}

// timeline records a change of the established sessions; g.mu is held.
func (g *Gift) timeline(c *giftConn, event string) {
	at := c.rec.EstablishedMS
	if event == TimelineEnded {
		at = c.rec.EndMS
	}
	if len(g.rep.Timeline) >= MaxRecords {
		g.rep.Dropped++
		return
	}
	if n := len(g.rep.Timeline); n > 0 {
		at = max(at, g.rep.Timeline[n-1].AtMS) // in order, whichever session reported first
	}
	g.rep.Timeline = append(g.rep.Timeline, GiftSessionChange{AtMS: at, Event: event, Node: c.node, Open: g.established})
}

// countEnd counts an ended session; g.mu is held.
func (g *Gift) countEnd(c *giftConn) {
	g.rep.Ends[c.rec.End]++
	switch c.rec.Result {
	case ResultRefused:
		g.rep.Refused++
	case ResultTimeout:
		g.rep.TimedOut++
	case ResultUnreachable:
		g.rep.Unreachable++
	case ResultError:
		g.rep.ConnectErrors++
	}
	if c.idx < 0 {
		g.rep.DroppedSessions++
	}
}

// connectNext is fst_plugin_connect_next: it fills the session slots from
// the front of the cache (reloading the fallback when the cache is empty),
// then, unless a session is established or a ping is pending, starts a
// discovery cycle.
func (g *Gift) connectNext() {
	if g.stopping {
		return
	}
	skipped := 0
	for len(g.sessions) < g.opts.Sessions && g.connectsLeft() > 0 {
		node, ok := g.cache.front()
		if !ok {
			// "All attempts at contacting peers have failed. Trying
			// default nodes file."
			if len(g.opts.Fallback) == 0 {
				g.log.Info("node cache empty and no fallback nodes: waiting for the retry timer", "retry", g.opts.RetryInterval)
				g.mu.Lock()
				g.rep.FallbackEmpty++
				g.mu.Unlock()
				return
			}
			g.cache.load(g.opts.Fallback)
			g.mu.Lock()
			g.rep.CacheReloads++
			if len(g.rep.Reloads) < MaxRecords {
				g.rep.Reloads = append(g.rep.Reloads, GiftReload{Seq: g.nextSeq(), AtMS: g.since(), Nodes: g.cache.len()})
			} else {
				g.rep.Dropped++
			}
			g.mu.Unlock()
			g.log.Debug("node cache reloaded from the fallback", "nodes", g.cache.len())
			node, _ = g.cache.front()
		}
		if _, busy := g.sessions[key(node)]; busy {
			// Connected there already: to the back; giFT gives up when
			// it has seen as many busy nodes as it has additional
			// sessions.
			g.cache.moveBack(node.Addr())
			if skipped >= len(g.sessions)-1 {
				return
			}
			skipped++
			continue
		}
		g.startSession(node)
		g.cache.moveBack(node.Addr())
	}
	g.mu.Lock()
	g.rep.CacheSize = g.cache.len()
	g.mu.Unlock()
	// "don't ping if we're currently connected"
	if g.established > 0 || g.pending() > 0 {
		return
	}
	g.startRound()
}

func (g *Gift) connectsLeft() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.opts.MaxConnects - g.rep.Connects
}

// shutdown ends every session and closes the sockets.
func (g *Gift) shutdown(reason string) {
	g.stopping = true
	g.log.Info("gift stopping", "reason", reason)
	g.sessCancel()
	if g.roundTimer != nil {
		g.roundTimer.Stop()
	}
	for _, u := range g.socks.udp {
		u.Close()
	}
	// The sessions end at once (their deadlines are in the past): let them
	// report.
	for len(g.sessions) > 0 {
		g.handle(<-g.events)
	}
	close(g.loopDone)
	g.readers.Wait()
	g.sessWG.Wait()
	lr := g.http.Stop()

	g.mu.Lock()
	defer g.mu.Unlock()
	g.rep.StopReason = reason
	g.rep.StoppedAt = time.Now()
	g.rep.ElapsedMS = g.since()
	g.rep.CacheSize = g.cache.len()
	g.rep.Listener = lr
	g.rep.TCPAccepted = lr.TCPAccepted
	g.final = g.copyReport()
	g.log.Info("gift stopped", "reason", reason, "connects", g.rep.Connects, "established", g.rep.Established,
		"pings", g.rep.PingsSent, "pongs", g.rep.PongsReceived, "probes_ignored", g.rep.ProbesIgnored)
	close(g.done)
}

// accepted counts a connection accepted on the TCP listen port.
func (g *Gift) accepted(from netip.AddrPort) {
	a := from.Addr().Unmap()
	g.mu.Lock()
	defer g.mu.Unlock()
	i, ok := g.acceptIdx[a]
	if !ok {
		if len(g.rep.Accepted) >= MaxRecords {
			g.rep.Dropped++
			return
		}
		i = len(g.rep.Accepted)
		g.acceptIdx[a] = i
		g.rep.Accepted = append(g.rep.Accepted, GiftAccept{From: a})
	}
	g.rep.Accepted[i].Count++
}

// note adds a note once.
func (g *Gift) note(s string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, n := range g.rep.Notes {
		if n == s {
			return
		}
	}
	if len(g.rep.Notes) < MaxRecords {
		g.rep.Notes = append(g.rep.Notes, s)
	}
}

// nextSeq numbers connects, rounds and reloads; g.mu is held.
func (g *Gift) nextSeq() int64 {
	g.seq++
	return g.seq
}

func (g *Gift) since() int64 { return time.Since(g.start).Milliseconds() }

// copyReport returns a deep copy of the report; g.mu is held.
func (g *Gift) copyReport() GiftReport { return g.rep.clone() }

// clone returns a deep copy of r.
func (r GiftReport) clone() GiftReport {
	c := r
	c.Listen = append([]string(nil), r.Listen...)
	c.Notes = append([]string(nil), r.Notes...)
	c.Ends = make(map[string]int, len(r.Ends))
	for k, v := range r.Ends {
		c.Ends[k] = v
	}
	c.PongsByType = make(map[MsgType]int, len(r.PongsByType))
	for k, v := range r.PongsByType {
		c.PongsByType[k] = v
	}
	c.Sessions = make([]GiftSession, len(r.Sessions))
	for i, s := range r.Sessions {
		s.Writes = append([]int(nil), s.Writes...)
		c.Sessions[i] = s
	}
	c.Timeline = append([]GiftSessionChange{}, r.Timeline...)
	c.Rounds = make([]GiftRound, len(r.Rounds))
	for i, x := range r.Rounds {
		x.Nodes = append([]netip.AddrPort(nil), x.Nodes...)
		c.Rounds[i] = x
	}
	c.Pongs = append([]GiftPongSource(nil), r.Pongs...)
	c.Probes = append([]GiftProbe(nil), r.Probes...)
	c.Reloads = append([]GiftReload(nil), r.Reloads...)
	c.Accepted = append([]GiftAccept(nil), r.Accepted...)
	c.Listener = r.Listener.clone()
	return c
}
