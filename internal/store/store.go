package store

import (
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Store is the in-memory peer set behind a storefile. Peers are keyed by
// address; the newest LastSeen wins. All methods are safe for concurrent use.
//
// A million peers must fit in little memory, so each is kept as a compact
// slot (last seen in whole seconds, as the file keeps it; the reason as an
// index into a table of distinct reasons) and turned back into a Peer when
// read.
type Store struct {
	path   string
	maxAge time.Duration
	fs     fileSystem
	now    func() time.Time

	saveMu sync.Mutex // serializes Save

	mu        sync.Mutex
	peers     map[netip.Addr]slot
	reasons   []string          // reason index → text; 0 is ""
	reasonIdx map[string]uint16 // text → index
	dirty     bool
}

// slot is one peer in memory.
type slot struct {
	seen   int64 // Unix seconds
	port   uint16
	reason uint16
}

// maxReasons bounds the reason table; further distinct reasons are kept as "".
const maxReasons = 1 << 16

func (s *Store) slotOf(p Peer) slot {
	i, ok := s.reasonIdx[p.Reason]
	if !ok && len(s.reasons) < maxReasons {
		i = uint16(len(s.reasons))
		s.reasons = append(s.reasons, p.Reason)
		s.reasonIdx[p.Reason] = i
	}
	return slot{seen: p.LastSeen.Unix(), port: p.Port, reason: i}
}

func (s *Store) peerOf(a netip.Addr, sl slot) Peer {
	return Peer{Addr: a, Port: sl.port, LastSeen: time.Unix(sl.seen, 0).UTC(), Reason: s.reasons[sl.reason]}
}

// Open loads the storefile at path (a missing file is an empty store) and
// removes temporary files an interrupted save left next to it. maxAge is the
// peer lifetime: peers last seen longer ago are dropped at load and at every
// save; 0 keeps peers forever. Malformed lines are returned as LineErrors and
// dropped at the next save; the error is for files that cannot be read.
func Open(path string, maxAge time.Duration) (*Store, []LineError, error) {
	return open(path, maxAge, osFS{}, time.Now)
}

func open(path string, maxAge time.Duration, fsys fileSystem, now func() time.Time) (*Store, []LineError, error) {
	s := &Store{path: path, maxAge: max(maxAge, 0), fs: fsys, now: now,
		reasons: []string{""}, reasonIdx: map[string]uint16{"": 0}}
	read := 0
	lineErrs, err := loadEach(path, func(hint int) { s.peers = make(map[netip.Addr]slot, hint) }, func(p Peer) {
		read++
		s.put(p)
		if p.Reason == LegacyReason {
			s.dirty = true // convert a 1.x file at the next save
		}
	})
	if err != nil {
		return nil, nil, err
	}
	if s.peers == nil {
		s.peers = make(map[netip.Addr]slot)
	}
	removeTemps(path)
	if s.expire(now()) || len(s.peers) != read {
		s.dirty = true
	}
	return s, lineErrs, nil
}

// Path returns the storefile's path.
func (s *Store) Path() string { return s.path }

// Put adds or refreshes a peer and reports whether the store changed. An
// entry older than the stored one for the same address is ignored; invalid
// addresses are ignored. IPv4-mapped IPv6 addresses are stored as IPv4.
func (s *Store) Put(p Peer) bool {
	if !p.Addr.IsValid() || p.Addr.Zone() != "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := s.put(p)
	s.dirty = s.dirty || changed
	return changed
}

func (s *Store) put(p Peer) bool {
	a := p.Addr.Unmap()
	if !a.IsValid() {
		return false
	}
	sl := s.slotOf(p)
	old, ok := s.peers[a]
	if ok && (old.seen > sl.seen || old == sl) {
		return false
	}
	s.peers[a] = sl
	return true
}

// expire drops peers older than maxAge and reports whether any was dropped;
// s.mu must be held (or s not shared yet).
func (s *Store) expire(now time.Time) bool {
	if s.maxAge == 0 {
		return false
	}
	cutoff := now.Add(-s.maxAge).Unix()
	n := len(s.peers)
	for a, sl := range s.peers {
		if sl.seen < cutoff {
			delete(s.peers, a)
		}
	}
	return len(s.peers) != n
}

// Len returns the number of peers.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.peers)
}

// Peers returns a copy of all peers, sorted by address.
func (s *Store) Peers() []Peer {
	s.mu.Lock()
	out := make([]Peer, 0, len(s.peers))
	for a, sl := range s.peers {
		out = append(out, s.peerOf(a, sl))
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Peer) int { return a.Addr.Compare(b.Addr) })
	return out
}

// Dirty reports whether the store has changes that are not saved.
func (s *Store) Dirty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dirty
}

// Save drops expired peers and, when anything changed since the last
// successful save, rewrites the storefile crash-safely (see the package
// documentation). Puts may run while a save writes; they are saved next time.
// On error the store stays dirty, and the file on disk is the old one or
// (when only the final directory sync failed) the new one.
func (s *Store) Save() error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	if s.expire(s.now()) {
		s.dirty = true
	}
	if !s.dirty {
		s.mu.Unlock()
		return nil
	}
	s.dirty = false
	s.mu.Unlock()

	err := writeFile(s.fs, s.path, s.Peers())
	if err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
	}
	return err
}

// Range calls fn for every peer, in no particular order, until fn returns
// false. It copies nothing (for loading a million peers into the kernel); the
// store is locked meanwhile, so fn must not call the Store.
func (s *Store) Range(fn func(Peer) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for a, sl := range s.peers {
		if !fn(s.peerOf(a, sl)) {
			return
		}
	}
}
