package service

import (
	"encoding/hex"
	"errors"
	"log/slog"
	"net/netip"
	"time"

	"github.com/ftwall/ftwall/inspect"
	"github.com/ftwall/ftwall/inspect/stream"
	"github.com/ftwall/ftwall/internal/events"
	"github.com/ftwall/ftwall/internal/metrics"
	"github.com/ftwall/ftwall/internal/queue"
	"github.com/ftwall/ftwall/internal/rawsend"
)

// learned is what the packet path hands to the control goroutine: peers to
// block and a client to lock. It holds no reference to the packet buffer.
type learned struct {
	at       time.Time
	src      netip.Addr // the LAN host whose packet this is (peer budget)
	peers    [2]inspect.Peer
	npeers   int
	lock     bool
	client   netip.Addr
	protocol inspect.Protocol
	port     uint16
	tag      [inspect.MaxTagLen]byte
	tagLen   uint8
	reason   string
	inDev    uint32
	hw       [8]byte // source MAC of the frame (queue.Packet.HwAddr)
	hwLen    uint8   // 0: none known (no MAC check)
}

// sender sends one UDP datagram with any source address (rawsend.Sender).
type sender interface {
	SendUDP(src, dst netip.AddrPort, payload []byte) error
}

// handlerStats are the packet path's counters (read by metrics and tests).
type handlerStats struct {
	// Candidates counts candidates by detector (its index in the enabled
	// detectors) and kind; NotEvidence those no detector recognised.
	// Each counter is sharded by queue reader (counter.go).
	Candidates   [maxDetectors][inspect.MaxKinds]counter
	NotEvidence  counter
	DecodeErrors counter
	Dropped      counter
	Accepted     counter
	PongsSent    counter
	PongsLimited counter
	PongErrors   counter
	ProbeAnswers counter
	OpenersHeld  counter // session openers of clients not known yet, dropped once
	LearnDropped counter // control goroutine too slow: evidence lost
	RepeatsHeld  counter // evidence the reader had forwarded within the window (recent.go)
}

// reader is one queue reader's scratch space: Decode, Classify and Decide
// write into it, so the steady state allocates nothing.
type reader struct {
	s  *Service
	id int // the reader's counter shard

	// cand caches the Prometheus counters of candidates by detector index
	// and kind for the run state candSt (indices change with a reload).
	cand   [maxDetectors][inspect.MaxKinds]metrics.Counter
	candSt *runState

	recent *recentEvidence // evidence forwarded lately (recent.go)
	marked markMemo        // the client this reader marked known last
	pkt    inspect.Packet
	ev     inspect.Evidence
	d      inspect.Decision

	sc stream.Scratch
}

// newReader is queue reader i's handler state.
func (s *Service) newReader(i int) *reader {
	return &reader{s: s, id: i, recent: newRecentEvidence()}
}

