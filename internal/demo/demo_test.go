package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ftwall/ftwall/internal/btlab"
	"github.com/ftwall/ftwall/internal/lab"
)

// buildFtwall builds cmd/ftwall into a temporary directory.
func buildFtwall(t *testing.T) string {
	t.Helper()
	lab.RequireRoot(t)
	bin := filepath.Join(t.TempDir(), "ftwall")
	out, err := exec.Command("go", "build", "-buildvcs=false", "-o", bin, "github.com/ftwall/ftwall/cmd/ftwall").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/ftwall: %v\n%s", err, out)
	}
	return bin
}

// syncBuffer collects the narrative; onLine is called with each complete
// line.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	onLine func(string)
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	b.buf.Write(p)
	b.mu.Unlock()
	if b.onLine != nil {
		for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
			b.onLine(l)
		}
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// assertCleanedUp checks that no namespace of the lab and no process of the
// ftwall binary is left.
func assertCleanedUp(t *testing.T, labName, ftwall string) {
	t.Helper()
	if labName == "" {
		t.Fatal("the result names no lab")
	}
	entries, err := os.ReadDir(lab.NetnsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), labName+"-") {
			t.Errorf("namespace %s left behind", e.Name())
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/exe")
	for _, p := range procs {
		if exe, err := os.Readlink(p); err == nil && exe == ftwall {
			t.Errorf("ftwall still running: %s", p)
		}
	}
}

func demoOptions(t *testing.T, ftwall string, out *syncBuffer) Options {
	return Options{FtwallPath: ftwall, Out: out, LabPrefix: lab.PrefixFrom(t.Name())}
}

// btPrograms are the programs of the BitTorrent scene (btlab's base
// programs, opentracker, the qBittorrent seeder, the aria2 leecher).
var btPrograms = []string{btlab.ProgMktorrent, "unshare", "mount", "sh", "cmp", btlab.ProgOpentracker, btlab.ProgQBittorrent, btlab.ProgAria2}

// haveBitTorrent reports whether the BitTorrent scene can run here; it
// logs what is missing otherwise.
func haveBitTorrent(t *testing.T) bool {
	t.Helper()
	var missing []string
	for _, p := range btPrograms {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		t.Logf("BitTorrent programs missing (%s): the BitTorrent scene is expected to be skipped", strings.Join(missing, ", "))
	}
	return len(missing) == 0
}

// assertBTProcessesGone checks that no BitTorrent program the demo started
// runs on (the demo's programs run from its temporary directories).
func assertBTProcessesGone(t *testing.T) {
	t.Helper()
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range cmdlines {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), "ftwdemo-bittorrent-") {
			t.Errorf("BitTorrent lab process still running: %s: %q", p, strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "ftwdemo-bittorrent-*"))
	for _, d := range dirs {
		t.Errorf("BitTorrent lab directory left behind: %s", d)
	}
}

// TestDemo runs the demo as `make demo` does and wants every check passed,
// the key facts in the narrative and nothing left behind.
func TestDemo(t *testing.T) {
	ftwall := buildFtwall(t)
	out := &syncBuffer{}
	res, err := Run(t.Context(), demoOptions(t, ftwall, out))
	t.Logf("narrative:\n%s", out.String())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, n := range CheckNames() {
		c, ok := res.Check(n)
		if !ok || !c.OK {
			t.Errorf("check %s: made %v, passed %v: %s", n, ok, c.OK, c.Detail)
		}
	}
	if !res.Passed() {
		t.Errorf("Passed() = false: %s", res.Summary())
	}
	text := out.String()
	bt := haveBitTorrent(t)
	wants := []string{
		"FastTrack is historic; BitTorrent is what networks meet today",
	}
	if bt {
		wants = append(wants,
			"First ftwall restarts with --reset",
			"qBittorrent seeder (port 51413) of a 4 MiB file",
			"aria2c on the PC (10.0.1.2, fd00:1::2) fetches it",
			"Its first BitTorrent packet",
			"the PC was time-locked (10.0.1.2 in locked4) and 203.0.113.2, tracker, DHT node and seeder in one, blocked (peers4)",
			"http://198.51.100.13/report.pdf: 200 OK, 64 KiB intact",
			"ftwall learned nothing from it: the neighbour is not locked, the server not blocked",
			"aria2c has 0 verified bytes of the 4 MiB file",
			"0 payload bytes of the seeder crossed the router",
			`comment "proto=bittorrent`,
			"RESULT: FastTrack and BitTorrent blocked, ordinary traffic untouched",
		)
	} else {
		wants = append(wants, "Skipped: programs not installed", "the BitTorrent scene was skipped")
	}
	if c, _ := res.Check(CheckBTClientLocked); c.Skipped == bt {
		t.Errorf("BitTorrent programs installed %v, but the scene skipped %v (%s)", bt, c.Skipped, c.Detail)
	}
	for _, want := range append(wants,
		"answered 16/16 pings with a spoofed node pong (0x29)",
		"the real nodes on the internet received 0 pings",
		"16 peers blocked (peers4 12, peers6 4)",
		"the PC (10.0.1.2, fd00:1::2) is time-locked for 30s",
		"The nodes accepted 0 connections",
		"refused (TCP reset)",
		"http://203.0.113.2/report.pdf: 200 OK, 64 KiB intact",
		"http://[2001:db8:1::2]/report.pdf: 200 OK, 64 KiB intact",
		"4/4 answered",
		"ftwall learned nothing from it",
		"The nodes served 0 downloads",
		"198.51.100.21, 198.51.100.22, 2001:db8:100::15, 2001:db8:100::16",
		"set peers4 {", "set peers6 {", "set locked4 {", "set locked6 {",
		"COUNTER", "dropped to peers",
		"Lab removed",
	) {
		if !strings.Contains(text, want) {
			t.Errorf("narrative lacks %q", want)
		}
	}
	if n := strings.Count(text, "\n"); n > 130 {
		t.Errorf("narrative has %d lines; it is meant to be short", n)
	}
	t.Logf("the demo took %s", res.Elapsed)
	assertCleanedUp(t, res.Lab, ftwall)
	assertBTProcessesGone(t)
}

