package rawsend

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"golang.org/x/sys/unix"
)

// ErrBusy is returned (wrapped) when the kernel cannot take a packet at
// once: the socket's send buffer is full, typically because packets wait
// for a neighbour that does not answer ARP or neighbour discovery. The
// packet is dropped; sending never blocks the caller.
var ErrBusy = errors.New("raw socket busy (send buffer full); packet dropped")

// Sender owns one raw socket per address family. It is safe for concurrent
// use; each Send builds the packet in a pooled buffer.
type Sender struct {
	fd4, fd6 int
	mu       sync.Mutex
	buf      []byte
	id       uint16
}

// Open opens the raw sockets in the calling thread's network namespace.
func Open() (*Sender, error) {
	fd4, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		return nil, fmt.Errorf("open raw IPv4 socket (needs CAP_NET_RAW): %w", err)
	}
	if err := unix.SetsockoptInt(fd4, unix.IPPROTO_IP, unix.IP_HDRINCL, 1); err != nil {
		unix.Close(fd4)
		return nil, fmt.Errorf("raw IPv4 socket: IP_HDRINCL: %w", err)
	}
	s := &Sender{fd4: fd4, fd6: -1, buf: make([]byte, 0, 2048)}
	fd6, err := unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err == nil {
		s.fd6 = fd6
	} else if !errors.Is(err, unix.EAFNOSUPPORT) {
		unix.Close(fd4)
		return nil, fmt.Errorf("open raw IPv6 socket (needs CAP_NET_RAW): %w", err)
	}
	return s, nil
}

// SendUDP sends payload from src to dst as one UDP datagram.
func (s *Sender) SendUDP(src, dst netip.AddrPort, payload []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.id++
	pkt, err := AppendUDP(s.buf[:0], src, dst, payload, s.id)
	if err != nil {
		return fmt.Errorf("spoof %s → %s: %w", src, dst, err)
	}
	s.buf = pkt[:0]
	da := dst.Addr().Unmap()
	if da.Is4() {
		sa := &unix.SockaddrInet4{Addr: da.As4()}
		err = unix.Sendto(s.fd4, pkt, unix.MSG_DONTWAIT, sa)
	} else {
		if s.fd6 < 0 {
			return fmt.Errorf("send to %s: IPv6 is not available on this host", dst)
		}
		// For IPPROTO_RAW the port field must be zero, or the kernel rejects it.
		sa := &unix.SockaddrInet6{Addr: da.As16()}
		err = unix.Sendto(s.fd6, pkt, unix.MSG_DONTWAIT, sa)
	}
	switch {
	case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.ENOBUFS):
		return fmt.Errorf("send UDP %s → %s: %w (%w)", src, dst, ErrBusy, err)
	case err != nil:
		return fmt.Errorf("send UDP %s → %s: %w", src, dst, err)
	}
	return nil
}

// Close closes both sockets.
func (s *Sender) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.fd4 >= 0 {
		err = unix.Close(s.fd4)
		s.fd4 = -1
	}
	if s.fd6 >= 0 {
		if e := unix.Close(s.fd6); err == nil {
			err = e
		}
		s.fd6 = -1
	}
	return err
}
