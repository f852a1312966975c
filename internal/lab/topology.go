package lab

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
)

// configure wires the four namespaces: veth links created from the router
// with their peer ends placed directly in the host namespaces (so no
// interface name is ever used in the caller's namespace), addresses, routes
// and sysctls.
func (l *Lab) configure(ctx context.Context) error {
	// Sysctls first: accept_dad=0 must be the default before the veth
	// devices appear, so that their link-local addresses are usable at once.
	for _, ns := range l.Namespaces() {
		sys := map[string]string{
			"net/ipv6/conf/default/accept_dad": "0",
			"net/ipv6/conf/all/accept_dad":     "0",
		}
		if ns == l.Router {
			sys["net/ipv4/ip_forward"] = "1"
			sys["net/ipv6/conf/all/forwarding"] = "1"
		}
		if err := ns.setSysctls(sys); err != nil {
			return err
		}
	}

	if err := l.Router.ip(ctx, []string{
		fmt.Sprintf("link add %s type veth peer name %s netns %s", IfLAN0, IfHost, l.Client.Name),
		fmt.Sprintf("link add %s type veth peer name %s netns %s", IfLAN1, IfHost, l.Client2.Name),
		fmt.Sprintf("link add %s type veth peer name %s netns %s", IfWAN0, IfHost, l.Internet.Name),
	}); err != nil {
		return err
	}

	router := append(linksUp(IfLAN0, IfLAN1, IfWAN0),
		addr(l.RouterLAN4, 24, IfLAN0), addr(l.RouterLAN6, 64, IfLAN0),
		addr(l.RouterLAN2IP4, 24, IfLAN1), addr(l.RouterLAN2IP6, 64, IfLAN1),
		addr(l.RouterWAN4, 24, IfWAN0), addr(l.RouterWAN6, 64, IfWAN0),
		fmt.Sprintf("route add 198.51.100.0/24 via %s dev %s", l.InternetIP4, IfWAN0),
		fmt.Sprintf("route add 2001:db8:100::/64 via %s dev %s", l.InternetIP6, IfWAN0),
	)
	client := append(linksUp(IfHost),
		addr(l.ClientIP4, 24, IfHost), addr(l.ClientIP6, 64, IfHost),
		fmt.Sprintf("route add default via %s dev %s", l.RouterLAN4, IfHost),
		fmt.Sprintf("route add default via %s dev %s", l.RouterLAN6, IfHost),
	)
	client2 := append(linksUp(IfHost),
		addr(l.Client2IP4, 24, IfHost), addr(l.Client2IP6, 64, IfHost),
		fmt.Sprintf("route add default via %s dev %s", l.RouterLAN2IP4, IfHost),
		fmt.Sprintf("route add default via %s dev %s", l.RouterLAN2IP6, IfHost),
	)
	internet := append(linksUp(IfHost),
		addr(l.InternetIP4, 24, IfHost), addr(l.InternetIP6, 64, IfHost),
		fmt.Sprintf("route add 10.0.1.0/24 via %s dev %s", l.RouterWAN4, IfHost),
		fmt.Sprintf("route add 10.0.2.0/24 via %s dev %s", l.RouterWAN4, IfHost),
		fmt.Sprintf("route add fd00:1::/64 via %s dev %s", l.RouterWAN6, IfHost),
		fmt.Sprintf("route add fd00:2::/64 via %s dev %s", l.RouterWAN6, IfHost),
	)
	for i := range l.Peers4 {
		internet = append(internet, addr(l.Peers4[i], 32, "lo"), addr(l.Peers6[i], 128, "lo"))
	}
	for _, c := range []struct {
		ns   *NS
		cmds []string
	}{{l.Router, router}, {l.Client, client}, {l.Client2, client2}, {l.Internet, internet}} {
		if err := c.ns.ip(ctx, c.cmds); err != nil {
			return err
		}
	}
	return nil
}

func linksUp(ifs ...string) []string {
	cmds := []string{"link set lo up"}
	for _, i := range ifs {
		cmds = append(cmds, "link set "+i+" up")
	}
	return cmds
}

func addr(a netip.Addr, bits int, dev string) string {
	s := fmt.Sprintf("addr add %s dev %s", netip.PrefixFrom(a, bits), dev)
	if a.Is6() {
		s += " nodad"
	}
	return s
}

// setSysctls writes /proc/sys/<key> = value inside n. Network sysctls
// belong to the namespace of the thread that opens them, hence Do.
func (n *NS) setSysctls(kv map[string]string) error {
	return n.Do(func() error {
		for k, v := range kv {
			p := filepath.Join("/proc/sys", k)
			if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
				return fmt.Errorf("sysctl %s=%s in network namespace %s: %w", k, v, n.Name, err)
			}
		}
		return nil
	})
}

// Sysctl reads /proc/sys/<key> inside n, e.g. "net/ipv4/ip_forward".
func (n *NS) Sysctl(key string) (string, error) {
	var v []byte
	err := n.Do(func() error {
		var err error
		v, err = os.ReadFile(filepath.Join("/proc/sys", key))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("read sysctl %s in network namespace %s: %w", key, n.Name, err)
	}
	return string(trimNL(v)), nil
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}
