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
		"| P1 TCP throughput ratio, ftwall / no table | ≥ 0.980 | 0.985 [0.970 – 0.990] (3 runs) | **undecided** |",
		"| P1 64-byte UDP pps ratio, ftwall / no table | ≥ 0.980 | 0.900 (1 run) | **NOT met** |",
		"| P3 detection latency p99 | ≤ 1.00 ms | no successful run | **not measured** |",
		"| P3 detection latency p99, BitTorrent DHT query | ≤ 1.00 ms | no successful run | **not measured** |",
		"| P2 ratio ftwall / bare verdict loop, DHT flood, 2 queues | ≥ 0.900 | no successful run | **not measured** |",
		"| P2 verdicts/s, uTP flood, 1 queue, ftwall run | ≥ 100.0k pkt/s | no successful run | **not measured** |",
		"0 of 39 targets met, 1 not met, 1 undecided (0 of them generator-bound). NOT met: P1 64-byte UDP pps ratio, ftwall / no table. Undecided: P1 TCP throughput ratio, ftwall / no table. Not measured: ",
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
	if strings.Contains(md, "Partial run") {
		t.Error("a run of every section is labelled partial")
	}
}

// The new figures of P2 and P3 are the ones their targets read.
func TestChecksReadTheirFigures(t *testing.T) {
	p2 := &Section{ID: "P2"}
	for _, flood := range p2Floods {
		for _, q := range []int{1, 2} {
			k := p2Key{flood: flood, queues: q, ftwall: true}
			p2.figure("verdicts/s, "+k.label(), UnitPPS, Series{150e3})
			p2.figure("ratio ftwall / bare verdict loop, "+k.labelNoWho(), UnitRatio, Series{0.95})
		}
	}
	p2.figure("ratio 40,000-prefix allowlist / none, ping flood, 1 queue", UnitRatio, Series{0.93})
	p2.figure("ratio 40,000-prefix allowlist / none, GET flood, 1 queue", UnitRatio, Series{0.85})
	p3 := &Section{ID: "P3"}
	p3.figure("p99 "+p3FastTrack.name+" → next packet dropped", UnitSeconds, Series{0.5e-3})
	p3.figure("p99 "+p3BitTorrent.name+" → next packet dropped", UnitSeconds, Series{2e-3})
	rep := &Report{Sections: []*Section{p2, p3}}
	got := map[string]string{}
	for _, c := range checks(rep) {
		got[c.Name] = c.Verdict()
	}
	for name, want := range map[string]string{
		"P2 ratio ftwall / bare verdict loop, DHT flood, 1 queue":      "met",
		"P2 ratio ftwall / bare verdict loop, DHT flood, 2 queues":     "met",
		"P2 ratio ftwall / bare verdict loop, uTP flood, 1 queue":      "met",
		"P2 ratio ftwall / bare verdict loop, uTP flood, 2 queues":     "met",
		"P2 verdicts/s, DHT flood, 1 queue, ftwall run":                "met",
		"P2 verdicts/s, DHT flood, 2 queues, ftwall run":               "met",
		"P2 verdicts/s, uTP flood, 1 queue, ftwall run":                "met",
		"P2 verdicts/s, uTP flood, 2 queues, ftwall run":               "met",
		"P2 verdicts/s, ping flood, 1 queue, ftwall run":               "met",
		"P2 ratio ftwall / bare verdict loop, GET flood, 2 queues":     "met",
		"P3 detection latency p99":                                     "met",
		"P2 ratio 40,000-prefix allowlist / none, ping flood, 1 queue": "met",
		"P2 ratio 40,000-prefix allowlist / none, GET flood, 1 queue":  "NOT met",
		"P3 detection latency p99, BitTorrent DHT query":               "NOT met",
		"P1 TCP throughput ratio, ftwall / no table":                   "not measured",
	} {
		if got[name] != want {
			t.Errorf("target %q: %q; want %q", name, got[name], want)
		}
	}
	if len(got) != 39 {
		t.Errorf("%d targets; want 39", len(got))
	}
	// A partial run judges only its sections' targets.
	rep.Only = []string{"P2", "P3"}
	cs := checks(rep)
	if len(cs) != 28 {
		t.Errorf("--only P2,P3: %d targets; want the 26 of P2 and the 2 of P3", len(cs))
	}
	for _, c := range cs {
		if !strings.HasPrefix(c.Name, "P2 ") && !strings.HasPrefix(c.Name, "P3 ") {
			t.Errorf("--only P2,P3 judges %q", c.Name)
		}
	}
	rep.Checks = cs
	if md := string(rep.Markdown()); !strings.Contains(md, "**Partial run** (`--only P2,P3`)") || !strings.Contains(md, "18 of 28 targets met,") {
		t.Errorf("partial report:\n%s", md)
	}
}

