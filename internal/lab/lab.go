package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"testing"
)

// Interface names. LAN and WAN interfaces are the router's; every host
// namespace has one interface, eth0.
const (
	IfLAN0 = "lan0"
	IfLAN1 = "lan1"
	IfWAN0 = "wan0"
	IfHost = "eth0"
)

// Number of peer addresses on the internet namespace's lo per family.
const NumPeers = 32

// Lab is the four-namespace topology of docs/DESIGN.md, IPv4 and IPv6:
// client and client2 on two LAN links of router, router's WAN link to
// internet. The router forwards both families; the internet namespace routes
// the LAN prefixes back through it.
type Lab struct {
	Client, Client2, Router, Internet *NS

	ClientIP4, ClientIP6         netip.Addr // client eth0
	Client2IP4, Client2IP6       netip.Addr // client2 eth0
	RouterLAN4, RouterLAN6       netip.Addr // router lan0 (client's gateway)
	RouterLAN2IP4, RouterLAN2IP6 netip.Addr // router lan1 (client2's gateway)
	RouterWAN4, RouterWAN6       netip.Addr // router wan0
	InternetIP4, InternetIP6     netip.Addr // internet eth0

	// Peers4 (198.51.100.1–.32) and Peers6 (2001:db8:100::1–::20) are on the
	// internet namespace's lo, reached through the router.
	Peers4, Peers6 []netip.Addr

	LANIfs []string // router's LAN interfaces: lan0, lan1
	WANIfs []string // router's WAN interfaces: wan0

	closeOnce sync.Once
	closeErr  error
}

// New builds a lab with namespaces named "<prefix>-<pid>-<random>-<role>"
// (prefix: lower-case letters and digits; empty means DefaultPrefix). It
// first removes namespaces of labs whose process is gone. On error nothing is
// left behind. Close removes the lab.
func New(ctx context.Context, prefix string) (*Lab, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	if _, err := SweepStale(); err != nil {
		return nil, fmt.Errorf("remove namespaces of earlier labs: %w", err)
	}
	l := newAddressing()
	tag := newTag()
	for _, r := range []struct {
		dst  **NS
		role string
	}{{&l.Client, RoleClient}, {&l.Client2, RoleClient2}, {&l.Router, RoleRouter}, {&l.Internet, RoleInternet}} {
		ns, err := NewNS(nsName{Prefix: prefix, PID: os.Getpid(), Tag: tag, Role: r.role}.String())
		if err != nil {
			return nil, errors.Join(err, l.Close())
		}
		*r.dst = ns
	}
	if err := l.configure(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("set up lab %s-%d-%s: %w", prefix, os.Getpid(), tag, err), l.Close())
	}
	return l, nil
}

// NewT builds a lab for test t (skipping t when not root) and removes it in
// t's cleanup, which also runs when t fails, calls FailNow or panics.
func NewT(t testing.TB) *Lab {
	t.Helper()
	return newT(t, New, "lab")
}

// newT builds with build for test t (skipping t when not root) and closes
// the result in t's cleanup.
func newT[T interface{ Close() error }](t testing.TB, build func(context.Context, string) (T, error), what string) T {
	t.Helper()
	RequireRoot(t)
	v, err := build(t.Context(), PrefixFrom(t.Name()))
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	t.Cleanup(func() {
		if err := v.Close(); err != nil {
			t.Errorf("lab: close %s: %v", what, err)
		}
	})
	return v
}

func newAddressing() *Lab {
	l := &Lab{
		ClientIP4:     netip.MustParseAddr("10.0.1.2"),
		ClientIP6:     netip.MustParseAddr("fd00:1::2"),
		Client2IP4:    netip.MustParseAddr("10.0.2.2"),
		Client2IP6:    netip.MustParseAddr("fd00:2::2"),
		RouterLAN4:    netip.MustParseAddr("10.0.1.1"),
		RouterLAN6:    netip.MustParseAddr("fd00:1::1"),
		RouterLAN2IP4: netip.MustParseAddr("10.0.2.1"),
		RouterLAN2IP6: netip.MustParseAddr("fd00:2::1"),
		RouterWAN4:    netip.MustParseAddr("203.0.113.1"),
		RouterWAN6:    netip.MustParseAddr("2001:db8:1::1"),
		InternetIP4:   netip.MustParseAddr("203.0.113.2"),
		InternetIP6:   netip.MustParseAddr("2001:db8:1::2"),
		LANIfs:        []string{IfLAN0, IfLAN1},
		WANIfs:        []string{IfWAN0},
	}
	p4 := netip.MustParseAddr("198.51.100.1")
	p6 := netip.MustParseAddr("2001:db8:100::1")
	for range NumPeers {
		l.Peers4 = append(l.Peers4, p4)
		l.Peers6 = append(l.Peers6, p6)
		p4, p6 = p4.Next(), p6.Next()
	}
	return l
}

// Namespaces returns the lab's namespaces: client, client2, router, internet
// (nil entries for ones not created).
func (l *Lab) Namespaces() []*NS {
	return []*NS{l.Client, l.Client2, l.Router, l.Internet}
}

// Close removes all of the lab's namespaces (and with them every interface).
// It is idempotent and safe to call on a partly built lab.
func (l *Lab) Close() error {
	l.closeOnce.Do(func() {
		var errs []error
		for _, ns := range l.Namespaces() {
			if ns != nil {
				errs = append(errs, ns.Close())
			}
		}
		l.closeErr = errors.Join(errs...)
	})
	return l.closeErr
}

// String describes the lab for logs and the demo: each namespace's name and
// addresses, so that `ip netns exec <name> …` can be typed by hand.
func (l *Lab) String() string {
	return fmt.Sprintf("client %s (%s, %s); client2 %s (%s, %s); router %s (lan0 %s %s, lan1 %s %s, wan0 %s %s); internet %s (%s, %s; peers %s–%s, %s–%s)",
		nsNameOf(l.Client), l.ClientIP4, l.ClientIP6,
		nsNameOf(l.Client2), l.Client2IP4, l.Client2IP6,
		nsNameOf(l.Router), l.RouterLAN4, l.RouterLAN6, l.RouterLAN2IP4, l.RouterLAN2IP6, l.RouterWAN4, l.RouterWAN6,
		nsNameOf(l.Internet), l.InternetIP4, l.InternetIP6,
		l.Peers4[0], l.Peers4[len(l.Peers4)-1], l.Peers6[0], l.Peers6[len(l.Peers6)-1])
}

func nsNameOf(n *NS) string {
	if n == nil {
		return "(none)"
	}
	return n.Name
}
