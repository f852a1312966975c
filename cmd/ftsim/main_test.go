package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect/fasttrack"
	"github.com/ftwall/ftwall/internal/lab"

	"github.com/ftwall/ftwall/internal/ftsim"
)

var listeningPort = regexp.MustCompile(`msg="node listening" .*port=(\d+)`)

// startNode runs `ftsim node` until the returned stop is called; stop
// returns its exit code and decoded report.
func startNode(t *testing.T, args ...string) (port int, stop func() (int, ftsim.NodeReport)) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	var stdout, stderr lab.Buffer
	codec := make(chan int, 1)
	go func() {
		codec <- run(ctx, append([]string{"ftsim", "node", "--listen", "127.0.0.1,::1", "--port", "0"}, args...), &stdout, &stderr)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := listeningPort.FindStringSubmatch(stderr.String()); m != nil {
			port, _ = strconv.Atoi(m[1])
			break
		}
		select {
		case code := <-codec:
			t.Fatalf("node exited with %d: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("node not listening after 30s: %s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	var once sync.Once
	var code int
	var rep ftsim.NodeReport
	stop = func() (int, ftsim.NodeReport) {
		once.Do(func() {
			cancel()
			code = <-codec
			if err := json.Unmarshal([]byte(stdout.String()), &rep); err != nil {
				t.Errorf("node report: %v\n%s", err, stdout.String())
			}
		})
		return code, rep
	}
	t.Cleanup(func() { stop() })
	return port, stop
}

func runClient(t *testing.T, args ...string) (int, ftsim.ClientReport, string) {
	t.Helper()
	var stdout, stderr lab.Buffer
	code := run(t.Context(), append([]string{"ftsim", "client"}, args...), &stdout, &stderr)
	var rep ftsim.ClientReport
	if code == 0 {
		if err := json.Unmarshal([]byte(stdout.String()), &rep); err != nil {
			t.Fatalf("client report: %v\n%s", err, stdout.String())
		}
	}
	return code, rep, stderr.String()
}

func TestClientAndNode(t *testing.T) {
	port, stop := startNode(t, "--body-size", "20000", "--username", "node1")
	v4 := fmt.Sprintf("127.0.0.1:%d", port)
	v6 := fmt.Sprintf("[::1]:%d", port)
	nodesFile := filepath.Join(t.TempDir(), "nodes")
	if err := os.WriteFile(nodesFile, []byte("# cache\n"+v6+"\n"+v4+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, r, stderr := runClient(t, "--ping-wait", "10s", "--connect-timeout", "10s", "--node", v4, "--nodes-file", nodesFile, "--bind", "127.0.0.1", "--bind", "::1",
		"--http", v4, "--supernode", "198.51.100.9:1214", "--give", v6, "--give-id", "99", "--body-size", "3000", "--log-level", "debug")
	if code != 0 {
		t.Fatalf("client exit %d: %s", code, stderr)
	}
	if len(r.Pings) != 2 || r.Pings[1].Node.String() != v6 || r.Outcome != ftsim.OutcomeConnected {
		t.Fatalf("report %+v", r)
	}
	for _, p := range r.Pings {
		if p.Pong != ftsim.TypeSupernodePong || p.PongFrom != p.Node {
			t.Errorf("ping %+v", p)
		}
	}
	if r.HTTP == nil || r.HTTP.Status != 200 || r.HTTP.Bytes != 20000 || !r.HTTP.Intact || r.HTTP.Headers.Get("X-Kazaa-Username") != "node1" {
		t.Errorf("download %+v", r.HTTP)
	}
	if r.Give == nil || r.Give.Status != 200 || r.Give.Bytes != 3000 || r.Give.ID != 99 {
		t.Errorf("give %+v", r.Give)
	}
	if !regexp.MustCompile(`level=DEBUG msg=pong`).MatchString(stderr) {
		t.Errorf("no debug log on stderr: %s", stderr)
	}

	// A stopping node lets the push it is still reading finish.
	code, nr := stop()
	if code != 0 || nr.PingsAnswered != 2 || len(nr.Downloads) != 1 || len(nr.Gives) != 1 || nr.Sessions != 2 {
		t.Fatalf("node exit %d, report %+v", code, nr)
	}
	if d := nr.Downloads[0]; d.Headers.Get("X-Kazaa-SupernodeIP") != "198.51.100.9:1214" || d.Headers.Get("X-Kazaa-IP") != fmt.Sprintf("127.0.0.1:%d", r.Port) {
		t.Errorf("download request headers %v", d.Headers)
	}
	if g := nr.Gives[0]; g.ID != 99 || g.Bytes != 3000 || !g.Intact {
		t.Errorf("give %+v", g)
	}
}

func TestNodeLifetimeFlag(t *testing.T) {
	var stdout, stderr lab.Buffer
	start := time.Now()
	code := run(t.Context(), []string{"ftsim", "node", "--listen", "127.0.0.1", "--port", "0", "--for", "200ms", "--pong", "none"}, &stdout, &stderr)
	if code != 0 || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("exit %d after %s: %s", code, time.Since(start), stderr.String())
	}
	var nr ftsim.NodeReport
	if err := json.Unmarshal([]byte(stdout.String()), &nr); err != nil || nr.Port == 0 || nr.ElapsedMS < 200 {
		t.Fatalf("report %+v %v", nr, err)
	}
}

func TestSafetyNetClient(t *testing.T) {
	port, stop := startNode(t)
	target := fmt.Sprintf("127.0.0.1:%d", port)
	code, r, stderr := runClient(t, "--udp=false", "--connect-timeout", "10s", "--node", target, "--http", target, "--supernode", "203.0.113.7:1214")
	if code != 0 || r.UDP || r.Port != 0 || len(r.Modes) != 1 || r.Modes[0].Mode != ftsim.ModeParallelTCP || r.HTTP.Status != 200 {
		t.Fatalf("exit %d report %+v: %s", code, r, stderr)
	}
	stop()
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"client", "--node", "198.51.100.1"},
		{"client", "--node", "198.51.100.1:0"},
		{"client", "--nodes-file", "/nonexistent/ftsim-nodes"},
		{"client", "--probe-reply", "0x27"},
		{"client", "--hash", "xyz"},
		{"client", "--udp=false", "--answer-probes", "1s"},
		{"client", "--http", "example.org:80"},
		{"client", "--give-id", "0"},
		{"client", "--port", "70000"},
		{"client", "--bind", "localhost"},
		{"client", "--no-such-flag"},
		{"client", "extra"},
		{"client", "--log-level", "loud"},
		{"node", "--pong", "0x2a"},
		{"node", "--load", "101"},
		{"node", "--for", "-1s"},
		{"node", "--supernode", "1.2.3.4"},
		{"gift", "--node", "198.51.100.1"},
		{"gift", "--fallback", "198.51.100.1:0"},
		{"gift", "--fallback-file", "/nonexistent/ftsim-nodes"},
		{"gift", "--for", "0"},
		{"gift", "--udp-timeout", "-1s"},
		{"gift", "--sessions", "0"},
		{"gift", "--sessions", "65"},
		{"gift", "--for", "25h"},
		{"gift", "--port", "70000"},
		{"gift", "--bind", "localhost"},
		{"gift", "--hash", "xyz"},
		{"gift", "extra"},
	} {
		var stdout, stderr lab.Buffer
		code := run(t.Context(), append([]string{"ftsim"}, args...), &stdout, &stderr)
		if code != exitUsage || stdout.String() != "" || stderr.String() == "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, stdout.String(), stderr.String())
		}
	}
}

