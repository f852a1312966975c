package bench

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ftwall/ftwall/internal/lab"
)

// Datagram is one prepared message of a flood: its destination and its bytes
// (a UDP payload for a UDP socket, a whole IP packet for a raw socket).
type Datagram struct {
	To   netip.AddrPort
	Data []byte
}

// mmsghdr is struct mmsghdr of sendmmsg(2); Go pads it like C does.
type mmsghdr struct {
	Hdr unix.Msghdr
	Len uint32
}

// batchSize is the number of messages per sendmmsg call.
const batchSize = 64

// FloodSocket is a socket opened inside a lab namespace for a flood.
type FloodSocket struct {
	fd   int
	six  bool
	kind string
}

// OpenUDPSocket opens an unconnected UDP socket in ns (IPv6 when six).
func OpenUDPSocket(ns *lab.NS, six bool) (*FloodSocket, error) {
	return openSocket(ns, six, unix.SOCK_DGRAM, unix.IPPROTO_UDP, "UDP")
}

// OpenRawSocket opens a raw IPv4 socket in ns that sends whole IP packets
// (IPPROTO_RAW implies IP_HDRINCL).
func OpenRawSocket(ns *lab.NS) (*FloodSocket, error) {
	return openSocket(ns, false, unix.SOCK_RAW, unix.IPPROTO_RAW, "raw IPv4")
}

func openSocket(ns *lab.NS, six bool, typ, proto int, kind string) (*FloodSocket, error) {
	family := unix.AF_INET
	if six {
		family = unix.AF_INET6
	}
	var fd int
	err := ns.Do(func() error {
		var err error
		fd, err = unix.Socket(family, typ|unix.SOCK_CLOEXEC, proto)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open a %s socket in network namespace %s: %w", kind, ns.Name, err)
	}
	// A larger send buffer keeps sendmmsg from blocking between batches.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 4<<20)
	return &FloodSocket{fd: fd, six: six, kind: kind}, nil
}

// Close closes the socket.
func (s *FloodSocket) Close() error { return unix.Close(s.fd) }

// SendEach sends every message once, in order (not a flood: a few hundred
// packets, one sendto each).
func (s *FloodSocket) SendEach(msgs []Datagram) error {
	for _, d := range msgs {
		a := d.To.Addr()
		if s.six != (a.Is6() && !a.Is4In6()) {
			return fmt.Errorf("send: destination %s does not fit the socket's address family", d.To)
		}
		var to unix.Sockaddr
		if s.six {
			to = &unix.SockaddrInet6{Port: int(d.To.Port()), Addr: a.As16()}
		} else {
			to = &unix.SockaddrInet4{Port: int(d.To.Port()), Addr: a.Unmap().As4()}
		}
		if err := unix.Sendto(s.fd, d.Data, 0, to); err != nil {
			return fmt.Errorf("send to %s on the %s socket: %w", d.To, s.kind, err)
		}
	}
	return nil
}

// FloodConfig describes one flood.
type FloodConfig struct {
	Messages []Datagram // sent round-robin
	CPU      int        // the sending thread is pinned to this CPU (-1: not pinned)
	Rate     float64    // packets per second; 0 = as fast as possible
	// Sent, when set, is increased as messages go out (for rates over a
	// window of the flood).
	Sent *atomic.Uint64
}

// Flood sends cfg.Messages round-robin until ctx is done and returns the
// number of messages the kernel accepted. It runs on a thread of its own,
// pinned to cfg.CPU, with blocking sendmmsg calls.
func (s *FloodSocket) Flood(ctx context.Context, cfg FloodConfig) (uint64, error) {
	if len(cfg.Messages) == 0 {
		return 0, errors.New("flood: no messages")
	}
	msgs, keep, err := s.prepare(cfg.Messages)
	if err != nil {
		return 0, err
	}
	type result struct {
		n   uint64
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: a pinned thread ends with the goroutine
		if cfg.CPU >= 0 {
			var set unix.CPUSet
			set.Set(cfg.CPU)
			_ = unix.SchedSetaffinity(0, &set)
		}
		n, err := s.send(ctx, msgs, cfg.Rate, cfg.Sent)
		done <- result{n, err}
	}()
	r := <-done
	runtime.KeepAlive(keep)
	return r.n, r.err
}

// prepared holds the memory the message headers point to.
type prepared struct {
	names [][]byte
	iovs  []unix.Iovec
	data  [][]byte
}

func (s *FloodSocket) prepare(in []Datagram) ([]mmsghdr, *prepared, error) {
	p := &prepared{iovs: make([]unix.Iovec, len(in))}
	msgs := make([]mmsghdr, len(in))
	for i, d := range in {
		name, err := sockaddr(d.To, s.six)
		if err != nil {
			return nil, nil, err
		}
		data := append([]byte(nil), d.Data...)
		p.names = append(p.names, name)
		p.data = append(p.data, data)
		p.iovs[i].Base = &data[0]
		p.iovs[i].SetLen(len(data))
		msgs[i].Hdr.Name = &name[0]
		msgs[i].Hdr.Namelen = uint32(len(name))
		msgs[i].Hdr.Iov = &p.iovs[i]
		msgs[i].Hdr.SetIovlen(1)
	}
	return msgs, p, nil
}

// sockaddr encodes a destination as struct sockaddr_in / sockaddr_in6.
func sockaddr(ap netip.AddrPort, six bool) ([]byte, error) {
	a := ap.Addr()
	port := ap.Port()
	if six != (a.Is6() && !a.Is4In6()) {
		return nil, fmt.Errorf("flood: destination %s does not fit the socket's address family", ap)
	}
	if !six {
		var sa unix.RawSockaddrInet4
		sa.Family = unix.AF_INET
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		p[0], p[1] = byte(port>>8), byte(port)
		sa.Addr = a.Unmap().As4()
		return unsafe.Slice((*byte)(unsafe.Pointer(&sa)), unix.SizeofSockaddrInet4), nil
	}
	var sa unix.RawSockaddrInet6
	sa.Family = unix.AF_INET6
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	p[0], p[1] = byte(port>>8), byte(port)
	sa.Addr = a.As16()
	return unsafe.Slice((*byte)(unsafe.Pointer(&sa)), unix.SizeofSockaddrInet6), nil
}

func (s *FloodSocket) send(ctx context.Context, msgs []mmsghdr, rate float64, counter *atomic.Uint64) (uint64, error) {
	var sent uint64
	start := time.Now()
	i := 0
	for ctx.Err() == nil {
		// Check the clock every few batches only: time.Now is not free.
		for range 16 {
			n := min(batchSize, len(msgs)-i)
			r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&msgs[i])), uintptr(n), 0, 0, 0)
			switch errno {
			case 0:
				sent += uint64(r)
				i = (i + int(r)) % len(msgs)
				if counter != nil {
					counter.Add(uint64(r))
				}
			case unix.EINTR, unix.EAGAIN, unix.ENOBUFS, unix.ECONNREFUSED, unix.EPERM:
				// Transient: a full queue, an ICMP error reported on the
				// socket, a local filter; the flood goes on.
				i = (i + 1) % len(msgs)
			default:
				return sent, fmt.Errorf("flood: sendmmsg on the %s socket: %w", s.kind, errno)
			}
		}
		if rate > 0 {
			due := start.Add(time.Duration(float64(sent) / rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
		}
	}
	return sent, nil
}
