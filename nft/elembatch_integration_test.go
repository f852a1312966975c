package nft

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// LoadElements' own encoder and socket path: errors, long comments that
// split messages earlier than maxElemsPerMessage, and the shared element
// socket staying usable for the google/nftables writes.
func TestIntegrationLoadElementsRaw(t *testing.T) {
	ns := newNetNS(t)
	k := ns.open(t)
	ctx := testCtx(t)

	// No table: every message fails with ENOENT, reported as ErrNoTable;
	// the socket of the failed batch is dropped and later loads use a new one.
	err := k.LoadElements(ctx, SetPeers6, elemsOf(v4s("2001:db8:1::1", 2500), time.Hour))
	if !errors.Is(err, ErrNoTable) {
		t.Fatalf("load without table: %v, want ErrNoTable", err)
	}

	mustSetup(t, k, integrationConfig(), SetupOptions{})
	// Long comments: a 1000-element message would overflow the u16 length
	// of its element list. (251 bytes: this kernel rejects an element
	// comment of 252 bytes with EINVAL and drops one of 253 bytes.)
	comment := strings.Repeat("c", 251)
	locked := elemsOf(v4s("2001:db8:2::1", 2500), time.Hour)
	for i := range locked {
		if i%2 == 0 {
			locked[i].Comment = comment
		}
	}
	if err := k.LoadElements(ctx, SetLocked6, locked); err != nil {
		t.Fatal(err)
	}
	got := mustElements(t, k, SetLocked6)
	if len(got) != len(locked) {
		t.Fatalf("%d elements after loading %d", len(got), len(locked))
	}
	for i, e := range got {
		if e.Addr != locked[i].Addr || e.Timeout != time.Hour || e.Comment != locked[i].Comment {
			t.Fatalf("element %d: %+v, want %+v", i, e, locked[i])
		}
	}

	// The element socket is shared with AddElements/DeleteElements.
	a := netip.MustParseAddr("198.51.100.7")
	if err := k.LoadElements(ctx, SetPeers4, []Element{{Addr: a, Timeout: time.Minute}}); err != nil {
		t.Fatal(err)
	}
	if err := k.AddElements(ctx, SetPeers4, []Element{{Addr: a, Timeout: time.Hour}}); err != nil {
		t.Fatal(err)
	}
	if err := k.LoadElements(ctx, SetPeers4, elemsOf(v4s("198.51.100.8", 3), 0)); err != nil {
		t.Fatal(err)
	}
	if err := k.DeleteElements(ctx, SetPeers4, []netip.Addr{a}); err != nil {
		t.Fatal(err)
	}
	if got := mustElements(t, k, SetPeers4); len(got) != 3 || got[0].Addr != netip.MustParseAddr("198.51.100.8") {
		t.Errorf("peers4 %+v", got)
	}

	// A failing batch stops the load; the batches before it stay.
	mixed := elemsOf(v4s("2001:db8:3::1", loadBatch+10), 0)
	mixed[loadBatch+5].Addr = netip.MustParseAddr("192.0.2.77")
	if err := k.LoadElements(ctx, SetPeers6, mixed); err == nil {
		t.Fatal("an IPv4 address was loaded into peers6")
	}
	if got := mustElements(t, k, SetPeers6); len(got) != loadBatch {
		t.Errorf("%d elements after a load failing in its second batch, want %d", len(got), loadBatch)
	}
	// Loading goes on after the failure.
	if err := k.LoadElements(ctx, SetPeers6, mixed[loadBatch:loadBatch+5]); err != nil {
		t.Fatal(err)
	}
	if got := mustElements(t, k, SetPeers6); len(got) != loadBatch+5 {
		t.Errorf("%d elements, want %d", len(got), loadBatch+5)
	}
}

// AddElements (google/nftables messages) with long comments: a message of
// 1,000 such elements would wrap its u16 length and the kernel would keep
// only the elements before the wrap, without an error.
func TestIntegrationAddElementsLongComments(t *testing.T) {
	ns := newNetNS(t)
	k := ns.open(t)
	ctx := testCtx(t)
	mustSetup(t, k, integrationConfig(), SetupOptions{})
	elems := elemsOf(v4s("fd00:5::1", 1500), time.Hour)
	for i := range elems {
		elems[i].Comment = strings.Repeat("x", 40+i%(maxElemCommentLen-40))
	}
	if err := k.AddElements(ctx, SetLocked6, elems); err != nil {
		t.Fatal(err)
	}
	got := mustElements(t, k, SetLocked6)
	if len(got) != len(elems) {
		t.Fatalf("%d of %d elements with comments stored", len(got), len(elems))
	}
	for i, e := range got {
		if e.Comment != elems[i].Comment {
			t.Fatalf("element %v: comment of %d bytes, want %d", e.Addr, len(e.Comment), len(elems[i].Comment))
		}
	}
}
