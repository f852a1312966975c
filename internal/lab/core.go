package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// RoleCore is the role of a Core's own namespace, the one holding the
// bridge.
const RoleCore = "core"

// Names and addresses of the core network. Every address is on a
// documentation range (RFC 5737 TEST-NET-1, RFC 3849), so nothing the lab
// does can reach a real network.
const (
	// CoreBridge is the Linux bridge in the core namespace.
	CoreBridge = "br0"
	// IfCore is the usual name of a namespace's interface on the core
	// network; the NATS node namespaces use it.
	IfCore = "mgmt0"
	// CoreNet4 and CoreNet6 are the core network's prefixes. The bridge
	// itself has the .1 and ::1 addresses; attached namespaces get .10 and
	// up, with ::10 and up (the same digits) for IPv6.
	CoreNet4 = "192.0.2.0/24"
	CoreNet6 = "2001:db8:c0::/64"
	// CutTable is the bridge-family nftables table in the core namespace
	// that Cut uses.
	CutTable = "labcut"
)

const (
	firstCoreHost = 10
	lastCoreHost  = 254
	cutSet        = "ports"
	ifNameSize    = 16 // IFNAMSIZ
)

// Core is a "core" network: a namespace holding the bridge br0, to which
// any lab namespace (a router of a Lab, a NATS node, a plain host) can be
// attached by a veth pair with Attach. It is the management network on
// which several ftwall routers share state, e.g. through a NATS cluster
// (StartNATSCluster).
//
//	router A (mgmt0 192.0.2.10) ─┐
//	router B (mgmt0 192.0.2.11) ─┤ br0 (192.0.2.1, 2001:db8:c0::1) in <prefix>-<pid>-<tag>-core
//	nats-1   (mgmt0 192.0.2.12) ─┤
//	…                            ─┘
//
// Cut and Heal partition one attached namespace from the rest and undo it.
//
// Namespaces made by NewNodeNS belong to the core and are closed with it,
// after everything registered to run at Close (a NATSCluster on this core
// stops its servers there).
type Core struct {
	// NS is the core namespace itself. br0 has IP4 and IP6, so programs
	// and sockets in NS reach every attached namespace.
	NS       *NS
	IP4, IP6 netip.Addr

	prefix, tag string

	mu       sync.Mutex
	next     int // host number of the next Attach
	ports    map[*NS]*corePort
	owned    []*NS
	closers  []func() error
	cutReady bool // the labcut table exists
	closed   bool

	closeOnce sync.Once
	closeErr  error
}

// corePort is one attached namespace: dev inside ns, port on br0.
type corePort struct {
	ns       *NS
	dev      string
	port     string
	ip4, ip6 netip.Addr
	cut      bool
}

// NewCore creates a core network: the namespace "<prefix>-<pid>-<tag>-core"
// (empty prefix: DefaultPrefix) with br0 up and 192.0.2.1/24,
// 2001:db8:c0::1/64 on it. Like New, it first removes namespaces of labs
// whose process is gone. On error nothing is left behind; Close removes the
// core.
func NewCore(ctx context.Context, prefix string) (*Core, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	if _, err := SweepStale(); err != nil {
		return nil, fmt.Errorf("remove namespaces of earlier labs: %w", err)
	}
	c := &Core{
		IP4:    netip.MustParseAddr("192.0.2.1"),
		IP6:    netip.MustParseAddr("2001:db8:c0::1"),
		prefix: prefix,
		tag:    newTag(),
		next:   firstCoreHost,
		ports:  map[*NS]*corePort{},
	}
	ns, err := NewNS(c.nsName(RoleCore))
	if err != nil {
		return nil, fmt.Errorf("create core network: %w", err)
	}
	c.NS = ns
	fail := func(err error) (*Core, error) {
		return nil, errors.Join(fmt.Errorf("set up core network %s: %w", ns.Name, err), c.Close())
	}
	if err := ns.setSysctls(map[string]string{
		"net/ipv6/conf/default/accept_dad": "0",
		"net/ipv6/conf/all/accept_dad":     "0",
	}); err != nil {
		return fail(err)
	}
	// STP off: ports forward as soon as they are up. Multicast snooping
	// off: without a querier it only gets in the way of IPv6 ND.
	if err := ns.ip(ctx, []string{
		"link set lo up",
		fmt.Sprintf("link add %s type bridge stp_state 0 mcast_snooping 0", CoreBridge),
		"link set " + CoreBridge + " up",
		addr(c.IP4, 24, CoreBridge),
		addr(c.IP6, 64, CoreBridge),
	}); err != nil {
		return fail(err)
	}
	return c, nil
}

