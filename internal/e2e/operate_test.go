package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftwall/ftwall/internal/clientdir"
	"github.com/ftwall/ftwall/internal/ftsim"
	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/internal/store"
	"github.com/ftwall/ftwall/nft"
)

func elementOf(t *testing.T, k *nft.Kernel, set string, a netip.Addr) (nft.Element, bool) {
	t.Helper()
	elems, err := k.Elements(context.Background(), set)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range elems {
		if e.Addr == a {
			return e, true
		}
	}
	return nft.Element{}, false
}

// TestStorefileSurvivesRestartAndTeardown: peers learned by one run are in
// the storefile; after teardown, a new run with the storefile has them in the
// kernel with their remaining lifetime before any new packet; malformed lines
// are reported with their line number and skipped.
func TestStorefileSurvivesRestartAndTeardown(t *testing.T) {
	l := lab.NewT(t)
	startNode(t, l, ftsim.NodeOptions{})
	k := kernel(t, l)
	path := filepath.Join(t.TempDir(), "peers")
	p := startRun(t, l, "--store", path, "--peer-timeout", "1h")
	learned := []netip.AddrPort{ap(l.Peers4[1], ftPort), ap(l.Peers6[1], ftPort)}
	runClient(t, l, ftsim.ClientOptions{Nodes: learned})
	waitFor(t, 3*time.Second, "peers learned", func() bool {
		return setHas(t, k, nft.SetPeers4, l.Peers4[1]) && setHas(t, k, nft.SetPeers6, l.Peers6[1])
	})
	p.stop(t)
	peers, lineErrs, err := store.Load(path)
	if err != nil || len(lineErrs) > 0 {
		t.Fatalf("storefile after stop: %v %v", err, lineErrs)
	}
	got := map[netip.AddrPort]bool{}
	for _, pe := range peers {
		got[pe.AddrPort()] = true
	}
	for _, want := range learned {
		if !got[want] {
			t.Errorf("storefile lacks %v: %+v", want, peers)
		}
	}

	// Add a peer seen 30 minutes ago, a ftwall 1.x line and a broken line.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-30 * time.Minute).UTC().Format(time.RFC3339)
	fmt.Fprintf(f, "%s:1214 %s udp-ping\nthis is not a peer\n", l.Peers4[2], old)
	f.Close()

	if out, err := l.Router.Run(context.Background(), ftwallBinary(t), "teardown"); err != nil {
		t.Fatalf("teardown: %v\n%s", err, out)
	}
	p2 := startRun(t, l, "--store", path, "--peer-timeout", "1h")
	// Blocked again before any new packet.
	for _, a := range []netip.Addr{l.Peers4[1], l.Peers6[1], l.Peers4[2]} {
		set := nft.SetPeers4
		if a.Is6() {
			set = nft.SetPeers6
		}
		e, ok := elementOf(t, k, set, a)
		if !ok {
			t.Fatalf("%v not restored into %s from the storefile", a, set)
		}
		if e.Expires > time.Hour || e.Expires < 55*time.Minute && a != l.Peers4[2] {
			t.Errorf("%v expires in %v; want just under 1h", a, e.Expires)
		}
		if a == l.Peers4[2] && (e.Expires > 31*time.Minute || e.Expires < 28*time.Minute) {
			t.Errorf("%v (seen 30m ago) expires in %v; want about 30m", a, e.Expires)
		}
	}
	if res, c := dialResult(l.Client2, ap(l.Peers4[1], ftPort)); res != "timeout" {
		if c != nil {
			c.Close()
		}
		t.Errorf("client2 → restored peer: %s; want timeout (dropped)", res)
	}
	if !regexp.MustCompile(`storefile line skipped.*line=\d+`).MatchString(p2.out.String()) {
		t.Errorf("the malformed line was not reported with its number:\n%s", p2.out.String())
	}
	p2.stop(t)
	// The second run learned nothing new, so the file is as it was: the
	// broken line may still stand there, but nothing else is wrong or lost.
	after, lineErrs, err := store.Load(path)
	if err != nil || len(lineErrs) > 1 || len(lineErrs) == 1 && lineErrs[0].Text != "this is not a peer" {
		t.Fatalf("storefile after the second run: %v %v", err, lineErrs)
	}
	if len(after) != 3 {
		t.Fatalf("storefile after the second run has %d peers, want 3: %+v", len(after), after)
	}
}

