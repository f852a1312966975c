package nft

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// Benchmarks of the kernel paths (root only): `go test -run '^$' -bench . ./nft`.

func benchKernel(b *testing.B) (*Kernel, context.Context) {
	b.Helper()
	ns := newNetNS(b)
	k := ns.open(b)
	ctx := context.Background()
	if _, err := k.Setup(ctx, integrationConfig(), SetupOptions{}); err != nil {
		b.Fatal(err)
	}
	return k, ctx
}

// One element, as the inspector adds a new peer or refreshes a lock.
func BenchmarkAddElement(b *testing.B) {
	k, ctx := benchKernel(b)
	e := []Element{{Addr: netip.MustParseAddr("198.51.100.1")}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := k.AddElements(ctx, SetPeers4, e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAddElements10k(b *testing.B) {
	k, ctx := benchKernel(b)
	els := elemsOf(v4s("100.0.0.0", 10_000), time.Hour)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := k.AddElements(ctx, SetPeers4, els); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSetupUnchanged(b *testing.B) {
	k, ctx := benchKernel(b)
	cfg := integrationConfig()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if res, err := k.Setup(ctx, cfg, SetupOptions{}); err != nil || res.Changed {
			b.Fatal(res, err)
		}
	}
}

func BenchmarkStatus100k(b *testing.B) {
	k, ctx := benchKernel(b)
	if err := k.AddElements(ctx, SetPeers4, elemsOf(v4s("100.0.0.0", 100_000), 0)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := k.Status(ctx, 10); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadElements100k6 loads 100k IPv6 elements with timeouts, as a
// storefile load does (the set is emptied between rounds).
func BenchmarkLoadElements100k6(b *testing.B) {
	k, ctx := benchKernel(b)
	els := elemsOf(v4s("2001:db8:4000::1", 100_000), time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := k.LoadElements(ctx, SetPeers6, els); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if _, err := k.Setup(ctx, integrationConfig(), SetupOptions{Reset: true}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
