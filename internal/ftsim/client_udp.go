package ftsim

import (
	"net/netip"
	"time"

	"github.com/ftwall/ftwall/inspect/fasttrack"
)

// probeReplyID is the ID in the node pongs a client sends ("fts1").
const probeReplyID = 0x66747331

// maxReadErrors bounds consecutive failed reads before a reader gives up.
const maxReadErrors = 100

// sendPings sends PingsPerNode pings to each node in idx and returns the
// number sent. A ping is counted before it is sent, so that a pong arriving
// at once finds its node pinged.
func (c *Client) sendPings(idx []int) int {
	ping := fasttrack.AppendPing(nil, c.opts.Network)
	sent := 0
	for _, i := range idx {
		node := c.opts.Nodes[i]
		s := c.sockFor(node.Addr())
		for range c.opts.PingsPerNode {
			if s == nil {
				c.setSendError(i, 0, "no UDP socket of this address family (see notes)")
				break
			}
			c.mu.Lock()
			c.rep.Pings[i].Sent++
			c.mu.Unlock()
			if err := s.send(ping, node, netip.Addr{}, 0); err != nil {
				c.setSendError(i, -1, err.Error())
				break
			}
			sent++
		}
	}
	c.log.Debug("pings sent", "nodes", len(idx), "pings", sent)
	return sent
}

// setSendError records a failed send to node i and corrects its count.
func (c *Client) setSendError(i, adjust int, msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rep.Pings[i].Sent += adjust
	c.rep.Pings[i].SendError = msg
}

// sockFor returns the UDP socket of a's family.
func (c *Client) sockFor(a netip.Addr) *udpSock {
	for _, s := range c.socks.udp {
		if s.v6 == a.Is6() {
			return s
		}
	}
	return nil
}

// readLoop answers pings and records pongs until the socket is closed.
func (c *Client) readLoop(s *udpSock) {
	defer c.readers.Done()
	buf := make([]byte, 2048)
	oob := make([]byte, oobSize())
	errs := 0
	for {
		n, from, dst, ifindex, err := s.read(buf, oob)
		if err != nil {
			if isClosed(err) {
				return
			}
			if errs++; errs > maxReadErrors {
				c.log.Warn("client UDP reader gives up", "err", err)
				return
			}
			time.Sleep(time.Millisecond)
			continue
		}
		errs = 0
		m, ok := parseMessage(buf[:n])
		if !ok {
			continue
		}
		switch m.Type {
		case TypePing:
			c.answerProbe(s, from, dst, ifindex, m)
		case TypeSupernodePong, TypeNodePong:
			c.recordPong(from, m)
		}
	}
}

// answerProbe answers a FastTrack ping from the address it was sent to.
func (c *Client) answerProbe(s *udpSock, from netip.AddrPort, dst netip.Addr, ifindex int, m message) {
	var reply []byte
	if c.opts.ProbeReply == TypeNodePong {
		reply = fasttrack.AppendNodePong(nil, probeReplyID)
	} else {
		reply = fasttrack.AppendSupernodePong(nil, c.opts.Network, 0)
	}
	err := s.send(reply, from, dst, ifindex)
	c.log.Debug("probe answered", "from", from, "reply", c.opts.ProbeReply, "err", err)
	c.mu.Lock()
	defer c.mu.Unlock()
	at := c.since()
	i, ok := c.probeIdx[from]
	if !ok {
		if len(c.rep.Probes) >= MaxRecords {
			c.rep.Dropped++
			if err == nil {
				c.rep.ProbesAnswered++
			}
			return
		}
		i = len(c.rep.Probes)
		c.probeIdx[from] = i
		c.rep.Probes = append(c.rep.Probes, Probe{From: from, FirstMS: at})
	}
	p := &c.rep.Probes[i]
	p.To, p.Network, p.Reply, p.LastMS = dst, m.Network, c.opts.ProbeReply, at
	p.Count++
	if err != nil {
		p.Error = err.Error()
		return
	}
	c.rep.ProbesAnswered++
}

// recordPong credits a pong to every pinged node with the sender's address
// (clients match pongs by source address only).
func (c *Client) recordPong(from netip.AddrPort, m message) {
	c.mu.Lock()
	at := c.since()
	matched := false
	for _, i := range c.byIP[from.Addr()] {
		p := &c.rep.Pings[i]
		if p.Sent == 0 {
			continue
		}
		matched = true
		p.Pongs++
		if p.Pong == 0 {
			p.Pong, p.PongFrom, p.PongMS = m.Type, from, at
		}
		if m.Type == TypeSupernodePong {
			p.Invited = true
		}
	}
	if !matched {
		if len(c.rep.StrayPongs) < MaxRecords {
			c.rep.StrayPongs = append(c.rep.StrayPongs, Pong{From: from, Type: m.Type, Network: m.Network, AtMS: at})
		} else {
			c.rep.Dropped++
		}
	}
	c.mu.Unlock()
	c.log.Debug("pong", "from", from, "type", m.Type, "matched", matched)
	select {
	case c.notify <- struct{}{}:
	default:
	}
}
