package timelock

import "time"

// Which heap an entry index belongs to.
const (
	probeHeap  = 0 // clients that can be probed and were not probed yet
	expiryHeap = 1 // every client
)

// entry is one tracked client plus its positions in the two heaps (-1 when not
// in that heap).
type entry struct {
	c   Client
	idx [2]int
}

// deadlineHeap is a binary min-heap of entries ordered by LastEvidence: probe
// and expiry deadlines are both LastEvidence plus a constant, so one order
// serves both. Each entry records its own index, so updates are O(log n).
type deadlineHeap struct {
	which int
	items []*entry
}

func (h *deadlineHeap) len() int { return len(h.items) }

// min returns the entry with the oldest evidence; the heap must not be empty.
func (h *deadlineHeap) min() *entry { return h.items[0] }

func (h *deadlineHeap) key(i int) time.Time { return h.items[i].c.LastEvidence }

func (h *deadlineHeap) less(i, j int) bool { return h.key(i).Before(h.key(j)) }

func (h *deadlineHeap) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].idx[h.which] = i
	h.items[j].idx[h.which] = j
}

func (h *deadlineHeap) push(e *entry) {
	e.idx[h.which] = len(h.items)
	h.items = append(h.items, e)
	h.up(len(h.items) - 1)
}

// remove takes e out of the heap; e must be in it.
func (h *deadlineHeap) remove(e *entry) {
	i := e.idx[h.which]
	last := len(h.items) - 1
	if i != last {
		h.swap(i, last)
	}
	h.items[last] = nil
	h.items = h.items[:last]
	e.idx[h.which] = -1
	if i != last {
		h.fix(i)
	}
}

// update restores the order after e's LastEvidence changed; e must be in the heap.
func (h *deadlineHeap) update(e *entry) { h.fix(e.idx[h.which]) }

func (h *deadlineHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h *deadlineHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

// down moves item i towards the leaves and reports whether it moved.
func (h *deadlineHeap) down(i0 int) bool {
	i, n := i0, len(h.items)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			break
		}
		h.swap(i, m)
		i = m
	}
	return i > i0
}
