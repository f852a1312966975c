package service

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
	"unicode/utf8"

	"github.com/ftwall/ftwall/internal/ctl"
	"github.com/ftwall/ftwall/internal/store"
	"github.com/ftwall/ftwall/nft"
)

// Operator carries out the operator commands (block, unblock, unlock) on
// the kernel's sets and the storefile. The running service uses it from its
// control goroutine (and updates its memory besides); the commands use it
// directly when no service runs.
type Operator struct {
	Firewall nft.Firewall
	// Store is the storefile, nil for none.
	Store *store.Store
	// Candidate says which addresses may be blocked (nil: every one).
	Candidate func(netip.Addr) bool
	Log       *slog.Logger
}

func (o *Operator) log() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log
}

// Block adds addrs to the peer sets with their own timeout (0: the set's),
// records them in the storefile (not those with their own timeout: the
// storefile restores peers with --peer-timeout) and ends their pardons. It
// returns a result per address and the addresses blocked.
func (o *Operator) Block(ctx context.Context, addrs []netip.Addr, timeout time.Duration, reason string) ([]ctl.Result, []netip.Addr) {
	comment := manualComment(reason)
	var res []ctl.Result
	add := map[string][]nft.Element{}
	for _, a := range addrs {
		if o.Candidate != nil && !o.Candidate(a) {
			res = append(res, ctl.Result{Addr: a.String(), Error: "not blocked: a LAN, own, protected or allowlisted address, or not a public one"})
			continue
		}
		add[peerSet(a)] = append(add[peerSet(a)], nft.Element{Addr: a, Timeout: timeout, Comment: comment})
	}
	var done []netip.Addr
	now := time.Now()
	for _, set := range []string{nft.SetPeers4, nft.SetPeers6} {
		elems := add[set]
		if len(elems) == 0 {
			continue
		}
		if err := o.Firewall.AddElements(ctx, set, elems); err != nil {
			for _, e := range elems {
				res = append(res, ctl.Result{Addr: e.Addr.String(), Error: fmt.Sprintf("not blocked: %v", err)})
			}
			continue
		}
		for _, e := range elems {
			done = append(done, e.Addr)
		}
	}
	o.endPardons(ctx, done)
	for _, a := range done {
		if o.Store != nil && timeout == 0 {
			o.Store.Put(store.Peer{Addr: a, LastSeen: now, Reason: ManualReason + "/" + reason})
		}
		o.log().Info("peer blocked by the operator", "peer", a, "reason", reason, "timeout", timeout)
		res = append(res, ctl.Result{Addr: a.String(), Done: "blocked"})
	}
	return res, done
}

// Unblock removes addrs from the peer sets and the storefile and pardons
// them for pardon (0: no pardon). It returns a result per address, the
// addresses done and which of them were blocked.
func (o *Operator) Unblock(ctx context.Context, addrs []netip.Addr, pardon time.Duration) ([]ctl.Result, []netip.Addr, map[netip.Addr]bool) {
	was := o.present(ctx, addrs, peerSet)
	done, res := o.deleteFrom(ctx, addrs, peerSet)
	if o.Store != nil {
		o.Store.Delete(done...)
	}
	o.pardon(ctx, done, pardon)
	for _, a := range done {
		what := "unblocked"
		if !was[a] {
			what = "was not blocked"
		}
		o.log().Info("peer unblocked by the operator", "peer", a, "was_blocked", was[a], "pardon", pardon)
		res = append(res, ctl.Result{Addr: a.String(), Done: what})
	}
	return res, done, was
}

// Unlock removes addrs from the lock sets and pardons them for pardon.
func (o *Operator) Unlock(ctx context.Context, addrs []netip.Addr, pardon time.Duration) ([]ctl.Result, []netip.Addr) {
	was := o.present(ctx, addrs, lockSet)
	done, res := o.deleteFrom(ctx, addrs, lockSet)
	o.pardon(ctx, done, pardon)
	for _, a := range done {
		what := "unlocked"
		if !was[a] {
			what = "was not locked"
		}
		o.log().Info("client unlocked by the operator", "client", a, "was_locked", was[a], "pardon", pardon)
		res = append(res, ctl.Result{Addr: a.String(), Done: what})
	}
	return res, done
}

