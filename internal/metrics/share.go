package metrics

import "github.com/prometheus/client_golang/prometheus"

// ShareStats are the figures of sharing with other gateways, read at every
// scrape.
type ShareStats struct {
	Connected, Loaded                 bool
	Published, PublishErrors, Dropped uint64
	Backlog                           int
	Received, Undecodable             uint64
	AppliedPeers, AppliedLocks        uint64
	Deleted, Expired                  uint64
	Rejected                          map[string]uint64
	LagSeconds                        float64
	Reconnects, ConsumersLost         uint64
}

// RegisterShare adds the share metrics, read from read at every scrape.
func (m *Metrics) RegisterShare(read func() ShareStats) {
	m.reg.MustRegister(&shareCollector{read: read})
}

var (
	shareConnected = prometheus.NewDesc("ftwall_share_connected", "1 while connected to a NATS server of the share.", nil, nil)
	shareLoaded    = prometheus.NewDesc("ftwall_share_loaded", "1 once the shared buckets' contents at start are in the kernel.", nil, nil)
	sharePublished = prometheus.NewDesc("ftwall_share_published_total", "Entries published and acknowledged by the servers.", nil, nil)
	sharePubErrors = prometheus.NewDesc("ftwall_share_publish_errors_total", "Failed publish attempts (the entry is retried).", nil, nil)
	shareDropped   = prometheus.NewDesc("ftwall_share_dropped_total", "Entries dropped from the full publish backlog (oldest first).", nil, nil)
	shareBacklog   = prometheus.NewDesc("ftwall_share_backlog", "Entries waiting to be published.", nil, nil)
	shareReceived  = prometheus.NewDesc("ftwall_share_received_total", "Entries received from the share.", nil, nil)
	shareBad       = prometheus.NewDesc("ftwall_share_undecodable_total", "Received entries that were no ftwall entry (never applied).", nil, nil)
	shareApplied   = prometheus.NewDesc("ftwall_share_applied_total", "Received entries written to the kernel, by kind.", []string{"kind"}, nil)
	shareDeleted   = prometheus.NewDesc("ftwall_share_deleted_total", "Received deletions applied.", nil, nil)
	shareExpired   = prometheus.NewDesc("ftwall_share_expired_total", "Received entries whose lifetime was over on arrival.", nil, nil)
	shareRejected  = prometheus.NewDesc("ftwall_share_rejected_total", "Received entries refused by validation, by reason.", []string{"reason"}, nil)
	shareLag       = prometheus.NewDesc("ftwall_share_lag_seconds", "Age of the last live entry applied: from the server storing it to the kernel write.", nil, nil)
	shareReconn    = prometheus.NewDesc("ftwall_share_reconnects_total", "Reconnections to the share's servers.", nil, nil)
	shareLost      = prometheus.NewDesc("ftwall_share_consumers_lost_total", "Bucket readers lost with their server (or deleted by it) and made again.", nil, nil)
)

type shareCollector struct{ read func() ShareStats }

func (c *shareCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{shareConnected, shareLoaded, sharePublished, sharePubErrors, shareDropped, shareBacklog, shareReceived, shareBad, shareApplied, shareDeleted, shareExpired, shareRejected, shareLag, shareReconn, shareLost} {
		ch <- d
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (c *shareCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.read()
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	n := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	g(shareConnected, b2f(s.Connected))
	g(shareLoaded, b2f(s.Loaded))
	n(sharePublished, s.Published)
	n(sharePubErrors, s.PublishErrors)
	n(shareDropped, s.Dropped)
	g(shareBacklog, float64(s.Backlog))
	n(shareReceived, s.Received)
	n(shareBad, s.Undecodable)
	n(shareApplied, s.AppliedPeers, "peer")
	n(shareApplied, s.AppliedLocks, "lock")
	n(shareDeleted, s.Deleted)
	n(shareExpired, s.Expired)
	for _, r := range []string{"not-candidate", "not-lan", "pardoned", "no-timelock"} {
		n(shareRejected, s.Rejected[r], r)
	}
	g(shareLag, s.LagSeconds)
	n(shareReconn, s.Reconnects)
	n(shareLost, s.ConsumersLost)
}
