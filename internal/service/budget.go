package service

import (
	"net"
	"net/netip"
	"time"
)

// peerBudgets holds each LAN client's budget of new peers: a token bucket
// of size burst refilled at rate per second. A client past its budget
// teaches ftwall nothing more until the bucket refills, so one host cannot
// make ftwall block the whole Internet for everyone. It belongs to the
// control goroutine. A client is its source MAC when the evidence came
// with one (one host with many IPv6 addresses, SLAAC privacy addresses in
// one /64, has one budget), else its address. The table is bounded: past
// maxBudgets clients it starts afresh (every client gets a full bucket
// again), which a LAN host spoofing that many sources could exploit; the
// source MAC check (neigh.go) is the defence against spoofing.
type peerBudgets struct {
	burst, rate float64
	clients     map[budgetKey]*budget
}

// budgetKey names a client: by MAC (hwLen > 0, addr invalid) or address.
type budgetKey struct {
	addr  netip.Addr
	hw    [8]byte
	hwLen uint8
}

// budgetKeyOf is the budget key of an item of evidence: its source MAC
// when the MAC check applies to it (it then agreed with the neighbour
// table), else its source address.
func budgetKeyOf(st *runState, l *learned) budgetKey {
	if macCheckable(st, l) {
		return budgetKey{hw: l.hw, hwLen: l.hwLen}
	}
	return budgetKey{addr: l.src}
}

// String is the key for log lines: the MAC or the address.
func (k budgetKey) String() string {
	if k.hwLen > 0 {
		return net.HardwareAddr(k.hw[:k.hwLen]).String()
	}
	return k.addr.String()
}

type budget struct {
	bucket
	warned bool // over budget, warning logged
}

const maxBudgets = 1 << 16

func newPeerBudgets(burst, rate int) *peerBudgets {
	return &peerBudgets{burst: float64(burst), rate: float64(rate), clients: map[budgetKey]*budget{}}
}

// allow takes one new peer from client's budget; false when it is spent.
// Without a budget (burst < 0) or without a client it allows all.
func (b *peerBudgets) allow(client budgetKey, now time.Time) bool {
	if b.burst < 0 || (!client.addr.IsValid() && client.hwLen == 0) {
		return true
	}
	c := b.clients[client]
	if c == nil {
		if len(b.clients) >= maxBudgets {
			clear(b.clients)
		}
		c = &budget{}
		b.clients[client] = c
	}
	if !c.take(now, b.rate, b.burst) {
		return false
	}
	if c.warned && c.tokens >= b.burst/2 {
		c.warned = false // refilled: a new excess is warned about again
	}
	return true
}

// firstExcess reports whether this is the first refusal since the client
// last had budget, and marks it.
func (b *peerBudgets) firstExcess(client budgetKey) bool {
	c := b.clients[client]
	if c == nil || c.warned {
		return false
	}
	c.warned = true
	return true
}

// overBudget counts a peer left out because client's budget was spent and
// warns once per excess.
func (c *control) overBudget(st *runState, client netip.Addr, key budgetKey) {
	c.peersOverBudget++
	if c.s.metrics != nil {
		c.s.metrics.PeerOverBudget()
	}
	if c.budgets.firstExcess(key) {
		attrs := []any{"client", client, "budget", int(c.budgets.burst), "per_second", int(c.budgets.rate)}
		if key.hwLen > 0 {
			attrs = append(attrs, "mac", key.String())
		}
		c.s.log.Warn("client over its peer budget: learning nothing more from it until the budget refills", attrs...)
	}
}
