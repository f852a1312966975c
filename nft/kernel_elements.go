package nft

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"
)

// maxElemsPerMessage keeps one SetAddElements call below the u16 length of
// its netlink attribute (which overflows above ~2,300 IPv4 / ~1,600 IPv6
// elements). Several messages before one Flush are still one atomic batch.
const maxElemsPerMessage = 1000

// chunks splits n items into [lo, hi) ranges of at most per items.
func chunks(n, per int, fn func(lo, hi int)) {
	for lo := 0; lo < n; lo += per {
		fn(lo, min(lo+per, n))
	}
}

// maxElemListBytes bounds the encoded element list of one message below its
// u16 attribute length. Above it google/nftables' length wraps and the kernel
// silently ignores the elements past the wrap (measured: 137 of 1,000 IPv4
// elements with 40-byte comments were stored).
const maxElemListBytes = 60000

// perMessage is how many elements with comments of up to commentLen bytes
// fit in one message: at most maxElemsPerMessage, fewer with long comments.
func perMessage(commentLen int) int {
	if commentLen == 0 {
		return maxElemsPerMessage
	}
	// list element, key, IPv6 data, timeout, user data with its TLV
	// (type, length, text, NUL), each padded to 4 bytes.
	size := 4 + 4 + 4 + 16 + 12 + 4 + (commentLen+3+3)&^3
	return max(1, min(maxElemsPerMessage, maxElemListBytes/size))
}

// longestComment returns the length of the longest comment in elems.
func longestComment(elems []Element) int {
	n := 0
	for _, e := range elems {
		n = max(n, len(e.Comment))
	}
	return n
}

func keyElems(addrs []netip.Addr) []nftables.SetElement {
	out := make([]nftables.SetElement, len(addrs))
	for i, a := range addrs {
		out[i] = nftables.SetElement{Key: a.AsSlice()}
	}
	return out
}

func timeoutElems(elems []Element) []nftables.SetElement {
	out := make([]nftables.SetElement, len(elems))
	for i, e := range elems {
		out[i] = nftables.SetElement{Key: e.Addr.AsSlice(), Timeout: e.Timeout, Comment: e.Comment}
	}
	return out
}

// elemSet is the set object element messages refer to (by name).
func elemSet(name string) *nftables.Set {
	return &nftables.Set{Table: table(), Name: name, HasTimeout: true}
}

// batchBuffers returns socket buffer sizes for a batch of elemOps element
// operations in msgs messages.
func batchBuffers(elemOps, msgs int) (sndbuf, rcvbuf int) {
	return 64<<10 + elemOps*bytesPerElemOp + msgs*bytesPerRuleOrSet, 1<<20 + msgs*bytesPerAck
}

// AddElements adds elems to set or refreshes them: for each chunk the batch
// holds add + delete + add, which restarts the countdown of an element that
// exists already (re-adding alone does not) and works whether or not it did.
// All chunks go in one atomic batch.
func (k *Kernel) AddElements(ctx context.Context, set string, elems []Element) error {
	kind, err := writableSet(set)
	if err != nil {
		return err
	}
	elems, err = kind.normalizeElements(elems)
	if err != nil || len(elems) == 0 {
		return err
	}
	k.writeM.Lock()
	defer k.writeM.Unlock()
	return k.writeBatch(ctx, "add", set, len(elems), 3, perMessage(longestComment(elems)), func(c *conn, s *nftables.Set, lo, hi int) error {
		add := timeoutElems(elems[lo:hi])
		keys := make([]nftables.SetElement, len(add))
		for i := range add {
			keys[i] = nftables.SetElement{Key: add[i].Key}
		}
		return errors.Join(c.SetAddElements(s, add), c.SetDeleteElements(s, keys), c.SetAddElements(s, add))
	})
}

// DeleteElements removes addrs from set in one atomic batch. Each chunk is
// added and then deleted, so addresses that are absent do not fail the batch
// (a lone delete of a missing element would).
func (k *Kernel) DeleteElements(ctx context.Context, set string, addrs []netip.Addr) error {
	kind, err := writableSet(set)
	if err != nil {
		return err
	}
	addrs, err = kind.normalizeAddrs(addrs)
	if err != nil || len(addrs) == 0 {
		return err
	}
	k.writeM.Lock()
	defer k.writeM.Unlock()
	return k.writeBatch(ctx, "delete", set, len(addrs), 2, maxElemsPerMessage, func(c *conn, s *nftables.Set, lo, hi int) error {
		keys := keyElems(addrs[lo:hi])
		return errors.Join(c.SetAddElements(s, keys), c.SetDeleteElements(s, keys))
	})
}

