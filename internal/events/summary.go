package events

import (
	"context"
	"log/slog"
	"slices"
)

// Counter is a kernel rule counter.
type Counter struct {
	Packets, Bytes uint64
}

// MsgCounterSummary is the message of CounterSummary's log line.
const MsgCounterSummary = "kernel rule counters"

// CounterSummary logs one line (level Info) with how much each kernel rule
// counter increased from prev to cur, keyed by rule name (the rule comment):
// one group name={packets,bytes} per rule that increased, in name order, and
// rules_changed with their number. A counter lower than before (the ruleset
// was re-applied) counts from zero; a rule missing from prev too. When no
// counter moved it logs nothing: an idle firewall's log stays quiet.
func CounterSummary(ctx context.Context, log *slog.Logger, prev, cur map[string]Counter) {
	if log == nil || !log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	names := make([]string, 0, len(cur))
	for name := range cur {
		names = append(names, name)
	}
	slices.Sort(names)
	attrs := make([]slog.Attr, 1, 1+len(names))
	for _, name := range names {
		d := increase(prev[name], cur[name])
		if d.Packets == 0 && d.Bytes == 0 {
			continue
		}
		attrs = append(attrs, slog.Group(name, slog.Uint64("packets", d.Packets), slog.Uint64("bytes", d.Bytes)))
	}
	if len(attrs) == 1 {
		return
	}
	attrs[0] = slog.Int("rules_changed", len(attrs)-1)
	log.LogAttrs(ctx, slog.LevelInfo, MsgCounterSummary, attrs...)
}

func increase(prev, cur Counter) Counter {
	if cur.Packets < prev.Packets || cur.Bytes < prev.Bytes {
		return cur // reset
	}
	return Counter{cur.Packets - prev.Packets, cur.Bytes - prev.Bytes}
}
