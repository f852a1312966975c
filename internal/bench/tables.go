package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/google/nftables/xt"
	"golang.org/x/sys/unix"

	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/nft"
)

// TableName is the name of ftwbench's own helper table (family inet) in the
// lab's router (the historical queue-everything design) and internet (packet
// sinks with counters) namespaces.
const TableName = "ftwbench"

// Sink ports in the internet namespace: what arrives there is counted and
// dropped before routing, so it costs the receiver almost nothing and causes
// no ICMP errors or TCP resets.
const (
	PortUDPSink = 9    // P1/P4 packets-per-second flood (discard)
	PortFT      = 1214 // P2 ping flood (UDP) and GET flood (TCP)
	// PortBT is the BitTorrent DHT and uTP port of the P2 DHT and uTP
	// floods and the P3 DHT queries (libtorrent and transmission send
	// both from one socket on the peer port; 6881 is the customary one).
	PortBT = 6881
)

// Sink rule names.
const (
	SinkUDP  = "udp-sink"
	SinkPing = "ping-sink"
	SinkHTTP = "http-sink"
	SinkBT   = "bittorrent-sink"
)

func nftConn(ns *lab.NS) (*nftables.Conn, error) {
	c, err := nftables.New(nftables.WithNetNSFd(ns.Fd()), nftables.AsLasting())
	if err != nil {
		return nil, fmt.Errorf("open an nftables socket in network namespace %s: %w", ns.Name, err)
	}
	return c, nil
}

func benchTable() *nftables.Table {
	return &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}
}

// Sinks is the counting table in the internet namespace.
type Sinks struct {
	ns *lab.NS
}

// InstallSinks creates table inet ftwbench in ns (the lab's internet
// namespace) with one counting drop rule per sink.
func InstallSinks(ns *lab.NS) (*Sinks, error) {
	c, err := nftConn(ns)
	if err != nil {
		return nil, err
	}
	defer c.CloseLasting()
	t := c.AddTable(benchTable())
	ch := c.AddChain(&nftables.Chain{
		Name: "sink", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRaw,
	})
	for _, s := range []struct {
		name  string
		proto byte
		port  uint16
	}{{SinkUDP, unix.IPPROTO_UDP, PortUDPSink}, {SinkPing, unix.IPPROTO_UDP, PortFT}, {SinkHTTP, unix.IPPROTO_TCP, PortFT}, {SinkBT, unix.IPPROTO_UDP, PortBT}} {
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, UserData: userdata.AppendString(nil, userdata.TypeComment, s.name),
			Exprs: []expr.Any{
				&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{s.proto}},
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, s.port)},
				&expr.Counter{},
				&expr.Verdict{Kind: expr.VerdictDrop},
			}})
	}
	if err := c.Flush(); err != nil {
		return nil, fmt.Errorf("create table inet %s (packet sinks) in network namespace %s: %w", TableName, ns.Name, err)
	}
	return &Sinks{ns: ns}, nil
}

// InstallClientGuard creates table inet ftwbench in ns (the lab's client
// namespace) with one rule that drops TCP from port 1214 on arrival: the
// SYN-ACKs of the GET flood's forged handshakes, which the client's stack,
// having no socket for them, would answer with a reset that ends the
// connection in the router's conntrack. RemoveTable removes it.
func InstallClientGuard(ns *lab.NS) error {
	c, err := nftConn(ns)
	if err != nil {
		return err
	}
	defer c.CloseLasting()
	t := c.AddTable(benchTable())
	ch := c.AddChain(&nftables.Chain{
		Name: "guard", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRaw,
	})
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, UserData: userdata.AppendString(nil, userdata.TypeComment, "handshake-guard"),
		Exprs: []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, PortFT)},
			&expr.Counter{},
			&expr.Verdict{Kind: expr.VerdictDrop},
		}})
	if err := c.Flush(); err != nil {
		return fmt.Errorf("create table inet %s (handshake guard) in network namespace %s: %w", TableName, ns.Name, err)
	}
	return nil
}

// Counts returns the packet count of every sink rule.
func (s *Sinks) Counts() (map[string]uint64, error) {
	return ruleCounters(s.ns, "sink")
}