// TestStorefileValidAfterKill9: a kill -9 while peers are being learned and
// saved leaves a storefile that loads completely.
func TestStorefileValidAfterKill9(t *testing.T) {
	l := lab.NewT(t)
	startNode(t, l, ftsim.NodeOptions{})
	path := filepath.Join(t.TempDir(), "peers")
	p := startRun(t, l, "--store", path, "--store-interval", "50ms", "--log", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for i := 0; ctx.Err() == nil; i++ {
			nodes := []netip.AddrPort{ap(l.Peers4[i%len(l.Peers4)], ftPort), ap(l.Peers6[i%len(l.Peers6)], ftPort)}
			ftsim.RunClient(ctx, ftsim.ClientOptions{Net: ftsim.InNamespace(l.Client.Do), Nodes: nodes, PingWait: 20 * time.Millisecond})
		}
	}()
	waitFor(t, 5*time.Second, "a storefile with peers", func() bool {
		peers, _, err := store.Load(path)
		return err == nil && len(peers) >= 4
	})
	time.Sleep(120 * time.Millisecond) // inside a save cycle
	p.kill9(t)
	cancel()
	peers, lineErrs, err := store.Load(path)
	if err != nil || len(lineErrs) > 0 {
		t.Fatalf("storefile after kill -9: %v, malformed lines %v", err, lineErrs)
	}
	if len(peers) < 4 {
		t.Fatalf("storefile after kill -9 has %d peers", len(peers))
	}
	// No temporary file is mistaken for the store; the next run cleans up.
	p2 := startRun(t, l, "--store", path)
	p2.stop(t)
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		if e.Name() != "peers" {
			t.Errorf("left behind next to the storefile: %s", e.Name())
		}
	}
}

