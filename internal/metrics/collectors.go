package metrics

import (
	"errors"
	"io/fs"
	"maps"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// RuleCounter is a kernel rule counter (same fields as events.Counter, so
// either converts to the other).
type RuleCounter struct {
	Packets, Bytes uint64
}

// ruleCollector exposes the last rule counters the service read.
type ruleCollector struct {
	packets, bytes *prometheus.Desc

	mu    sync.Mutex
	rules map[string]RuleCounter
}

func newRuleCollector() *ruleCollector {
	return &ruleCollector{
		packets: prometheus.NewDesc("ftwall_rule_packets_total", "Packets counted by the kernel rule with this comment.", []string{"rule"}, nil),
		bytes:   prometheus.NewDesc("ftwall_rule_bytes_total", "Bytes counted by the kernel rule with this comment.", []string{"rule"}, nil),
	}
}

func (c *ruleCollector) set(rules map[string]RuleCounter) {
	c.mu.Lock()
	c.rules = maps.Clone(rules)
	c.mu.Unlock()
}

func (c *ruleCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.packets
	ch <- c.bytes
}

func (c *ruleCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for rule, v := range c.rules {
		ch <- prometheus.MustNewConstMetric(c.packets, prometheus.CounterValue, float64(v.Packets), rule)
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(v.Bytes), rule)
	}
}

// queueCollector reads the kernel's queue statistics at every scrape.
type queueCollector struct {
	path                                   string
	packets, waiting, dropped, userDropped *prometheus.Desc
}

func newQueueCollector(path string) *queueCollector {
	l := []string{"queue"}
	return &queueCollector{
		path:        path,
		packets:     prometheus.NewDesc("ftwall_queue_packets_total", "Packets handed to the NFQUEUE reader (kernel id_sequence, 32-bit).", l, nil),
		waiting:     prometheus.NewDesc("ftwall_queue_waiting", "Packets waiting in the NFQUEUE queue for a verdict.", l, nil),
		dropped:     prometheus.NewDesc("ftwall_queue_dropped_total", "Packets dropped because the NFQUEUE queue was full (fail-open accepts are not counted).", l, nil),
		userDropped: prometheus.NewDesc("ftwall_queue_user_dropped_total", "Packets dropped because the reader's netlink socket was full.", l, nil),
	}
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.packets
	ch <- c.waiting
	ch <- c.dropped
	ch <- c.userDropped
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	stats, err := ReadQueueStats(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return // nfnetlink_queue not loaded: no queues
	}
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.packets, err)
		return
	}
	for _, s := range stats {
		q := strconv.Itoa(int(s.Queue))
		ch <- prometheus.MustNewConstMetric(c.packets, prometheus.CounterValue, float64(s.IDSequence), q)
		ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(s.Waiting), q)
		ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(s.Dropped), q)
		ch <- prometheus.MustNewConstMetric(c.userDropped, prometheus.CounterValue, float64(s.UserDropped), q)
	}
}
