package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftwall/ftwall/internal/ftsim"
	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/internal/store"
	"github.com/ftwall/ftwall/nft"
)

// ftwallCmd runs a one-shot ftwall command in the router and returns its
// output and exit status.
func ftwallCmd(t *testing.T, l *lab.Lab, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := l.Router.Command(ctx, ftwallBinary(t), args...).CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("ftwall %v: %v", args, err)
	}
	return string(out), code
}

func ftwallOK(t *testing.T, l *lab.Lab, args ...string) string {
	t.Helper()
	out, code := ftwallCmd(t, l, args...)
	if code != 0 {
		t.Fatalf("ftwall %s: exit %d:\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

func storeAddrs(t *testing.T, path string) map[netip.Addr]string {
	t.Helper()
	peers, _, err := store.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[netip.Addr]string{}
	for _, p := range peers {
		m[p.Addr] = p.Reason
	}
	return m
}

// TestOperatorCommands runs block, unblock, unlock, list, status, setup and
// teardown against a running ftwall run in the lab, then without it, then
// across a restart with the storefile: the kernel sets, the storefile and
// the service's memory change together, and pardons hold.
func TestOperatorCommands(t *testing.T) {
	l := lab.NewT(t)
	startNode(t, l, ftsim.NodeOptions{})
	k := kernel(t, l)
	dir := filepath.Join(t.TempDir(), "run")
	path := filepath.Join(t.TempDir(), "peers")
	runArgs := []string{"--store", path, "--peer-timeout", "1h", "--run-dir", dir}
	p := startRun(t, l, runArgs...)
	learned := []netip.AddrPort{ap(l.Peers4[1], ftPort), ap(l.Peers6[1], ftPort)}
	runClient(t, l, ftsim.ClientOptions{Nodes: learned})
	waitFor(t, 3*time.Second, "peers learned, client locked", func() bool {
		return setHas(t, k, nft.SetPeers4, l.Peers4[1]) && setHas(t, k, nft.SetPeers6, l.Peers6[1]) && setHas(t, k, nft.SetLocked4, l.ClientIP4)
	})

	// status: the service, its queue with a reader, the interfaces.
	var st struct {
		Service struct {
			Running bool   `json:"running"`
			PID     int    `json:"pid"`
			Version string `json:"version"`
		} `json:"service"`
		Queues []struct {
			Num   uint16 `json:"num"`
			Bound bool   `json:"reader_bound"`
		} `json:"queues"`
		Interfaces []struct {
			Name   string `json:"name"`
			Exists bool   `json:"exists"`
		} `json:"interfaces"`
	}
	if err := json.Unmarshal([]byte(ftwallOK(t, l, "status", "--json", "--run-dir", dir)), &st); err != nil {
		t.Fatal(err)
	}
	if !st.Service.Running || st.Service.PID != p.Pid() || st.Service.Version == "" {
		t.Errorf("status service %+v, want running as pid %d", st.Service, p.Pid())
	}
	if len(st.Queues) != 1 || st.Queues[0].Num != 0 || !st.Queues[0].Bound {
		t.Errorf("status queues %+v, want queue 0 with a reader", st.Queues)
	}
	if len(st.Interfaces) != 2 || !st.Interfaces[0].Exists || !st.Interfaces[1].Exists {
		t.Errorf("status interfaces %+v", st.Interfaces)
	}

	// One owner: setup with the same options is a no-op, with others refused,
	// teardown refused; the table is untouched.
	if out := ftwallOK(t, l, "setup", "--lan", "lan0", "--lan", "lan1", "--peer-timeout", "1h", "--run-dir", dir); !strings.Contains(out, "unchanged: ftwall run (pid") {
		t.Errorf("setup with the service's options: %s", out)
	}
	for _, args := range [][]string{{"setup", "--lan", "lan0", "--run-dir", dir}, {"teardown", "--run-dir", dir}} {
		out, code := ftwallCmd(t, l, args...)
		if code != 1 || !strings.Contains(out, fmt.Sprintf("ftwall run (pid %d) owns table inet ftwall", p.Pid())) {
			t.Errorf("ftwall %v while run runs: exit %d: %s", args, code, out)
		}
	}
	if !setHas(t, k, nft.SetPeers4, l.Peers4[1]) {
		t.Fatal("a refused command changed the table")
	}

	// unblock through the service: gone from the set, reachable, pardoned.
	if out := ftwallOK(t, l, "unblock", l.Peers4[1].String(), "--run-dir", dir); out != l.Peers4[1].String()+": unblocked\n" {
		t.Errorf("unblock: %q", out)
	}
	if setHas(t, k, nft.SetPeers4, l.Peers4[1]) || !setHas(t, k, nft.SetPardon4, l.Peers4[1]) {
		t.Fatal("unblocked peer still in peers4, or not in pardon4")
	}
	if res, c := dialResult(l.Client2, ap(l.Peers4[1], ftPort)); res == "timeout" {
		t.Error("client2 → unblocked peer: still dropped")
	} else if c != nil {
		c.Close()
	}
	// The same evidence again: the pardon holds.
	runClient(t, l, ftsim.ClientOptions{Nodes: learned[:1]})
	time.Sleep(300 * time.Millisecond)
	if setHas(t, k, nft.SetPeers4, l.Peers4[1]) {
		t.Fatal("a pardoned peer was learned again")
	}

	// unlock: the client leaves locked4 and may open connections again.
	if out := ftwallOK(t, l, "unlock", l.ClientIP4.String(), "--run-dir", dir); out != l.ClientIP4.String()+": unlocked\n" {
		t.Errorf("unlock: %q", out)
	}
	if setHas(t, k, nft.SetLocked4, l.ClientIP4) {
		t.Fatal("unlocked client still in locked4")
	}

	// block by hand: dropped at once, stored with its reason.
	if out := ftwallOK(t, l, "block", l.Peers4[3].String(), "--reason", "ticket 7", "--run-dir", dir); !strings.Contains(out, ": blocked") {
		t.Errorf("block: %q", out)
	}
	if res, c := dialResult(l.Client2, ap(l.Peers4[3], ftPort)); res != "timeout" {
		if c != nil {
			c.Close()
		}
		t.Errorf("client2 → blocked peer: %s, want timeout (dropped)", res)
	}
	if out := ftwallOK(t, l, "list", "peers"); !strings.Contains(out, l.Peers4[3].String()) || !strings.Contains(out, "manual: ticket 7") || strings.Contains(out, l.Peers4[1].String()+" ") {
		t.Errorf("list peers:\n%s", out)
	}
	p.stop(t)
	m := storeAddrs(t, path)
	if m[l.Peers4[3]] != "manual/ticket 7" {
		t.Errorf("storefile: blocked peer's reason %q", m[l.Peers4[3]])
	}
	if _, ok := m[l.Peers4[1]]; ok {
		t.Error("storefile still holds the unblocked peer")
	}
	if _, ok := m[l.Peers6[1]]; !ok {
		t.Error("storefile lost a learned peer")
	}

	// Without the service: the command acts itself.
	out := ftwallOK(t, l, "unblock", l.Peers6[1].String(), "--store", path, "--run-dir", dir, "--json")
	if !strings.Contains(out, `"via": "direct"`) || !strings.Contains(out, `"done": "unblocked"`) {
		t.Errorf("unblock without a service: %s", out)
	}
	if setHas(t, k, nft.SetPeers6, l.Peers6[1]) {
		t.Fatal("unblock without a service left the peer in peers6")
	}
	if _, ok := storeAddrs(t, path)[l.Peers6[1]]; ok {
		t.Error("unblock without a service left the peer in the storefile")
	}
	out = ftwallOK(t, l, "block", l.Peers6[4].String(), "--store", path, "--run-dir", dir, "--reason", "by hand")
	if !strings.Contains(out, ": blocked") || !setHas(t, k, nft.SetPeers6, l.Peers6[4]) || storeAddrs(t, path)[l.Peers6[4]] != "manual/by hand" {
		t.Errorf("block without a service: %q; in peers6 %v; storefile %v", out, setHas(t, k, nft.SetPeers6, l.Peers6[4]), storeAddrs(t, path))
	}

	// A restart, as after an upgrade: what was unblocked stays unblocked,
	// the block by hand is back, the pardons hold.
	ftwallOK(t, l, "teardown", "--run-dir", dir)
	p2 := startRun(t, l, runArgs...)
	if !setHas(t, k, nft.SetPeers4, l.Peers4[3]) || !setHas(t, k, nft.SetPeers6, l.Peers6[4]) {
		t.Error("a block by hand was not restored from the storefile")
	}
	for _, a := range []netip.Addr{l.Peers4[1], l.Peers6[1]} {
		if setHas(t, k, nft.SetPeers4, a) || setHas(t, k, nft.SetPeers6, a) {
			t.Errorf("unblocked %v came back at the restart", a)
		}
	}
	_ = p2
}

// TestOperatorSocketRootOnly: the control socket refuses a process that is
// not root (SO_PEERCRED), before it reads the request.
func TestOperatorSocketRootOnly(t *testing.T) {
	l := lab.NewT(t)
	// A run directory that uid 65534 can reach.
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} {
		os.Chmod(d, 0o755)
	}
	dir := filepath.Join(base, "run")
	p := startRun(t, l, "--run-dir", dir)
	sock := filepath.Join(dir, "control.sock")
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatalf("control socket: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("control socket mode %v, want 0600", fi.Mode().Perm())
	}
	// Even with the file opened up, uid 65534 is refused by the server.
	os.Chmod(sock, 0o666)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	out, _ := l.Router.Command(ctx, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
		"socat", "-t2", "-", "UNIX-CONNECT:"+sock).CombinedOutput()
	if !strings.Contains(string(out), "root only") {
		t.Errorf("a non-root client got %q, want the root-only refusal", out)
	}
	if !strings.Contains(p.out.String(), "not root") {
		t.Errorf("the refusal was not logged:\n%s", p.out.String())
	}
}

// TestDryRunHonest: dry-run refuses an existing table; started on none it
// installs only the queue rules, loads nothing, and removes its table at
// exit; SIGHUP switches it off (full ruleset, storefile loaded, learning)
// and on again (enforcement gone, storefile saved first).
func TestDryRunHonest(t *testing.T) {
	l := lab.NewT(t)
	startNode(t, l, ftsim.NodeOptions{})
	k := kernel(t, l)
	dir := filepath.Join(t.TempDir(), "run")

	ftwallOK(t, l, "setup", "--lan", "lan0", "--run-dir", dir)
	out, code := ftwallCmd(t, l, "run", "--lan", "lan0", "--dry-run", "--run-dir", dir)
	if code != 1 || !strings.Contains(out, "ftwall teardown") {
		t.Errorf("dry-run over an existing table: exit %d: %s", code, out)
	}
	ftwallOK(t, l, "teardown", "--run-dir", dir)

	path := filepath.Join(t.TempDir(), "peers")
	seen := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	os.WriteFile(path, []byte(fmt.Sprintf("%s\n%s:1214 %s fasttrack/stored\n", store.Header, l.Peers4[5], seen)), 0o600)
	cfg := filepath.Join(t.TempDir(), "ftwall.yaml")
	writeCfg := func(dry bool) {
		os.WriteFile(cfg, []byte(fmt.Sprintf("lan: [lan0, lan1]\nstore: %s\nrun-dir: %s\ndry-run: %v\n", path, dir, dry)), 0o600)
	}
	writeCfg(true)
	before, _ := os.ReadFile(path)
	p := startRun(t, l, "--config", cfg)
	ruleset := nftCLI(t, l, "list", "table", "inet", "ftwall")
	if strings.Contains(ruleset, "chain enforce") || strings.Contains(ruleset, "drop") || !strings.Contains(ruleset, "queue") {
		t.Errorf("dry-run ruleset has enforcement or lacks the queue rules:\n%s", ruleset)
	}
	if setHas(t, k, nft.SetPeers4, l.Peers4[5]) {
		t.Fatal("dry-run loaded the storefile into the kernel")
	}
	runClient(t, l, ftsim.ClientOptions{Nodes: []netip.AddrPort{ap(l.Peers4[6], ftPort)}})
	time.Sleep(300 * time.Millisecond)
	if setHas(t, k, nft.SetPeers4, l.Peers4[6]) || setHas(t, k, nft.SetLocked4, l.ClientIP4) {
		t.Fatal("dry-run wrote an element")
	}

	// Off: enforcing, with the storefile's peers.
	writeCfg(false)
	if err := p.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "dry-run turned off", func() bool { return strings.Contains(p.out.String(), "dry-run turned off") })
	if !setHas(t, k, nft.SetPeers4, l.Peers4[5]) {
		t.Fatal("dry-run off: the storefile's peer is not in peers4")
	}
	if ruleset := nftCLI(t, l, "list", "table", "inet", "ftwall"); !strings.Contains(ruleset, "chain enforce") {
		t.Fatalf("dry-run off: no enforcement chain:\n%s", ruleset)
	}
	runClient(t, l, ftsim.ClientOptions{Nodes: []netip.AddrPort{ap(l.Peers4[7], ftPort)}})
	waitFor(t, 3*time.Second, "peer learned after dry-run off", func() bool { return setHas(t, k, nft.SetPeers4, l.Peers4[7]) })
	if res, c := dialResult(l.Client2, ap(l.Peers4[5], ftPort)); res != "timeout" {
		if c != nil {
			c.Close()
		}
		t.Errorf("dry-run off: client2 → stored peer %s, want timeout (dropped)", res)
	}

	// On again: enforcement gone at once, what was learned saved.
	writeCfg(true)
	p.Signal(syscall.SIGHUP)
	waitFor(t, 5*time.Second, "dry-run turned on", func() bool { return strings.Contains(p.out.String(), "dry-run turned on") })
	if ruleset := nftCLI(t, l, "list", "table", "inet", "ftwall"); strings.Contains(ruleset, "chain enforce") {
		t.Errorf("dry-run on: the enforcement chain is still there")
	}
	if res, c := dialResult(l.Client2, ap(l.Peers4[5], ftPort)); res == "timeout" {
		t.Error("dry-run on: client2 → stored peer still dropped")
	} else if c != nil {
		c.Close()
	}
	if _, ok := storeAddrs(t, path)[l.Peers4[7]]; !ok {
		t.Error("turning dry-run on did not save the peer learned before")
	}
	saved, _ := os.ReadFile(path)
	p.stop(t)
	// Started in dry-run and stopped in it: the table goes, the storefile
	// is as dry-run found it at its last save.
	if tables := nftCLI(t, l, "list", "tables"); strings.Contains(tables, "ftwall") {
		t.Errorf("dry-run left its table:\n%s", tables)
	}
	if after, _ := os.ReadFile(path); string(after) != string(saved) || string(before) == string(saved) {
		t.Errorf("storefile written by dry-run at exit (or not saved when it was turned on)")
	}
}
