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

// StreamStats are the stream-start reassembly table's figures
// (inspect/stream.Stats).
type StreamStats struct {
	Tracked                     int
	Evicted, Refused, Rewritten uint64
}

// streamCollector reads the reassembly table at every scrape.
type streamCollector struct {
	read                                 func() StreamStats
	tracked, evicted, refused, rewritten *prometheus.Desc
}

func newStreamCollector(read func() StreamStats) *streamCollector {
	return &streamCollector{
		read:      read,
		tracked:   prometheus.NewDesc("ftwall_streams_tracked", "LAN TCP connections whose start waits for more segments to be judged (at most 4,096).", nil, nil),
		evicted:   prometheus.NewDesc("ftwall_streams_evicted_total", "Connections forgotten before their start was judged because the reassembly table was full (the oldest goes first).", nil, nil),
		refused:   prometheus.NewDesc("ftwall_streams_refused_total", "Connection starts dropped because their LAN host (an IPv4 address, an IPv6 /64) already had 64 starts waiting to be judged; its TCP retransmits them.", nil, nil),
		rewritten: prometheus.NewDesc("ftwall_stream_rewrites_total", "Retransmitted segments that changed bytes already seen at a connection's start (both versions are judged).", nil, nil),
	}
}

func (c *streamCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.tracked
	ch <- c.evicted
	ch <- c.refused
	ch <- c.rewritten
}

func (c *streamCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.read()
	ch <- prometheus.MustNewConstMetric(c.tracked, prometheus.GaugeValue, float64(s.Tracked))
	ch <- prometheus.MustNewConstMetric(c.evicted, prometheus.CounterValue, float64(s.Evicted))
	ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(s.Refused))
	ch <- prometheus.MustNewConstMetric(c.rewritten, prometheus.CounterValue, float64(s.Rewritten))
}
