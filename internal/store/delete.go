package store

import "net/netip"

// Delete forgets addrs: they leave the pending peers at once and the file at
// the next save, and no read (Stream, Each, Peers) hands them over meanwhile.
// A later Put of the same address brings it back. It returns how many of
// addrs were valid. Deletions are remembered until a save succeeds.
func (s *Store) Delete(addrs ...netip.Addr) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, a := range addrs {
		a = a.Unmap().WithZone("")
		if !a.IsValid() {
			continue
		}
		delete(s.pending, a)
		if s.deleted == nil {
			s.deleted = make(map[netip.Addr]struct{})
		}
		s.deleted[a] = struct{}{}
		n++
	}
	return n
}

// deletions returns a copy of the deleted addresses (s.mu held).
func (s *Store) deletions() map[netip.Addr]struct{} {
	if len(s.deleted) == 0 {
		return nil
	}
	m := make(map[netip.Addr]struct{}, len(s.deleted))
	for a := range s.deleted {
		m[a] = struct{}{}
	}
	return m
}

// skipDeleted wraps fn so that it never sees an address of dels.
func skipDeleted(dels map[netip.Addr]struct{}, fn func(Peer) error) func(Peer) error {
	if len(dels) == 0 {
		return fn
	}
	return func(p Peer) error {
		if _, gone := dels[p.Addr.Unmap()]; gone {
			return nil
		}
		return fn(p)
	}
}