// NewCoreT creates a core network for test t (skipping t when not root)
// and removes it in t's cleanup, which also runs when t fails, calls
// FailNow or panics.
func NewCoreT(t testing.TB) *Core {
	t.Helper()
	return newT(t, NewCore, "core network")
}

func (c *Core) nsName(role string) string {
	return nsName{Prefix: c.prefix, PID: os.Getpid(), Tag: c.tag, Role: role}.String()
}

// NewNodeNS creates a namespace "<prefix>-<pid>-<tag>-<role>" with the
// core's prefix and tag, lo up and IPv6 duplicate address detection off.
// role must be a lab role (RoleClient, NATSRole(1), …) not used yet by
// this core. The namespace is not attached (see Attach); it belongs to the
// core, which closes it in Close, but may be closed earlier.
func (c *Core) NewNodeNS(ctx context.Context, role string) (*NS, error) {
	if !isRole(role) {
		return nil, fmt.Errorf("namespace role %q: want a lab role (%s, %s, %s, %s, %s, nats1…nats%d)",
			role, RoleClient, RoleClient2, RoleRouter, RoleInternet, RoleLANHost, maxNATSNodes)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("core network %s is closed", c.NS.Name)
	}
	ns, err := NewNS(c.nsName(role))
	if err != nil {
		return nil, err
	}
	if err := ns.setSysctls(map[string]string{
		"net/ipv6/conf/default/accept_dad": "0",
		"net/ipv6/conf/all/accept_dad":     "0",
	}); err != nil {
		return nil, errors.Join(err, ns.Close())
	}
	if err := ns.ip(ctx, []string{"link set lo up"}); err != nil {
		return nil, errors.Join(err, ns.Close())
	}
	c.owned = append(c.owned, ns)
	return ns, nil
}

// Attach connects ns to the core network: a veth pair with dev (e.g.
// IfCore) inside ns and a port "p<N>" enslaved to br0 in the core
// namespace, where N is the last byte of the address ns gets:
// 192.0.2.N/24 and 2001:db8:c0::N/64 (N from 10 up, never reused). dev is
// brought up with lo. It returns the IPv4 address; Addrs has both.
//
// ns may be any namespace (a Lab's router, say); when it is not the core's
// own, closing it first removes the link, otherwise Close does.
func (c *Core) Attach(ctx context.Context, ns *NS, dev string) (netip.Addr, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return netip.Addr{}, fmt.Errorf("attach %s: core network %s is closed", ns.Name, c.NS.Name)
	}
	if p, ok := c.ports[ns]; ok {
		return netip.Addr{}, fmt.Errorf("attach %s: already attached to core network %s as %s (%s)", ns.Name, c.NS.Name, p.dev, p.ip4)
	}
	if c.next > lastCoreHost {
		return netip.Addr{}, fmt.Errorf("attach %s: core network %s has no addresses left (at most %d attachments)", ns.Name, c.NS.Name, lastCoreHost-firstCoreHost+1)
	}
	host := c.next
	p := &corePort{
		ns:   ns,
		dev:  dev,
		port: fmt.Sprintf("p%d", host),
		ip4:  netip.AddrFrom4([4]byte{192, 0, 2, byte(host)}),
		// The same digits as the IPv4 host number, read as hex: ::10 for .10.
		ip6: netip.MustParseAddr(fmt.Sprintf("2001:db8:c0::%d", host)),
	}
	// Created from the core with the peer placed directly in ns, so no
	// interface ever appears in the caller's namespace.
	if err := c.NS.ip(ctx, []string{
		fmt.Sprintf("link add %s type veth peer name %s netns %s", p.port, dev, ns.Name),
		fmt.Sprintf("link set %s master %s", p.port, CoreBridge),
		"link set " + p.port + " up",
	}); err != nil {
		c.delPort(p.port)
		return netip.Addr{}, fmt.Errorf("attach %s to core network: %w", ns.Name, err)
	}
	if err := ns.ip(ctx, []string{
		"link set lo up",
		addr(p.ip4, 24, dev),
		addr(p.ip6, 64, dev),
		"link set " + dev + " up",
	}); err != nil {
		c.delPort(p.port)
		return netip.Addr{}, fmt.Errorf("attach %s to core network: %w", ns.Name, err)
	}
	c.next++
	c.ports[ns] = p
	return p.ip4, nil
}

