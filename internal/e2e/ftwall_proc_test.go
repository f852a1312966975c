package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/nft"
)

// binaries builds bin/ftwall once per test process.
var binaries struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// removeBinaries removes the build of ftwallBinary (TestMain, after the
// tests).
func removeBinaries() {
	if binaries.dir != "" {
		os.RemoveAll(binaries.dir)
	}
}

// FTWALL_E2E_BINARY runs the tests against another ftwall binary (an older
// build, to measure what a change did); by default the tree is built.
func ftwallBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("FTWALL_E2E_BINARY"); p != "" {
		return p
	}
	binaries.once.Do(func() {
		dir, err := os.MkdirTemp("", "ftwall-e2e-bin-")
		if err != nil {
			binaries.err = err
			return
		}
		binaries.dir, binaries.path = dir, filepath.Join(dir, "ftwall")
		out, err := exec.Command("go", "build", "-buildvcs=false", "-o", binaries.path, "github.com/ftwall/ftwall/cmd/ftwall").CombinedOutput()
		if err != nil {
			binaries.err = fmt.Errorf("go build ./cmd/ftwall: %v: %s", err, out)
		}
	})
	if binaries.err != nil {
		t.Fatal(binaries.err)
	}
	return binaries.path
}

// ftwallProc is `ftwall run` inside the lab's router namespace.
type ftwallProc struct {
	*lab.Proc
	out *lab.Buffer
}

// startRun starts `ftwall run --lan lan0 --lan lan1 ARGS…` in the router and
// waits until it reads its queues.
func startRun(t *testing.T, l *lab.Lab, args ...string) *ftwallProc {
	t.Helper()
	full := append([]string{"run", "--lan", "lan0", "--lan", "lan1", "--log", "all", "--log-level", "debug", "--summary-interval", "0"}, args...)
	out := &lab.Buffer{}
	lp, err := lab.StartProc(l.Router, "ftwall run", out, nil, ftwallBinary(t), full...)
	if err != nil {
		t.Fatal(err)
	}
	p := &ftwallProc{Proc: lp, out: out}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("ftwall run output:\n%s", p.out.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(p.out.String(), `msg=inspecting`) {
		if !p.Running() {
			t.Fatalf("ftwall run exited early (%v):\n%s", p.Err(), p.out.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("ftwall run not ready after 15s:\n%s", p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p
}

// stop sends SIGTERM and wants a clean exit (status 0).
func (p *ftwallProc) stop(t *testing.T) {
	t.Helper()
	if _, err := p.Stop(15 * time.Second); err != nil {
		t.Fatalf("ftwall run did not exit cleanly after SIGTERM: %v:\n%s", err, p.out.String())
	}
}

// kill9 kills the process without warning.
func (p *ftwallProc) kill9(t *testing.T) {
	t.Helper()
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("ftwall run survived SIGKILL")
	}
}

// kernel opens the router's nftables view.
func kernel(t *testing.T, l *lab.Lab) *nft.Kernel {
	t.Helper()
	k, err := nft.Open(nft.WithNetNS(l.Router.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func setHas(t *testing.T, k *nft.Kernel, set string, a netip.Addr) bool {
	t.Helper()
	elems, err := k.Elements(context.Background(), set)
	if err != nil {
		t.Fatalf("read %s: %v", set, err)
	}
	for _, e := range elems {
		if e.Addr == a {
			return true
		}
	}
	return false
}

func setAddrs(t *testing.T, k *nft.Kernel, set string) []netip.Addr {
	t.Helper()
	elems, err := k.Elements(context.Background(), set)
	if err != nil {
		t.Fatalf("read %s: %v", set, err)
	}
	var out []netip.Addr
	for _, e := range elems {
		out = append(out, e.Addr)
	}
	return out
}

// waitFor polls cond every few milliseconds for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v still not: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
