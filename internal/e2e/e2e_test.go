package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect/registry"
	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/nft"
)

const (
	// step bounds one exchange that must succeed.
	step = 5 * time.Second
	// dropWait is how long a connection attempt or datagram that must be
	// dropped is waited for. Datagrams are only waited for after a later
	// control datagram on the same path arrived, so this is a margin.
	dropWait = 300 * time.Millisecond
	// echoPort is the TCP echo port of the internet, client and client2
	// namespaces (all addresses, both families).
	echoPort = 8000
)

// TestMain runs the suite and, as root, fails it when the host's own
// nftables ruleset (the test process's namespace) differs afterwards or a lab
// namespace of this process was left behind.
func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		code := m.Run()
		removeBinaries()
		os.Exit(code)
	}
	before, err := hostRuleset()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	removeBinaries()
	after, err := hostRuleset()
	switch {
	case err != nil:
		fmt.Fprintf(os.Stderr, "e2e: after the tests: %v\n", err)
		code = 1
	case after != before:
		fmt.Fprintf(os.Stderr, "e2e: FAIL: the host's own nftables ruleset changed during the tests\n--- before\n%s\n--- after\n%s\n", before, after)
		code = 1
	}
	if left := ownNamespaces(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: lab namespaces left behind: %v\n", left)
		code = 1
	}
	os.Exit(code)
}

func hostRuleset() (string, error) {
	out, err := exec.Command("nft", "list", "ruleset").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("read the host's ruleset with `nft list ruleset` (is the nftables package installed?): %w: %s", err, out)
	}
	return string(out), nil
}

// ownNamespaces lists the entries of /run/netns made by this process's labs.
func ownNamespaces() []string {
	entries, err := os.ReadDir(lab.NetnsDir)
	if err != nil {
		return nil
	}
	mark := fmt.Sprintf("-%d-", os.Getpid())
	var own []string
	for _, e := range entries {
		if strings.Contains(e.Name(), mark) {
			own = append(own, e.Name())
		}
	}
	return own
}

// family is one address family's view of the lab.
type family struct {
	name            string // "ipv4" or "ipv6"
	peers           []netip.Addr
	client, client2 netip.Addr
	setPeers        string
	setLocked       string
	ruleToPeers     string
	ruleFromPeers   string
	ruleLock        string
	hostBits        int
}

func families(l *lab.Lab) []family {
	return []family{
		{name: "ipv4", peers: l.Peers4, client: l.ClientIP4, client2: l.Client2IP4,
			setPeers: nft.SetPeers4, setLocked: nft.SetLocked4, hostBits: 32,
			ruleToPeers: nft.RuleToPeers4, ruleFromPeers: nft.RuleFromPeers4, ruleLock: nft.RuleLock4},
		{name: "ipv6", peers: l.Peers6, client: l.ClientIP6, client2: l.Client2IP6,
			setPeers: nft.SetPeers6, setLocked: nft.SetLocked6, hostBits: 128,
			ruleToPeers: nft.RuleToPeers6, ruleFromPeers: nft.RuleFromPeers6, ruleLock: nft.RuleLock6},
	}
}

func (f family) host(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, f.hostBits) }

// newLab builds a lab with TCP echo servers on port echoPort in the
// internet, client and client2 namespaces.
func newLab(t *testing.T) *lab.Lab {
	t.Helper()
	l := lab.NewT(t)
	for _, ns := range []*lab.NS{l.Internet, l.Client, l.Client2} {
		e, err := ns.StartEchoTCP("tcp", fmt.Sprintf("[::]:%d", echoPort))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
	}
	return l
}

// baseConfig is ftwall's default configuration for the lab's router.
func baseConfig(l *lab.Lab) nft.Config {
	return nft.Config{
		LAN:         l.LANIfs,
		PeerTimeout: 24 * time.Hour,
		TimeLock:    120 * time.Second,
		LockAction:  nft.LockReject,
		QueueNum:    0,
		Queues:      1,
		Backend:     nft.BackendAuto,
		Queue:       nft.QueueRules(registry.Builtin()),
	}
}