// delPort removes a core port and with it the veth peer; best effort, for
// undoing a failed Attach and for Close.
func (c *Core) delPort(port string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = c.NS.ip(ctx, []string{"link del " + port})
}

// Addrs returns ns's addresses on the core network; ok is false if ns is
// not attached.
func (c *Core) Addrs(ns *NS) (ip4, ip6 netip.Addr, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.ports[ns]
	if !ok {
		return netip.Addr{}, netip.Addr{}, false
	}
	return p.ip4, p.ip6, true
}

// Port returns the name of ns's port on br0 in the core namespace ("p10"
// …), or "" if ns is not attached.
func (c *Core) Port(ns *NS) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.ports[ns]; ok {
		return p.port
	}
	return ""
}

// Cut partitions ns from the core network: every frame (IPv4, IPv6, ARP,
// anything) entering the bridge from ns's port or leaving the bridge
// towards it is dropped, whether bridged to another port or to and from the
// core namespace's own br0 address. It adds the port to the set "ports" of
// the bridge-family nftables table "labcut" in the core namespace, whose
// forward, input and output chains drop on iifname/oifname @ports.
//
// Both ends keep their links up and their addresses, as across a failed
// switch or a broken WAN path: connections are not reset, they stall (new
// TCP connections time out), and carry on after Heal. Cutting a cut
// namespace again is not an error.
func (c *Core) Cut(ctx context.Context, ns *NS) error {
	return c.setCut(ctx, ns, true)
}

// Heal undoes Cut: ns's port leaves the drop set and traffic flows again,
// including retransmissions of connections made before the Cut. Healing a
// namespace that is not cut is not an error.
func (c *Core) Heal(ctx context.Context, ns *NS) error {
	return c.setCut(ctx, ns, false)
}

func (c *Core) setCut(ctx context.Context, ns *NS, cut bool) error {
	verb := map[bool]string{true: "cut", false: "heal"}[cut]
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("%s %s: core network %s is closed", verb, ns.Name, c.NS.Name)
	}
	p, ok := c.ports[ns]
	if !ok {
		return fmt.Errorf("%s %s: not attached to core network %s (call Attach first)", verb, ns.Name, c.NS.Name)
	}
	if p.cut == cut {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s %s: %w", verb, ns.Name, err)
	}
	if err := c.NS.Do(func() error { return c.applyCut(p.port, cut) }); err != nil {
		return fmt.Errorf("%s %s from core network %s (nftables table bridge %s): %w", verb, ns.Name, c.NS.Name, CutTable, err)
	}
	p.cut = cut
	return nil
}

