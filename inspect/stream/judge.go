package stream

import (
	"time"

	"github.com/ftwall/ftwall/inspect"
)

// Judge classifies every message of view (the offsets Messages finds) as
// the payload of p, a decoded TCP segment of the connection, until one of
// ds recognises one; ev then holds its evidence. scratch and offs are the
// caller's, so Judge allocates nothing once offs has grown. With
// reassembled, view is more than the segment: weak evidence, which is
// about one segment's shape (a session opener's length), does not count.
func Judge(ds inspect.Detectors, p *inspect.Packet, view []byte, reassembled bool, scratch *inspect.Packet, offs *[]int, ev *inspect.Evidence) bool {
	*offs = Messages(view, (*offs)[:0])
	for i, o := range *offs {
		*scratch = *p
		scratch.Payload = view[o:]
		if ds.Classify(scratch, ev) && !((reassembled || i > 0) && ev.Weak) {
			return true
		}
	}
	ev.Reset()
	return false
}

// Scratch is one goroutine's buffers for Classify.
type Scratch struct {
	stream, alt []byte
	offs        []int
	msg         inspect.Packet
	// Refused is set by Classify when the segment would start a
	// connection its host has no room for (MaxPerHost): drop it.
	Refused bool
}

// Classifier runs detectors over decoded packets, TCP on the reassembled
// start of its connection: the service's queue readers and `ftwall
// inspect` share it, so a capture is judged as the live firewall judges.
type Classifier struct {
	ds     inspect.Detectors
	table  *Table
	starts [256]bool
	on     bool
}

// NewClassifier returns a classifier for ds that keeps connections in t.
func NewClassifier(ds inspect.Detectors, t *Table) *Classifier {
	c := &Classifier{ds: ds, table: t}
	for _, b := range ds.StreamStarts() {
		c.starts[b], c.on = true, true
	}
	return c
}

// Classify looks for evidence in p. A TCP segment the LAN host sent on a
// connection it opened (fromLAN; the caller knows the hook) goes through
// the table: a connection that starts like a message is judged on its
// reassembled start, every message in it, until one is evidence; other TCP
// segments are judged message by message (pipelined requests), UDP as it
// is.
func (c *Classifier) Classify(now time.Time, p *inspect.Packet, fromLAN bool, sc *Scratch, ev *inspect.Evidence) bool {
	if p.Proto != inspect.ProtoTCP || !p.Transport || p.FragOffset != 0 || len(p.Payload) == 0 {
		return c.ds.Classify(p, ev)
	}
	sc.Refused = false
	if fromLAN && c.on {
		k := Key{Src: p.SrcAddrPort(), Dst: p.DstAddrPort()}
		if c.starts[p.Payload[0]] {
			// A connection start that is whole in its first segment (most
			// requests are) is judged as Add and Done would judge it, but
			// without being tracked: one lookup instead of an insertion
			// and a removal. Anything else of the connection already
			// tracked takes the path below.
			view := p.Payload[:min(len(p.Payload), c.table.cfg.Window)]
			if Complete(view, c.table.cfg.Window) && c.table.startAlone(k) {
				return Judge(c.ds, p, view, false, &sc.msg, &sc.offs, ev)
			}
		}
		res := c.table.Add(now, k, p.Seq, p.Payload, c.starts[p.Payload[0]], sc.stream[:0], sc.alt[:0])
		sc.stream, sc.alt = res.Stream, res.Alt
		switch res.Status {
		case Refused:
			sc.Refused = true
			return false
		case Start, More:
			found := Judge(c.ds, p, res.Stream, res.Status == More, &sc.msg, &sc.offs, ev)
			if !found && res.Alt != nil {
				found = Judge(c.ds, p, res.Alt, true, &sc.msg, &sc.offs, ev)
			}
			if found || (res.Alt == nil && Complete(res.Stream, c.table.cfg.Window)) {
				c.table.Done(now, k)
			}
			return found
		}
	}
	return Judge(c.ds, p, p.Payload, false, &sc.msg, &sc.offs, ev)
}
