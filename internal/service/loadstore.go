package service

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/ftwall/ftwall/internal/store"
	"github.com/ftwall/ftwall/nft"
)

// loadChunk is how many storefile peers go to the kernel in one LoadElements
// call.
const loadChunk = 10000

// loadBatch is a chunk of storefile peers for one set.
type loadBatch struct {
	set   string
	elems []nft.Element
}

// loadStore puts the storefile's peers into the kernel with their remaining
// lifetime. The file is parsed on a second goroutine while this one writes
// the previous chunk to the kernel (this goroutine stays the only nftables
// writer); at most a few chunks exist at a time, so a million peers are never
// all in memory.
func (c *control) loadStore(ctx context.Context) error {
	s := c.s
	st := s.state.Load()
	timeout := st.cfg.Ruleset.PeerTimeout
	now := s.now()
	start := time.Now()

	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan loadBatch, 1)
	free := make(chan []nft.Element, 4)
	var (
		lineErrs  []store.LineError
		streamErr error
	)
	go func() {
		defer close(batches)
		cur := map[string][]nft.Element{}
		send := func(set string) error {
			if len(cur[set]) == 0 {
				return nil
			}
			select {
			case batches <- loadBatch{set, cur[set]}:
				cur[set] = nil
				return nil
			case <-streamCtx.Done():
				return streamCtx.Err()
			}
		}
		lineErrs, streamErr = c.store.Stream(func(p store.Peer) error {
			if !st.settings.PeerCandidate(p.Addr) {
				return nil // allowlisted since, or otherwise no longer a candidate
			}
			e := nft.Element{Addr: p.Addr}
			if timeout > 0 {
				left := timeout - now.Sub(p.LastSeen)
				if left < time.Second {
					return nil
				}
				e.Timeout = left.Truncate(time.Second)
			}
			set := nft.SetPeers4
			if p.Addr.Is6() {
				set = nft.SetPeers6
			}
			if cur[set] == nil {
				select {
				case b := <-free:
					cur[set] = b[:0]
				default:
					cur[set] = make([]nft.Element, 0, loadChunk)
				}
			}
			cur[set] = append(cur[set], e)
			if len(cur[set]) >= loadChunk {
				return send(set)
			}
			return nil
		})
		if streamErr == nil {
			if streamErr = send(nft.SetPeers4); streamErr == nil {
				streamErr = send(nft.SetPeers6)
			}
		}
	}()

	total := 0
	var loadErr error
	for b := range batches {
		if loadErr == nil {
			if err := s.fw.LoadElements(ctx, b.set, b.elems); err != nil {
				loadErr = fmt.Errorf("load storefile peers into %s: %w", b.set, err)
				cancel() // stop parsing; drain what is in flight
			} else {
				total += len(b.elems)
			}
		}
		select {
		case free <- b.elems:
		default:
		}
	}
	// batches is closed: the stream's results are ours to read.
	for _, le := range lineErrs {
		s.log.Warn("storefile line skipped", "file", c.store.Path(), "line", le.Line, "err", le.Err)
	}
	if loadErr != nil {
		return loadErr
	}
	if streamErr != nil {
		return fmt.Errorf("--store: %w", streamErr)
	}
	s.log.Info("storefile loaded", "file", c.store.Path(), "peers", total, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// kernelPeerReason is the storefile reason of peers saved from the kernel.
const kernelPeerReason = "kernel"

// saveKernelPeers merges into the storefile the peers that are only in the
// kernel: a run killed before its first save (or between two saves) left
// them there, and without this a teardown or a reboot would lose them.
//
// The storefile's modification time is its last save: a kernel element
// whose last refresh (its remaining lifetime counted back from the peer
// timeout) is older was saved already and is skipped, so a restart after a
// clean stop merges next to nothing. Peers that never expire (--peer-timeout
// 0) have no such age and are all merged. It runs before the storefile is
// loaded into the kernel, which then gets the newest entry of every peer.
func (c *control) saveKernelPeers(ctx context.Context) error {
	s := c.s
	st := s.state.Load()
	timeout := st.cfg.Ruleset.PeerTimeout
	now := s.now()
	var savedAt time.Time
	if fi, err := os.Stat(c.store.Path()); err == nil {
		savedAt = fi.ModTime().Add(-2 * time.Second) // file system timestamp granularity
	}
	n := 0
	for _, set := range []string{nft.SetPeers4, nft.SetPeers6} {
		err := s.fw.EachElement(ctx, set, func(e nft.Element) bool {
			last := now
			if timeout > 0 {
				if e.Expires <= 0 {
					return true
				}
				last = now.Add(-(timeout - min(e.Expires, timeout)))
				if !savedAt.IsZero() && last.Before(savedAt) {
					return true
				}
			}
			if !st.settings.PeerCandidate(e.Addr) {
				return true
			}
			c.store.Put(store.Peer{Addr: e.Addr, LastSeen: last, Reason: kernelPeerReason})
			n++
			return true
		})
		if err != nil {
			return fmt.Errorf("read the kernel's %s to save them in the storefile: %w", set, err)
		}
	}
	if n == 0 {
		return nil
	}
	if err := c.store.Save(); err != nil {
		return fmt.Errorf("--store: save the %d peers found only in the kernel: %w", n, err)
	}
	s.log.Info("peers found in the kernel saved to the storefile", "file", c.store.Path(), "peers", n)
	return nil
}