// TestClientDirFollowsClient: a file for the client appears when it is
// locked and goes when the lock lapses.
func TestClientDirFollowsClient(t *testing.T) {
	l := lab.NewT(t)
	startNode(t, l, ftsim.NodeOptions{})
	dir := filepath.Join(t.TempDir(), "clients")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A stale file from an earlier run, and a file that is not ftwall's.
	os.WriteFile(filepath.Join(dir, "10.0.1.99"), []byte("# ftwall time-locked client\naddr=10.0.1.99\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "README"), []byte("not ours"), 0o644)
	startRun(t, l, "--client-dir", dir, "--timelock", "2s")
	if _, err := os.Stat(filepath.Join(dir, "10.0.1.99")); !os.IsNotExist(err) {
		t.Errorf("stale client file not removed at start: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "README")); err != nil {
		t.Errorf("a file that is not ftwall's was touched: %v", err)
	}
	runClient(t, l, ftsim.ClientOptions{Nodes: []netip.AddrPort{ap(l.Peers4[4], ftPort)}})
	file := filepath.Join(dir, l.ClientIP4.String())
	waitFor(t, 3*time.Second, "client file", func() bool { _, err := os.Stat(file); return err == nil })
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	e, err := clientdir.ParseEntry(data)
	if err != nil || e.Addr != l.ClientIP4 || e.Reason == "" || e.FirstSeen.IsZero() {
		t.Fatalf("client file %q: %+v %v", data, e, err)
	}
	// The client does not answer probes: the lock lapses after 2s.
	waitFor(t, 6*time.Second, "client file removed after the lock lapsed", func() bool {
		_, err := os.Stat(file)
		return os.IsNotExist(err)
	})
}

// TestReloadAllowlist: SIGHUP with a changed allowlist takes effect without
// losing elements; a broken file keeps the running configuration.
func TestReloadAllowlist(t *testing.T) {
	l := lab.NewT(t)
	node := startNode(t, l, ftsim.NodeOptions{})
	k := kernel(t, l)
	cfgPath := filepath.Join(t.TempDir(), "ftwall.yaml")
	write := func(s string) {
		if err := os.WriteFile(cfgPath, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("timelock: 0s\n")
	p := startRun(t, l, "--config", cfgPath)
	runClient(t, l, ftsim.ClientOptions{Nodes: []netip.AddrPort{ap(l.Peers4[6], ftPort)}})
	waitFor(t, 3*time.Second, "first peer learned", func() bool { return setHas(t, k, nft.SetPeers4, l.Peers4[6]) })

	write(fmt.Sprintf("timelock: 0s\nallow:\n  - %s\n", l.Peers4[7]))
	p.Signal(syscall.SIGHUP)
	waitFor(t, 5*time.Second, "configuration reloaded", func() bool { return strings.Contains(p.out.String(), "configuration reloaded") })
	if !setHas(t, k, nft.SetPeers4, l.Peers4[6]) {
		t.Fatal("reload lost the learned peer")
	}
	before := node.Report().PingsReceived
	runClient(t, l, ftsim.ClientOptions{Nodes: []netip.AddrPort{ap(l.Peers4[7], ftPort)}})
	if setHas(t, k, nft.SetPeers4, l.Peers4[7]) {
		t.Error("allowlisted peer learned after reload")
	}
	if node.Report().PingsReceived <= before {
		t.Error("the ping to the allowlisted peer did not reach it")
	}

	write("timelock: [this is not a duration\n")
	p.Signal(syscall.SIGHUP)
	waitFor(t, 5*time.Second, "broken configuration refused", func() bool { return strings.Contains(p.out.String(), "stays in force") })
	runClient(t, l, ftsim.ClientOptions{Nodes: []netip.AddrPort{ap(l.Peers4[8], ftPort), ap(l.Peers4[7], ftPort)}})
	waitFor(t, 3*time.Second, "still learning after a refused reload", func() bool { return setHas(t, k, nft.SetPeers4, l.Peers4[8]) })
	if setHas(t, k, nft.SetPeers4, l.Peers4[7]) || !setHas(t, k, nft.SetPeers4, l.Peers4[6]) {
		t.Error("a refused reload changed the allowlist or lost elements")
	}
	p.stop(t)
}

// TestMetricsMoveWithTraffic: /metrics answers on loopback and its counters
// follow the simulated traffic.
func TestMetricsMoveWithTraffic(t *testing.T) {
	l := lab.NewT(t)
	startNode(t, l, ftsim.NodeOptions{})
	addr := "127.0.0.1:9714"
	startRun(t, l, "--metrics-listen", addr)
	hc := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		return l.Router.DialTCP(ctx, network, a)
	}}}
	scrape := func() map[string]float64 {
		resp, err := hc.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatalf("scrape: %v", err)
		}
		defer resp.Body.Close()
		out := map[string]float64{}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "#") {
				continue
			}
			i := strings.LastIndexByte(line, ' ')
			if i < 0 {
				continue
			}
			v, err := strconv.ParseFloat(line[i+1:], 64)
			if err == nil {
				out[line[:i]] = v
			}
		}
		io.Copy(io.Discard, resp.Body)
		return out
	}
	before := scrape()
	var nodes []netip.AddrPort
	for _, a := range l.Peers4[:5] {
		nodes = append(nodes, ap(a, ftPort))
	}
	runClient(t, l, ftsim.ClientOptions{Nodes: nodes})
	var after map[string]float64
	waitFor(t, 5*time.Second, "metrics moved", func() bool {
		after = scrape()
		return after["ftwall_peers_learned_total"]-before["ftwall_peers_learned_total"] >= 5 && after["ftwall_clients_locked"] >= 1
	})
	for _, m := range []string{`ftwall_candidates_total{kind="ping",protocol="fasttrack"}`, `ftwall_spoofed_pongs_sent_total`, `ftwall_verdicts_total{verdict="drop"}`} {
		if after[m]-before[m] < 5 {
			t.Errorf("%s moved by %v; want ≥ 5", m, after[m]-before[m])
		}
	}
	if after["ftwall_clients_locked"] < 1 {
		t.Errorf("ftwall_clients_locked = %v", after["ftwall_clients_locked"])
	}
}
