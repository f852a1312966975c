package ftsim

import (
	"container/list"
	"net/netip"
)

// nodeCache is giFT-FastTrack's node cache: an ordered list, best node
// first, with one node per IP address (the cache is keyed by host).
type nodeCache struct {
	l    *list.List // of netip.AddrPort
	byIP map[netip.Addr]*list.Element
}

func newNodeCache() *nodeCache {
	return &nodeCache{l: list.New(), byIP: make(map[netip.Addr]*list.Element)}
}

// key is the cache key of a node: its IP address.
func key(ap netip.AddrPort) netip.Addr { return ap.Addr().Unmap() }

// load appends nodes in order, skipping those whose IP address is already
// in the cache; it returns the nodes skipped.
func (c *nodeCache) load(nodes []netip.AddrPort) (skipped []netip.AddrPort) {
	for _, n := range nodes {
		n = netip.AddrPortFrom(key(n), n.Port())
		if _, ok := c.byIP[key(n)]; ok {
			skipped = append(skipped, n)
			continue
		}
		c.byIP[key(n)] = c.l.PushBack(n)
	}
	return skipped
}

func (c *nodeCache) len() int { return c.l.Len() }

// front returns the best node.
func (c *nodeCache) front() (netip.AddrPort, bool) {
	e := c.l.Front()
	if e == nil {
		return netip.AddrPort{}, false
	}
	return e.Value.(netip.AddrPort), true
}

// first returns up to n nodes from the front.
func (c *nodeCache) first(n int) []netip.AddrPort {
	var out []netip.AddrPort
	for e := c.l.Front(); e != nil && len(out) < n; e = e.Next() {
		out = append(out, e.Value.(netip.AddrPort))
	}
	return out
}

// moveFront and moveBack move the node with address a; like giFT's
// fst_nodecache_move they do nothing for a node no longer in the cache.
func (c *nodeCache) moveFront(a netip.Addr) bool {
	e, ok := c.byIP[a.Unmap()]
	if ok {
		c.l.MoveToFront(e)
	}
	return ok
}

func (c *nodeCache) moveBack(a netip.Addr) bool {
	e, ok := c.byIP[a.Unmap()]
	if ok {
		c.l.MoveToBack(e)
	}
	return ok
}

// remove removes the node with address a.
func (c *nodeCache) remove(a netip.Addr) bool {
	e, ok := c.byIP[a.Unmap()]
	if ok {
		c.l.Remove(e)
		delete(c.byIP, a.Unmap())
	}
	return ok
}

// nodes returns the whole cache, front first.
func (c *nodeCache) nodes() []netip.AddrPort { return c.first(c.l.Len()) }
