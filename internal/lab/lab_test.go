package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const step = 5 * time.Second // deadline for one exchange that must succeed

func TestLabConnectivity(t *testing.T) {
	l := NewT(t)
	ctx := t.Context()

	for key, want := range map[string]string{"net/ipv4/ip_forward": "1", "net/ipv6/conf/all/forwarding": "1"} {
		got, err := l.Router.Sysctl(key)
		if err != nil || got != want {
			t.Errorf("router sysctl %s = %q, %v; want %q", key, got, err, want)
		}
	}

	tcp := startEchoTCP(t, l.Internet, "tcp", "[::]:7000")
	tcpClient2 := startEchoTCP(t, l.Client2, "tcp", "[::]:7001")
	first4, last4 := l.Peers4[0], l.Peers4[NumPeers-1]
	first6, last6 := l.Peers6[0], l.Peers6[NumPeers-1]
	if first4.String() != "198.51.100.1" || last4.String() != "198.51.100.32" ||
		first6.String() != "2001:db8:100::1" || last6.String() != "2001:db8:100::20" {
		t.Fatalf("peer ranges %v–%v, %v–%v; want 198.51.100.1–.32, 2001:db8:100::1–::20", first4, last4, first6, last6)
	}

	for _, dst := range []netip.Addr{first4, last4, first6, last6, l.InternetIP4, l.InternetIP6} {
		t.Run("client→internet "+dst.String(), func(t *testing.T) {
			checkTCP(t, l.Client, netip.AddrPortFrom(dst, tcp.Addr.Port()))
			udp := startEchoUDP(t, l.Internet, netip.AddrPortFrom(dst, 7002))
			checkUDP(t, l.Client, udp.Addr)
			if err := l.Client.Ping(ctx, dst); err != nil {
				t.Error(err)
			}
		})
	}
	for _, dst := range []netip.Addr{l.Client2IP4, l.Client2IP6} {
		t.Run("client→client2 "+dst.String(), func(t *testing.T) {
			checkTCP(t, l.Client, netip.AddrPortFrom(dst, tcpClient2.Addr.Port()))
			udp := startEchoUDP(t, l.Client2, netip.AddrPortFrom(dst, 7003))
			checkUDP(t, l.Client, udp.Addr)
		})
	}
	t.Run("internet→client from a peer address", func(t *testing.T) {
		echo := startEchoTCP(t, l.Client, "tcp", "[::]:7004")
		for _, p := range []struct{ src, dst netip.Addr }{{first4, l.ClientIP4}, {last6, l.ClientIP6}} {
			ctx, cancel := context.WithTimeout(ctx, step)
			c, err := l.Internet.DialTCPFrom(ctx, p.src, netip.AddrPortFrom(p.dst, echo.Addr.Port()))
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			if got := c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap(); got != p.dst {
				t.Errorf("connected to %v, want %v", got, p.dst)
			}
			if err := RoundTrip(c, []byte("back"), step); err != nil {
				t.Error(err)
			}
			c.Close()
		}
	})
	t.Run("traffic goes through the router", func(t *testing.T) {
		if err := l.Router.setSysctls(map[string]string{"net/ipv4/ip_forward": "0"}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		c, err := l.Client.DialTCP(ctx, "tcp", netip.AddrPortFrom(first4, tcp.Addr.Port()).String())
		cancel()
		if err == nil {
			c.Close()
			t.Error("client reached the internet with forwarding off in the router")
		}
		if err := l.Router.setSysctls(map[string]string{"net/ipv4/ip_forward": "1"}); err != nil {
			t.Fatal(err)
		}
		checkTCP(t, l.Client, netip.AddrPortFrom(first4, tcp.Addr.Port()))
	})
	t.Run("router reaches both sides", func(t *testing.T) {
		for _, dst := range []netip.Addr{l.ClientIP4, l.Client2IP6, l.InternetIP4, l.Peers6[5]} {
			if err := l.Router.Ping(ctx, dst); err != nil {
				t.Error(err)
			}
		}
	})
}

func checkTCP(t *testing.T, from *NS, dst netip.AddrPort) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), step)
	defer cancel()
	c, err := from.DialTCP(ctx, "tcp", dst.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := RoundTrip(c, []byte("hello over tcp"), step); err != nil {
		t.Error(err)
	}
}

