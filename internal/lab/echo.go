package lab

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Echo is a TCP or UDP echo server running inside a namespace. It returns
// every byte (TCP) or datagram (UDP) to its sender until Close.
type Echo struct {
	// Addr is the address the server is bound to.
	Addr netip.AddrPort

	closer io.Closer
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// StartEchoTCP starts a TCP echo server in n listening on addr (network as
// for net.Listen). Connections accepted from any peer address of the
// namespace answer from the address they were made to.
func (n *NS) StartEchoTCP(network, addr string) (*Echo, error) {
	l, err := n.ListenTCP(network, addr)
	if err != nil {
		return nil, err
	}
	e := &Echo{Addr: l.Addr().(*net.TCPAddr).AddrPort(), closer: l, conns: map[net.Conn]struct{}{}}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if !e.track(c) {
				c.Close()
				return
			}
			go func() {
				defer e.wg.Done()
				defer e.untrack(c)
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return e, nil
}

// StartEchoUDP starts a UDP echo server in n bound to addr. Bind a specific
// address, not the wildcard, so that answers come from the address that was
// asked.
func (n *NS) StartEchoUDP(network, addr string) (*Echo, error) {
	c, err := n.ListenUDP(network, addr)
	if err != nil {
		return nil, err
	}
	e := &Echo{Addr: c.LocalAddr().(*net.UDPAddr).AddrPort(), closer: c}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		buf := make([]byte, 65536)
		for {
			k, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue // e.g. an ICMP error reported on the socket
			}
			_, _ = c.WriteToUDPAddrPort(buf[:k], from)
		}
	}()
	return e, nil
}

// track registers a connection and its goroutine unless e is closed.
func (e *Echo) track(c net.Conn) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.conns[c] = struct{}{}
	e.wg.Add(1)
	return true
}

func (e *Echo) untrack(c net.Conn) {
	e.mu.Lock()
	delete(e.conns, c)
	e.mu.Unlock()
	c.Close()
}

// Close stops the server, closes its connections and waits for its
// goroutines. It is idempotent.
func (e *Echo) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	err := e.closer.Close()
	for c := range e.conns {
		c.Close()
	}
	e.mu.Unlock()
	e.wg.Wait()
	return err
}

// RoundTrip writes msg on c and reads until the same bytes came back, all
// within timeout: one check that a connection (TCP stream or connected UDP
// socket) to an Echo works.
func RoundTrip(c net.Conn, msg []byte, timeout time.Duration) error {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return fmt.Errorf("set deadline: %w", err)
	}
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write(msg); err != nil {
		return fmt.Errorf("write to %s: %w", c.RemoteAddr(), err)
	}
	got := make([]byte, 0, len(msg))
	buf := make([]byte, len(msg))
	for len(got) < len(msg) {
		k, err := c.Read(buf[:len(msg)-len(got)])
		if err != nil {
			return fmt.Errorf("read echo from %s: %w", c.RemoteAddr(), err)
		}
		got = append(got, buf[:k]...)
		if _, ok := c.(*net.UDPConn); ok && len(got) < len(msg) {
			return fmt.Errorf("echo from %s: short datagram (%d of %d bytes)", c.RemoteAddr(), len(got), len(msg))
		}
	}
	if !bytes.Equal(got, msg) {
		return fmt.Errorf("echo from %s: got %q, want %q", c.RemoteAddr(), got, msg)
	}
	return nil
}
