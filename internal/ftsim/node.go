package ftsim

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/ftwall/ftwall/inspect/fasttrack"
)

// nodePongID is the ID in the node pongs a node sends ("ftsN").
const nodePongID = 0x6674734e

// Node is a simulated FastTrack supernode: it answers pings, accepts TCP
// sessions, serves downloads and takes GIVE pushes until its lifetime ends,
// its context ends or Stop is called.
type Node struct {
	opts  NodeOptions
	log   *slog.Logger
	socks *sockets
	start time.Time

	stop     chan struct{}
	stopOnce sync.Once
	ending   chan struct{} // closed when the node stops: open sessions end at once
	done     chan struct{}
	workers  sync.WaitGroup

	// httpOnly makes the node a client's HTTP listener (a giFT client's):
	// no FastTrack session answers; onAccept, when set, sees every
	// accepted connection's source.
	httpOnly bool
	onAccept func(from netip.AddrPort)

	mu    sync.Mutex
	rep   NodeReport
	conns map[net.Conn]struct{} // open accepted connections
	ended bool                  // sockets closed: no more connections
}

// StartNode checks opts, opens the node's UDP and TCP sockets on one port
// number and starts serving. The node stops when ctx ends, after opts.For,
// or on Stop; connections still open then get up to a second to finish.
func StartNode(ctx context.Context, opts NodeOptions) (*Node, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s, err := openSockets(ctx, o.Net, o.Listen, o.Port, true, true)
	if err != nil {
		return nil, fmt.Errorf("ftsim node: %w", err)
	}
	n := newNode(o, s, o.Log.With("role", "node"))
	n.serve(ctx)
	n.log.Info("node listening", "port", s.port, "listen", n.rep.Listen)
	return n, nil
}

// newNode makes a node on sockets s (opened by the caller); serve starts it.
func newNode(o NodeOptions, s *sockets, log *slog.Logger) *Node {
	n := &Node{
		opts:   o,
		log:    log,
		socks:  s,
		start:  time.Now(),
		stop:   make(chan struct{}),
		ending: make(chan struct{}),
		done:   make(chan struct{}),
		conns:  make(map[net.Conn]struct{}),
	}
	n.rep = NodeReport{Port: s.port, Network: o.Network, Notes: s.notes}
	return n
}

// serve starts a goroutine per socket and the lifetime watcher.
func (n *Node) serve(ctx context.Context) {
	s := n.socks
	for _, u := range s.udp {
		n.rep.Listen = append(n.rep.Listen, "udp "+u.pc.LocalAddr().String())
		n.workers.Add(1)
		go n.udpLoop(u)
	}
	for _, l := range s.tcp {
		n.rep.Listen = append(n.rep.Listen, "tcp "+l.Addr().String())
		n.workers.Add(1)
		go n.acceptLoop(l)
	}
	go n.lifetime(ctx)
}

// RunNode starts a node and waits until it stops (ctx or opts.For).
func RunNode(ctx context.Context, opts NodeOptions) (NodeReport, error) {
	n, err := StartNode(ctx, opts)
	if err != nil {
		return NodeReport{}, err
	}
	return n.Wait(), nil
}

// Port returns the node's UDP and TCP port number.
func (n *Node) Port() uint16 { return n.socks.port }

// Done is closed when the node has stopped and its report is final.
func (n *Node) Done() <-chan struct{} { return n.done }

// Wait waits until the node stops by itself and returns the final report.
func (n *Node) Wait() NodeReport {
	<-n.done
	return n.Report()
}

// Stop stops the node and returns the final report. Open connections get
// up to a second to finish.
func (n *Node) Stop() NodeReport {
	n.stopOnce.Do(func() { close(n.stop) })
	return n.Wait()
}

// Report returns a snapshot of the report (final once Done is closed).
func (n *Node) Report() NodeReport {
	n.mu.Lock()
	defer n.mu.Unlock()
	r := n.rep.clone()
	select {
	case <-n.done:
	default:
		r.ElapsedMS = n.since()
	}
	return r
}

// clone returns a copy of r with lists of its own.
func (r NodeReport) clone() NodeReport {
	r.Listen = append([]string(nil), r.Listen...)
	r.Notes = append([]string(nil), r.Notes...)
	r.Pings = append([]NodePing(nil), r.Pings...)
	r.Conns = append([]NodeConn(nil), r.Conns...)
	r.Downloads = append([]ServedDownload(nil), r.Downloads...)
	r.Gives = append([]GiveDownload(nil), r.Gives...)
	r.Errors = append([]string(nil), r.Errors...)
	return r
}