// handle runs queue → inspect → decision for one packet and returns its
// verdict. Kernel writes are handed to the control goroutine without waiting.
func (r *reader) handle(p *queue.Packet) queue.Verdict {
	s := r.s
	st := s.state.Load()
	stats := &s.stats
	now := p.Time // the reader's clock reading, shared by up to queue.ClockEvery packets
	if !s.queueClock || now.IsZero() {
		now = s.now()
	}
	if err := inspect.Decode(p.Payload, &r.pkt); err != nil {
		stats.DecodeErrors.addAt(r.id, 1)
		stats.Accepted.addAt(r.id, 1)
		return queue.Accept
	}
	fromLAN, known := st.ifs.isLAN(p.InDev)
	if !st.classifier.Classify(now, &r.pkt, fromLAN && p.Hook == queue.HookForward, &r.sc, &r.ev) {
		stats.NotEvidence.addAt(r.id, 1)
		if r.sc.Refused && !st.dryRun {
			// The host has stream.MaxPerHost connection starts waiting to
			// be judged: this one cannot be followed, so it does not pass
			// (its TCP retransmits it; only that host waits).
			stats.Dropped.addAt(r.id, 1)
			return queue.Drop
		}
		stats.Accepted.addAt(r.id, 1)
		return queue.Accept
	}
	if i := st.detectors.Index(r.ev.Protocol); i >= 0 && i < maxDetectors && int(r.ev.Kind) < inspect.MaxKinds {
		stats.Candidates[i][r.ev.Kind].addAt(r.id, 1)
		if s.metrics != nil {
			r.candidate(st, i).Inc()
		}
	} else if s.metrics != nil {
		s.metrics.Candidate(string(r.ev.Protocol), r.ev.KindName())
	}
	if !known && p.InDev != 0 {
		// An interface that appeared after start: ask for a rebuild, and
		// treat the packet as not LAN (only known LAN interfaces are trusted).
		s.requestIfaceRefresh()
	}
	if r.ev.Weak && fromLAN {
		r.ev.ClientKnown = s.known.known(r.ev.Src.Addr(), now)
	}
	inspect.Decide(&r.ev, fromLAN, &st.settings, &r.d)
	d := &r.d
	if d.Lock.Valid {
		// Known at once, for a session opener a moment later on another
		// queue, before the control goroutine has written anything.
		s.known.markFrom(&r.marked, d.Lock.Addr, now)
	}
	verdict := d.Verdict
	if d.ProbeAnswer && p.Hook == queue.HookInput {
		stats.ProbeAnswers.addAt(r.id, 1)
		if s.metrics != nil {
			s.metrics.ProbeAnswered()
		}
		// Nobody listens on the probe's source port: accepting the answer
		// would only make the kernel send an ICMP error back to the client.
		verdict = inspect.Drop
	}
	if r.ev.Weak && fromLAN && !d.Lock.Valid && !st.settings.Allowed(r.ev.Src.Addr().Unmap()) &&
		!st.settings.Allowed(r.ev.Dst.Addr().Unmap()) && s.holds.hold(r.ev.Src, r.ev.Dst, now) {
		// A client not known yet: its TCP retransmits the opener.
		stats.OpenersHeld.addAt(r.id, 1)
		verdict = inspect.Drop
	}
	if st.dryRun {
		verdict = inspect.Accept
	}
	s.logCandidate(st, &r.ev, d, verdict, fromLAN)

	if !st.dryRun && (d.NPeers > 0 || d.Lock.Valid) {
		l := learned{at: now, src: r.ev.Src.Addr().Unmap(), peers: d.Peers, npeers: d.NPeers, inDev: p.InDev, hw: p.HwAddr, hwLen: p.HwLen}
		if d.Lock.Valid {
			l.lock = true
			l.client = d.Lock.Addr
			l.protocol = d.Lock.Protocol
			l.port = d.Lock.Port
			l.tagLen = uint8(copy(l.tag[:], d.Lock.Tag))
			l.reason = d.Lock.Reason
		}
		if r.mustForward(st, &l, now) {
			select {
			case s.learnCh <- l:
				r.forwarded(&l, now)
			default:
				stats.LearnDropped.addAt(r.id, 1)
				if s.metrics != nil {
					s.metrics.EvidenceLost()
				}
			}
		}
	}
	if d.Reply.Valid && !st.dryRun {
		if s.limiter.allow(d.Reply.To.Addr(), now) {
			if err := s.sender.SendUDP(d.Reply.From, d.Reply.To, d.Reply.Payload); err != nil {
				stats.PongErrors.addAt(r.id, 1)
				if s.metrics != nil {
					s.metrics.NotSent("reply", errors.Is(err, rawsend.ErrBusy))
				}
				s.log.Debug("spoofed pong not sent", "err", err)
			} else {
				stats.PongsSent.addAt(r.id, 1)
				if s.metrics != nil {
					s.metrics.SpoofedPongSent()
				}
			}
		} else {
			stats.PongsLimited.addAt(r.id, 1)
			if s.metrics != nil {
				s.metrics.SpoofedPongWithheld()
			}
		}
	}
	if s.metrics != nil {
		s.metrics.Verdict(verdict == inspect.Drop)
	}
	if verdict == inspect.Drop {
		stats.Dropped.addAt(r.id, 1)
		return queue.Drop
	}
	stats.Accepted.addAt(r.id, 1)
	return queue.Accept
}

