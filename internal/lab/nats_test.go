package lab

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestNATSConfig(t *testing.T) {
	self := netip.MustParseAddr("192.0.2.10")
	routes := []netip.Addr{netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("192.0.2.12")}
	conf, err := natsConfig("nats-1", self, routes, "/tmp/x y/node1", NATSOptions{Users: []NATSUser{
		{Name: "router", Password: `pa"ss\word`, Publish: []string{"ftwall.>", "$JS.API.>"}, Subscribe: []string{"_INBOX.>"}},
		{Name: "admin", Password: "admin"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`server_name: "nats-1"`, `listen: "192.0.2.10:4222"`, `http: "192.0.2.10:8222"`,
		`store_dir: "/tmp/x y/node1"`, `name: "ftwall-lab"`, `listen: "192.0.2.10:6222"`,
		`"nats-route://192.0.2.11:6222"`, `"nats-route://192.0.2.12:6222"`,
		`user: "router"`, `password: "pa\"ss\\word"`, `publish: ["ftwall.>", "$JS.API.>"]`,
		`subscribe: ["_INBOX.>"]`, `user: "admin"`,
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("configuration lacks %s:\n%s", want, conf)
		}
	}
	if strings.Contains(conf, "192.0.2.10:6222\"\n    ]") || strings.Count(conf, "nats-route://") != 2 {
		t.Errorf("routes must name the other nodes only:\n%s", conf)
	}
	if strings.Count(conf, "permissions") != 1 {
		t.Errorf("want permissions for the restricted user only:\n%s", conf)
	}
	if c, err := natsConfig("nats-1", self, routes, "/s", NATSOptions{}); err != nil || strings.Contains(c, "authorization") {
		t.Errorf("without users: %v, configuration:\n%s", err, c)
	}
	if c, err := natsConfig("nats-1", self, nil, "/s", NATSOptions{}); err != nil || strings.Contains(c, "cluster {") || !strings.Contains(c, "jetstream {") {
		t.Errorf("a single node must run JetStream standalone: %v, configuration:\n%s", err, c)
	}
	if _, err := natsConfig("nats-1", self, routes, "/s", NATSOptions{Users: []NATSUser{{Name: "a", Password: "x\ny"}}}); err == nil {
		t.Error("a password with a newline was accepted")
	}
	if _, err := natsConfig("nats-1", self, routes, "/s", NATSOptions{Users: []NATSUser{{Password: "x"}}}); err == nil {
		t.Error("a user without a name was accepted")
	}
	for i := 1; i <= maxNATSNodes; i++ {
		if !isRole(NATSRole(i)) {
			t.Errorf("NATSRole(%d) = %q is not a lab role", i, NATSRole(i))
		}
	}
}

func TestTailBufferAndLineWriter(t *testing.T) {
	b := &tailBuffer{max: 10}
	for i := range 100 {
		fmt.Fprintf(b, "line %d\n", i)
	}
	if got := b.String(); got != "line 99\n" {
		t.Errorf("tail = %q, want the last whole line that fits", got)
	}
	var out Buffer
	w := &lineWriter{mu: new(sync.Mutex), w: &out, prefix: "n: "}
	w.Write([]byte("a\nb"))
	w.Write([]byte("c\nd"))
	w.Flush()
	if got := out.String(); got != "n: a\nn: bc\nn: d\n" {
		t.Errorf("prefixed output %q", got)
	}
}

// requireNATSServer skips t without a nats-server binary and returns its
// version.
func requireNATSServer(t *testing.T) string {
	t.Helper()
	v, err := NATSServerVersion()
	if err != nil {
		t.Skipf("integration test needs nats-server: %v", err)
	}
	return v
}

func TestNATSServerVersion(t *testing.T) {
	v := requireNATSServer(t)
	if !strings.HasPrefix(v, "v2.") {
		t.Errorf("NATSServerVersion() = %q, want v2.x", v)
	}
}

// TestCoreAttachCutHeal checks the core network without NATS: addresses,
// reachability across br0 (also of a Lab's router), that Cut drops TCP in
// both directions and towards the core's own address while established
// connections only stall, and that Heal restores everything.
func TestCoreAttachCutHeal(t *testing.T) {
	core := NewCoreT(t)
	ctx := t.Context()
	a := newAttached(t, core, RoleClient)
	b := newAttached(t, core, RoleClient2)
	l := NewT(t)
	routerIP, err := core.Attach(ctx, l.Router, IfCore)
	if err != nil {
		t.Fatal(err)
	}
	a4, a6, _ := core.Addrs(a)
	b4, b6, _ := core.Addrs(b)
	if a4.String() != "192.0.2.10" || a6.String() != "2001:db8:c0::10" || b4.String() != "192.0.2.11" ||
		b6.String() != "2001:db8:c0::11" || routerIP.String() != "192.0.2.12" || core.Port(b) != "p11" {
		t.Errorf("addresses %v %v, %v %v, router %v, port %q; want .10 ::10, .11 ::11, .12, p11", a4, a6, b4, b6, routerIP, core.Port(b))
	}
	if _, err := core.Attach(ctx, a, "other0"); err == nil {
		t.Error("attaching a namespace twice succeeded")
	}
	for _, p := range []struct {
		from *NS
		to   netip.Addr
	}{{a, b4}, {a, b6}, {a, core.IP4}, {l.Router, a4}, {core.NS, b6}} {
		if err := p.from.Ping(ctx, p.to); err != nil {
			t.Error(err)
		}
	}

	echoB := startEchoTCP(t, b, "tcp", "[::]:7000")
	echoA := startEchoTCP(t, a, "tcp", "[::]:7000")
	echoCore := startEchoTCP(t, core.NS, "tcp", "[::]:7000")
	long, err := a.DialTCP(ctx, "tcp", netip.AddrPortFrom(b4, echoB.Addr.Port()).String())
	if err != nil {
		t.Fatal(err)
	}
	defer long.Close()
	if err := RoundTrip(long, []byte("before"), step); err != nil {
		t.Fatal(err)
	}

	if err := core.Cut(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := core.Cut(ctx, a); err != nil {
		t.Errorf("second Cut: %v", err)
	}
	if !core.IsCut(a) || core.IsCut(b) || !strings.Contains(core.String(), "p10: "+a.Name+" "+IfCore+" 192.0.2.10 (cut)") {
		t.Errorf("IsCut(a) %v, IsCut(b) %v, String %q", core.IsCut(a), core.IsCut(b), core.String())
	}
	var wg sync.WaitGroup
	for _, p := range []struct {
		name string
		from *NS
		to   netip.AddrPort
	}{
		{"a→b", a, netip.AddrPortFrom(b4, 7000)},
		{"a→b IPv6", a, netip.AddrPortFrom(b6, 7000)},
		{"b→a", b, netip.AddrPortFrom(a4, echoA.Addr.Port())},
		{"router→a IPv6", l.Router, netip.AddrPortFrom(a6, 7000)},
		{"core→a", core.NS, netip.AddrPortFrom(a4, 7000)},
		{"a→core", a, netip.AddrPortFrom(core.IP4, echoCore.Addr.Port())},
	} {
		wg.Go(func() {
			if err := dialFails(ctx, p.from, p.to); err != nil {
				t.Errorf("%s: %v", p.name, err)
			}
		})
	}
	wg.Wait()
	// b still reaches everything else.
	checkTCP(t, b, netip.AddrPortFrom(core.IP6, echoCore.Addr.Port()))
	checkTCP(t, l.Router, netip.AddrPortFrom(b4, echoB.Addr.Port()))
	// The established connection stalls instead of being reset.
	if _, err := long.Write([]byte("during")); err != nil {
		t.Fatalf("write during the cut: %v", err)
	}
	long.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if n, err := long.Read(make([]byte, 16)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read during the cut: %d bytes, %v; want a timeout", n, err)
	}

	if err := core.Heal(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := core.Heal(ctx, a); err != nil {
		t.Errorf("second Heal: %v", err)
	}
	// TCP retransmits what was written during the cut.
	long.SetReadDeadline(time.Now().Add(15 * time.Second))
	buf := make([]byte, len("during"))
	if _, err := io.ReadFull(long, buf); err != nil || string(buf) != "during" {
		t.Errorf("after Heal, the stalled connection returned %q, %v; want the echo", buf, err)
	}
	checkTCP(t, a, netip.AddrPortFrom(b6, echoB.Addr.Port()))
	checkTCP(t, b, netip.AddrPortFrom(a4, echoA.Addr.Port()))
	checkTCP(t, a, netip.AddrPortFrom(core.IP4, echoCore.Addr.Port()))

	stranger := newLabNS(t, "ftlabstranger", RoleClient)
	if err := core.Cut(ctx, stranger); err == nil || !strings.Contains(err.Error(), "Attach") {
		t.Errorf("Cut of a namespace that is not attached: %v, want an error pointing to Attach", err)
	}

	names := nsNames(core.Namespaces())
	long.Close()
	for _, e := range []*Echo{echoA, echoB, echoCore} {
		e.Close()
	}
	if err := core.Close(); err != nil {
		t.Fatal(err)
	}
	if err := core.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if left := leftovers(t, names); len(left) > 0 {
		t.Errorf("after Close, left behind: %v", left)
	}
	if _, err := l.Router.HardwareAddr(IfCore); err == nil {
		t.Errorf("the router's %s survived the core's Close", IfCore)
	}
	if _, err := core.Attach(ctx, b, "x0"); err == nil {
		t.Error("Attach on a closed core succeeded")
	}
}

// TestNATSCluster starts a three-node JetStream cluster on a core network
// and checks it from a plain namespace on that network: client ports,
// health, authorization, a partition of the client, the loss of one node
// and its restart, and that Close leaves nothing behind.
func TestNATSCluster(t *testing.T) {
	RequireRoot(t)
	version := requireNATSServer(t)
	core := NewCoreT(t)
	ctx := t.Context()
	client := newAttached(t, core, RoleClient)

	var out Buffer
	opts := NATSOptions{Users: []NATSUser{
		{Name: "router", Password: `s3cret "quoted"`, Publish: []string{"ftwall.>", "$JS.API.>"}, Subscribe: []string{"ftwall.>", "_INBOX.>"}},
		{Name: "admin", Password: "admin"},
	}}
	start := time.Now()
	nc, err := StartNATSCluster(ctx, core, 3, t.TempDir(), &out, opts)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Cleanup(func() {
		if err := nc.Close(); err != nil {
			t.Errorf("close NATS cluster: %v", err)
		}
		if t.Failed() || os.Getenv("FTLAB_NATS_LOG") != "" {
			t.Logf("servers' output:\n%s", out.String())
		}
	})
	leader, err := nc.MetaLeader(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("nats-server %s: 3-node JetStream cluster ready in %v, meta leader %s; %s", version, took.Round(time.Millisecond), leader, core)
	if got := strings.Join(nc.URLs(), " "); got != "nats://192.0.2.11:4222 nats://192.0.2.12:4222 nats://192.0.2.13:4222" {
		t.Errorf("URLs() = %s", got)
	}
	for i := range nc.Len() {
		if !strings.Contains(out.String(), nc.Name(i)+": ") {
			t.Errorf("no output prefixed %q", nc.Name(i)+": ")
		}
	}

	for i := range nc.Len() {
		c, r := natsConnect(t, client, nc.Addr(i))
		if got := natsExchange(t, c, r, "router", `s3cret "quoted"`, ""); got != "PONG" {
			t.Errorf("%s: login as router: %s", nc.Name(i), got)
		}
		c.Close()
		if err := nc.Healthz(ctx, client, i); err != nil {
			t.Errorf("healthz from the client namespace: %v", err)
		}
	}
	t.Run("authorization", func(t *testing.T) {
		for _, c := range []struct {
			user, pass, cmd, want string
		}{
			{"router", "wrong", "", "-ERR 'Authorization Violation'"},
			{"router", `s3cret "quoted"`, "PUB ftwall.state 2\r\nhi\r\n", "PONG"},
			{"router", `s3cret "quoted"`, "PUB other.subject 2\r\nhi\r\n", `-ERR 'Permissions Violation for Publish to "other.subject"'`},
			{"router", `s3cret "quoted"`, "SUB other.> 1\r\n", `-ERR 'Permissions Violation for Subscription to "other.>"'`},
			{"admin", "admin", "PUB other.subject 2\r\nhi\r\n", "PONG"},
		} {
			conn, r := natsConnect(t, client, nc.Addr(1))
			if got := natsExchange(t, conn, r, c.user, c.pass, c.cmd); got != c.want {
				t.Errorf("%s/%s %q: got %s, want %s", c.user, c.pass, c.cmd, got, c.want)
			}
			conn.Close()
		}
	})

	t.Run("cut and heal", func(t *testing.T) {
		dst := netip.AddrPortFrom(nc.Addr(1), NATSClientPort)
		if err := core.Cut(ctx, client); err != nil {
			t.Fatal(err)
		}
		begin := time.Now()
		if err := dialFails(ctx, client, dst); err != nil {
			t.Error(err)
		}
		if d := time.Since(begin); d > 2*time.Second+500*time.Millisecond {
			t.Errorf("the failing dial took %v, want at most 2 s", d)
		}
		hctx, cancel := context.WithTimeout(ctx, time.Second)
		if err := nc.Healthz(hctx, client, 2); err == nil {
			t.Error("healthz through a cut reached nats-3")
		}
		cancel()
		// The cluster itself is not affected.
		if err := nc.Healthz(ctx, nil, 2); err != nil {
			t.Errorf("from the core namespace during the client's cut: %v", err)
		}
		if err := core.Heal(ctx, client); err != nil {
			t.Fatal(err)
		}
		c, _ := natsConnect(t, client, nc.Addr(1))
		c.Close()
	})

	t.Run("kill node 0", func(t *testing.T) {
		nc.Kill(0)
		if nc.Running(0) {
			t.Fatal("nats-1 still runs after Kill")
		}
		begin := time.Now()
		wctx, cancel := context.WithTimeout(ctx, NATSReadyTimeout)
		defer cancel()
		if err := nc.WaitReady(wctx, 1, 2); err != nil {
			t.Fatal(err)
		}
		newLeader, _ := nc.MetaLeader(ctx, 1)
		t.Logf("after killing nats-1 (leader was %s): nats-2 and nats-3 ready in %v, meta leader %s", leader, time.Since(begin).Round(time.Millisecond), newLeader)
		if newLeader == nc.Name(0) || newLeader == "" {
			t.Errorf("meta leader %q after nats-1 was killed", newLeader)
		}
		for _, i := range []int{1, 2} {
			if err := nc.Healthz(ctx, client, i); err != nil {
				t.Error(err)
			}
		}
		hctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if err := nc.Healthz(hctx, client, 0); err == nil {
			t.Error("a killed node answered healthz")
		}
	})

	t.Run("restart node 0", func(t *testing.T) {
		begin := time.Now()
		if err := nc.Restart(0); err != nil {
			t.Fatal(err)
		}
		t.Logf("nats-1 back in %v", time.Since(begin).Round(time.Millisecond))
		for i := range nc.Len() {
			if err := nc.Healthz(ctx, client, i); err != nil {
				t.Error(err)
			}
		}
		if err := nc.Restart(7); err == nil {
			t.Error("Restart(7) of a 3-node cluster succeeded")
		}
	})

	names := nsNames(core.Namespaces())
	if len(names) != 5 {
		t.Errorf("core namespaces %v, want core, client and 3 nodes", names)
	}
	var pids []int
	for _, n := range nc.nodes {
		pids = append(pids, n.proc.Pid())
	}
	if err := core.Close(); err != nil {
		t.Fatal(err)
	}
	if err := nc.Close(); err != nil {
		t.Errorf("Close after the core's Close: %v", err)
	}
	if left := leftovers(t, names); len(left) > 0 {
		t.Errorf("after Close, left behind: %v", left)
	}
	for _, pid := range pids {
		if !processGone(pid) {
			t.Errorf("nats-server pid %d still runs after Close", pid)
		}
	}
	if err := nc.Restart(0); err == nil {
		t.Error("Restart after Close succeeded")
	}
}

func newAttached(t *testing.T, core *Core, role string) *NS {
	t.Helper()
	ns, err := core.NewNodeNS(t.Context(), role)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.Attach(t.Context(), ns, IfCore); err != nil {
		t.Fatal(err)
	}
	return ns
}

func newLabNS(t *testing.T, prefix, role string) *NS {
	t.Helper()
	ns, err := NewNS(nsName{Prefix: prefix, PID: os.Getpid(), Tag: newTag(), Role: role}.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

func nsNames(nss []*NS) []string {
	var names []string
	for _, ns := range nss {
		names = append(names, ns.Name)
	}
	return names
}

// dialFails checks that a TCP connection from ns to dst cannot be made
// within a second.
func dialFails(ctx context.Context, from *NS, dst netip.AddrPort) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := from.DialTCP(ctx, "tcp", dst.String())
	if err == nil {
		c.Close()
		return fmt.Errorf("connected from %s to %v through a cut", from.Name, dst)
	}
	return nil
}

// natsConnect opens a client connection from ns to a NATS node and reads
// the server's INFO line.
func natsConnect(t *testing.T, ns *NS, addr netip.Addr) (net.Conn, *bufio.Reader) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), step)
	defer cancel()
	c, err := ns.DialTCP(ctx, "tcp", netip.AddrPortFrom(addr, NATSClientPort).String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(step))
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "INFO {") {
		c.Close()
		t.Fatalf("from %s to %v: first line %q, %v; want INFO", ns.Name, addr, line, err)
	}
	return c, r
}

// natsExchange logs in, sends cmd and a PING, and returns the first
// answer line that is PONG or an -ERR.
func natsExchange(t *testing.T, c net.Conn, r *bufio.Reader, user, pass, cmd string) string {
	t.Helper()
	connect, err := json.Marshal(map[string]any{"verbose": false, "pedantic": false, "user": user, "pass": pass, "protocol": 1, "lang": "go-lab"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(c, "CONNECT %s\r\n%sPING\r\n", connect, cmd); err != nil {
		t.Fatal(err)
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return fmt.Sprintf("read error %v", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "PONG" || strings.HasPrefix(line, "-ERR") {
			return line
		}
	}
}

// TestNATSClusterCleanupAfterFailure runs this test binary again with a
// test that starts a core network and a NATS cluster and then fails with
// FailNow, or is killed with SIGKILL before any cleanup can run. After
// FailNow nothing may be left; after SIGKILL the servers must have got their
// parent-death signal, and the next SweepStale must remove the namespaces.
func TestNATSClusterCleanupAfterFailure(t *testing.T) {
	RequireRoot(t)
	requireNATSServer(t)
	for _, mode := range []string{"failnow", "sigkill"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperFailingNATSCluster$", "-test.v", "-test.count=1")
			// The parent's directory: a killed helper cannot remove its own.
			cmd.Env = append(os.Environ(), "FTLAB_NATS_HELPER="+mode, "FTLAB_NATS_DIR="+t.TempDir())
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("helper should fail, got %v:\n%s", err, out)
			}
			var names []string
			var pids []int
			sc := bufio.NewScanner(strings.NewReader(string(out)))
			for sc.Scan() {
				if _, name, ok := strings.Cut(sc.Text(), "LABNS "); ok {
					names = append(names, strings.TrimSpace(name))
				}
				if _, pid, ok := strings.Cut(sc.Text(), "LABPID "); ok {
					p, err := strconv.Atoi(strings.TrimSpace(pid))
					if err != nil {
						t.Fatal(err)
					}
					pids = append(pids, p)
				}
			}
			if len(names) != 4 || len(pids) != 3 {
				t.Fatalf("helper printed %d namespaces and %d pids, want 4 and 3:\n%s", len(names), len(pids), out)
			}
			deadline := time.Now().Add(15 * time.Second)
			for _, pid := range pids {
				for !processGone(pid) && time.Now().Before(deadline) {
					time.Sleep(50 * time.Millisecond)
				}
				if !processGone(pid) {
					t.Errorf("nats-server pid %d survived the helper's %s", pid, mode)
				}
			}
			if mode == "sigkill" {
				// The namespaces outlive the killed process until a
				// SweepStale, which any lab started meanwhile (other
				// packages' tests run in parallel) may already have done.
				t.Logf("after SIGKILL, %d of %d namespace mounts still there for SweepStale", len(leftovers(t, names)), 4*3)
				if _, err := SweepStale(); err != nil {
					t.Fatal(err)
				}
			}
			if left := leftovers(t, names); len(left) > 0 {
				t.Errorf("after the helper's %s, left behind: %v\n%s", mode, left, out)
			}
		})
	}
}

// TestHelperFailingNATSCluster is the failing test that
// TestNATSClusterCleanupAfterFailure runs in a child process; without
// FTLAB_NATS_HELPER it does nothing.
func TestHelperFailingNATSCluster(t *testing.T) {
	mode := os.Getenv("FTLAB_NATS_HELPER")
	if mode == "" {
		return
	}
	dir := os.Getenv("FTLAB_NATS_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	core := NewCoreT(t)
	nc, err := StartNATSCluster(t.Context(), core, 3, dir, nil, NATSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range core.Namespaces() {
		fmt.Printf("LABNS %s\n", ns.Name)
	}
	for _, n := range nc.nodes {
		fmt.Printf("LABPID %d\n", n.proc.Pid())
	}
	switch mode {
	case "failnow":
		t.Log("failing on purpose")
		t.FailNow()
	case "sigkill":
		os.Stdout.Sync()
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Minute)
	}
}
