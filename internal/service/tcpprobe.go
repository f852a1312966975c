package service

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// tcpProbe is the second time-lock probe: a TCP connect from the firewall's
// LAN address to the client's FastTrack port. A running FastTrack client
// listens there (Kazaa and giFT accept TCP on the port they ping from) and
// cannot help answering the SYN, while giFT ignores the UDP ping probe. A
// completed handshake counts as a sign of life; the connection is closed at
// once, nothing is sent.
//
// Connects run on their own goroutines, at most maxTCPProbes at a time (a
// probe that finds no slot is skipped and counted), each bounded by
// tcpProbeTimeout; results go to the control goroutine on a buffered
// channel without blocking. The control goroutine never waits for them.
type tcpProbe struct {
	slots   chan struct{}
	results chan tcpProbeResult
	dial    func(ctx context.Context, src netip.Addr, dst netip.AddrPort) error
}

type tcpProbeResult struct {
	client netip.AddrPort
	at     time.Time
	err    error
}

const (
	maxTCPProbes    = 64
	tcpProbeTimeout = 2 * time.Second
)

func newTCPProbe(dial func(ctx context.Context, src netip.Addr, dst netip.AddrPort) error) *tcpProbe {
	if dial == nil {
		dial = dialProbe
	}
	return &tcpProbe{
		slots:   make(chan struct{}, maxTCPProbes),
		results: make(chan tcpProbeResult, maxTCPProbes),
		dial:    dial,
	}
}

// start begins a probe; false when every slot is busy.
func (p *tcpProbe) start(ctx context.Context, src netip.Addr, dst netip.AddrPort, now func() time.Time) bool {
	select {
	case p.slots <- struct{}{}:
	default:
		return false
	}
	go func() {
		defer func() { <-p.slots }()
		ctx, cancel := context.WithTimeout(ctx, tcpProbeTimeout)
		defer cancel()
		err := p.dial(ctx, src, dst)
		select {
		case p.results <- tcpProbeResult{client: dst, at: now(), err: err}:
		default: // cannot happen: one result per slot
		}
	}()
	return true
}

func dialProbe(ctx context.Context, src netip.Addr, dst netip.AddrPort) error {
	d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
	c, err := d.DialContext(ctx, "tcp", dst.String())
	if err != nil {
		return err
	}
	// A reset instead of a FIN: nothing of the client's session logic runs.
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	return c.Close()
}
