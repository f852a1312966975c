package service

import (
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect/inspecttest"
	"github.com/ftwall/ftwall/internal/queue"
)

// The packet path's per-packet cost, without the kernel: reader.handle on
// the packets of P2's floods (one LAN client, benchPeers peers in turn),
// with the control goroutine running behind it as in ftwall run. The
// raw-socket send of a pong is the fake's (its syscall is measured in
// internal/rawsend); everything else is the product code.

const benchPeers = 1024

func benchFlood(b *testing.B, build func(client, peer netip.AddrPort) []byte) {
	benchFloodWith(b, baseConfig(), build)
}

func benchFloodWith(b *testing.B, cfg Config, build func(client, peer netip.AddrPort) []byte) {
	h := start(b, cfg)
	// Ready once its queue reader runs: one packet through the fake queue.
	select {
	case h.q.in <- queue.Packet{Hook: queue.HookForward, InDev: ifLAN, Payload: inspecttest.UDP(
		netip.MustParseAddrPort("10.0.1.9:53"), netip.MustParseAddrPort("203.0.113.53:53"), []byte("not p2p"))}:
		<-h.q.verdicts
	case <-time.After(5 * time.Second):
		b.Fatal("service not ready")
	}
	h.snd.discard = true
	client := netip.MustParseAddrPort("10.0.1.2:3456")
	pkts := make([][]byte, benchPeers)
	for i := range pkts {
		// 198.51.96.1 … 198.51.100.x; baseConfig allowlists 198.51.100.200.
		peer := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 96 + byte(i/250), byte(1 + i%250)}), 1214)
		pkts[i] = build(client, peer)
	}
	r := h.svc.newReader(0)
	p := queue.Packet{Hook: queue.HookForward, InDev: ifLAN}
	// Warm: every peer learned once, as after P2's warm-up.
	for _, pkt := range pkts {
		p.Payload = pkt
		r.handle(&p)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		if i%queue.ClockEvery == 0 {
			p.Time = time.Now() // as the queue reader stamps its packets
		}
		p.Payload = pkts[i%benchPeers]
		if v := r.handle(&p); v != queue.Drop {
			b.Fatalf("packet %d: verdict %v, want drop (%+v)", i, v, r.ev)
		}
	}
	// What the control goroutine spends on the flood too: the process's
	// CPU time per packet (both CPUs), beside the reader's ns/op.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkHandlePingFlood(b *testing.B) {
	benchFlood(b, func(c, p netip.AddrPort) []byte { return inspecttest.UDP(c, p, inspecttest.Ping("KaZaA")) })
}

func BenchmarkHandleGETFlood(b *testing.B) {
	benchFlood(b, func(c, p netip.AddrPort) []byte {
		return inspecttest.TCP(c, netip.AddrPortFrom(p.Addr(), 80), inspecttest.GetHash())
	})
}

func BenchmarkHandleDHTFlood(b *testing.B) {
	n := 0
	benchFlood(b, func(c, p netip.AddrPort) []byte {
		n++
		return inspecttest.UDP(c, netip.AddrPortFrom(p.Addr(), 6881), inspecttest.KRPCPing(fmt.Sprintf("%02x", n%256)))
	})
}

func BenchmarkHandleUTPFlood(b *testing.B) {
	n := 0
	benchFlood(b, func(c, p netip.AddrPort) []byte {
		n++
		return inspecttest.UDP(c, netip.AddrPortFrom(p.Addr(), 6881), inspecttest.UTPSynLibtorrent(uint16(n)))
	})
}

// BenchmarkHandlePingFloodMetrics is the ping flood with --metrics-listen.
func BenchmarkHandlePingFloodMetrics(b *testing.B) {
	cfg := baseConfig()
	cfg.MetricsListen = "127.0.0.1:0"
	benchFloodWith(b, cfg, func(c, p netip.AddrPort) []byte { return inspecttest.UDP(c, p, inspecttest.Ping("KaZaA")) })
}
