package nft

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// testNS is a private network namespace created by a test.
type testNS struct {
	name string
	file *os.File
}

// requireRoot skips integration tests for unprivileged runs.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("integration test skipped: needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to create a network namespace and change nftables")
	}
}

// newNetNS creates an empty network namespace (ip netns add) that is removed
// when the test ends, also on failure.
func newNetNS(t testing.TB) *testNS {
	t.Helper()
	requireRoot(t)
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "ftwnft-" + hex.EncodeToString(b[:])
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	ns := &testNS{name: name}
	t.Cleanup(func() {
		if ns.file != nil {
			ns.file.Close()
		}
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	f, err := os.Open("/run/netns/" + name)
	if err != nil {
		t.Fatal(err)
	}
	ns.file = f
	return ns
}

// open returns a Kernel working in the namespace.
func (ns *testNS) open(t testing.TB) *Kernel {
	t.Helper()
	k, err := Open(WithNetNS(int(ns.file.Fd())))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

// run runs a command inside the namespace and returns its output.
func (ns *testNS) run(t testing.TB, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.name}, args...)...).CombinedOutput()
	return string(out), err
}

// mustRun is run that fails the test on error.
func (ns *testNS) mustRun(t testing.TB, args ...string) string {
	t.Helper()
	out, err := ns.run(t, args...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}
