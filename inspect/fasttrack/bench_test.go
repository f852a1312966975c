package fasttrack_test

import (
	"testing"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/inspecttest"
)

// pipeline is the per-packet work of the live service: decode, classify,
// and decide when there is evidence.
func pipeline(pkt []byte, s *inspect.Settings, p *inspect.Packet, ev *inspect.Evidence, d *inspect.Decision) bool {
	if inspect.Decode(pkt, p) != nil {
		return false
	}
	if !ft.Classify(p, ev) {
		return false
	}
	inspect.Decide(ev, true, s, d)
	return true
}

func benchPackets() map[string][]byte {
	return map[string][]byte{
		"ping":     inspecttest.UDP(client4, peer4, inspecttest.Ping("KaZaA")),
		"ping6":    inspecttest.UDP(client6, peer6, inspecttest.Ping("KaZaA")),
		"get":      inspecttest.TCP(client4, peer4, inspecttest.GetHash()),
		"get6":     inspecttest.TCP(client6, peer6, inspecttest.GetHash()),
		"response": inspecttest.TCP(client4, peer4, inspecttest.Response(206)),
		"give":     inspecttest.TCP(client4, peer4, inspecttest.Give(1)),
		"miss":     inspecttest.TCP(client4, peer4, inspecttest.Lines("GET / HTTP/1.1", "Host: 198.51.100.7", "User-Agent: curl/8.5.0", "Accept: */*")),
		"missudp":  inspecttest.UDP(client4, peer4, make([]byte, 48)),
	}
}

// The steady state must not allocate: this is an assertion, not a timing.
func TestPipelineDoesNotAllocate(t *testing.T) {
	s := settings()
	for name, pkt := range benchPackets() {
		var p inspect.Packet
		var ev inspect.Evidence
		var d inspect.Decision
		allocs := testing.AllocsPerRun(200, func() { pipeline(pkt, s, &p, &ev, &d) })
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per packet, want 0", name, allocs)
		}
	}
}

func benchPipeline(b *testing.B, pkt []byte, wantEvidence bool) {
	s := settings()
	var p inspect.Packet
	var ev inspect.Evidence
	var d inspect.Decision
	if pipeline(pkt, s, &p, &ev, &d) != wantEvidence {
		b.Fatalf("fixture evidence = %v, want %v", !wantEvidence, wantEvidence)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	b.ResetTimer()
	for b.Loop() {
		pipeline(pkt, s, &p, &ev, &d)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/packet")
}

// BenchmarkClassifyPing: decode + classify + decide of a KaZaA ping (IPv4).
func BenchmarkClassifyPing(b *testing.B) { benchPipeline(b, benchPackets()["ping"], true) }

// BenchmarkClassifyPing6: the same over IPv6.
func BenchmarkClassifyPing6(b *testing.B) { benchPipeline(b, benchPackets()["ping6"], true) }

// BenchmarkClassifyHTTPGet: a Kazaa "GET /.hash=" request with the usual headers.
func BenchmarkClassifyHTTPGet(b *testing.B) { benchPipeline(b, benchPackets()["get"], true) }

// BenchmarkClassifyMiss: a plain HTTP GET (queued because it starts with "GET ").
func BenchmarkClassifyMiss(b *testing.B) { benchPipeline(b, benchPackets()["miss"], false) }

// BenchmarkClassifyMissUDP: a 48-byte non-FastTrack UDP datagram.
func BenchmarkClassifyMissUDP(b *testing.B) { benchPipeline(b, benchPackets()["missudp"], false) }

// BenchmarkDecide: Decide alone for a ping (verdict, peer, lock, spoofed pong).
func BenchmarkDecide(b *testing.B) {
	s := settings()
	var p inspect.Packet
	var ev inspect.Evidence
	var d inspect.Decision
	pipeline(benchPackets()["ping"], s, &p, &ev, &d)
	b.ReportAllocs()
	for b.Loop() {
		inspect.Decide(&ev, true, s, &d)
	}
}