// present reports which of addrs are in their set now.
func (o *Operator) present(ctx context.Context, addrs []netip.Addr, setOf func(netip.Addr) string) map[netip.Addr]bool {
	want := map[netip.Addr]bool{}
	sets := map[string]bool{}
	for _, a := range addrs {
		want[a] = true
		sets[setOf(a)] = true
	}
	out := map[netip.Addr]bool{}
	for set := range sets {
		_ = o.Firewall.EachElement(ctx, set, func(e nft.Element) bool {
			if want[e.Addr] {
				out[e.Addr] = true
			}
			return true
		})
	}
	return out
}

// deleteFrom deletes addrs from their sets; it returns those done and a
// result for each that failed.
func (o *Operator) deleteFrom(ctx context.Context, addrs []netip.Addr, setOf func(netip.Addr) string) ([]netip.Addr, []ctl.Result) {
	by := map[string][]netip.Addr{}
	var order []string
	for _, a := range addrs {
		set := setOf(a)
		if by[set] == nil {
			order = append(order, set)
		}
		by[set] = append(by[set], a)
	}
	var done []netip.Addr
	var failed []ctl.Result
	for _, set := range order {
		if err := o.Firewall.DeleteElements(ctx, set, by[set]); err != nil {
			for _, a := range by[set] {
				failed = append(failed, ctl.Result{Addr: a.String(), Error: fmt.Sprintf("not removed from %s: %v", set, err)})
			}
			continue
		}
		done = append(done, by[set]...)
	}
	return done, failed
}

// pardon writes addrs into the kernel's pardon sets for d: ftwall run
// learns no peer and locks no client there meanwhile, across restarts.
func (o *Operator) pardon(ctx context.Context, addrs []netip.Addr, d time.Duration) {
	if d <= 0 || len(addrs) == 0 {
		return
	}
	add := map[string][]nft.Element{}
	for _, a := range addrs {
		add[pardonSet(a)] = append(add[pardonSet(a)], nft.Element{Addr: a, Timeout: d})
	}
	for set, elems := range add {
		if err := o.Firewall.AddElements(ctx, set, elems); err != nil {
			o.log().Warn("pardon not written to the kernel: a restart of ftwall run forgets it", "set", set, "err", err)
		}
	}
}

// endPardons removes addrs from the pardon sets.
func (o *Operator) endPardons(ctx context.Context, addrs []netip.Addr) {
	by := map[string][]netip.Addr{}
	for _, a := range addrs {
		by[pardonSet(a)] = append(by[pardonSet(a)], a)
	}
	for set, as := range by {
		if err := o.Firewall.DeleteElements(ctx, set, as); err != nil && ctx.Err() == nil {
			o.log().Warn("pardon not removed from the kernel", "set", set, "err", err)
		}
	}
}

// MaxReasonLen bounds a block's reason.
const MaxReasonLen = 128

// CheckReason refuses a reason that would not fit the storefile's line or
// an element comment: control characters, or more than MaxReasonLen bytes.
func CheckReason(r string) error {
	if len(r) > MaxReasonLen {
		return fmt.Errorf("reason is %d bytes long; at most %d", len(r), MaxReasonLen)
	}
	for _, c := range r {
		if c < 0x20 || c == 0x7f || c == utf8.RuneError {
			return fmt.Errorf("reason %q holds a control character or invalid UTF-8", r)
		}
	}
	return nil
}

// manualComment is the element comment of an operator's block.
func manualComment(reason string) string {
	c := ManualReason
	if reason != "" {
		c += ": " + reason
	}
	if len(c) > 200 {
		c = c[:200]
	}
	return c
}
