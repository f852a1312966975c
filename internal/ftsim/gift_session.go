package ftsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// giftSessionStart is the first payload of every giFT session, always the
// same 12 bytes: the fixed "random" 0xFA00B62B, the fixed seed 0xFACB1238
// and the encryption type 0x29 mangled with that seed (by giFT-FastTrack
// 0.8.9's fst_cipher_mangle_enc_type: 0x3209D232).
var giftSessionStart = [sessionClientBytes]byte{
	0xfa, 0x00, 0xb6, 0x2b,
	0xfa, 0xcb, 0x12, 0x38,
	0x32, 0x09, 0xd2, 0x32,
}

// giftNodeInfoBytes is the size of giFT's first session message after the
// handshake (its node info: address, port, bandwidth, alias), as measured.
const giftNodeInfoBytes = 21

// giftConn is one connect and session, owned by its goroutine; its record
// is guarded by Gift.mu.
type giftConn struct {
	node        netip.AddrPort
	rec         GiftSession
	idx         int  // index in rep.Sessions, -1 when not recorded
	established bool // set by the main loop when it handled the event
}

// startSession starts a connect to node: with a raw connector the SYN has
// left when it returns.
func (g *Gift) startSession(node netip.AddrPort) {
	c := &giftConn{node: node, idx: -1}
	g.mu.Lock()
	g.rep.Connects++
	c.rec = GiftSession{
		Node: node, Seq: g.nextSeq(), StartMS: g.since(),
		ConnectedMS: -1, HandshakeMS: -1, EstablishedMS: -1, EndMS: -1,
		Stage: StageConnect,
	}
	if len(g.rep.Sessions) < MaxRecords {
		c.idx = len(g.rep.Sessions)
		g.rep.Sessions = append(g.rep.Sessions, c.rec)
	}
	g.mu.Unlock()
	g.sessions[key(node)] = c
	var conn net.Conn
	var err error
	if g.raw != nil {
		conn, err = rawConnect(g.raw, node)
	}
	g.log.Debug("connecting", "node", node)
	g.sessWG.Add(1)
	go g.runSession(c, conn, err)
}

// update changes c's record; g.mu is taken.
func (g *Gift) update(c *giftConn, f func(r *GiftSession)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f(&c.rec)
	if c.idx < 0 && c.rec.ConnectedMS >= 0 && len(g.rep.Sessions) < 2*MaxRecords {
		c.idx = len(g.rep.Sessions)
		g.rep.Sessions = append(g.rep.Sessions, GiftSession{})
	}
	if c.idx >= 0 {
		r := c.rec
		r.Writes = append([]int(nil), r.Writes...)
		g.rep.Sessions[c.idx] = r
	}
}

// runSession connects (or waits for the raw connect), plays giFT's side of
// the handshake and keeps the established session open, reading, until
// the node ends it or the client stops.
func (g *Gift) runSession(c *giftConn, conn net.Conn, err error) {
	defer g.sessWG.Done()
	ctx := g.sessCtx
	deadline := time.Now().Add(g.opts.ConnectTimeout)
	switch {
	case g.raw == nil:
		dctx, cancel := context.WithDeadline(ctx, deadline)
		conn, err = g.opts.Net.DialContext(dctx, "tcp", c.node.String())
		cancel()
	case err == nil:
		err = waitConnected(ctx, conn, deadline)
	}
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		end := dialResult(err)
		if ctx.Err() != nil {
			end = EndStopped
		}
		g.finish(c, end, err, func(r *GiftSession) {
			if end != EndStopped {
				r.Result = end
			}
		})
		return
	}
	defer conn.Close()
	conn.SetWriteDeadline(time.Time{})
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true) // one segment per message, as measured
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	g.update(c, func(r *GiftSession) {
		r.Result, r.ConnectedMS, r.Stage = ResultConnected, g.since(), StageHandshake
		r.Local = addrPortOf(conn.LocalAddr())
	})
	g.mu.Lock()
	g.rep.ConnectsOK++
	g.mu.Unlock()

	end, err := g.handshake(c, conn)
	if err == nil {
		g.log.Info("ESTABLISHED session", "node", c.node)
		g.send(giftEvent{established: c})
		end, err = g.quiet(c, conn)
	}
	if ctx.Err() != nil {
		end = EndStopped
	}
	g.finish(c, end, err, nil)
}

// handshake sends the 12-byte start, reads the node's 8 bytes, sends the
// network name (encrypted in giFT: random bytes here), reads the node's,
// and sends the node info message.
func (g *Gift) handshake(c *giftConn, conn net.Conn) (string, error) {
	nameLen := len(g.opts.Network) + 1
	if err := g.write(c, conn, giftSessionStart[:]); err != nil {
		return connEnd(err), err
	}
	if err := g.read(c, conn, sessionServerBytes); err != nil {
		return connEnd(err), err
	}
	g.update(c, func(r *GiftSession) { r.HandshakeMS, r.Stage = g.since(), StageNetName })
	g.mu.Lock()
	g.rep.Handshakes++
	g.mu.Unlock()
	if err := g.write(c, conn, randomBytes(nameLen)); err != nil {
		return connEnd(err), err
	}
	if err := g.read(c, conn, nameLen); err != nil {
		return connEnd(err), err
	}
	g.update(c, func(r *GiftSession) { r.EstablishedMS, r.Stage = g.since(), StageEstablished })
	if err := g.write(c, conn, randomBytes(giftNodeInfoBytes)); err != nil {
		return connEnd(err), err
	}
	return "", nil
}