// writeBatch sends one atomic batch for n elements of set: encode puts the
// messages for elements [lo, hi) of each chunk of at most per elements
// (opsPerElem element operations per element) on c. k.writeM is held.
func (k *Kernel) writeBatch(ctx context.Context, op, set string, n, opsPerElem, per int,
	encode func(c *conn, s *nftables.Set, lo, hi int) error) error {
	if err := k.check(ctx); err != nil {
		return err
	}
	msgs := opsPerElem * ((n + per - 1) / per)
	sndbuf, rcvbuf := batchBuffers(opsPerElem*n, msgs)
	c, done, err := k.elementConn(ctx, sndbuf, rcvbuf)
	if err != nil {
		return kernelError("connect to nftables", noNftables(err))
	}
	ok := false
	defer func() { done(ok) }()
	s := elemSet(set)
	var encErr error
	chunks(n, per, func(lo, hi int) {
		if encErr == nil {
			encErr = encode(c, s, lo, hi)
		}
	})
	if encErr != nil {
		return fmt.Errorf("encode elements for set %s: %w", set, encErr)
	}
	start := time.Now()
	if err := c.Flush(); err != nil {
		return k.elementWriteError(ctx, op, set, n, err)
	}
	ok = true
	k.log.Debug("set elements written", "op", op, "set", set, "count", n, "took", time.Since(start))
	return nil
}

// elementWriteError explains a failed element batch; a missing table is the
// usual cause.
func (k *Kernel) elementWriteError(ctx context.Context, op, set string, n int, err error) error {
	what := fmt.Sprintf("%s %d elements of set %s (nothing was changed)", op, n, set)
	if errors.Is(err, unix.ENFILE) {
		return fmt.Errorf("%s: %w (%w)", what, ErrSetFull, err)
	}
	if isNotFound(err) {
		if present, perr := k.tablePresent(ctx); perr == nil && !present {
			return fmt.Errorf("%s: %w", what, ErrNoTable)
		}
	}
	return kernelError(what, err)
}

// EachElement implements Firewall.
func (k *Kernel) EachElement(ctx context.Context, set string, fn func(Element) bool) error {
	kind, err := lookupSet(set)
	if err != nil {
		return err
	}
	def, err := k.setDefaultTimeout(ctx, set)
	if err != nil {
		return err
	}
	interrupted, err := k.dumpSet(ctx, kind, func(e Element) bool {
		if e.Timeout == def {
			e.Timeout = 0
		}
		return fn(e)
	})
	if interrupted {
		k.log.Debug("set changed while it was streamed", "set", set)
	}
	return err
}

// Elements returns every element of set. Timeout is 0 for elements that use
// the set's default timeout. For allow4/allow6 it returns the first address
// of each range. If the set keeps changing while it is read, the result may
// mix two moments; a warning is logged then.
func (k *Kernel) Elements(ctx context.Context, set string) ([]Element, error) {
	kind, err := lookupSet(set)
	if err != nil {
		return nil, err
	}
	def, err := k.setDefaultTimeout(ctx, set)
	if err != nil {
		return nil, err
	}
	const attempts = 3
	var out []Element
	for i := 0; i < attempts; i++ {
		out = out[:0]
		interrupted, err := k.dumpSet(ctx, kind, func(e Element) bool {
			if e.Timeout == def {
				e.Timeout = 0
			}
			out = append(out, e)
			return true
		})
		if err != nil {
			return nil, err
		}
		if !interrupted {
			return out, nil
		}
	}
	k.log.Warn("set kept changing while it was read; the elements may be slightly inconsistent", "set", set, "attempts", attempts)
	return out, nil
}

// setDefaultTimeout reads the default element timeout of a set.
func (k *Kernel) setDefaultTimeout(ctx context.Context, set string) (time.Duration, error) {
	if err := k.check(ctx); err != nil {
		return 0, err
	}
	c, err := k.dial(ctx, true, 0, 0)
	if err != nil {
		return 0, kernelError("connect to nftables", noNftables(err))
	}
	defer c.close()
	s, err := c.GetSetByName(table(), set)
	if err != nil {
		if isNotFound(err) {
			return 0, fmt.Errorf("read set %s: %w", set, ErrNoTable)
		}
		if ctx.Err() != nil {
			return 0, fmt.Errorf("read set %s: %w", set, ctx.Err())
		}
		return 0, kernelError("read set "+set, noNftables(err))
	}
	return s.Timeout, nil
}

// loadBatch is how many elements LoadElements puts in one atomic batch.
const loadBatch = 20 * maxElemsPerMessage

// LoadElements adds a large number of elements (the storefile at start-up)
// with plain adds, in consecutive atomic batches of loadBatch elements, so
// memory stays bounded for millions of elements. Unlike AddElements it does
// not restart the countdown of an element already in the set with the same
// timeout (the kernel only updates one whose timeout differs). A failing batch
// stops the load; the batches before it stay applied.
//
// The batches are encoded by elemBatch into one reused buffer and sent raw
// (elembatch.go), not through google/nftables, whose encoder produces far
// more garbage than the kernel takes time.
func (k *Kernel) LoadElements(ctx context.Context, set string, elems []Element) error {
	kind, err := writableSet(set)
	if err != nil {
		return err
	}
	k.writeM.Lock()
	defer k.writeM.Unlock()
	b := &k.loadBuf
	defer func() {
		// Keep the sequence numbers, not a large buffer after the load.
		if cap(b.buf) > 256<<10 {
			b.buf = nil
		}
	}()
	for lo := 0; lo < len(elems); lo += loadBatch {
		batch, err := kind.normalizeElements(elems[lo:min(lo+loadBatch, len(elems))])
		if err != nil {
			return err
		}
		b.encode(set, batch)
		if err := k.sendElemBatch(ctx, b, "load", set, len(batch)); err != nil {
			return fmt.Errorf("after %d of %d elements: %w", lo, len(elems), err)
		}
	}
	return nil
}
