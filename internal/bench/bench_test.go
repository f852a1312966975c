package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftwall/ftwall/internal/lab"
)

// TestQuickRunEndToEnd builds ftwall, ftsim and ftwbench and runs
// `ftwbench --quick`: the report must be written with every section and a
// figure for every target. It checks nothing about the figures' values:
// benchmarks are never timed assertions.
func TestQuickRunEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end benchmark smoke run (about a minute); skipped with -short")
	}
	lab.RequireRoot(t)
	if _, err := exec.LookPath("iperf3"); err != nil {
		t.Fatal("iperf3 is not installed (apt-get install iperf3; .ci/run installs it)")
	}
	before := hostRuleset(t)
	dir := t.TempDir()
	bins := map[string]string{}
	for _, name := range []string{"ftwall", "ftsim", "ftwbench"} {
		bins[name] = filepath.Join(dir, name)
		out, err := exec.Command("go", "build", "-buildvcs=false", "-o", bins[name], "github.com/ftwall/ftwall/cmd/"+name).CombinedOutput()
		if err != nil {
			t.Fatalf("go build ./cmd/%s: %v\n%s", name, err, out)
		}
	}
	report := filepath.Join(dir, "BENCHMARKS.md")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins["ftwbench"], "--quick", "--ftwall", bins["ftwall"], "--ftsim", bins["ftsim"], "--out", report)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = childEnv()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ftwbench --quick: %v\n%s", err, out.String())
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("no report: %v\n%s", err, out.String())
	}
	md := string(b)
	for _, want := range []string{
		"# ftwall benchmarks", "Quick smoke run", "## Machine", "| kernel |", "| date |", "| CPUs |", "| command |",
		"## Targets", "## P1 forwarding cost", "## P2 inspector throughput", "## P3 detection latency",
		"## P4 scale", "## P5 memory", "| sanity check | passed",
		"TCP ratio ftwall / no table", "UDP pps ratio queue-everything / no table",
		"verdicts/s, GET flood, 2 queues, bare verdict loop", "p99 ping → next packet dropped",
		"verdicts/s, DHT flood, 2 queues, ftwall run", "ratio ftwall / bare verdict loop, uTP flood, 1 queue",
		"p99 DHT query → next packet dropped", "UDP pps ratio ftwall (both detectors) / ftwall --protocols fasttrack (diagnostic)",
		" run --lan lan0 --lan lan1 --queues 1 --log '' --protocols fasttrack",
		"ftwall status --json with", "peak RSS of ftwall run during P4",
		"ip netns exec <router> " + bins["ftwall"] + " run --lan lan0 --lan lan1 --queues 1 --log ''",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Measured: met, not met, or (a single run has no spread) undecided
	// only because generator-bound.
	if n := strings.Count(md, "| **met** |") + strings.Count(md, "| **NOT met** |") +
		strings.Count(md, "| **undecided (generator-bound)** |"); n != 39 {
		t.Errorf("report judges %d targets; want all 39 measured", n)
	}
	for _, bad := range []string{"not measured", "no successful run", "Errors (runs that failed"} {
		if strings.Contains(md, bad) {
			t.Errorf("report contains %q: a benchmark did not run", bad)
		}
	}
	if t.Failed() {
		t.Logf("report:\n%s\nftwbench output:\n%s", md, out.String())
	}
	if after := hostRuleset(t); after != before {
		t.Errorf("the host's nftables ruleset changed:\n--- before\n%s\n--- after\n%s", before, after)
	}
	entries, _ := os.ReadDir(lab.NetnsDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), fmt.Sprintf("ftwbench-%d-", pid)) {
			t.Errorf("namespace %s left behind", e.Name())
		}
	}
}

func hostRuleset(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("nft", "list", "ruleset").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list ruleset: %v: %s", err, out)
	}
	return string(out)
}