func (g *Gift) write(c *giftConn, conn net.Conn, b []byte) error {
	n, err := conn.Write(b)
	g.update(c, func(r *GiftSession) {
		r.Up += n
		r.Writes = append(r.Writes, n)
	})
	return err
}

// setReadDeadline sets a read deadline that does not undo the one the end
// of the run set.
func (g *Gift) setReadDeadline(conn net.Conn, t time.Time) {
	conn.SetReadDeadline(t)
	if g.sessCtx.Err() != nil {
		conn.SetDeadline(time.Unix(1, 0))
	}
}

// read reads exactly n bytes within HandshakeTimeout.
func (g *Gift) read(c *giftConn, conn net.Conn, n int) error {
	g.setReadDeadline(conn, time.Now().Add(g.opts.HandshakeTimeout))
	buf := make([]byte, n)
	got, err := io.ReadFull(conn, buf)
	g.update(c, func(r *GiftSession) { r.Down += got })
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return err
}

// quiet keeps the established session open, counting what the node sends,
// until the connection ends.
func (g *Gift) quiet(c *giftConn, conn net.Conn) (string, error) {
	g.setReadDeadline(conn, time.Time{})
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			g.update(c, func(r *GiftSession) { r.Down += n })
		}
		if err != nil {
			return connEnd(err), err
		}
	}
}

// finish records the end and tells the main loop.
func (g *Gift) finish(c *giftConn, end string, err error, f func(r *GiftSession)) {
	g.update(c, func(r *GiftSession) {
		if f != nil {
			f(r)
		}
		r.End, r.EndMS = end, g.since()
		if err != nil && end != EndEOF && end != EndStopped {
			r.Error = err.Error()
		}
	})
	g.log.Debug("session ended", "node", c.node, "end", end, "err", err)
	g.send(giftEvent{ended: c})
}

// send hands an event to the main loop (dropped once it has ended).
func (g *Gift) send(ev giftEvent) {
	select {
	case g.events <- ev:
	case <-g.loopDone:
	}
}

// rawConnector returns how to open sockets where nw opens them, for the
// Nets whose sockets are plain kernel sockets (System, InNamespace).
func rawConnector(nw Net) func(func() error) error {
	switch n := nw.(type) {
	case System, *System:
		return func(fn func() error) error { return fn() }
	case nsNet:
		return n.do
	}
	return nil
}

// rawConnect opens a non-blocking TCP socket and connects it, as giFT's
// tcp_open does: Linux sends the SYN within connect(2), so it has left
// when rawConnect returns. The connection is usable once waitConnected
// says so.
func rawConnect(run func(func() error) error, node netip.AddrPort) (net.Conn, error) {
	var fd = -1
	err := run(func() error {
		family := unix.AF_INET
		var sa unix.Sockaddr = &unix.SockaddrInet4{Port: int(node.Port()), Addr: node.Addr().As4()}
		if node.Addr().Is6() {
			family = unix.AF_INET6
			sa = &unix.SockaddrInet6{Port: int(node.Port()), Addr: node.Addr().As16()}
		}
		s, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
		if err != nil {
			return os.NewSyscallError("socket", err)
		}
		if err := unix.Connect(s, sa); err != nil && !errors.Is(err, unix.EINPROGRESS) {
			unix.Close(s)
			return os.NewSyscallError("connect", err)
		}
		fd = s
		return nil
	})
	if err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(node), Err: err}
	}
	f := os.NewFile(uintptr(fd), "ftsim-gift-tcp")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", node, err)
	}
	return conn, nil
}

// waitConnected waits until the connect of a rawConnect connection has
// finished (or the deadline) and returns its error.
func waitConnected(ctx context.Context, conn net.Conn, deadline time.Time) error {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return errors.New("not a socket")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	if err := conn.SetWriteDeadline(deadline); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	var result error
	err = rc.Write(func(fd uintptr) bool {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		n, err := unix.Poll(pfd, 0)
		switch {
		case errors.Is(err, unix.EINTR):
			return false
		case err != nil:
			result = os.NewSyscallError("poll", err)
			return true
		case n == 0:
			return false // still connecting: wait until writable
		}
		v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		switch {
		case err != nil:
			result = os.NewSyscallError("getsockopt", err)
		case v != 0:
			result = os.NewSyscallError("connect", syscall.Errno(v))
		}
		return true
	})
	if err == nil {
		err = result
	}
	if err != nil {
		return &net.OpError{Op: "dial", Net: "tcp", Err: err}
	}
	return nil
}
