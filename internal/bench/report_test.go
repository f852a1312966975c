package bench

import (
	"strings"
	"testing"
	"time"
)

func TestReportMarkdown(t *testing.T) {
	p1 := &Section{ID: "P1", Title: "forwarding cost", Method: []string{"How it was measured."}}
	p1.figure("TCP ratio ftwall / no table", UnitRatio, Series{0.99, 0.97, 0.985})
	p1.figure("UDP pps ratio ftwall / no table", UnitRatio, Series{0.9})
	p1.command("ip netns exec <client> iperf3 -c 203.0.113.2")
	p1.command("ip netns exec <client> iperf3 -c 203.0.113.2") // recorded once
	p1.fail("run %d: %s", 2, "iperf3 failed")
	rep := &Report{
		Command: "./bin/ftwbench --out BENCHMARKS.md", Runs: 3, Took: 95 * time.Second,
		Machine:  Machine{CPUs: 2, Model: "AMD EPYC", MemBytes: 24 << 30, Kernel: "6.18.44", Date: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), GoVersion: "go1.26.8"},
		Sanity:   "passed: a | b\nc",
		Sections: []*Section{p1},
	}
	rep.Checks = checks(rep)
	md := string(rep.Markdown())
	for _, want := range []string{
		"| command | `./bin/ftwbench --out BENCHMARKS.md` |",
		"| date | 2026-01-02T03:04:05Z |",
		"| CPUs | 2 × AMD EPYC |",
		"| kernel | 6.18.44 |",
		"| runs | every figure is the median of 3 runs, with [min – max] |",
		"| sanity check | passed: a \\| b c |",
		"| P1 TCP throughput ratio, ftwall / no table | ≥ 0.980 | 0.985 [0.970 – 0.990] (3 runs) | **met** |",
		"| P1 64-byte UDP pps ratio, ftwall / no table | ≥ 0.980 | 0.900 (1 run) | **NOT met** |",
		"| P3 detection latency p99 | ≤ 1.00 ms | no successful run | **not measured** |",
		"1 of 17 targets met. Not met: P1 64-byte UDP pps ratio",
		"## P1 forwarding cost\n\nHow it was measured.\n",
		"| TCP ratio ftwall / no table | 0.985 | 0.970 – 0.990 | 3 |",
		"run 2: iperf3 failed",
		"    ip netns exec <client> iperf3 -c 203.0.113.2\n\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Count(md, "iperf3 -c 203.0.113.2") != 1 {
		t.Error("a repeated command is listed twice")
	}
	if strings.Contains(md, "Quick smoke run") {
		t.Error("a full run is labelled quick")
	}
	rep.Quick = true
	if !strings.Contains(string(rep.Markdown()), "Quick smoke run") {
		t.Error("a quick run is not labelled as such")
	}
}

func TestAcceptLoopConfig(t *testing.T) {
	if strings.ContainsAny(ReadyMessage, " \"=") {
		t.Errorf("ReadyMessage %q must be one word: it is matched as msg=%s in the log", ReadyMessage, ReadyMessage)
	}
	for _, cfg := range []AcceptLoopConfig{{Queues: 0}, {Queue: 65535, Queues: 2}} {
		if err := AcceptLoop(t.Context(), cfg); err == nil {
			t.Errorf("AcceptLoop(%+v): want a configuration error", cfg)
		}
	}
}
