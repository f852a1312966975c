package ftsim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// udpSock is a UDP socket that answers from the address a datagram was sent
// to: a node bound to the wildcard address that owns many peer addresses
// must answer a ping to 198.51.100.7 from 198.51.100.7, because FastTrack
// clients match a pong to their ping by source address.
type udpSock struct {
	pc      net.PacketConn
	udp     *net.UDPConn // nil when the Net returned another PacketConn
	v6      bool
	pktinfo bool // destination addresses are reported and used as sources
}

// newUDPSock wraps pc; for a wildcard-bound *net.UDPConn it asks the kernel
// for each datagram's destination address (IP_PKTINFO / IPV6_RECVPKTINFO).
func newUDPSock(pc net.PacketConn, v6, wildcard bool) (*udpSock, error) {
	s := &udpSock{pc: pc, v6: v6}
	u, ok := pc.(*net.UDPConn)
	if !ok {
		return s, nil
	}
	s.udp = u
	if !wildcard {
		return s, nil
	}
	rc, err := u.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("UDP socket: %w", err)
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		if v6 {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
		} else {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
		}
	})
	if err = errors.Join(err, serr); err != nil {
		return nil, fmt.Errorf("UDP socket: ask for destination addresses (pktinfo): %w", err)
	}
	s.pktinfo = true
	return s, nil
}

// oobSize is enough for one IPv4 or IPv6 pktinfo control message.
func oobSize() int {
	return unix.CmsgSpace(unix.SizeofInet6Pktinfo) + unix.CmsgSpace(unix.SizeofInet4Pktinfo)
}

// read reads one datagram. dst is the address it was sent to when the socket
// reports it (invalid otherwise); ifindex is the interface it arrived on.
func (s *udpSock) read(buf, oob []byte) (n int, from netip.AddrPort, dst netip.Addr, ifindex int, err error) {
	if s.udp == nil {
		var a net.Addr
		n, a, err = s.pc.ReadFrom(buf)
		if err != nil {
			return 0, netip.AddrPort{}, netip.Addr{}, 0, err
		}
		from = addrPortOf(a)
		return n, from, netip.Addr{}, 0, nil
	}
	n, oobn, _, from, err := s.udp.ReadMsgUDPAddrPort(buf, oob)
	if err != nil {
		return 0, netip.AddrPort{}, netip.Addr{}, 0, err
	}
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	if s.pktinfo {
		dst, ifindex = parsePktinfo(oob[:oobn])
	}
	if !dst.IsValid() {
		dst = s.localAddr()
	}
	return n, from, dst, ifindex, nil
}

// localAddr is the bound address when it is not the wildcard.
func (s *udpSock) localAddr() netip.Addr {
	ap := addrPortOf(s.pc.LocalAddr())
	if !ap.Addr().IsValid() || ap.Addr().IsUnspecified() {
		return netip.Addr{}
	}
	return ap.Addr()
}

// send sends b to to; when src is valid and the socket is wildcard-bound,
// src is the packet's source address.
func (s *udpSock) send(b []byte, to netip.AddrPort, src netip.Addr, ifindex int) error {
	if s.udp == nil {
		_, err := s.pc.WriteTo(b, net.UDPAddrFromAddrPort(to))
		return err
	}
	var oob []byte
	if s.pktinfo && src.IsValid() {
		if s.v6 {
			info := unix.Inet6Pktinfo{Addr: src.As16()}
			if src.IsLinkLocalUnicast() {
				info.Ifindex = uint32(ifindex)
			}
			oob = unix.PktInfo6(&info)
		} else if src.Is4() {
			oob = unix.PktInfo4(&unix.Inet4Pktinfo{Spec_dst: src.As4()})
		}
	}
	_, _, err := s.udp.WriteMsgUDPAddrPort(b, oob, to)
	return err
}

func (s *udpSock) Close() error { return s.pc.Close() }

// parsePktinfo returns the destination address and interface of an
// IP_PKTINFO or IPV6_PKTINFO control message in oob.
func parsePktinfo(oob []byte) (netip.Addr, int) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return netip.Addr{}, 0
	}
	for _, m := range msgs {
		switch {
		case m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_PKTINFO && len(m.Data) >= unix.SizeofInet4Pktinfo:
			// struct in_pktinfo { int ifindex; in_addr spec_dst; in_addr addr; }
			ifindex := int(binary.NativeEndian.Uint32(m.Data[0:4]))
			return netip.AddrFrom4([4]byte(m.Data[8:12])), ifindex
		case m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_PKTINFO && len(m.Data) >= unix.SizeofInet6Pktinfo:
			// struct in6_pktinfo { in6_addr addr; unsigned int ifindex; }
			ifindex := int(binary.NativeEndian.Uint32(m.Data[16:20]))
			return netip.AddrFrom16([16]byte(m.Data[0:16])).Unmap(), ifindex
		}
	}
	return netip.Addr{}, 0
}

// addrPortOf converts a *net.UDPAddr or *net.TCPAddr; anything else gives the
// zero AddrPort.
func addrPortOf(a net.Addr) netip.AddrPort {
	var ap netip.AddrPort
	switch v := a.(type) {
	case *net.UDPAddr:
		ap = v.AddrPort()
	case *net.TCPAddr:
		ap = v.AddrPort()
	default:
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
