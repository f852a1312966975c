package service

import (
	"net/netip"
	"testing"
	"time"
)

func markedAt(t *testing.T, k *knownClients, a netip.Addr) int64 {
	t.Helper()
	v, ok := k.m.Load(a)
	if !ok {
		return 0
	}
	return v.(interface{ Load() int64 }).Load()
}

// A reader marks the client it marked last at most once per markMemoEvery,
// marks another client at once, and marks again at once after any forget.
func TestKnownMarkFromMemo(t *testing.T) {
	k := newKnownClients(16, time.Minute)
	a, b := netip.MustParseAddr("10.0.1.2"), netip.MustParseAddr("10.0.1.3")
	t0 := time.Unix(1000, 0)
	var memo markMemo

	k.markFrom(&memo, a, t0)
	if got := markedAt(t, k, a); got != t0.UnixNano() {
		t.Fatalf("first mark: %d, want %d", got, t0.UnixNano())
	}
	k.markFrom(&memo, a, t0.Add(500*time.Millisecond))
	if got := markedAt(t, k, a); got != t0.UnixNano() {
		t.Errorf("mark within %v of the last: written (%d), want skipped", markMemoEvery, got)
	}
	if !k.known(a, t0.Add(500*time.Millisecond)) {
		t.Error("client not known after a skipped mark")
	}
	t1 := t0.Add(markMemoEvery)
	k.markFrom(&memo, a, t1)
	if got := markedAt(t, k, a); got != t1.UnixNano() {
		t.Errorf("mark %v after the last: %d, want %d", markMemoEvery, got, t1.UnixNano())
	}
	// Another client is marked at once (and becomes the memo's).
	k.markFrom(&memo, b, t1)
	if got := markedAt(t, k, b); got != t1.UnixNano() {
		t.Errorf("other client: %d, want %d", got, t1.UnixNano())
	}
	// A forget (a lapse, an unlock) voids the memo: the next mark is written
	// even within markMemoEvery.
	k.forget(b)
	if k.known(b, t1) {
		t.Fatal("forgotten client still known")
	}
	k.markFrom(&memo, b, t1.Add(time.Millisecond))
	if !k.known(b, t1.Add(time.Millisecond)) {
		t.Error("client marked after a forget is not known: the memo skipped the mark")
	}
	// A clock that went back does not keep the memo.
	tb := t1.Add(-time.Hour)
	k.markFrom(&memo, b, tb)
	if got := markedAt(t, k, b); got != tb.UnixNano() {
		t.Errorf("mark with an earlier time: %d, want %d", got, tb.UnixNano())
	}
}

// With a time-lock of a few seconds, the memo holds for a quarter of it,
// not for the whole markMemoEvery.
func TestKnownMarkFromMemoShortTTL(t *testing.T) {
	k := newKnownClients(16, 2*time.Second)
	a := netip.MustParseAddr("10.0.1.2")
	t0 := time.Unix(1000, 0)
	var memo markMemo
	k.markFrom(&memo, a, t0)
	t1 := t0.Add(500 * time.Millisecond) // a quarter of 2 s: marked again
	k.markFrom(&memo, a, t1)
	if got := markedAt(t, k, a); got != t1.UnixNano() {
		t.Errorf("mark 500 ms after the last with a 2 s TTL: %d, want %d", got, t1.UnixNano())
	}
	k.markFrom(&memo, a, t1.Add(400*time.Millisecond))
	if got := markedAt(t, k, a); got != t1.UnixNano() {
		t.Errorf("mark 400 ms after the last with a 2 s TTL: written (%d), want skipped", got)
	}
}
