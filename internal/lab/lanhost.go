package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// RoleLANHost is the role of a host added with AddLANHost.
const RoleLANHost = "lanhost"

// AddLANHost adds a host on the client's LAN link (router lan0): a
// namespace whose eth0 is a macvlan of the client's eth0, so its frames
// reach lan0 on the same wire with a MAC of its own. It gets ip4/24 and
// ip6/64 (any invalid address is left out) and default routes via the
// router, and returns its namespace and MAC. The caller closes the
// namespace (before the lab; Lab.Close does not know it).
func (l *Lab) AddLANHost(ctx context.Context, ip4, ip6 netip.Addr) (*NS, net.HardwareAddr, error) {
	name, ok := strings.CutSuffix(l.Client.Name, "-"+RoleClient)
	if !ok {
		return nil, nil, fmt.Errorf("client namespace %s is not a lab namespace", l.Client.Name)
	}
	ns, err := NewNS(name + "-" + RoleLANHost)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*NS, net.HardwareAddr, error) {
		return nil, nil, errors.Join(fmt.Errorf("add a LAN host on the client's link: %w", err), ns.Close())
	}
	if err := ns.setSysctls(map[string]string{
		"net/ipv6/conf/default/accept_dad": "0",
		"net/ipv6/conf/all/accept_dad":     "0",
	}); err != nil {
		return fail(err)
	}
	if err := l.Client.ip(ctx, []string{
		fmt.Sprintf("link add link %s name mv0 type macvlan mode bridge", IfHost),
		"link set mv0 netns " + ns.Name,
	}); err != nil {
		return fail(err)
	}
	cmds := []string{"link set mv0 name " + IfHost, "link set lo up", "link set " + IfHost + " up"}
	if ip4.IsValid() {
		cmds = append(cmds, addr(ip4, 24, IfHost), fmt.Sprintf("route add default via %s dev %s", l.RouterLAN4, IfHost))
	}
	if ip6.IsValid() {
		cmds = append(cmds, addr(ip6, 64, IfHost), fmt.Sprintf("route add default via %s dev %s", l.RouterLAN6, IfHost))
	}
	if err := ns.ip(ctx, cmds); err != nil {
		return fail(err)
	}
	mac, err := ns.HardwareAddr(IfHost)
	if err != nil {
		return fail(err)
	}
	return ns, mac, nil
}

// HardwareAddr returns the MAC of interface dev inside n.
func (n *NS) HardwareAddr(dev string) (net.HardwareAddr, error) {
	var mac net.HardwareAddr
	err := n.Do(func() error {
		ifc, err := net.InterfaceByName(dev)
		if err != nil {
			return fmt.Errorf("interface %s in network namespace %s: %w", dev, n.Name, err)
		}
		mac = ifc.HardwareAddr
		return nil
	})
	return mac, err
}