func checkUDP(t *testing.T, from *NS, dst netip.AddrPort) {
	t.Helper()
	c, err := from.DialUDP(netip.Addr{}, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := RoundTrip(c, []byte("hello over udp"), step); err != nil {
		t.Error(err)
	}
}

func startEchoTCP(t *testing.T, ns *NS, network, addr string) *Echo {
	t.Helper()
	e, err := ns.StartEchoTCP(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func startEchoUDP(t *testing.T, ns *NS, addr netip.AddrPort) *Echo {
	t.Helper()
	network := "udp4"
	if addr.Addr().Is6() {
		network = "udp6"
	}
	e, err := ns.StartEchoUDP(network, addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// netnsInode is the inode of the network namespace behind path.
func netnsInode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	return st.Ino
}

func TestDoEntersNamespaceOnlyInItsThread(t *testing.T) {
	RequireRoot(t)
	ns, err := NewNS(nsName{Prefix: "ftlabdo", PID: os.Getpid(), Tag: newTag(), Role: RoleRouter}.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })

	own := netnsInode(t, "/proc/thread-self/ns/net")
	want := netnsInode(t, ns.Path())
	if own == want {
		t.Fatal("the new namespace is the test process's own")
	}
	var inside uint64
	var links []net.Interface
	if err := ns.Do(func() error {
		var st unix.Stat_t
		if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
			return err
		}
		inside = st.Ino
		var err error
		links, err = net.Interfaces()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if inside != want {
		t.Errorf("Do ran in namespace inode %d, want %d", inside, want)
	}
	if len(links) != 1 || links[0].Name != "lo" {
		t.Errorf("a new namespace has interfaces %v, want only lo", links)
	}
	if got := netnsInode(t, "/proc/thread-self/ns/net"); got != own {
		t.Errorf("the test goroutine's thread is in namespace inode %d, want %d", got, own)
	}
	// Many Do calls, so that some land on the main thread, which Go parks
	// instead of ending: afterwards no thread of the process may be in n.
	for range 64 {
		if err := ns.Do(func() error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		p := "/proc/self/task/" + task.Name() + "/ns/net"
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			continue // the thread ended meanwhile
		}
		if st.Ino != own {
			t.Errorf("thread %s is in network namespace inode %d, not the test's %d", task.Name(), st.Ino, own)
		}
	}

	wantErr := errors.New("from fn")
	if err := ns.Do(func() error { return wantErr }); !errors.Is(err, wantErr) {
		t.Errorf("Do returned %v, want fn's error", err)
	}
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want fn's panic value", p)
			}
		}()
		ns.Do(func() error { panic("boom") })
		t.Error("Do did not re-raise fn's panic")
	}()

	out, err := ns.Run(t.Context(), "ip", "-o", "link", "show")
	if err != nil || !strings.Contains(out, "lo:") || strings.Count(out, "\n") != 1 {
		t.Errorf("ip link show in %s: %q, %v; want only lo", ns.Name, out, err)
	}
	if _, err := ns.Run(t.Context(), "false"); err == nil || !strings.Contains(err.Error(), ns.Name) {
		t.Errorf("Run(false) = %v, want an error naming the namespace", err)
	}

	if _, err := NewNS(ns.Name); err == nil {
		t.Errorf("NewNS(%q) twice succeeded", ns.Name)
	}
	if netnsInode(t, ns.Path()) != want {
		t.Error("a failed NewNS of an existing name replaced that namespace")
	}
	for _, bad := range []string{"", "a/b", "..", strings.Repeat("x", 201)} {
		if n, err := NewNS(bad); err == nil {
			n.Close()
			t.Errorf("NewNS(%q) accepted a bad name", bad)
		}
	}

	if err := ns.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ns.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := ns.Do(func() error { return nil }); err == nil {
		t.Error("Do on a closed namespace succeeded")
	}
}

// leftovers reports which of names still have a file under /run/netns, a
// mount in this mount namespace or an `ip netns list` entry.
func leftovers(t *testing.T, names []string) []string {
	t.Helper()
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	list, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v: %s", err, list)
	}
	var left []string
	for _, n := range names {
		if _, err := os.Stat(nsPath(n)); err == nil {
			left = append(left, n+" (file)")
		}
		if strings.Contains(string(mountinfo), " "+nsPath(n)+" ") {
			left = append(left, n+" (mount)")
		}
		for _, line := range strings.Split(string(list), "\n") {
			if f := strings.Fields(line); len(f) > 0 && f[0] == n {
				left = append(left, n+" (ip netns list)")
			}
		}
	}
	return left
}