// TestDemoWithoutBitTorrent runs the demo on a PATH without the
// BitTorrent programs: the BitTorrent scene is skipped with a message, and
// the demo passes.
func TestDemoWithoutBitTorrent(t *testing.T) {
	ftwall := buildFtwall(t)
	dir := t.TempDir()
	for _, p := range []string{"ip", "nft", "ss"} {
		path, err := exec.LookPath(p)
		if err != nil {
			t.Skipf("%s not installed: %v", p, err)
		}
		if err := os.Symlink(path, filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir)
	out := &syncBuffer{}
	res, err := Run(t.Context(), demoOptions(t, ftwall, out))
	t.Logf("narrative:\n%s", out.String())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !res.Passed() {
		t.Errorf("Passed() = false: %s", res.Summary())
	}
	for _, n := range btChecks() {
		if c, ok := res.Check(n); !ok || !c.Skipped || !strings.Contains(c.Detail, btlab.ProgOpentracker) {
			t.Errorf("check %s: made %v, skipped %v (%s); want skipped naming %s", n, ok, c.Skipped, c.Detail, btlab.ProgOpentracker)
		}
	}
	text := out.String()
	for _, want := range []string{
		"5. FastTrack is historic; BitTorrent is what networks meet today",
		"   Skipped: programs not installed: ",
		"make deps",
		"RESULT: FastTrack blocked, ordinary traffic untouched; the BitTorrent scene was skipped",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("narrative lacks %q", want)
		}
	}
	if strings.Contains(text, "restarts with --reset") {
		t.Error("ftwall was restarted for a skipped scene")
	}
	assertCleanedUp(t, res.Lab, ftwall)
}

// TestDemoDetectsFtwallNotBlocking runs the demo against ftwall run
// --dry-run (classifies, changes nothing, accepts everything): the
// FastTrack checks fail, the ordinary ones still pass.
func TestDemoDetectsFtwallNotBlocking(t *testing.T) {
	ftwall := buildFtwall(t)
	wrapper := filepath.Join(t.TempDir(), "ftwall-dry")
	script := fmt.Sprintf("#!/bin/sh\nif [ \"$1\" = run ]; then exec %q \"$@\" --dry-run; fi\nexec %q \"$@\"\n", ftwall, ftwall)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	o := demoOptions(t, wrapper, out)
	o.learnWait = 2e9
	res, err := Run(t.Context(), o)
	t.Logf("narrative:\n%s", out.String())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Passed() {
		t.Fatal("the demo passed although ftwall blocked nothing")
	}
	for _, n := range []string{CheckPingsStopped, CheckSpoofedPongs, CheckPeersLearned, CheckClientLocked, CheckTCPBlocked, CheckLockRefuses, CheckSafetyNet} {
		if c, ok := res.Check(n); !ok || c.OK {
			t.Errorf("check %s: made %v, passed %v; want made and failed", n, ok, c.OK)
		}
	}
	for _, n := range []string{CheckOrdinaryHTTP, CheckOrdinaryUDP, CheckNothingLearned, CheckFtwallRan} {
		if c, ok := res.Check(n); !ok || !c.OK {
			t.Errorf("check %s: made %v, passed %v (%s); want passed", n, ok, c.OK, c.Detail)
		}
	}
	if haveBitTorrent(t) {
		// Nothing stops the real client: it gets its file.
		for _, n := range []string{CheckBTClientLocked, CheckBTPeerBlocked, CheckBTNoPayload} {
			if c, ok := res.Check(n); !ok || c.OK {
				t.Errorf("check %s: made %v, passed %v; want made and failed", n, ok, c.OK)
			}
		}
		if c, ok := res.Check(CheckBTOrdinary); !ok || !c.OK {
			t.Errorf("check %s: made %v, passed %v (%s); want passed", CheckBTOrdinary, ok, c.OK, c.Detail)
		}
	}
	if text := out.String(); !strings.Contains(text, "RESULT: FAILED") || !strings.Contains(text, "The end of ftwall's log") {
		t.Errorf("the narrative does not report the failure")
	}
	assertCleanedUp(t, res.Lab, ftwall)
	assertBTProcessesGone(t)
}

