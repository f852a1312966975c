package share

import "sync"

// backlog holds the entries waiting to be published: a ring of bounded
// size where a new entry pushes out the oldest one (counted).
type backlog struct {
	mu      sync.Mutex
	ring    []Entry
	head, n int
	dropped uint64
	notify  chan struct{}
}

func newBacklog(size int) *backlog {
	return &backlog{ring: make([]Entry, max(size, 1)), notify: make(chan struct{}, 1)}
}

// push appends e; when full, the oldest entry is dropped. It never blocks.
func (b *backlog) push(e Entry) {
	b.mu.Lock()
	if b.n == len(b.ring) {
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
		if b.n == len(b.ring) {
			b.dropped += uint64(i + 1)
			return
		}
		b.head = (b.head - 1 + len(b.ring)) % len(b.ring)
		b.ring[b.head] = es[i]
		b.n++
	}
}

// take moves up to max entries, oldest first, into dst.
func (b *backlog) take(dst []Entry, max int) []Entry {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.n > 0 && len(dst) < max {
		dst = append(dst, b.ring[b.head])
		b.ring[b.head] = Entry{}
		b.head = (b.head + 1) % len(b.ring)
		b.n--
	}
	return dst
}

func (b *backlog) stats() (pending int, dropped uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n, b.dropped
}
