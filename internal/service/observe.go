package service

import (
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/ftwall/ftwall/internal/metrics"
	"github.com/ftwall/ftwall/nft"
)

func slogReason(r string) slog.Attr { return slog.String("reason", r) }

// observeWrite records one kernel set write in the metrics.
func (s *Service) observeWrite(set string, n int, took time.Duration, err error) {
	if s.metrics != nil && err == nil {
		s.metrics.ObserveSetWrite(took)
	}
	s.log.Debug("kernel set updated", "set", set, "elements", n, "took", took, "err", err)
}

// addSetSize moves a set's size gauge by n elements written (the periodic
// status read corrects it for elements that expired).
func (s *Service) addSetSize(set string, n int) {
	if s.metrics != nil {
		s.metrics.AddSetSize(set, n)
	}
}

// observeStatus copies set sizes and rule counters into the metrics.
func (s *Service) observeStatus(st *nft.Status) {
	if s.metrics == nil {
		return
	}
	for _, set := range st.Sets {
		s.metrics.SetSetSize(set.Name, set.Count)
	}
	rules := make(map[string]metrics.RuleCounter, len(st.Counters))
	for _, c := range st.Counters {
		if c.Rule != "" {
			rules[c.Rule] = metrics.RuleCounter{Packets: c.Packets, Bytes: c.Bytes}
		}
	}
	s.metrics.SetRuleCounters(rules)
}

// describeChanges lists the options a reload changed, for the log.
func describeChanges(old, next Config) []string {
	var out []string
	diff := func(name string, a, b any) {
		if fmt.Sprint(a) != fmt.Sprint(b) {
			out = append(out, fmt.Sprintf("%s: %v → %v", name, a, b))
		}
	}
	diff("lan", old.Ruleset.LAN, next.Ruleset.LAN)
	diff("wan", old.Ruleset.WAN, next.Ruleset.WAN)
	diff("allow", old.Ruleset.Allow, next.Ruleset.Allow)
	diff("peer-timeout", old.Ruleset.PeerTimeout, next.Ruleset.PeerTimeout)
	diff("timelock", old.Ruleset.TimeLock, next.Ruleset.TimeLock)
	diff("lock-action", old.Ruleset.LockAction, next.Ruleset.LockAction)
	diff("backend", old.Ruleset.Backend, next.Ruleset.Backend)
	diff("dry-run", old.DryRun, next.DryRun)
	diff("no-udp-block", old.NoUDPBlock, next.NoUDPBlock)
	diff("pong", fmt.Sprintf("%#x", old.PongType), fmt.Sprintf("%#x", next.PongType))
	diff("pong-rate", old.PongRate, next.PongRate)
	diff("own", old.Own, next.Own)
	diff("log", old.LogLetters, next.LogLetters)
	diff("summary-interval", old.SummaryInterval, next.SummaryInterval)
	diff("store-interval", old.StoreInterval, next.StoreInterval)
	diff("teardown-on-exit", old.TeardownOnExit, next.TeardownOnExit)
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}
