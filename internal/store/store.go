package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Store is the peer set behind a storefile. Peers are keyed by address; the
// newest LastSeen wins. All methods are safe for concurrent use.
//
// The file is the store: a million peers are never held in memory. ftwall
// writes the file sorted by address without duplicates, so it can be loaded
// by streaming it (Stream) and saved by merging the old file, line by line,
// with the peers put since the last save (Save). Memory is proportional to
// those pending peers only. A file in another order (an ftwall 1.x file, or
// one edited by hand) is read into memory once and written sorted at the
// next save.
type Store struct {
	path   string
	maxAge time.Duration
	fs     fileSystem
	now    func() time.Time

	saveMu sync.Mutex // serializes Stream and Save

	mu      sync.Mutex
	pending map[netip.Addr]slot // peers put since the last save (all of them when whole)
	// whole: pending holds every peer (the file was not in ftwall's order);
	// the next save writes pending alone, sorted.
	whole bool
	// rewrite: the file must be rewritten even with nothing pending
	// (duplicates, a 1.x file, expired peers read at load).
	rewrite bool
	// oldest is the oldest last seen (Unix seconds) in the file as last
	// read or written; math.MinInt64 when not known yet. A save rewrites
	// the file once it has expired.
	oldest int64
	// deleted are addresses forgotten (Delete) since the last save: the
	// next save leaves them out of the file, reads skip them.
	deleted   map[netip.Addr]struct{}
	reasons   []string          // reason index → text; 0 is ""
	reasonIdx map[string]uint16 // text → index
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

// Open opens the store at path (a missing file is an empty store) and removes
// temporary files an interrupted save left next to it. It reads only the
// format header: Stream reads the peers, once, at start-up. maxAge is the peer
// lifetime: peers last seen longer ago are not loaded and are dropped at the
// next save; 0 keeps peers forever. The error is for a path that cannot be
// read, is not a regular file, or has a format this ftwall does not know (a
// save would destroy it).
func Open(path string, maxAge time.Duration) (*Store, error) {
	return open(path, maxAge, osFS{}, time.Now)
}

func open(path string, maxAge time.Duration, fsys fileSystem, now func() time.Time) (*Store, error) {
	f, _, err := openFile(path)
	if err != nil {
		return nil, err
	}
	oldest := int64(math.MaxInt64) // no file: nothing to expire
	if f != nil {
		err := checkHeader(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", path, err)
		}
		oldest = math.MinInt64
	}
	removeTemps(path)
	return &Store{path: path, maxAge: max(maxAge, 0), fs: fsys, now: now,
		pending: make(map[netip.Addr]slot), oldest: oldest,
		reasons: []string{""}, reasonIdx: map[string]uint16{"": 0}}, nil
}

// Path returns the storefile's path.
func (s *Store) Path() string { return s.path }

// cutoff is the Unix second before which a peer has expired.
func (s *Store) cutoff(now time.Time) int64 {
	if s.maxAge == 0 {
		return math.MinInt64
	}
	return now.Add(-s.maxAge).Unix()
}

// Put adds or refreshes a peer and reports whether the store changed. An
// entry older than a pending one for the same address is ignored (one older
// than the file's entry is dropped when the save merges them); invalid
// addresses are ignored. IPv4-mapped IPv6 addresses are stored as IPv4.
func (s *Store) Put(p Peer) bool {
	if !p.Addr.IsValid() || p.Addr.Zone() != "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.put(s.pending, p) {
		delete(s.deleted, p.Addr.Unmap())
		return true
	}
	return false
}

// put merges p into m (s.mu held) and reports whether m changed.
func (s *Store) put(m map[netip.Addr]slot, p Peer) bool {
	a := p.Addr.Unmap()
	if !a.IsValid() {
		return false
	}
	sl := s.slotOf(p)
	old, ok := m[a]
	if ok && (old.seen > sl.seen || old == sl) {
		return false
	}
	m[a] = sl
	return true
}

// putLocked is put taking s.mu.
func (s *Store) putLocked(m map[netip.Addr]slot, p Peer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.put(m, p)
}

// Dirty reports whether the store has changes that are not saved.
func (s *Store) Dirty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending) > 0 || len(s.deleted) > 0 || s.whole || s.rewrite || s.oldest < s.cutoff(s.now())
}