// Count returns one sink's packet count.
func (s *Sinks) Count(name string) (uint64, error) {
	m, err := s.Counts()
	if err != nil {
		return 0, err
	}
	v, ok := m[name]
	if !ok {
		return 0, fmt.Errorf("sink rule %q not found in table inet %s of network namespace %s", name, TableName, s.ns.Name)
	}
	return v, nil
}

func ruleCounters(ns *lab.NS, chain string) (map[string]uint64, error) {
	c, err := nftConn(ns)
	if err != nil {
		return nil, err
	}
	defer c.CloseLasting()
	rules, err := c.GetRules(benchTable(), &nftables.Chain{Name: chain, Table: benchTable()})
	if err != nil {
		return nil, fmt.Errorf("read the rules of inet %s %s in network namespace %s: %w", TableName, chain, ns.Name, err)
	}
	out := make(map[string]uint64, len(rules))
	for _, r := range rules {
		name, _ := userdata.GetString(r.UserData, userdata.TypeComment)
		for _, e := range r.Exprs {
			if ctr, ok := e.(*expr.Counter); ok {
				out[name] += ctr.Packets
			}
		}
	}
	return out, nil
}

// RemoveTable deletes table inet ftwbench from ns; an absent table is not an
// error.
func RemoveTable(ns *lab.NS) error {
	c, err := nftConn(ns)
	if err != nil {
		return err
	}
	defer c.CloseLasting()
	c.DelTable(benchTable())
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("delete table inet %s in network namespace %s: %w", TableName, ns.Name, err)
	}
	return nil
}

// HistoricalRuleset is ftwall 1.x's design on today's kernel: every packet
// forwarded from a LAN interface goes to user space (queue num, with
// bypass), in table inet ftwbench of the router namespace.
type HistoricalRuleset struct {
	Backend nft.Backend
}

// InstallHistorical creates the queue-everything table in ns for the LAN
// interfaces lan, queue number num. The queue statement is the native
// nftables one where the kernel has it, else the xtables NFQUEUE target
// (as ftwall itself does).
func InstallHistorical(ctx context.Context, ns *lab.NS, lan []string, num uint16) (*HistoricalRuleset, error) {
	k, err := nft.Open(nft.WithNetNS(ns.Fd()))
	if err != nil {
		return nil, err
	}
	be, err := k.ProbeBackend(ctx)
	k.Close()
	if err != nil {
		return nil, err
	}
	c, err := nftConn(ns)
	if err != nil {
		return nil, err
	}
	defer c.CloseLasting()
	t := c.AddTable(benchTable())
	ch := c.AddChain(&nftables.Chain{
		Name: "forward", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityRef(-1),
	})
	for _, ifname := range lan {
		name := make([]byte, unix.IFNAMSIZ)
		copy(name, ifname)
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, UserData: userdata.AppendString(nil, userdata.TypeComment, "queue-"+ifname),
			Exprs: []expr.Any{
				&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: name},
				&expr.Counter{},
				queueExpr(be, num),
			}})
	}
	if err := c.Flush(); err != nil {
		return nil, fmt.Errorf("create table inet %s (queue every LAN packet, %s backend) in network namespace %s: %w", TableName, be, ns.Name, err)
	}
	return &HistoricalRuleset{Backend: be}, nil
}

// InstallConntrackOnly creates a table inet ftwbench in ns whose forward
// chain only looks at the conntrack state of each packet (and counts new
// connections): the kernel then tracks connections, as it does with
// ftwall's table, without any of ftwall's rules.
func InstallConntrackOnly(ns *lab.NS) error {
	c, err := nftConn(ns)
	if err != nil {
		return err
	}
	defer c.CloseLasting()
	t := c.AddTable(benchTable())
	ch := c.AddChain(&nftables.Chain{
		Name: "forward", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityRef(-1),
	})
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, UserData: userdata.AppendString(nil, userdata.TypeComment, "ct-new"),
		Exprs: []expr.Any{
			&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
				Mask: binary.NativeEndian.AppendUint32(nil, expr.CtStateBitNEW), Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
			&expr.Counter{},
		}})
	if err := c.Flush(); err != nil {
		return fmt.Errorf("create table inet %s (conntrack only) in network namespace %s: %w", TableName, ns.Name, err)
	}
	return nil
}

