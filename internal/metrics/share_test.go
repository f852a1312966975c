package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestShareMetrics(t *testing.T) {
	m := New()
	m.RegisterShare(func() ShareStats {
		return ShareStats{Connected: true, Published: 7, Dropped: 2, Backlog: 3, AppliedPeers: 5, AppliedLocks: 1,
			Rejected: map[string]uint64{"not-candidate": 4}, LagSeconds: 0.05}
	})
	want := `
# HELP ftwall_share_applied_total Received entries written to the kernel, by kind.
# TYPE ftwall_share_applied_total counter
ftwall_share_applied_total{kind="lock"} 1
ftwall_share_applied_total{kind="peer"} 5
# HELP ftwall_share_connected 1 while connected to a NATS server of the share.
# TYPE ftwall_share_connected gauge
ftwall_share_connected 1
# HELP ftwall_share_dropped_total Entries dropped from the full publish backlog (oldest first).
# TYPE ftwall_share_dropped_total counter
ftwall_share_dropped_total 2
# HELP ftwall_share_rejected_total Received entries refused by validation, by reason.
# TYPE ftwall_share_rejected_total counter
ftwall_share_rejected_total{reason="no-timelock"} 0
ftwall_share_rejected_total{reason="not-candidate"} 4
ftwall_share_rejected_total{reason="not-lan"} 0
ftwall_share_rejected_total{reason="pardoned"} 0
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"ftwall_share_applied_total", "ftwall_share_connected", "ftwall_share_dropped_total", "ftwall_share_rejected_total"); err != nil {
		t.Error(err)
	}
}