// applyCut adds port to the drop set (cut) or removes it, creating the
// labcut table on first use. It must run inside the core namespace: the
// netlink socket is opened by the calling thread.
func (c *Core) applyCut(port string, cut bool) error {
	conn, err := nftables.New()
	if err != nil {
		return fmt.Errorf("open nftables netlink connection: %w", err)
	}
	tbl := &nftables.Table{Name: CutTable, Family: nftables.TableFamilyBridge}
	set := &nftables.Set{Table: tbl, Name: cutSet, KeyType: nftables.TypeIFName}
	if !c.cutReady {
		conn.AddTable(tbl)
		if err := conn.AddSet(set, nil); err != nil {
			return fmt.Errorf("add set %s: %w", cutSet, err)
		}
		accept := nftables.ChainPolicyAccept
		for _, ch := range []struct {
			name string
			hook *nftables.ChainHook
			keys []expr.MetaKey
		}{
			{"forward", nftables.ChainHookForward, []expr.MetaKey{expr.MetaKeyIIFNAME, expr.MetaKeyOIFNAME}},
			{"input", nftables.ChainHookInput, []expr.MetaKey{expr.MetaKeyIIFNAME}},
			{"output", nftables.ChainHookOutput, []expr.MetaKey{expr.MetaKeyOIFNAME}},
		} {
			chain := conn.AddChain(&nftables.Chain{
				Name: ch.name, Table: tbl, Type: nftables.ChainTypeFilter,
				Hooknum: ch.hook, Priority: nftables.ChainPriorityFilter, Policy: &accept,
			})
			for _, k := range ch.keys {
				conn.AddRule(&nftables.Rule{Table: tbl, Chain: chain, Exprs: []expr.Any{
					&expr.Meta{Key: k, Register: 1},
					&expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID},
					&expr.Verdict{Kind: expr.VerdictDrop},
				}})
			}
		}
	}
	key := make([]byte, ifNameSize)
	copy(key, port)
	elems := []nftables.SetElement{{Key: key}}
	if cut {
		err = conn.SetAddElements(set, elems)
	} else {
		err = conn.SetDeleteElements(set, elems)
	}
	if err != nil {
		return fmt.Errorf("update set %s: %w", cutSet, err)
	}
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("apply (kernel needs CONFIG_NF_TABLES_BRIDGE): %w", err)
	}
	c.cutReady = true
	return nil
}

// IsCut reports whether ns is cut from the core network.
func (c *Core) IsCut(ns *NS) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.ports[ns]
	return ok && p.cut
}

// onClose registers fn to run at the start of Close, before the
// namespaces are removed (last registered, first run).
func (c *Core) onClose(fn func() error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("core network %s is closed", c.NS.Name)
	}
	c.closers = append(c.closers, fn)
	return nil
}

// Close stops what was registered on the core (NATS clusters), removes the
// links of attached namespaces, then the namespaces made by NewNodeNS and
// the core namespace. It is idempotent and safe on a partly built core.
func (c *Core) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		closers := slices.Clone(c.closers)
		owned := slices.Clone(c.owned)
		var ports []string
		for _, p := range c.ports {
			ports = append(ports, p.port)
		}
		c.mu.Unlock()

		var errs []error
		for _, fn := range slices.Backward(closers) {
			errs = append(errs, fn())
		}
		if c.NS != nil && len(ports) > 0 {
			// Removing the ports now takes the other ends out of
			// namespaces that are not the core's (a Lab's router) at once,
			// not whenever the kernel frees the core namespace. Errors
			// only mean a link is gone already.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			cmd := c.NS.Command(ctx, "ip", "-force", "-batch", "-")
			var b strings.Builder
			for _, p := range ports {
				b.WriteString("link del " + p + "\n")
			}
			cmd.Stdin = strings.NewReader(b.String())
			_ = cmd.Run()
			cancel()
		}
		for _, ns := range slices.Backward(owned) {
			errs = append(errs, ns.Close())
		}
		if c.NS != nil {
			errs = append(errs, c.NS.Close())
		}
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

// Namespaces returns the core namespace followed by the namespaces made
// by NewNodeNS, in creation order.
func (c *Core) Namespaces() []*NS {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*NS{c.NS}, c.owned...)
}

// String describes the core network for logs: its namespace and each
// attachment, so that `ip netns exec <name> …` can be typed by hand.
func (c *Core) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps := make([]*corePort, 0, len(c.ports))
	for _, p := range c.ports {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(a, b *corePort) int { return a.ip4.Compare(b.ip4) })
	var b strings.Builder
	fmt.Fprintf(&b, "core %s (%s %s, %s)", nsNameOf(c.NS), CoreBridge, c.IP4, c.IP6)
	for _, p := range ps {
		fmt.Fprintf(&b, "; %s: %s %s %s", p.port, p.ns.Name, p.dev, p.ip4)
		if p.cut {
			b.WriteString(" (cut)")
		}
	}
	return b.String()
}
