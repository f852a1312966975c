package metrics

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	nfqueue "github.com/florianl/go-nfqueue/v2"
	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
	"golang.org/x/sys/unix"
)

// testNS is a network namespace created by the test, removed at cleanup.
type testNS struct {
	name string
	file *os.File
}

func newTestNS(t *testing.T) *testNS {
	t.Helper()
	name := fmt.Sprintf("ftwall-metrics-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	f, err := os.Open("/run/netns/" + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	for _, args := range [][]string{
		{"-n", name, "link", "set", "lo", "up"},
		{"-n", name, "addr", "add", "10.9.0.1/32", "dev", "lo"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	return &testNS{name: name, file: f}
}

// inNS runs fn on an OS thread switched into the namespace; the thread is
// discarded afterwards (the goroutine exits while locked).
func (ns *testNS) inNS(t *testing.T, fn func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := unix.Setns(int(ns.file.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		errc <- fn()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// queueRule sends local UDP to port dport to NFQUEUE queue num, with the
// xtables-compat target (this kernel has no native nft queue expression).
func queueRule(t *testing.T, ns *testNS, queues map[uint16]uint16) {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(int(ns.file.Fd())))
	if err != nil {
		t.Fatal(err)
	}
	tbl := c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: "metrics_test"})
	ch := c.AddChain(&nftables.Chain{
		Name: "out", Table: tbl, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityFilter,
	})
	for dport, num := range queues {
		info := make(xt.Unknown, 8)
		binary.NativeEndian.PutUint16(info[0:], num)
		binary.NativeEndian.PutUint16(info[2:], 1) // queues_total
		c.AddRule(&nftables.Rule{Table: tbl, Chain: ch, Exprs: []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_UDP}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, dport)},
			&expr.Target{Name: "NFQUEUE", Rev: 3, Info: &info},
		}})
	}
	if err := c.Flush(); err != nil {
		t.Fatalf("queue rules in %s: %v", ns.name, err)
	}
}

// bindQueue binds a reader that never gives verdicts, so packets stay queued.
func bindQueue(t *testing.T, ns *testNS, num uint16, maxLen uint32, flags uint32) {
	t.Helper()
	nf, err := nfqueue.Open(&nfqueue.Config{
		NfQueue: num, MaxPacketLen: 0xffff, MaxQueueLen: maxLen,
		Copymode: nfqueue.NfQnlCopyPacket, Flags: flags, NetNS: int(ns.file.Fd()),
	})
	if err != nil {
		t.Fatalf("open nfqueue %d: %v", num, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); nf.Close() })
	if err := nf.RegisterWithErrorFunc(ctx, func(nfqueue.Attribute) int { return 0 }, func(error) int { return 0 }); err != nil {
		t.Fatalf("bind queue %d: %v", num, err)
	}
}