// mustForward reports whether l has an address the control goroutine has
// not had from this reader, in a packet of the same source (address, MAC,
// interface), within the window; else the packet only counts
// (RepeatsHeld).
func (r *reader) mustForward(st *runState, l *learned, now time.Time) bool {
	if r.recent == nil {
		return true
	}
	r.recent.reset(st, r.s.learnEpoch.Load())
	peerW, lockW := st.recentWindows()
	if l.lock && !r.recent.fresh(keyOf(l, l.client), now, lockW) {
		return true
	}
	for _, p := range l.peers[:l.npeers] {
		if !r.recent.fresh(keyOf(l, p.Addr), now, peerW) {
			return true
		}
	}
	r.s.stats.RepeatsHeld.addAt(r.id, 1)
	return false
}

func (r *reader) forwarded(l *learned, now time.Time) {
	if r.recent == nil {
		return
	}
	if l.lock {
		r.recent.forwarded(keyOf(l, l.client), now)
	}
	for _, p := range l.peers[:l.npeers] {
		r.recent.forwarded(keyOf(l, p.Addr), now)
	}
}

// candidate is the Prometheus counter of r.ev's protocol (detector i) and
// kind, looked up once per run state.
func (r *reader) candidate(st *runState, i int) metrics.Counter {
	if r.candSt != st {
		r.cand = [maxDetectors][inspect.MaxKinds]metrics.Counter{}
		r.candSt = st
	}
	c := r.cand[i][r.ev.Kind]
	if c == nil {
		c = r.s.metrics.CandidateCounter(string(r.ev.Protocol), r.ev.KindName())
		r.cand[i][r.ev.Kind] = c
	}
	return c
}

// logCandidate emits the per-packet event letters u/U/t/T when enabled.
func (s *Service) logCandidate(st *runState, ev *inspect.Evidence, d *inspect.Decision, verdict inspect.Verdict, fromLAN bool) {
	ew := st.events
	udp := ev.UDP
	dropped := verdict == inspect.Drop
	var letter bool
	switch {
	case udp && dropped:
		letter = ew.Enabled(events.UDPDropped)
	case udp:
		letter = ew.Enabled(events.UDPAccepted)
	case dropped:
		letter = ew.Enabled(events.TCPDropped)
	default:
		letter = ew.Enabled(events.TCPAccepted)
	}
	if !letter {
		return
	}
	attrs := []slog.Attr{
		slog.String("protocol", string(ev.Protocol)),
		slog.String("kind", ev.KindName()),
		slog.String("src", ev.Src.String()),
		slog.String("dst", ev.Dst.String()),
		slog.Bool("from_lan", fromLAN),
	}
	for _, f := range ev.FieldList() {
		attrs = append(attrs, fieldAttr(f))
	}
	if udp {
		ew.UDP(dropped, attrs...)
	} else {
		ew.TCP(dropped, attrs...)
	}
}

// maxDetectors bounds the detectors counted in handlerStats.
const maxDetectors = 8

// fieldAttr turns an evidence detail into a log attribute.
func fieldAttr(f inspect.Field) slog.Attr {
	switch f.Type {
	case inspect.FieldNum:
		return slog.Uint64(f.Key, f.Num)
	case inspect.FieldAddr:
		return slog.String(f.Key, f.Addr.String())
	case inspect.FieldHex:
		return slog.String(f.Key, hex.EncodeToString(f.Text))
	}
	return slog.String(f.Key, string(f.Text))
}