func TestParseSections(t *testing.T) {
	got, err := ParseSections([]string{"p3,P1", " P2 ", "P1"})
	if err != nil || strings.Join(got, ",") != "P1,P2,P3" {
		t.Errorf("ParseSections = %v, %v; want P1,P2,P3 in the suite's order", got, err)
	}
	for _, bad := range [][]string{{"P7"}, {"P1,x"}, {""}, {","}} {
		if got, err := ParseSections(bad); err == nil {
			t.Errorf("ParseSections(%q) = %v; want an error", bad, got)
		}
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

// TestRatioFromGeneratorBoundLoop: a P2 ratio whose bare loop took all
// the load the flood offered is not decided.
func TestRatioFromGeneratorBoundLoop(t *testing.T) {
	p2 := &Section{ID: "P2"}
	bare := p2Key{flood: floodPing, queues: 1}
	fw := p2Key{flood: floodPing, queues: 1, ftwall: true}
	p2.figure("verdicts/s, "+bare.label(), UnitPPS, Series{190e3, 191e3, 189e3})
	p2.figure("offered packets/s, "+bare.label(), UnitPPS, Series{191e3, 192e3, 190e3})
	p2.figure("verdicts/s, "+fw.label(), UnitPPS, Series{188e3, 190e3, 187e3})
	p2.figure("ratio ftwall / bare verdict loop, "+bare.labelNoWho(), UnitRatio, Series{0.99, 0.995, 0.99})
	// The 2-queue loop was not generator-bound.
	bare2 := p2Key{flood: floodPing, queues: 2}
	p2.figure("verdicts/s, "+bare2.label(), UnitPPS, Series{300e3, 310e3, 305e3})
	p2.figure("offered packets/s, "+bare2.label(), UnitPPS, Series{400e3, 400e3, 400e3})
	p2.figure("ratio ftwall / bare verdict loop, "+bare2.labelNoWho(), UnitRatio, Series{0.6, 0.62, 0.61})
	// The backlog drains of the generator-bound configuration are decided:
	// nothing but the reader limits a drain.
	p2.figure("backlog drain ratio ftwall / bare verdict loop, "+bare.labelNoWho(), UnitRatio, Series{0.95, 0.92, 0.97})
	p2.figure("backlog drain ratio ftwall / bare verdict loop, "+bare2.labelNoWho(), UnitRatio, Series{0.85, 0.95, 0.9})
	rep := &Report{Runs: 3, Sections: []*Section{p2}}
	got := map[string]string{}
	for _, c := range checks(rep) {
		got[c.Name] = c.Verdict()
	}
	if v := got["P2 ratio ftwall / bare verdict loop, "+bare.labelNoWho()]; v != VerdictGenerator {
		t.Errorf("1 queue: %q, want %q", v, VerdictGenerator)
	}
	if v := got["P2 ratio ftwall / bare verdict loop, "+bare2.labelNoWho()]; v != VerdictNotMet {
		t.Errorf("2 queues: %q, want %q", v, VerdictNotMet)
	}
	if v := got["P2 backlog drain ratio ftwall / bare verdict loop, "+bare.labelNoWho()]; v != VerdictMet {
		t.Errorf("backlog drain, 1 queue: %q, want %q", v, VerdictMet)
	}
	if v := got["P2 backlog drain ratio ftwall / bare verdict loop, "+bare2.labelNoWho()]; v != VerdictUndecided {
		t.Errorf("backlog drain, 2 queues: %q, want %q", v, VerdictUndecided)
	}
	// A throughput minimum stays decided: the reader took at least that.
	if v := got["P2 verdicts/s, "+fw.label()]; v != VerdictMet {
		t.Errorf("verdicts/s: %q, want %q", v, VerdictMet)
	}
}
