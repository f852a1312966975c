package nft

import (
	"strings"
	"time"
)

// Status is what Status reads from the table.
type Status struct {
	// Present is false when the table does not exist; nothing else is
	// filled then.
	Present bool `json:"present"`
	// Backend is the queue backend of the rules found (BackendAuto when
	// there is no queue rule).
	Backend Backend     `json:"backend"`
	Sets    []SetStatus `json:"sets"`
	// QueueNum and Queues are the queues the rules send candidates to
	// (Queues 0: no queue rule).
	QueueNum uint16 `json:"queue_num"`
	Queues   uint16 `json:"queues"`
	// Interfaces are the LAN and WAN interfaces the table names.
	Interfaces Interfaces `json:"interfaces"`
	// Counters of every rule, in chain order.
	Counters []Counter `json:"counters"`
	// Sums over the rules: dropped towards blocked peers, dropped from blocked
	// peers, new TCP connections of locked clients refused, packets queued to
	// user space.
	DroppedToPeers   CounterValue `json:"dropped_to_peers"`
	DroppedFromPeers CounterValue `json:"dropped_from_peers"`
	LockRejects      CounterValue `json:"lock_rejects"`
	Queued           CounterValue `json:"queued"`
}

// SetStatus describes one set.
type SetStatus struct {
	Name string `json:"name"`
	// Count is the number of elements (ranges for the allow sets).
	Count int `json:"count"`
	// Timeout is the set's default element timeout (0 = none).
	Timeout time.Duration `json:"timeout"`
	// Sample holds the first elements read, at most the sample size asked
	// for, sorted by address.
	Sample []Element `json:"sample,omitempty"`
}

// CounterValue is a packet and byte count.
type CounterValue struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

func (v *CounterValue) add(o CounterValue) {
	v.Packets += o.Packets
	v.Bytes += o.Bytes
}

// Counter is one rule's counter.
type Counter struct {
	Chain string `json:"chain"`
	// Rule is the rule's identifier (Rule* constants), "" for a rule that
	// ftwall did not write.
	Rule    string `json:"rule"`
	Comment string `json:"comment"`
	CounterValue
}

// sumCounters fills the summary fields of s from s.Counters.
func (s *Status) sumCounters() {
	s.DroppedToPeers, s.DroppedFromPeers, s.LockRejects, s.Queued = CounterValue{}, CounterValue{}, CounterValue{}, CounterValue{}
	for _, c := range s.Counters {
		switch c.Rule {
		case RuleToPeers4, RuleToPeers6:
			s.DroppedToPeers.add(c.CounterValue)
		case RuleFromPeers4, RuleFromPeers6:
			s.DroppedFromPeers.add(c.CounterValue)
		case RuleLock4, RuleLock6:
			s.LockRejects.add(c.CounterValue)
		default:
			if strings.HasPrefix(c.Rule, QueueRulePrefix) {
				s.Queued.add(c.CounterValue)
			}
		}
	}
}
