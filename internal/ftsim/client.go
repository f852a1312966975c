package ftsim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Client is a simulated FastTrack client. NewClient opens its UDP sockets and
// starts answering pings at once; Run goes through the connect modes, the
// download and the push, then closes everything.
type Client struct {
	opts  ClientOptions
	log   *slog.Logger
	socks *sockets // nil when UDP is off
	start time.Time

	readers sync.WaitGroup
	notify  chan struct{} // a pong arrived (capacity 1)

	mu       sync.Mutex
	rep      ClientReport
	byIP     map[netip.Addr][]int        // node indexes by address
	probeIdx map[netip.AddrPort]int      // index in rep.Probes by sender
	tried    map[netip.AddrPort]struct{} // nodes already connected to in UDP mode

	runOnce sync.Once
	final   ClientReport
}

// NewClient checks opts and opens the client's UDP sockets (unless UDP is
// off); from then on, FastTrack pings to its port are answered.
func NewClient(ctx context.Context, opts ClientOptions) (*Client, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Client{
		opts:     o,
		log:      o.Log.With("role", "client"),
		start:    time.Now(),
		notify:   make(chan struct{}, 1),
		byIP:     make(map[netip.Addr][]int),
		probeIdx: make(map[netip.AddrPort]int),
		tried:    make(map[netip.AddrPort]struct{}),
	}
	c.rep = ClientReport{
		Network: o.Network,
		UDP:     !o.NoUDP,
		Pings:   make([]PingResult, len(o.Nodes)),
		Modes:   []ModeChange{},
		TCP:     []TCPAttempt{},
	}
	for i, n := range o.Nodes {
		n = netip.AddrPortFrom(n.Addr().Unmap(), n.Port())
		c.rep.Pings[i] = PingResult{Node: n}
		c.byIP[n.Addr()] = append(c.byIP[n.Addr()], i)
	}
	if !o.NoUDP {
		s, err := openSockets(ctx, o.Net, o.Bind, o.Port, true, false)
		if err != nil {
			return nil, fmt.Errorf("ftsim client: open the FastTrack UDP port: %w", err)
		}
		c.socks = s
		c.rep.Port = s.port
		c.rep.Notes = append(c.rep.Notes, s.notes...)
		for _, u := range s.udp {
			c.readers.Add(1)
			go c.readLoop(u)
		}
		c.log.Info("client UDP port open", "port", s.port)
	}
	return c, nil
}

// RunClient is NewClient followed by Run.
func RunClient(ctx context.Context, opts ClientOptions) (ClientReport, error) {
	c, err := NewClient(ctx, opts)
	if err != nil {
		return ClientReport{}, err
	}
	return c.Run(ctx), nil
}

// Port returns the client's UDP port (0 when UDP is off).
func (c *Client) Port() uint16 {
	if c.socks == nil {
		return 0
	}
	return c.socks.port
}

// Run connects to the network like a FastTrack client, then downloads and
// pushes when asked to, then answers pings for AnswerProbes, then closes the
// sockets. Every step is bounded by the options; when ctx ends, Run
// finishes the step it is in quickly and skips the rest. Calling Run again
// returns the same report.
func (c *Client) Run(ctx context.Context) ClientReport {
	c.runOnce.Do(func() {
		c.run(ctx)
		c.Close()
		c.mu.Lock()
		c.rep.ElapsedMS = c.since()
		c.final = c.copyReport()
		c.mu.Unlock()
	})
	return c.final
}

// Close closes the UDP sockets (Run does it at its end) and waits for the
// readers to finish. It is safe to call more than once.
func (c *Client) Close() error {
	if c.socks != nil {
		c.socks.close()
	}
	c.readers.Wait()
	return nil
}