func TestNodePortInUse(t *testing.T) {
	port, _ := startNode(t)
	var stdout, stderr lab.Buffer
	code := run(t.Context(), []string{"ftsim", "node", "--listen", "127.0.0.1", "--port", strconv.Itoa(port)}, &stdout, &stderr)
	if code != exitError || !regexp.MustCompile(`address already in use`).MatchString(stderr.String()) {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}

var giftStarted = regexp.MustCompile(`msg="gift started" .*port=(\d+)`)

// `ftsim gift` against `ftsim node`: of the 3 cached nodes only the node's
// own address accepts; the session has the genuine shape; the refused ones
// leave the cache; a probe to the client's port is ignored; SIGINT (the
// context) stops it.
func TestGift(t *testing.T) {
	port, stop := startNode(t, "--io-timeout", "1m")
	nodesFile := filepath.Join(t.TempDir(), "nodes")
	closed := fmt.Sprintf("127.0.0.2:%d\n127.0.0.3:%d\n", port, port)
	if err := os.WriteFile(nodesFile, []byte("# cache\n"+closed), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr lab.Buffer
	codec := make(chan int, 1)
	go func() {
		codec <- run(ctx, []string{"ftsim", "gift", "--port", "0", "--bind", "127.0.0.1", "--for", "1m", "--udp-timeout", "200ms",
			"--node", fmt.Sprintf("127.0.0.1:%d", port), "--nodes-file", nodesFile, "--log-level", "debug"}, &stdout, &stderr)
	}()
	var giftPort int
	deadline := time.Now().Add(30 * time.Second)
	for giftPort == 0 {
		if m := giftStarted.FindStringSubmatch(stderr.String()); m != nil {
			giftPort, _ = strconv.Atoi(m[1])
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gift not started after 30s: %s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	probe, err := net.Dial("udp4", fmt.Sprintf("127.0.0.1:%d", giftPort))
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	probe.Write(fasttrack.AppendPing(nil, "KaZaA"))
	probe.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := probe.Read(make([]byte, 64)); err == nil {
		t.Error("the probe was answered")
	}
	cancel()
	if code := <-codec; code != 0 {
		t.Fatalf("gift exit %d: %s", code, stderr.String())
	}
	var r ftsim.GiftReport
	if err := json.Unmarshal([]byte(stdout.String()), &r); err != nil {
		t.Fatalf("gift report: %v\n%s", err, stdout.String())
	}
	if r.StopReason != ftsim.GiftStopCancelled || r.Established != 1 || r.Connects != 3 || r.Refused != 2 || r.CacheSize != 1 ||
		r.ProbesIgnored != 1 || int(r.Port) != giftPort || !r.Stopped() {
		t.Fatalf("report %+v", r)
	}
	if s := r.Sessions[0]; s.Up != 39 || s.Down != 14 || s.End != ftsim.EndStopped {
		t.Errorf("session %+v", s)
	}
	if !regexp.MustCompile(`level=INFO msg="ESTABLISHED session"`).MatchString(stderr.String()) {
		t.Errorf("no ESTABLISHED line: %s", stderr.String())
	}
	if _, nr := stop(); nr.Sessions != 1 || nr.Conns[0].In != 39 {
		t.Errorf("node %+v", nr)
	}
}

// `ftsim gift` stops by itself: after --for, or when --max-connects are
// used up (here refused, each reloading the fallback list).
func TestGiftStopsByItself(t *testing.T) {
	var stdout, stderr lab.Buffer
	start := time.Now()
	code := run(t.Context(), []string{"ftsim", "gift", "--port", "0", "--bind", "127.0.0.1", "--for", "200ms"}, &stdout, &stderr)
	if code != 0 || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("exit %d after %s: %s", code, time.Since(start), stderr.String())
	}
	var r ftsim.GiftReport
	if err := json.Unmarshal([]byte(stdout.String()), &r); err != nil || r.StopReason != ftsim.GiftStopFor || r.Port == 0 || r.ElapsedMS < 200 {
		t.Fatalf("report %+v %v", r, err)
	}

	port, stop := startNode(t)
	stop() // nothing listens there any more
	fallback := filepath.Join(t.TempDir(), "nodes")
	if err := os.WriteFile(fallback, []byte(fmt.Sprintf("127.0.0.2:%d\n127.0.0.3:%d\n", port, port)), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr = lab.Buffer{}, lab.Buffer{}
	code = run(t.Context(), []string{"ftsim", "gift", "--port", "0", "--bind", "127.0.0.1", "--fallback-file", fallback, "--max-connects", "40"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	r = ftsim.GiftReport{}
	if err := json.Unmarshal([]byte(stdout.String()), &r); err != nil || r.StopReason != ftsim.GiftStopMaxConnects ||
		r.Connects != 40 || r.Refused != 40 || r.CacheReloads != 20 {
		t.Fatalf("report %+v %v", r, err)
	}
}
