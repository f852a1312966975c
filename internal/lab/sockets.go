package lab

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// ListenTCP opens a TCP listener inside n; network is "tcp", "tcp4" or
// "tcp6", addr as for net.Listen.
func (n *NS) ListenTCP(network, addr string) (net.Listener, error) {
	var l net.Listener
	err := n.Do(func() error {
		var err error
		l, err = net.Listen(network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listen on %s %s in network namespace %s: %w", network, addr, n.Name, err)
	}
	return l, nil
}

// ListenUDP opens a UDP socket bound to addr inside n. Bind peer addresses
// explicitly (not the wildcard) when replies must come from them.
func (n *NS) ListenUDP(network, addr string) (*net.UDPConn, error) {
	var c net.PacketConn
	err := n.Do(func() error {
		var err error
		c, err = net.ListenPacket(network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listen on %s %s in network namespace %s: %w", network, addr, n.Name, err)
	}
	uc, ok := c.(*net.UDPConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("listen on %s %s: not a UDP network", network, addr)
	}
	return uc, nil
}

// Dial connects from inside n with d (nil: a zero net.Dialer); the whole
// dial, including the wait for the handshake, runs in the namespace thread.
// Give ctx a short deadline where the connection is expected to be dropped.
func (n *NS) Dial(ctx context.Context, d *net.Dialer, network, addr string) (net.Conn, error) {
	if d == nil {
		d = &net.Dialer{}
	}
	var c net.Conn
	err := n.Do(func() error {
		var err error
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dial %s %s from network namespace %s: %w", network, addr, n.Name, err)
	}
	return c, nil
}

// DialTCP connects by TCP from inside n to addr ("host:port").
func (n *NS) DialTCP(ctx context.Context, network, addr string) (net.Conn, error) {
	return n.Dial(ctx, nil, network, addr)
}

// DialTCPFrom connects by TCP from the local address src (which must exist
// in n) to dst.
func (n *NS) DialTCPFrom(ctx context.Context, src netip.Addr, dst netip.AddrPort) (net.Conn, error) {
	d := &net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
	return n.Dial(ctx, d, "tcp", dst.String())
}

// DialUDP opens a connected UDP socket inside n towards dst; src may be the
// zero Addr to let the kernel choose.
func (n *NS) DialUDP(src netip.Addr, dst netip.AddrPort) (*net.UDPConn, error) {
	var laddr *net.UDPAddr
	if src.IsValid() {
		laddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0))
	}
	network := "udp4"
	if dst.Addr().Is6() && !dst.Addr().Is4In6() {
		network = "udp6"
	}
	var c *net.UDPConn
	err := n.Do(func() error {
		var err error
		c, err = net.DialUDP(network, laddr, net.UDPAddrFromAddrPort(dst))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open UDP socket towards %s in network namespace %s: %w", dst, n.Name, err)
	}
	return c, nil
}

// Dialer dials TCP from inside NS for clients that take a dialer with
// Dial(network, address), such as the NATS client's custom dialer.
type Dialer struct {
	NS      *NS
	Timeout time.Duration // 0 = 2 s
}

// Dial connects to address from inside d.NS.
func (d Dialer) Dial(network, address string) (net.Conn, error) {
	t := d.Timeout
	if t == 0 {
		t = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), t)
	defer cancel()
	return d.NS.DialTCP(ctx, network, address)
}
