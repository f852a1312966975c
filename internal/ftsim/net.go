package ftsim

import (
	"context"
	"net"
)

// Net opens the sockets of a Client or Node. The methods have the shapes of
// net.ListenConfig.ListenPacket, net.ListenConfig.Listen and
// net.Dialer.DialContext. The sockets returned may be used from any
// goroutine.
type Net interface {
	ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error)
	Listen(ctx context.Context, network, address string) (net.Listener, error)
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// System opens sockets with the net package, in the network namespace of the
// calling thread: for a process started by `ip netns exec`, that namespace.
type System struct{}

// ListenPacket implements Net.
func (System) ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error) {
	var lc net.ListenConfig
	return lc.ListenPacket(ctx, network, address)
}

// Listen implements Net.
func (System) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	var lc net.ListenConfig
	return lc.Listen(ctx, network, address)
}

// DialContext implements Net.
func (System) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

// InNamespace returns a Net that opens every socket inside do, which must
// run its function in the wanted network namespace (for example a test lab's
// NS.Do) and return its error. A dial blocks inside do until it connects or
// fails. Sockets keep their namespace afterwards.
func InNamespace(do func(fn func() error) error) Net {
	return nsNet{do: do}
}

type nsNet struct {
	do func(fn func() error) error
}

func (n nsNet) ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error) {
	var pc net.PacketConn
	err := n.do(func() error {
		var err error
		pc, err = System{}.ListenPacket(ctx, network, address)
		return err
	})
	if err != nil {
		if pc != nil {
			pc.Close()
		}
		return nil, err
	}
	return pc, nil
}

func (n nsNet) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	var ln net.Listener
	err := n.do(func() error {
		var err error
		ln, err = System{}.Listen(ctx, network, address)
		return err
	})
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return nil, err
	}
	return ln, nil
}

func (n nsNet) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var c net.Conn
	err := n.do(func() error {
		var err error
		c, err = System{}.DialContext(ctx, network, address)
		return err
	})
	if err != nil {
		if c != nil {
			c.Close()
		}
		return nil, err
	}
	return c, nil
}
