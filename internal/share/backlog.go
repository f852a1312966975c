package share

import "sync"

// backlog holds the entries waiting to be published: a ring that grows as
// needed up to its limit, where a new entry then pushes out the oldest one
// (counted). An idle gateway holds next to nothing.
type backlog struct {
	mu      sync.Mutex
	ring    []Entry
	limit   int
	head, n int
	dropped uint64
	notify  chan struct{}
}

func newBacklog(limit int) *backlog {
	return &backlog{limit: max(limit, 1), notify: make(chan struct{}, 1)}
}

// grow makes room for one more entry unless the limit is reached; it
// reports whether there is room. Locked.
func (b *backlog) grow() bool {
	if b.n < len(b.ring) {
		return true
	}
	if len(b.ring) >= b.limit {
		return false
	}
	next := make([]Entry, min(max(2*len(b.ring), 64), b.limit))
	for i := range b.n {
		next[i] = b.ring[(b.head+i)%len(b.ring)]
	}
	b.ring, b.head = next, 0
	return true
}

// push appends e; when full, the oldest entry is dropped. It never blocks.
func (b *backlog) push(e Entry) {
	b.mu.Lock()
	if !b.grow() {
		b.ring[b.head] = Entry{}
		b.head = (b.head + 1) % len(b.ring)
		b.n--
		b.dropped++
	}
	b.ring[(b.head+b.n)%len(b.ring)] = e
	b.n++
	b.mu.Unlock()
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

// pushFront puts entries that failed to publish back at the front, oldest
// first, as far as room allows (what does not fit is dropped and counted:
// newer entries are worth more).
func (b *backlog) pushFront(es []Entry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(es) - 1; i >= 0; i-- {
		if !b.grow() {
			b.dropped += uint64(i + 1)
			return
		}
		b.head = (b.head - 1 + len(b.ring)) % len(b.ring)
		b.ring[b.head] = es[i]
		b.n++
	}
}

// take moves up to max entries, oldest first, into dst. An emptied ring
// that had grown large is let go.
func (b *backlog) take(dst []Entry, max int) []Entry {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.n > 0 && len(dst) < max {
		dst = append(dst, b.ring[b.head])
		b.ring[b.head] = Entry{}
		b.head = (b.head + 1) % len(b.ring)
		b.n--
	}
	if b.n == 0 && len(b.ring) > 4096 {
		b.ring, b.head = nil, 0
	}
	return dst
}

func (b *backlog) stats() (pending int, dropped uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n, b.dropped
}