// Stream reads the storefile once, at start-up, and calls fn for every peer
// in it that has not expired, newest entry per address; an error from fn
// stops it and is returned. Malformed lines are returned as LineErrors (they
// are dropped at the next save); the error is for files that cannot be read.
//
// A sorted file (as ftwall writes it) is streamed with one peer of
// look-ahead. On the first line out of order, the peers read so far are read
// again into memory and the rest of the file follows them there: fn is then
// called for a peer only when it is newer than every earlier entry for its
// address, so the last call for an address is always its newest entry.
func (s *Store) Stream(fn func(Peer) error) ([]LineError, error) {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	f, fi, err := openFile(s.path)
	if f == nil {
		return nil, err
	}
	defer f.Close()
	s.mu.Lock()
	fn = skipDeleted(s.deletions(), fn)
	s.mu.Unlock()
	cutoff := s.cutoff(s.now())
	var (
		prev    Peer
		have    bool
		read    int // peers handed over by the parser
		oldest  = int64(math.MaxInt64)
		rewrite bool
		all     map[netip.Addr]slot // once the file is found out of order
	)
	keep := func(p Peer) bool {
		if p.Reason == LegacyReason {
			rewrite = true // convert a 1.x file at the next save
		}
		if p.LastSeen.Unix() < cutoff {
			rewrite = true
			return false
		}
		return true
	}
	// intoAll merges p into all and hands it to fn when it is the newest
	// entry of its address so far.
	intoAll := func(p Peer) error {
		if s.putLocked(all, p) {
			return fn(p)
		}
		return nil
	}
	lineErrs, err := readFrom(f, s.path, fi.ModTime(), func(p Peer) error {
		read++
		if !keep(p) {
			return nil
		}
		if all != nil {
			return intoAll(p)
		}
		if have {
			switch c := p.Addr.Compare(prev.Addr); {
			case c == 0:
				rewrite = true
				if p.LastSeen.Unix() >= prev.LastSeen.Unix() {
					prev = p
				}
				return nil
			case c < 0:
				rewrite = true
				m, err := s.readPrefix(read-1, cutoff)
				if err != nil {
					return err
				}
				all = m
				if err := fn(prev); err != nil {
					return err
				}
				return intoAll(p)
			}
			if err := fn(prev); err != nil {
				return err
			}
		}
		prev, have = p, true
		oldest = min(oldest, p.LastSeen.Unix())
		return nil
	})
	if err != nil {
		return lineErrs, err
	}
	if have && all == nil {
		if err := fn(prev); err != nil {
			return lineErrs, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rewrite = s.rewrite || rewrite
	if all != nil {
		for a, sl := range s.pending {
			s.put(all, s.peerOf(a, sl))
		}
		for a := range s.deleted {
			delete(all, a)
		}
		s.pending, s.whole = all, true
		return lineErrs, nil
	}
	s.oldest = oldest
	return lineErrs, nil
}

// readPrefix reads the first n peers of the file into a map (newest entry per
// address, expired ones left out).
func (s *Store) readPrefix(n int, cutoff int64) (map[netip.Addr]slot, error) {
	m := make(map[netip.Addr]slot, n)
	i := 0
	_, err := readFile(s.path, func(p Peer) error {
		if i == n {
			return errStop
		}
		i++
		if p.LastSeen.Unix() >= cutoff {
			s.putLocked(m, p)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	return m, nil
}

var (
	errStop     = errors.New("stop")
	errUnsorted = errors.New("storefile is not in address order")
)

// Peers returns every peer (the file merged with the pending peers), sorted
// by address. It reads the whole file into memory: for tests and tools, not
// for a million peers.
func (s *Store) Peers() ([]Peer, error) {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	m := make(map[netip.Addr]slot)
	whole := s.whole
	dels := s.deletions()
	s.mu.Unlock()
	cutoff := s.cutoff(s.now())
	if !whole {
		if _, err := readFile(s.path, func(p Peer) error {
			if p.LastSeen.Unix() >= cutoff {
				s.putLocked(m, p)
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	for a, sl := range s.pending {
		if sl.seen >= cutoff {
			s.put(m, s.peerOf(a, sl))
		}
	}
	out := make([]Peer, 0, len(m))
	for a, sl := range m {
		if _, gone := dels[a]; !gone {
			out = append(out, s.peerOf(a, sl))
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Peer) int { return a.Addr.Compare(b.Addr) })
	return out, nil
}

// Save writes the storefile when anything changed since the last successful
// save (peers put, peers expired, a file to convert), crash-safely (see the
// package documentation). It merges the old file, read line by line, with
// the pending peers into the new one, dropping expired peers; a file found
// out of order is read into memory and written sorted instead. Puts may run
// while a save writes; they are saved next time. On error the pending peers
// stay pending, and the file on disk is the old one or (when only the final
// directory sync failed) the new one.
func (s *Store) Save() error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	now := s.now()
	cutoff := s.cutoff(now)
	s.mu.Lock()
	if len(s.pending) == 0 && len(s.deleted) == 0 && !s.whole && !s.rewrite && s.oldest >= cutoff {
		s.mu.Unlock()
		return nil
	}
	snap, whole, dels := s.pending, s.whole, s.deleted
	s.pending, s.whole, s.rewrite, s.deleted = make(map[netip.Addr]slot), false, false, nil
	pend := make([]Peer, 0, len(snap))
	for a, sl := range snap {
		if sl.seen >= cutoff {
			pend = append(pend, s.peerOf(a, sl))
		}
	}
	s.mu.Unlock()
	slices.SortFunc(pend, func(a, b Peer) int { return a.Addr.Compare(b.Addr) })

	var oldest int64
	var err error
	if whole {
		oldest, err = s.write(withoutDeleted(slicePeers(pend), dels))
	} else {
		oldest, err = s.write(withoutDeleted(s.merge(pend, cutoff), dels))
		if errors.Is(err, errUnsorted) {
			oldest, err = s.writeSorted(pend, cutoff, dels)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		// Keep the snapshot pending; newer puts made meanwhile win.
		for a, sl := range snap {
			if cur, ok := s.pending[a]; !ok || cur.seen < sl.seen {
				s.pending[a] = sl
			}
		}
		s.whole = s.whole || whole
		s.rewrite = true
		for a := range dels {
			if _, back := s.pending[a]; !back {
				if s.deleted == nil {
					s.deleted = make(map[netip.Addr]struct{})
				}
				s.deleted[a] = struct{}{}
			}
		}
		return err
	}
	s.oldest = oldest
	return nil
}

// write writes the file from src and returns the oldest last seen written.
func (s *Store) write(src source) (int64, error) {
	oldest := int64(math.MaxInt64)
	err := writeFrom(s.fs, s.path, func(yield func(Peer) error) error {
		return src(func(p Peer) error {
			oldest = min(oldest, p.LastSeen.Unix())
			return yield(p)
		})
	})
	return oldest, err
}

// merge is the source of a save: the old file (sorted, read line by line)
// merged with pend (sorted), the newer entry winning for an address present
// in both, expired peers dropped. It fails with errUnsorted when the old file
// is out of order.
func (s *Store) merge(pend []Peer, cutoff int64) source {
	return func(yield func(Peer) error) error {
		i := 0
		// upTo yields the pending peers before a, then the newer of p and
		// a pending peer at the same address.
		upTo := func(p Peer) error {
			for i < len(pend) && pend[i].Addr.Less(p.Addr) {
				if err := yield(pend[i]); err != nil {
					return err
				}
				i++
			}
			if i < len(pend) && pend[i].Addr == p.Addr {
				if pend[i].LastSeen.Unix() >= p.LastSeen.Unix() {
					p = pend[i]
				}
				i++
			}
			return yield(p)
		}
		var prev Peer
		have := false
		_, err := readFile(s.path, func(p Peer) error {
			if p.LastSeen.Unix() < cutoff {
				return nil
			}
			if have {
				switch c := p.Addr.Compare(prev.Addr); {
				case c == 0:
					if p.LastSeen.Unix() >= prev.LastSeen.Unix() {
						prev = p
					}
					return nil
				case c < 0:
					return errUnsorted
				}
				if err := upTo(prev); err != nil {
					return err
				}
			}
			prev, have = p, true
			return nil
		})
		if err != nil {
			return err
		}
		if have {
			if err := upTo(prev); err != nil {
				return err
			}
		}
		for ; i < len(pend); i++ {
			if err := yield(pend[i]); err != nil {
				return err
			}
		}
		return nil
	}
}

// writeSorted writes the old file (out of order, read into memory) merged
// with pend, sorted.
func (s *Store) writeSorted(pend []Peer, cutoff int64, dels map[netip.Addr]struct{}) (int64, error) {
	all, err := s.mergeInMemory(pend, cutoff)
	if err != nil {
		return 0, err
	}
	return s.write(withoutDeleted(slicePeers(all), dels))
}

// withoutDeleted is src without the addresses of dels.
func withoutDeleted(src source, dels map[netip.Addr]struct{}) source {
	if len(dels) == 0 {
		return src
	}
	return func(yield func(Peer) error) error { return src(skipDeleted(dels, yield)) }
}

// mergeInMemory reads the old file (out of order) with the peers seen since
// cutoff, merges pend into it (the newest entry per address wins) and
// returns all of them sorted by address.
func (s *Store) mergeInMemory(pend []Peer, cutoff int64) ([]Peer, error) {
	m := make(map[netip.Addr]slot)
	if _, err := readFile(s.path, func(p Peer) error {
		if p.LastSeen.Unix() >= cutoff {
			s.putLocked(m, p)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	for _, p := range pend {
		s.putLocked(m, p)
	}
	all := make([]Peer, 0, len(m))
	s.mu.Lock()
	for a, sl := range m {
		all = append(all, s.peerOf(a, sl))
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b Peer) int { return a.Addr.Compare(b.Addr) })
	return all, nil
}

// checkHeader reads the first line of r and checks it when it is a format
// header.
func checkHeader(r io.Reader) error {
	line, err := bufio.NewReaderSize(r, 4096).ReadSlice('\n')
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return err
	}
	if line = bytes.TrimSpace(line); bytes.HasPrefix(line, []byte(headerPrefix)) {
		return parseHeader(line)
	}
	return nil
}
