package service

import (
	"context"
	"fmt"
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