// openRouter opens ftwall's kernel handle in the lab's router namespace.
func openRouter(t *testing.T, l *lab.Lab) *nft.Kernel {
	t.Helper()
	k, err := nft.Open(nft.WithNetNS(l.Router.Fd()))
	if err != nil {
		t.Fatalf("open nftables in the router namespace: %v", err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

// setup opens the router's firewall and applies cfg.
func setup(t *testing.T, l *lab.Lab, cfg nft.Config) (*nft.Kernel, nft.SetupResult) {
	t.Helper()
	k := openRouter(t, l)
	res, err := k.Setup(t.Context(), cfg, nft.SetupOptions{})
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	return k, res
}

// nftCLI runs the nft program inside the router namespace.
func nftCLI(t *testing.T, l *lab.Lab, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	out, err := l.Router.Run(ctx, "nft", args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// addElementCLI adds a to set with `nft add element`, as an administrator
// would.
func addElementCLI(t *testing.T, l *lab.Lab, set string, a netip.Addr) {
	t.Helper()
	nftCLI(t, l, "add", "element", "inet", nft.TableName, set, "{ "+a.String()+" }")
}

func hasElement(t *testing.T, k *nft.Kernel, set string, a netip.Addr) bool {
	t.Helper()
	elems, err := k.Elements(t.Context(), set)
	if err != nil {
		t.Fatalf("read set %s: %v", set, err)
	}
	for _, e := range elems {
		if e.Addr == a {
			return true
		}
	}
	return false
}

// counter sums the counters of the rules with identifier rule.
func counter(t *testing.T, k *nft.Kernel, rule string) nft.CounterValue {
	t.Helper()
	st, err := k.Status(t.Context(), 0)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	var v nft.CounterValue
	found := false
	for _, c := range st.Counters {
		if c.Rule == rule {
			v.Packets += c.Packets
			v.Bytes += c.Bytes
			found = true
		}
	}
	if !found {
		t.Fatalf("status has no counter for rule %q; counters: %+v", rule, st.Counters)
	}
	return v
}

func echoAddr(a netip.Addr) string { return netip.AddrPortFrom(a, echoPort).String() }

// dial connects from ns to dst's echo server, from src when valid.
func dial(ctx context.Context, ns *lab.NS, src, dst netip.Addr) (net.Conn, error) {
	if src.IsValid() {
		return ns.DialTCPFrom(ctx, src, netip.AddrPortFrom(dst, echoPort))
	}
	return ns.DialTCP(ctx, "tcp", echoAddr(dst))
}

// tcpWorks checks that a new TCP connection from ns (from src, when valid)
// to dst's echo server carries data.
func tcpWorks(t *testing.T, ns *lab.NS, src, dst netip.Addr) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), step)
	defer cancel()
	c, err := dial(ctx, ns, src, dst)
	if err != nil {
		t.Errorf("TCP to %s must work: %v", dst, err)
		return
	}
	defer c.Close()
	if err := lab.RoundTrip(c, []byte("ftwall e2e"), step); err != nil {
		t.Errorf("TCP to %s must work: %v", dst, err)
	}
}

// tcpTimesOut checks that a new TCP connection from ns to dst is silently
// dropped: the dial runs into its short deadline, no reset comes back.
func tcpTimesOut(t *testing.T, ns *lab.NS, src, dst netip.Addr) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), dropWait)
	defer cancel()
	c, err := dial(ctx, ns, src, dst)
	if err == nil {
		c.Close()
		t.Errorf("TCP to %s must be dropped, but it connected", dst)
		return
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("TCP to %s must be dropped (dial timeout), got: %v", dst, err)
	}
}