// TestQueueStatsFromKernel queues real packets in a network namespace of
// its own and reads the kernel's statistics through a process living in it:
// the parser must understand the real file, the collector must expose the
// queues, and drops must show — except fail-open accepts, which the kernel
// does not count. Needs root.
func TestQueueStatsFromKernel(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: skipping the kernel integration test (needs network namespaces and NFQUEUE)")
	}
	ns := newTestNS(t)
	const (
		qDrop, qOpen       = 4242, 4243 // queue numbers
		portDrop, portOpen = 9009, 9010
		maxLen             = 4
		sent               = 10
	)
	queueRule(t, ns, map[uint16]uint16{portDrop: qDrop, portOpen: qOpen})
	bindQueue(t, ns, qDrop, maxLen, 0)
	bindQueue(t, ns, qOpen, maxLen, nfqueue.NfQaCfgFlagFailOpen)

	received := 0
	ns.inNS(t, func() error {
		ln, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 9, 0, 1), Port: portOpen})
		if err != nil {
			return err
		}
		defer ln.Close()
		for _, port := range []int{portDrop, portOpen} {
			c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(10, 9, 0, 1), Port: port})
			if err != nil {
				return err
			}
			for range sent {
				c.Write([]byte("candidate"))
			}
			c.Close()
		}
		buf := make([]byte, 64)
		for {
			ln.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			if _, err := ln.Read(buf); err != nil {
				return nil
			}
			received++
		}
	})

	// A process inside the namespace: its /proc/PID/net is the namespace's.
	sleeper := exec.Command("ip", "netns", "exec", ns.name, "sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleeper.Process.Kill(); sleeper.Wait() }()
	var want syscall.Stat_t
	syscall.Stat("/run/netns/"+ns.name, &want)
	nsPath := fmt.Sprintf("/proc/%d/ns/net", sleeper.Process.Pid)
	for deadline := time.Now().Add(10 * time.Second); ; {
		var got syscall.Stat_t
		if syscall.Stat(nsPath, &got) == nil && got.Ino == want.Ino {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the helper process did not enter the namespace")
		}
		time.Sleep(10 * time.Millisecond)
	}
	path := fmt.Sprintf("/proc/%d/net/netfilter/nfnetlink_queue", sleeper.Process.Pid)
	raw, _ := os.ReadFile(path)
	t.Logf("%s after %d packets to each queue (max length %d):\n%s", path, sent, maxLen, raw)

	stats, err := ReadQueueStats(path)
	if err != nil {
		t.Fatal(err)
	}
	byQueue := map[uint16]QueueStats{}
	for _, s := range stats {
		byQueue[s.Queue] = s
	}
	if len(stats) != 2 {
		t.Fatalf("%d queues in the namespace, want 2: %+v", len(stats), stats)
	}
	// The kernel clamps the copy range to NFQNL_MAX_COPY_RANGE, 0xffff minus
	// a netlink attribute header.
	for _, s := range stats {
		if s.CopyMode != nfqueue.NfQnlCopyPacket || s.CopyRange != 0xffff-4 || s.PeerPortID == 0 {
			t.Errorf("queue line %+v", s)
		}
	}
	d, o := byQueue[qDrop], byQueue[qOpen]
	if d.Waiting != maxLen || d.IDSequence != maxLen || d.Dropped != sent-maxLen || d.UserDropped != 0 {
		t.Errorf("queue without fail-open: %+v, want %d waiting, %d dropped", d, maxLen, sent-maxLen)
	}
	if o.Waiting != maxLen || o.IDSequence != maxLen || o.Dropped != 0 || o.UserDropped != 0 {
		t.Errorf("fail-open queue: %+v, want %d waiting and no drops", o, maxLen)
	}
	if received != sent-maxLen {
		t.Errorf("fail-open let %d packets through, want %d", received, sent-maxLen)
	}

	got := scrape(t, New(QueueStatsFile(path)).Handler())
	expect(t, got, map[string]float64{
		fmt.Sprintf(`ftwall_queue_waiting{queue="%d"}`, qDrop):            maxLen,
		fmt.Sprintf(`ftwall_queue_packets_total{queue="%d"}`, qDrop):      maxLen,
		fmt.Sprintf(`ftwall_queue_dropped_total{queue="%d"}`, qDrop):      sent - maxLen,
		fmt.Sprintf(`ftwall_queue_user_dropped_total{queue="%d"}`, qDrop): 0,
		fmt.Sprintf(`ftwall_queue_dropped_total{queue="%d"}`, qOpen):      0,
	})
	// The test's own thread never entered the namespace: read its view
	// (/proc/net follows the main thread, which the runtime may have used
	// for a namespace helper).
	runtime.LockOSThread()
	host, _ := ReadQueueStats("/proc/thread-self/net/netfilter/nfnetlink_queue")
	runtime.UnlockOSThread()
	for _, h := range host {
		if h.PeerPortID == d.PeerPortID || h.PeerPortID == o.PeerPortID {
			t.Error("the namespace's queues show in the host's file")
		}
	}
}
