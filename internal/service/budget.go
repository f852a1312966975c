package service

import (
	"net/netip"
	"time"
)

// peerBudgets holds each LAN client's budget of new peers: a token bucket
// of size burst refilled at rate per second. A client past its budget
// teaches ftwall nothing more until the bucket refills, so one host cannot
// make ftwall block the whole Internet for everyone. It belongs to the
// control goroutine. The table is bounded: past maxBudgets clients it
// starts afresh (every client gets a full bucket again), which a LAN host
// spoofing that many sources could exploit; source validation (issue 13)
// is the defence against spoofing.
type peerBudgets struct {
	burst, rate float64
	clients     map[netip.Addr]*budget
}

type budget struct {
	tokens float64
	last   time.Time
	warned bool // over budget, warning logged
}

const maxBudgets = 1 << 16

func newPeerBudgets(burst, rate int) *peerBudgets {
	return &peerBudgets{burst: float64(burst), rate: float64(rate), clients: map[netip.Addr]*budget{}}
}

// allow takes one new peer from client's budget; false when it is spent.
// Without a budget (burst < 0) or without a client address it allows all.
func (b *peerBudgets) allow(client netip.Addr, now time.Time) bool {
	if b.burst < 0 || !client.IsValid() {
		return true
	}
	c := b.clients[client]
	if c == nil {
		if len(b.clients) >= maxBudgets {
			clear(b.clients)
		}
		c = &budget{tokens: b.burst, last: now}
		b.clients[client] = c
	} else if d := now.Sub(c.last).Seconds(); d > 0 {
		c.tokens = min(b.burst, c.tokens+d*b.rate)
		c.last = now
	}
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	if c.warned && c.tokens >= b.burst/2 {
		c.warned = false // refilled: a new excess is warned about again
	}
	return true
}

// firstExcess reports whether this is the first refusal since the client
// last had budget, and marks it.
func (b *peerBudgets) firstExcess(client netip.Addr) bool {
	c := b.clients[client]
	if c == nil || c.warned {
		return false
	}
	c.warned = true
	return true
}

// overBudget counts a peer left out because client's budget was spent and
// warns once per excess.
func (c *control) overBudget(st *runState, client netip.Addr) {
	c.peersOverBudget++
	if c.s.metrics != nil {
		c.s.metrics.PeerOverBudget()
	}
	if c.budgets.firstExcess(client) {
		c.s.log.Warn("client over its peer budget: learning nothing more from it until the budget refills",
			"client", client, "budget", int(c.budgets.burst), "per_second", int(c.budgets.rate))
	}
}