// InstallOneLookup creates a table inet ftwbench in ns whose forward chain
// has a single rule, `ip daddr @peers4 drop`, on an empty set with the
// timeout flag like ftwall's peers4: the least any ruleset that blocks peers
// in the kernel does to every forwarded packet. Nothing matches it.
func InstallOneLookup(ns *lab.NS) error {
	c, err := nftConn(ns)
	if err != nil {
		return err
	}
	defer c.CloseLasting()
	t := c.AddTable(benchTable())
	set := &nftables.Set{Table: t, Name: "peers4", KeyType: nftables.TypeIPAddr, HasTimeout: true}
	if err := c.AddSet(set, nil); err != nil {
		return fmt.Errorf("set peers4 in table inet %s: %w", TableName, err)
	}
	ch := c.AddChain(&nftables.Chain{
		Name: "forward", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityRef(-1),
	})
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, UserData: userdata.AppendString(nil, userdata.TypeComment, "one-lookup"),
		Exprs: []expr.Any{
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID},
			&expr.Verdict{Kind: expr.VerdictDrop},
		}})
	if err := c.Flush(); err != nil {
		return fmt.Errorf("create table inet %s (one lookup) in network namespace %s: %w", TableName, ns.Name, err)
	}
	return nil
}

// queueExpr is a queue statement with bypass for one queue.
func queueExpr(be nft.Backend, num uint16) expr.Any {
	if be == nft.BackendNative {
		return &expr.Queue{Num: num, Total: 1, Flag: expr.QueueFlagBypass}
	}
	// struct xt_NFQ_info_v3 {u16 queuenum, queues_total, flags} + padding,
	// host byte order; flags 1 = bypass.
	info := make([]byte, 8)
	binary.NativeEndian.PutUint16(info[0:], num)
	binary.NativeEndian.PutUint16(info[2:], 1)
	binary.NativeEndian.PutUint16(info[4:], 1)
	u := xt.Unknown(info)
	return &expr.Target{Name: "NFQUEUE", Rev: 3, Info: &u}
}

// BlockInKernel writes peers into ftwall's peers4 set and client into its
// locked4 set in namespace ns (table inet ftwall, as `ftwall setup` made
// it), with timeout: the state `ftwall run` reaches in the first
// milliseconds of a P2 flood. The bare loop's table gets it too, so that
// the packets its queues let pass uninspected (fail-open) meet the same
// drops as with ftwall, and conntrack holds the same entries: a flow the
// table lets through once is confirmed, and later drops of its packets
// only release a reference, while a flow that is always dropped makes
// conntrack create and destroy an entry for every packet (in the reader's
// verdict call, about a sixth of the bare loop's cost per packet).
func BlockInKernel(ns *lab.NS, peers []netip.Addr, client netip.Addr, timeout time.Duration) error {
	c, err := nftConn(ns)
	if err != nil {
		return err
	}
	defer c.CloseLasting()
	t := &nftables.Table{Name: nft.TableName, Family: nftables.TableFamilyINet}
	elems := func(addrs ...netip.Addr) []nftables.SetElement {
		out := make([]nftables.SetElement, 0, len(addrs))
		for _, a := range addrs {
			b := a.As4()
			out = append(out, nftables.SetElement{Key: b[:], Timeout: timeout})
		}
		return out
	}
	for _, a := range append([]netip.Addr{client}, peers...) {
		if !a.Is4() {
			return fmt.Errorf("block in kernel: %v is not an IPv4 address", a)
		}
	}
	if err := c.SetAddElements(&nftables.Set{Table: t, Name: nft.SetPeers4, KeyType: nftables.TypeIPAddr, HasTimeout: true}, elems(peers...)); err != nil {
		return fmt.Errorf("block in kernel: %w", err)
	}
	if err := c.SetAddElements(&nftables.Set{Table: t, Name: nft.SetLocked4, KeyType: nftables.TypeIPAddr, HasTimeout: true}, elems(client)); err != nil {
		return fmt.Errorf("block in kernel: %w", err)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("write peers4 and locked4 in network namespace %s: %w", ns.Name, err)
	}
	return nil
}