func (c *Client) run(ctx context.Context) {
	c.connectModes(ctx)
	if c.opts.HTTP.IsValid() && ctx.Err() == nil {
		r := c.download(ctx)
		c.mu.Lock()
		c.rep.HTTP = &r
		c.mu.Unlock()
	}
	if c.opts.Give.IsValid() && ctx.Err() == nil {
		r := c.give(ctx)
		c.mu.Lock()
		c.rep.Give = &r
		c.mu.Unlock()
	}
	if c.opts.AnswerProbes > 0 && c.socks != nil {
		c.log.Info("answering probes", "for", c.opts.AnswerProbes)
		t := time.NewTimer(c.opts.AnswerProbes)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
}

// connectModes goes through UDP, parallel TCP and traditional TCP mode until
// a connect succeeds, and sets Outcome and Reason.
func (c *Client) connectModes(ctx context.Context) {
	nodes := c.opts.Nodes
	if len(nodes) == 0 {
		c.setOutcome(OutcomeNoNodes, "no nodes given")
		return
	}
	var reason string
	if c.socks != nil {
		c.enterMode(ModeUDP, fmt.Sprintf("start: UDP ping flood to %d nodes", len(nodes)))
		connected, why, stay := c.udpMode(ctx)
		switch {
		case connected:
			return
		case ctx.Err() != nil:
			c.setOutcome(OutcomeCancelled, "cancelled in UDP mode: "+context.Cause(ctx).Error())
			return
		case stay:
			c.setOutcome(OutcomeUDPOnly, why)
			return
		}
		reason = why
	} else {
		reason = "start: UDP switched off"
	}

	c.enterMode(ModeParallelTCP, reason)
	atts := c.connectAll(ctx, ModeParallelTCP, nodes)
	if c.connectedIn(atts) || c.cancelled(ctx, ModeParallelTCP) {
		return
	}

	c.enterMode(ModeTraditional, fmt.Sprintf("all %d parallel connects failed (%s)", len(atts), summarizeAttempts(atts)))
	atts = atts[:0]
	for _, n := range nodes {
		a := c.connect(ctx, ModeTraditional, n)
		atts = append(atts, a)
		if c.connectedIn([]TCPAttempt{a}) || c.cancelled(ctx, ModeTraditional) {
			return
		}
	}
	c.setOutcome(OutcomeBlocked, fmt.Sprintf("all %d traditional connects failed (%s)", len(atts), summarizeAttempts(atts)))
}

// udpMode pings the nodes that have not answered yet, up to UDPRounds
// times, and connects by TCP to each node that sent a supernode pong. It
// reports whether a connect succeeded, else why the mode failed and whether
// a real client would stay in it.
func (c *Client) udpMode(ctx context.Context) (connected bool, reason string, stay bool) {
	pings := 0
	for round := 1; round <= c.opts.UDPRounds && ctx.Err() == nil; round++ {
		pending := c.unanswered()
		if len(pending) == 0 {
			break
		}
		pings += c.sendPings(pending)
		c.waitPongs(ctx, pending)
		invited := c.newlyInvited()
		if len(invited) == 0 {
			continue
		}
		if c.connectedIn(c.connectAll(ctx, ModeUDP, invited)) {
			return true, "", false
		}
	}
	answered, invited := c.answerCounts()
	n := len(c.opts.Nodes)
	switch {
	case answered == 0:
		return false, fmt.Sprintf("no pong from any of %d nodes (%d pings, %d rounds of %s)", n, pings, c.opts.UDPRounds, c.opts.PingWait), false
	case invited > 0:
		return false, fmt.Sprintf("%d nodes invited with 0x28 but no TCP connect to them succeeded", invited), false
	case c.opts.SwitchOnNodePong:
		return false, fmt.Sprintf("only node pongs (0x29) from %d of %d nodes, no supernode invitation", answered, n), false
	}
	return false, fmt.Sprintf("%d of %d nodes answered with node pongs (0x29) only: UDP works but no supernode invited a session, so the client keeps to UDP mode", answered, n), true
}

// unanswered returns the nodes without a pong so far.
func (c *Client) unanswered() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var idx []int
	for i, p := range c.rep.Pings {
		if p.Pongs == 0 {
			idx = append(idx, i)
		}
	}
	return idx
}

// newlyInvited returns the nodes that sent a supernode pong and were not
// connected to yet, and marks them.
func (c *Client) newlyInvited() []netip.AddrPort {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []netip.AddrPort
	for _, p := range c.rep.Pings {
		if _, done := c.tried[p.Node]; p.Invited && !done {
			c.tried[p.Node] = struct{}{}
			out = append(out, p.Node)
		}
	}
	return out
}

func (c *Client) answerCounts() (answered, invited int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.rep.Pings {
		if p.Pongs > 0 {
			answered++
		}
		if p.Invited {
			invited++
		}
	}
	return answered, invited
}

// waitPongs waits PingWait, or less when every pending node has answered.
func (c *Client) waitPongs(ctx context.Context, pending []int) {
	t := time.NewTimer(c.opts.PingWait)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return
		case <-ctx.Done():
			return
		case <-c.notify:
			if c.allAnswered(pending) {
				return
			}
		}
	}
}

func (c *Client) allAnswered(idx []int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, i := range idx {
		if c.rep.Pings[i].Pongs == 0 {
			return false
		}
	}
	return true
}