// runInterrupted runs the demo and cancels it at the first narrative line
// starting with prefix: Run must return an interruption error, the result
// must not pass, the narrative must say the lab was removed and nothing may
// be left behind.
func runInterrupted(t *testing.T, ftwall, prefix string) Result {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &syncBuffer{onLine: func(l string) {
		if strings.HasPrefix(l, prefix) {
			cancel()
		}
	}}
	res, err := Run(ctx, demoOptions(t, ftwall, out))
	t.Logf("narrative:\n%s", out.String())
	if err == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("Run after cancel: %v; want an interruption error", err)
	}
	if res.Passed() {
		t.Error("an interrupted demo passed")
	}
	if !strings.Contains(out.String(), "Lab removed") {
		t.Error("the narrative does not say the lab was removed")
	}
	assertCleanedUp(t, res.Lab, ftwall)
	return res
}

// TestDemoInterrupted cancels the demo in the middle (Ctrl-C): Run returns
// an error saying so and removes everything.
func TestDemoInterrupted(t *testing.T) {
	res := runInterrupted(t, buildFtwall(t), "2. ")
	if _, ok := res.Check(CheckPingsStopped); !ok {
		t.Error("the checks of step 1 were not kept")
	}
}

// TestDemoInterruptedBitTorrent cancels the demo while the real
// BitTorrent client runs: everything the BitTorrent lab started is gone
// afterwards too.
func TestDemoInterruptedBitTorrent(t *testing.T) {
	ftwall := buildFtwall(t)
	if !haveBitTorrent(t) {
		t.Skip("the BitTorrent programs are not installed")
	}
	runInterrupted(t, ftwall, "   Its first BitTorrent packet")
	assertBTProcessesGone(t)
}

// TestDemoKeep keeps the lab until the context ends: it is there, with
// ftwall running, while the demo waits, and gone afterwards.
func TestDemoKeep(t *testing.T) {
	ftwall := buildFtwall(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	seen := make(chan struct{})
	out := &syncBuffer{onLine: func(l string) {
		if strings.HasPrefix(l, "The lab stays up") {
			close(seen)
		}
	}}
	o := demoOptions(t, ftwall, out)
	o.Keep = true
	type ret struct {
		res Result
		err error
	}
	done := make(chan ret, 1)
	go func() {
		res, err := Run(ctx, o)
		done <- ret{res, err}
	}()
	select {
	case <-seen:
	case r := <-done:
		t.Fatalf("Run returned before keeping the lab: %v\n%s", r.err, out.String())
	}
	entries, _ := os.ReadDir(lab.NetnsDir)
	routers := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), fmt.Sprintf("%s-%d-", lab.PrefixFrom(t.Name()), os.Getpid())) && strings.HasSuffix(e.Name(), "-"+lab.RoleRouter) {
			routers++
			if _, err := exec.Command("ip", "netns", "exec", e.Name(), ftwall, "status").CombinedOutput(); err != nil {
				t.Errorf("ftwall status in the kept lab: %v", err)
			}
		}
	}
	if routers != 1 {
		t.Errorf("%d router namespaces of this test while the lab is kept; want 1", routers)
	}
	cancel()
	r := <-done
	t.Logf("narrative:\n%s", out.String())
	if r.err != nil {
		t.Fatalf("Run with Keep: %v", r.err)
	}
	if !r.res.Passed() {
		t.Errorf("Keep run failed: %s", r.res.Summary())
	}
	assertCleanedUp(t, r.res.Lab, ftwall)
}