func TestCloseRemovesEverything(t *testing.T) {
	RequireRoot(t)
	l, err := New(t.Context(), "ftlabclose")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ns := range l.Namespaces() {
		names = append(names, ns.Name)
	}
	t.Cleanup(func() { l.Close() })
	if left := leftovers(t, names); len(left) != 4*3 {
		t.Fatalf("before Close, found %v; want all 4 namespaces as file, mount and list entry", left)
	}
	// A process still running inside must not keep the name alive.
	cmd := l.Router.Command(t.Context(), "sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if left := leftovers(t, names); len(left) > 0 {
		t.Errorf("after Close, left behind: %v", left)
	}
}

// TestCleanupAfterFailNowAndPanic runs this test binary again with a test
// that builds a lab and then fails with FailNow or panics, and checks that
// no namespace of that lab survives.
func TestCleanupAfterFailNowAndPanic(t *testing.T) {
	RequireRoot(t)
	for _, mode := range []string{"failnow", "panic"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperFailingLab$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), "FTLAB_HELPER="+mode)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("helper should fail with an exit status, got %v:\n%s", err, out)
			}
			var names []string
			sc := bufio.NewScanner(strings.NewReader(string(out)))
			for sc.Scan() {
				if _, name, ok := strings.Cut(sc.Text(), "LABNS "); ok {
					names = append(names, strings.TrimSpace(name))
				}
			}
			if len(names) != 4 {
				t.Fatalf("helper printed %d namespace names, want 4:\n%s", len(names), out)
			}
			if left := leftovers(t, names); len(left) > 0 {
				t.Errorf("after the helper's %s, left behind: %v\n%s", mode, left, out)
			}
		})
	}
}

// TestHelperFailingLab is the failing test that TestCleanupAfterFailNowAndPanic
// runs in a child process; without FTLAB_HELPER it does nothing.
func TestHelperFailingLab(t *testing.T) {
	mode := os.Getenv("FTLAB_HELPER")
	if mode == "" {
		return
	}
	l := NewT(t)
	for _, ns := range l.Namespaces() {
		fmt.Printf("LABNS %s\n", ns.Name)
	}
	switch mode {
	case "failnow":
		t.Log("failing on purpose")
		t.FailNow()
	case "panic":
		panic("panicking on purpose")
	}
}

func TestSweepStale(t *testing.T) {
	RequireRoot(t)
	// A pid that surely belongs to no process: one of a child that has exited.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := cmd.Process.Pid
	if !processGone(dead) {
		t.Skipf("pid %d was reused at once; cannot stage a stale lab", dead)
	}
	stale := nsName{Prefix: "ftlabsweep", PID: dead, Tag: newTag(), Role: RoleInternet}.String()
	live := nsName{Prefix: "ftlabsweep", PID: os.Getpid(), Tag: newTag(), Role: RoleInternet}.String()
	other := fmt.Sprintf("ftlabsweep-%d-notalab", dead)
	var nss []*NS
	for _, name := range []string{stale, live, other} {
		ns, err := NewNS(name)
		if err != nil {
			t.Fatal(err)
		}
		nss = append(nss, ns)
		t.Cleanup(func() { ns.Close() })
	}
	nss[0].File().Close() // as if its process had died

	removed, err := SweepStale()
	if err != nil {
		t.Fatal(err)
	}
	if !slicesContains(removed, stale) || slicesContains(removed, live) || slicesContains(removed, other) {
		t.Errorf("SweepStale removed %v; want %s but not %s or %s", removed, stale, live, other)
	}
	if left := leftovers(t, []string{stale}); len(left) > 0 {
		t.Errorf("stale lab namespace survived: %v", left)
	}
	if left := leftovers(t, []string{live, other}); len(left) != 6 {
		t.Errorf("SweepStale touched namespaces it does not own; still present: %v", left)
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