// connectAll connects to nodes at once (at most MaxParallel at a time) and
// records the attempts in node order.
func (c *Client) connectAll(ctx context.Context, mode string, nodes []netip.AddrPort) []TCPAttempt {
	atts := make([]TCPAttempt, len(nodes))
	sem := make(chan struct{}, c.opts.MaxParallel)
	var wg sync.WaitGroup
	for i, n := range nodes {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			atts[i] = c.dial(ctx, mode, n)
		})
	}
	wg.Wait()
	c.mu.Lock()
	for _, a := range atts {
		c.addAttempt(a)
	}
	c.mu.Unlock()
	return atts
}

// connect makes and records one attempt.
func (c *Client) connect(ctx context.Context, mode string, node netip.AddrPort) TCPAttempt {
	a := c.dial(ctx, mode, node)
	c.mu.Lock()
	c.addAttempt(a)
	c.mu.Unlock()
	return a
}

// addAttempt records a; c.mu is held.
func (c *Client) addAttempt(a TCPAttempt) {
	if len(c.rep.TCP) >= MaxRecords {
		c.rep.Dropped++
		return
	}
	c.rep.TCP = append(c.rep.TCP, a)
}

// dial connects to node within ConnectTimeout and starts a session.
func (c *Client) dial(ctx context.Context, mode string, node netip.AddrPort) TCPAttempt {
	a := TCPAttempt{Mode: mode, Node: node, AtMS: c.since()}
	t0 := time.Now()
	dctx, cancel := context.WithTimeout(ctx, c.opts.ConnectTimeout)
	defer cancel()
	conn, err := c.opts.Net.DialContext(dctx, "tcp", node.String())
	a.MS = time.Since(t0).Milliseconds()
	a.Result = dialResult(err)
	if err != nil {
		a.Error = err.Error()
		c.log.Debug("connect failed", "mode", mode, "node", node, "result", a.Result, "err", err)
		return a
	}
	defer conn.Close()
	a.Local = addrPortOf(conn.LocalAddr())
	a.Handshake = sessionStart(conn, time.Now().Add(c.opts.ConnectTimeout))
	c.log.Debug("connected", "mode", mode, "node", node, "handshake", a.Handshake)
	return a
}

// connectedIn sets the outcome when one of atts connected.
func (c *Client) connectedIn(atts []TCPAttempt) bool {
	for _, a := range atts {
		if a.Result == ResultConnected {
			c.mu.Lock()
			c.rep.Connected = a.Node
			c.mu.Unlock()
			c.setOutcome(OutcomeConnected, fmt.Sprintf("TCP connect to %s succeeded in %s mode", a.Node, a.Mode))
			return true
		}
	}
	return false
}

func (c *Client) cancelled(ctx context.Context, mode string) bool {
	if ctx.Err() == nil {
		return false
	}
	c.setOutcome(OutcomeCancelled, fmt.Sprintf("cancelled in %s mode: %v", mode, context.Cause(ctx)))
	return true
}

func (c *Client) enterMode(mode, reason string) {
	c.log.Info("mode", "mode", mode, "reason", reason)
	c.mu.Lock()
	c.rep.Modes = append(c.rep.Modes, ModeChange{Mode: mode, Reason: reason, AtMS: c.since()})
	c.mu.Unlock()
}

func (c *Client) setOutcome(outcome, reason string) {
	c.log.Info("outcome", "outcome", outcome, "reason", reason)
	c.mu.Lock()
	c.rep.Outcome, c.rep.Reason = outcome, reason
	c.mu.Unlock()
}

// since is the time since the client started, in milliseconds.
func (c *Client) since() int64 {
	return time.Since(c.start).Milliseconds()
}

// copyReport returns a deep copy of the report; c.mu is held.
func (c *Client) copyReport() ClientReport {
	r := c.rep
	r.Notes = append([]string(nil), r.Notes...)
	r.Pings = append([]PingResult{}, r.Pings...)
	r.StrayPongs = append([]Pong(nil), r.StrayPongs...)
	r.Modes = append([]ModeChange{}, r.Modes...)
	r.TCP = append([]TCPAttempt{}, r.TCP...)
	r.Probes = append([]Probe(nil), r.Probes...)
	return r
}

// Report returns a snapshot of the report so far (Run returns the final one).
func (c *Client) Report() ClientReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.copyReport()
	r.ElapsedMS = c.since()
	return r
}

// isClosed reports whether err comes from a closed socket.
func isClosed(err error) bool {
	return errors.Is(err, net.ErrClosed)
}
