package store

import (
	"errors"
	"net/netip"
	"slices"
)

// Each calls fn for every peer of the store that has not expired: the file
// merged with the peers put since the last save, the newest entry of each
// address, in address order, as the next Save would write them (without
// writing anything). It reads the file line by line and copies only the
// peers put since the last save, as Save does, so a million peers are never
// all in memory. A file found out of order (changed on disk since it was
// loaded) is read into memory from there on: fn still gets every address
// once, but an address handed over before the disorder was found keeps the
// entry it had then. An error from fn stops it and is returned. Save and
// Stream wait for it.
func (s *Store) Each(fn func(Peer) error) error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	cutoff := s.cutoff(s.now())
	s.mu.Lock()
	whole := s.whole
	fn = skipDeleted(s.deletions(), fn)
	pend := make([]Peer, 0, len(s.pending))
	for a, sl := range s.pending {
		if sl.seen >= cutoff {
			pend = append(pend, s.peerOf(a, sl))
		}
	}
	s.mu.Unlock()
	slices.SortFunc(pend, func(a, b Peer) int { return a.Addr.Compare(b.Addr) })
	if whole {
		return slicePeers(pend)(fn)
	}
	// The merge yields in address order: an address at or before the last
	// one handed over is where an unsorted file was detected.
	var last netip.Addr
	err := s.merge(pend, cutoff)(func(p Peer) error {
		last = p.Addr
		return fn(p)
	})
	if !errors.Is(err, errUnsorted) {
		return err
	}
	rest, err := s.mergeInMemory(pend, cutoff)
	if err != nil {
		return err
	}
	// fn saw the peers up to last already; the rest follow.
	for _, p := range rest {
		if last.IsValid() && !last.Less(p.Addr) {
			continue
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}
