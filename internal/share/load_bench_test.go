package share

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/ftwall/ftwall/internal/share/sharetest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// BenchmarkInitialLoad receives a bucket of 100,000 entries from a real
// nats-server on this machine, as a gateway does at start: ns/op is per
// entry, and the peak heap in use is reported.
func BenchmarkInitialLoad(b *testing.B) {
	const n = 100000
	srv := sharetest.Start(b)
	a := openT(b, srv.URL, ModePeers, "gw-a")
	for !a.Stats().Received {
		<-a.Updates()
	}
	nc, err := nats.Connect(srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(8192))
	val, _ := Encode(Entry{Addr: peerA, Timeout: time.Hour, Protocol: "fasttrack", Reason: "ping", Gateway: "gw-x"})
	ad := netip.MustParseAddr("2001:db8:6000::")
	for range n {
		ad = ad.Next()
		for {
			if _, err := js.PublishAsync("$KV."+DefaultPeersBucket+"."+Key(ad), val); err == nil {
				break
			}
			<-js.PublishAsyncComplete()
		}
	}
	<-js.PublishAsyncComplete()
	var peak uint64
	var ms runtime.MemStats
	b.ResetTimer()
	for range b.N {
		c := openT(b, srv.URL, ModePeers, "gw-b")
		got := 0
		for got < n || !c.Stats().Received {
			bt := <-c.Updates()
			got += len(bt.Entries)
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/entry")
	b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
}
