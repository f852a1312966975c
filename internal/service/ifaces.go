package service

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// ifaceView is a snapshot of the interfaces ftwall cares about: which input
// interfaces are LAN (only packets arriving there are evidence), the
// firewall's own addresses (never peers) and the LAN-side addresses probes
// are sent from. It is rebuilt at start and on reload, and when a packet
// arrives on an interface index it has not seen.
type ifaceView struct {
	lanIndex map[uint32]bool // ifindex → is LAN
	own      []netip.Addr
	lanNets  []netip.Prefix // address/prefix of each LAN interface
}

// interfaceLister is the seam for tests; net.Interfaces in production.
type interfaceLister interface {
	Interfaces() ([]netIface, error)
}

type netIface struct {
	Index int
	Name  string
	Addrs []netip.Prefix
}

type sysInterfaces struct{}

func (sysInterfaces) Interfaces() ([]netIface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list network interfaces: %w", err)
	}
	out := make([]netIface, 0, len(ifs))
	for _, ifc := range ifs {
		addrs, err := ifc.Addrs()
		if err != nil {
			return nil, fmt.Errorf("addresses of %s: %w", ifc.Name, err)
		}
		ni := netIface{Index: ifc.Index, Name: ifc.Name}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ones, _ := ipn.Mask.Size()
			ni.Addrs = append(ni.Addrs, netip.PrefixFrom(ip.Unmap(), ones))
		}
		out = append(out, ni)
	}
	return out, nil
}

func buildIfaceView(l interfaceLister, lan []string, extraOwn []netip.Addr) (*ifaceView, error) {
	ifs, err := l.Interfaces()
	if err != nil {
		return nil, err
	}
	v := &ifaceView{lanIndex: make(map[uint32]bool, len(ifs))}
	for _, ifc := range ifs {
		isLAN := slices.Contains(lan, ifc.Name)
		v.lanIndex[uint32(ifc.Index)] = isLAN
		for _, p := range ifc.Addrs {
			v.own = append(v.own, p.Addr())
			if isLAN {
				v.lanNets = append(v.lanNets, p)
			}
		}
	}
	v.own = append(v.own, extraOwn...)
	slices.SortFunc(v.own, func(a, b netip.Addr) int { return a.Compare(b) })
	v.own = slices.Compact(v.own)
	return v, nil
}

// isLAN reports whether ifindex is a LAN interface; known is false for an
// index the view has not seen (a new interface: the caller rebuilds).
func (v *ifaceView) isLAN(ifindex uint32) (lan, known bool) {
	lan, known = v.lanIndex[ifindex]
	return lan, known
}

// probeSource picks the firewall's address a time-lock probe to client is
// sent from: the LAN address whose prefix contains the client, else the
// first LAN address of the same family, else invalid.
func (v *ifaceView) probeSource(client netip.Addr) netip.Addr {
	var fallback netip.Addr
	for _, p := range v.lanNets {
		a := p.Addr()
		if a.Is4() != client.Is4() || a.IsLinkLocalUnicast() {
			continue
		}
		if p.Contains(client) {
			return a
		}
		if !fallback.IsValid() {
			fallback = a
		}
	}
	return fallback
}
