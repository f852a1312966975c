package service

import (
	"net/netip"
	"time"
)

// recentEvidence is one queue reader's memory of the evidence it handed to
// the control goroutine lately. A flood repeats the same peers and the
// same client many thousand times a second; the control goroutine would
// only deduplicate them again (refreshCache). The reader forwards a
// packet's evidence when one of its addresses was not forwarded in the
// last window, and otherwise counts it only: the channel send and the
// control goroutine's work are paid once per address and window, not per
// packet.
//
// The window is at most recentWindow, and never more than the refresh
// interval of the element's set, so no kernel refresh and no lock renewal
// is later than without it. Operator requests (unblock, unlock, block),
// which change what a repeat would do, bump Service.learnEpoch, and a
// reload installs a new run state: either empties the memory. Evidence the
// control goroutine did not take (channel full) is not remembered. It
// belongs to one reader (no locking) and is bounded (cleared when full).
type recentEvidence struct {
	seen  map[recentKey]time.Time
	epoch uint64
	st    *runState
}

// recentKey is one piece of evidence as the control goroutine judges it:
// an address (peer or client) seen in a packet of source src, arriving on
// inDev from the MAC hw. The packet's source is part of the key, so that a
// host forging another's address (which the control goroutine rejects)
// can never make the reader hold back the genuine host's evidence.
type recentKey struct {
	addr  netip.Addr
	src   netip.Addr
	inDev uint32
	hw    [8]byte
	hwLen uint8
}

const (
	recentWindow = time.Second
	recentMax    = 4096
)

func newRecentEvidence() *recentEvidence {
	return &recentEvidence{seen: make(map[recentKey]time.Time)}
}

// reset empties the memory when the run state or the epoch changed.
func (r *recentEvidence) reset(st *runState, epoch uint64) {
	if r.st == st && r.epoch == epoch {
		return
	}
	clear(r.seen)
	r.st, r.epoch = st, epoch
}

// keyOf is the key of address a in l's packet.
func keyOf(l *learned, a netip.Addr) recentKey {
	return recentKey{addr: a, src: l.src, inDev: l.inDev, hw: l.hw, hwLen: l.hwLen}
}

// fresh reports whether k was forwarded less than window ago.
func (r *recentEvidence) fresh(k recentKey, now time.Time, window time.Duration) bool {
	t, ok := r.seen[k]
	return ok && now.Sub(t) < window
}

// forwarded records that k's evidence went to the control goroutine.
func (r *recentEvidence) forwarded(k recentKey, now time.Time) {
	if len(r.seen) >= recentMax {
		if _, ok := r.seen[k]; !ok {
			clear(r.seen)
		}
	}
	r.seen[k] = now
}

// windows are the suppression windows for peers and locks of st.
func (st *runState) recentWindows() (peer, lock time.Duration) {
	return min(recentWindow, refreshEvery(st.cfg.Ruleset.PeerTimeout)),
		min(recentWindow, refreshEvery(st.cfg.Ruleset.TimeLock))
}
