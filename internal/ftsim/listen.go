package ftsim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// sockets are the UDP sockets and TCP listeners of a client or node, all on
// the same port number (Kazaa 2.x listens for UDP on its TCP port).
type sockets struct {
	udp   []*udpSock
	tcp   []net.Listener
	port  uint16
	notes []string // families skipped because the namespace lacks them
}

func (s *sockets) close() {
	for _, u := range s.udp {
		u.Close()
	}
	for _, l := range s.tcp {
		l.Close()
	}
}

// portAttempts bounds the retries when an ephemeral port number picked for
// one family is taken in another.
const portAttempts = 20

// openSockets opens a UDP socket and/or a TCP listener on each address (the
// IPv4 and IPv6 wildcards when addrs is empty), all with the same port
// number; port 0 picks a free one. Without explicit addresses a namespace
// without IPv6 is tolerated (noted in notes).
func openSockets(ctx context.Context, nw Net, addrs []netip.Addr, port uint16, wantUDP, wantTCP bool) (*sockets, error) {
	explicit := len(addrs) > 0
	if !explicit {
		addrs = []netip.Addr{netip.IPv4Unspecified(), netip.IPv6Unspecified()}
	}
	var lastErr error
	for range portAttempts {
		s, err := tryOpenSockets(ctx, nw, addrs, explicit, port, wantUDP, wantTCP)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if port != 0 || !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	return nil, lastErr
}

func tryOpenSockets(ctx context.Context, nw Net, addrs []netip.Addr, explicit bool, port uint16, wantUDP, wantTCP bool) (*sockets, error) {
	s := &sockets{port: port}
	for _, a := range addrs {
		a = a.Unmap()
		var udp *udpSock
		var tcp net.Listener
		err := func() error {
			if wantTCP {
				ln, err := nw.Listen(ctx, tcpNetwork(a), netip.AddrPortFrom(a, s.port).String())
				if err != nil {
					return fmt.Errorf("listen on TCP %s port %d: %w", a, s.port, err)
				}
				tcp = ln
				if s.port == 0 {
					s.port = addrPortOf(ln.Addr()).Port()
				}
			}
			if wantUDP {
				pc, err := nw.ListenPacket(ctx, udpNetwork(a), netip.AddrPortFrom(a, s.port).String())
				if err != nil {
					return fmt.Errorf("listen on UDP %s port %d: %w", a, s.port, err)
				}
				if s.port == 0 {
					s.port = addrPortOf(pc.LocalAddr()).Port()
				}
				u, err := newUDPSock(pc, a.Is6(), a.IsUnspecified())
				if err != nil {
					pc.Close()
					return err
				}
				udp = u
			}
			return nil
		}()
		if err != nil {
			if tcp != nil {
				tcp.Close()
			}
			if !explicit && a.Is6() && familyMissing(err) {
				s.notes = append(s.notes, fmt.Sprintf("IPv6 skipped: %v", err))
				continue
			}
			s.close()
			return nil, err
		}
		if udp != nil {
			s.udp = append(s.udp, udp)
		}
		if tcp != nil {
			s.tcp = append(s.tcp, tcp)
		}
	}
	if len(s.udp) == 0 && len(s.tcp) == 0 {
		return nil, fmt.Errorf("no usable listen address: %v", s.notes)
	}
	return s, nil
}

// familyMissing reports whether err says the address family is not there
// (IPv6 disabled in the namespace).
func familyMissing(err error) bool {
	return errors.Is(err, syscall.EAFNOSUPPORT) || errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EPROTONOSUPPORT)
}

func tcpNetwork(a netip.Addr) string {
	if a.Is4() {
		return "tcp4"
	}
	return "tcp6"
}

func udpNetwork(a netip.Addr) string {
	if a.Is4() {
		return "udp4"
	}
	return "udp6"
}