// tcpRefused checks that a new TCP connection from ns to dst is answered
// with a reset: connection refused, not a timeout.
func tcpRefused(t *testing.T, ns *lab.NS, dst netip.Addr) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), step)
	defer cancel()
	c, err := dial(ctx, ns, netip.Addr{}, dst)
	if err == nil {
		c.Close()
		t.Errorf("TCP to %s must be reset, but it connected", dst)
		return
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("TCP to %s must be reset (connection refused), got: %v", dst, err)
	}
}

// udpSink receives datagrams on one address and reports them by source.
type udpSink struct {
	c   *net.UDPConn
	got chan datagram
}

type datagram struct {
	from    netip.Addr
	payload string
}

func newUDPSink(t *testing.T, ns *lab.NS, at netip.AddrPort) *udpSink {
	t.Helper()
	network := "udp4"
	if at.Addr().Is6() {
		network = "udp6"
	}
	c, err := ns.ListenUDP(network, at.String())
	if err != nil {
		t.Fatal(err)
	}
	s := &udpSink{c: c, got: make(chan datagram, 64)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err == nil {
				select {
				case s.got <- datagram{from: from.Addr().Unmap(), payload: string(buf[:n])}:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return s
}

// addr is the sink's address.
func (s *udpSink) addr() netip.AddrPort { return s.c.LocalAddr().(*net.UDPAddr).AddrPort() }

// expect waits for a datagram from src with payload. Datagrams from other
// sources or with other payloads are errors.
func (s *udpSink) expect(t *testing.T, src netip.Addr, payload string) {
	t.Helper()
	select {
	case d := <-s.got:
		if d.from != src || d.payload != payload {
			t.Errorf("UDP at %s: got %q from %s, want %q from %s", s.addr(), d.payload, d.from, payload, src)
		}
	case <-time.After(step):
		t.Errorf("UDP at %s: nothing from %s within %s (want %q)", s.addr(), src, step, payload)
	}
}

// expectNothing checks that no datagram arrives for dropWait.
func (s *udpSink) expectNothing(t *testing.T, why string) {
	t.Helper()
	select {
	case d := <-s.got:
		t.Errorf("UDP at %s: got %q from %s; want it dropped (%s)", s.addr(), d.payload, d.from, why)
	case <-time.After(dropWait):
	}
}

// sendUDP sends payload from ns (from src when valid) to dst.
func sendUDP(t *testing.T, ns *lab.NS, src netip.Addr, dst netip.AddrPort, payload string) {
	t.Helper()
	c, err := ns.DialUDP(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(payload)); err != nil {
		t.Fatalf("send UDP to %s: %v", dst, err)
	}
}

// flow is one UDP datagram's addresses.
type flow struct {
	src netip.Addr
	dst netip.AddrPort
}

// udpDropped sends the datagram drop from fromNS, then control on the same
// path, and checks that control arrives in toNS while drop does not.
func udpDropped(t *testing.T, fromNS, toNS *lab.NS, drop, control flow) {
	t.Helper()
	sinks := map[netip.AddrPort]*udpSink{}
	for _, dst := range []netip.AddrPort{drop.dst, control.dst} {
		if sinks[dst] == nil {
			sinks[dst] = newUDPSink(t, toNS, dst)
		}
	}
	sendUDP(t, fromNS, drop.src, drop.dst, "must be dropped")
	sendUDP(t, fromNS, control.src, control.dst, "control")
	sinks[control.dst].expect(t, control.src, "control")
	sinks[drop.dst].expectNothing(t, fmt.Sprintf("%s → %s", drop.src, drop.dst))
}

// udpWorks checks a UDP echo round trip from ns to an echo server on dst.
func udpWorks(t *testing.T, ns *lab.NS, echoNS *lab.NS, dst netip.AddrPort) {
	t.Helper()
	network := "udp4"
	if dst.Addr().Is6() {
		network = "udp6"
	}
	e, err := echoNS.StartEchoUDP(network, dst.String())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c, err := ns.DialUDP(netip.Addr{}, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := lab.RoundTrip(c, []byte("udp still flows"), step); err != nil {
		t.Errorf("UDP to %s must work: %v", dst, err)
	}
}