// drainGrace is how long a stopping node lets open connections finish
// (each is bounded by IOTimeout anyway) before it closes them.
const drainGrace = time.Second

// lifetime waits for the end, closes the sockets, gives open connections
// drainGrace to finish, closes the rest and waits for every goroutine.
func (n *Node) lifetime(ctx context.Context) {
	var expire <-chan time.Time
	if n.opts.For > 0 {
		t := time.NewTimer(n.opts.For)
		defer t.Stop()
		expire = t.C
	}
	select {
	case <-ctx.Done():
	case <-expire:
	case <-n.stop:
	}
	n.socks.close()
	n.mu.Lock()
	n.ended = true
	n.mu.Unlock()
	close(n.ending)
	finished := make(chan struct{})
	go func() {
		n.workers.Wait()
		close(finished)
	}()
	grace := time.NewTimer(drainGrace)
	defer grace.Stop()
	select {
	case <-finished:
	case <-grace.C:
		n.mu.Lock()
		for c := range n.conns {
			c.Close()
		}
		n.mu.Unlock()
		<-finished
	}
	n.mu.Lock()
	n.rep.ElapsedMS = n.since()
	n.log.Info("node stopped", "pings_answered", n.rep.PingsAnswered, "tcp_accepted", n.rep.TCPAccepted)
	n.mu.Unlock()
	close(n.done)
}

// udpLoop answers pings from the address pinged.
func (n *Node) udpLoop(s *udpSock) {
	defer n.workers.Done()
	var pong []byte
	if n.opts.Pong == TypeNodePong {
		pong = fasttrack.AppendNodePong(nil, nodePongID)
	} else {
		pong = fasttrack.AppendSupernodePong(nil, n.opts.Network, n.opts.Load)
	}
	buf := make([]byte, 2048)
	oob := make([]byte, oobSize())
	errs := 0
	for {
		size, from, dst, ifindex, err := s.read(buf, oob)
		if err != nil {
			if isClosed(err) {
				return
			}
			if errs++; errs > maxReadErrors {
				n.addError(fmt.Sprintf("UDP reader gave up: %v", err))
				return
			}
			time.Sleep(time.Millisecond)
			continue
		}
		errs = 0
		m, ok := parseMessage(buf[:size])
		if !ok || m.Type != TypePing {
			n.mu.Lock()
			n.rep.OtherDatagrams++
			n.mu.Unlock()
			continue
		}
		rec := NodePing{From: from, To: dst, Network: m.Network, AtMS: n.since()}
		if !n.opts.NoPong {
			if err := s.send(pong, from, dst, ifindex); err != nil {
				rec.Error = err.Error()
			} else {
				rec.Reply = n.opts.Pong
			}
		}
		n.log.Debug("ping", "from", from, "to", dst, "reply", rec.Reply)
		n.mu.Lock()
		n.rep.PingsReceived++
		if rec.Reply != 0 {
			n.rep.PingsAnswered++
		}
		if len(n.rep.Pings) < MaxRecords {
			n.rep.Pings = append(n.rep.Pings, rec)
		} else {
			n.rep.Dropped++
		}
		n.mu.Unlock()
	}
}

// acceptLoop accepts connections and hands each to a handler.
func (n *Node) acceptLoop(l net.Listener) {
	defer n.workers.Done()
	for {
		c, err := l.Accept()
		if err != nil {
			if isClosed(err) {
				return
			}
			n.log.Warn("accept", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if n.onAccept != nil {
			n.onAccept(addrPortOf(c.RemoteAddr()))
		}
		n.mu.Lock()
		n.rep.TCPAccepted++
		if n.ended {
			n.mu.Unlock()
			c.Close()
			return
		}
		if len(n.conns) >= n.opts.MaxConns {
			n.rep.TCPRejected++
			n.mu.Unlock()
			c.Close()
			continue
		}
		n.conns[c] = struct{}{}
		n.workers.Add(1)
		n.mu.Unlock()
		go func() {
			defer n.workers.Done()
			n.handle(c)
			n.mu.Lock()
			delete(n.conns, c)
			n.mu.Unlock()
			c.Close()
		}()
	}
}

func (n *Node) addError(msg string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.rep.Errors) < MaxRecords {
		n.rep.Errors = append(n.rep.Errors, msg)
	} else {
		n.rep.Dropped++
	}
}

func (n *Node) since() int64 {
	return time.Since(n.start).Milliseconds()
}

// localAP is the address a connection was accepted on.
func localAP(c net.Conn) netip.AddrPort { return addrPortOf(c.LocalAddr()) }
