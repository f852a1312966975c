package bench

import (
	"fmt"
	"slices"
	"strings"
)

// p5 reports the peak RSS of `ftwall run` measured during P2 and P4.
func (r *runner) p5() *Section {
	s := &Section{ID: "P5", Title: "memory"}
	s.Method = []string{
		"Peak resident set size (VmHWM of /proc/PID/status) of the `ftwall run` process, read just before it is stopped: in P2 the largest of its configurations in a run (after the floods), the runs with the 40,000-prefix allowlist apart (no target), in P4 after loading the storefile, `ftwall status` and the forwarding test.",
	}
	s.figure("peak RSS of ftwall run during P2", UnitBytes, r.p2Peaks)
	s.figure(fmt.Sprintf("peak RSS of ftwall run during P2 with a %s-prefix allowlist", thousands(p2AllowPrefixes)), UnitBytes, r.p2AllowPeaks)
	s.figure(fmt.Sprintf("peak RSS of ftwall run during P4 (%d peers)", r.sz.p4Peers), UnitBytes, r.p4Peaks)
	return s
}

// figureValues returns the values of the figure labelled label in section
// id (nil when absent).
func figureValues(rep *Report, id, label string) Series {
	s := rep.Section(id)
	if s == nil {
		return nil
	}
	for _, f := range s.Figures {
		if f.Label == label {
			return f.Values
		}
	}
	return nil
}

// figurePrefix is figureValues for the first label starting with prefix.
func figurePrefix(rep *Report, id, prefix string) Series {
	s := rep.Section(id)
	if s == nil {
		return nil
	}
	for _, f := range s.Figures {
		if strings.HasPrefix(f.Label, prefix) {
			return f.Values
		}
	}
	return nil
}

// checks compares the report's figures with the targets.
func checks(rep *Report) []Check {
	fig := func(id, label string) Series { return figureValues(rep, id, label) }
	var c []Check
	c = append(c,
		Check{Name: "P1 TCP throughput ratio, ftwall / no table", Unit: UnitRatio, Values: fig("P1", "TCP ratio ftwall / no table"), AtLeast: true, Limit: 0.98},
		Check{Name: "P1 64-byte UDP pps ratio, ftwall / no table", Unit: UnitRatio, Values: fig("P1", "UDP pps ratio ftwall / no table"), AtLeast: true, Limit: 0.98},
	)
	for _, flood := range []string{floodPing, floodHTTP} {
		k := p2Key{flood: flood, queues: 1}
		label := fmt.Sprintf("ratio %s-prefix allowlist / none, %s", thousands(p2AllowPrefixes), k.labelNoWho())
		c = append(c, Check{Name: "P2 " + label, Unit: UnitRatio, Values: fig("P2", label), AtLeast: true, Limit: 0.9})
	}
	for _, flood := range p2Floods {
		for _, q := range []int{1, 2} {
			k := p2Key{flood: flood, queues: q}
			// When the bare loop took all the flood offered, the ratio
			// says nothing about what inspection costs.
			bound := GeneratorBoundRuns(fig("P2", "verdicts/s, "+k.label()), fig("P2", "offered packets/s, "+k.label()))
			c = append(c, Check{Name: "P2 ratio ftwall / bare verdict loop, " + k.labelNoWho(), Unit: UnitRatio,
				Values: fig("P2", "ratio ftwall / bare verdict loop, "+k.labelNoWho()), AtLeast: true, Limit: 0.9, GeneratorBound: bound})
		}
	}
	for _, flood := range p2Floods {
		for _, q := range []int{1, 2} {
			// The backlog drains: the reader's own limit, never the
			// generator's.
			k := p2Key{flood: flood, queues: q}
			c = append(c, Check{Name: "P2 backlog drain ratio ftwall / bare verdict loop, " + k.labelNoWho(), Unit: UnitRatio,
				Values: fig("P2", "backlog drain ratio ftwall / bare verdict loop, "+k.labelNoWho()), AtLeast: true, Limit: 0.9})
		}
	}
	for _, flood := range p2Floods {
		for _, q := range []int{1, 2} {
			k := p2Key{flood: flood, queues: q, ftwall: true}
			c = append(c, Check{Name: "P2 verdicts/s, " + k.label(), Unit: UnitPPS,
				Values: fig("P2", "verdicts/s, "+k.label()), AtLeast: true, Limit: 100e3})
		}
	}
	c = append(c,
		Check{Name: "P3 detection latency p99", Unit: UnitSeconds, Values: fig("P3", "p99 "+p3FastTrack.name+" → next packet dropped"), Limit: p3Target.Seconds()},
		Check{Name: "P3 detection latency p99, BitTorrent DHT query", Unit: UnitSeconds, Values: fig("P3", "p99 "+p3BitTorrent.name+" → next packet dropped"), Limit: p3Target.Seconds()},
		Check{Name: "P4 storefile load time", Unit: UnitSeconds, Values: figurePrefix(rep, "P4", "load time of "), Limit: 2},
		Check{Name: "P4 TCP forwarding ratio, full sets / empty", Unit: UnitRatio, Values: fig("P4", "TCP ratio full / empty"), AtLeast: true, Limit: 0.95},
		Check{Name: "P4 UDP pps forwarding ratio, full sets / empty", Unit: UnitRatio, Values: fig("P4", "UDP pps ratio full / empty"), AtLeast: true, Limit: 0.95},
		Check{Name: "P4 ftwall status time", Unit: UnitSeconds, Values: figurePrefix(rep, "P4", "ftwall status --json with "), Limit: 2},
	)
	c = append(c,
		Check{Name: "P5 peak RSS of ftwall run during P2", Unit: UnitBytes, Values: fig("P5", "peak RSS of ftwall run during P2"), Limit: 40e6},
		Check{Name: "P5 peak RSS of ftwall run during P4", Unit: UnitBytes, Values: figurePrefix(rep, "P5", "peak RSS of ftwall run during P4"), Limit: 40e6},
	)
	c = append(c,
		Check{Name: "P6 propagation p99 between two gateways", Unit: UnitSeconds, Values: figurePrefix(rep, "P6", "propagation p99, "), Limit: p6PropagationTarget.Seconds()},
		Check{Name: "P6 load time per million shared entries", Unit: UnitSeconds, Values: fig("P6", "load time per million shared entries (the large bucket)"), Limit: p6LoadPerMillion.Seconds()},
		Check{Name: "P6 peak RSS loading the large bucket", Unit: UnitBytes, Values: fig("P6", "peak RSS of ftwall run loading the large bucket"), Limit: 40e6},
	)
	if len(rep.Only) > 0 {
		// A partial run judges only the targets of the sections it ran.
		c = slices.DeleteFunc(c, func(ch Check) bool {
			id, _, _ := strings.Cut(ch.Name, " ")
			return !slices.Contains(rep.Only, id)
		})
	}
	return c
}
