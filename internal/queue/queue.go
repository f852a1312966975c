// Package queue reads packets that ftwall's ruleset queued to user space
// (NFQUEUE) and returns a verdict for each, with go-nfqueue v2.
//
// One Reader serves one queue number; `ftwall run --queues K` opens K of them.
// The queue is configured fail-open (a full queue accepts instead of
// dropping) and GSO-aware (aggregated packets are not segmented for us),
// with NoENOBUFS and a large receive buffer so bursts do not end the reader.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"syscall"
	"time"

	nfqueue "github.com/florianl/go-nfqueue/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Hook numbers as the kernel reports them (NF_INET_*).
const (
	HookPreRouting  = 0
	HookInput       = 1
	HookForward     = 2
	HookOutput      = 3
	HookPostRouting = 4
)

// Verdict is what the handler decides for one packet.
type Verdict uint8

const (
	Accept Verdict = iota
	Drop
)

// Packet is one queued packet. Payload starts at the IP header and is only
// valid during the handler call.
type Packet struct {
	ID     uint32
	Hook   uint8
	InDev  uint32 // input interface index (0 = none, e.g. locally generated)
	OutDev uint32
	// HwAddr[:HwLen] is the source link-layer address of the frame the
	// packet arrived in (NFQA_HWADDR: an Ethernet MAC on Ethernet-like
	// interfaces); HwLen is 0 when the kernel gave none (locally generated
	// packets, interfaces without link-layer header such as tun, ppp or
	// WireGuard).
	HwAddr  [8]byte
	HwLen   uint8
	Payload []byte
	// Time is when the reader took the packet, as the reader's clock
	// read once every ClockEvery packets of a burst (and at the start of
	// each): never later than the packet's arrival in user space, and
	// earlier by at most the handling of ClockEvery-1 packets before it.
	Time time.Time
}

// ClockEvery is how many packets of a burst share one reading of the
// clock: a reading costs about 50 ns in a VM (two vDSO calls), as much as
// a sixth of the inspection of a UDP candidate.
const ClockEvery = 16

// Handler classifies one packet. It runs on the reader's goroutine and must
// not block on I/O other than cheap non-blocking sends.
type Handler func(p *Packet) Verdict

// DefaultMaxLen is the kernel queue length in packets when Config.MaxLen
// is 0.
const DefaultMaxLen = 4096

// Config configures one queue reader.
type Config struct {
	Num     uint16 // queue number
	MaxLen  uint32 // kernel queue length in packets (0 = DefaultMaxLen)
	CopyLen uint32 // bytes of each packet copied to user space (0 = 4096)
	NetNS   int    // network namespace fd (0 = the caller's)
	ReadBuf int    // socket receive buffer in bytes (0 = 8 MiB)
	Logger  *slog.Logger
	DryRun  bool // accept every packet whatever the handler says
}

// Stats are the reader's counters; safe to read concurrently.
type Stats struct {
	Packets, Accepted, Dropped, VerdictErrors, ReadErrors atomic.Uint64
	Batches                                               atomic.Uint64 // verdict messages that covered several packets
}

// Reader reads one queue.
type Reader struct {
	cfg   Config
	nf    *nfqueue.Nfqueue
	log   *slog.Logger
	Stats Stats

	cancel context.CancelFunc // stops the reader goroutine (after Start)
	done   chan struct{}      // closed when it has stopped
}

// Open opens the socket for queue cfg.Num; Start binds it.
func Open(cfg Config) (*Reader, error) {
	if cfg.MaxLen == 0 {
		cfg.MaxLen = DefaultMaxLen
	}
	if cfg.CopyLen == 0 {
		cfg.CopyLen = 4096
	}
	if cfg.ReadBuf == 0 {
		cfg.ReadBuf = 8 << 20
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// go-nfqueue opens the socket and addresses the verdicts (queue number,
	// family); the copy mode, flags and queue length are sent by Start's
	// own bind (bindMessages), not by go-nfqueue's Register.
	nf, err := nfqueue.Open(&nfqueue.Config{
		NetNS:    cfg.NetNS,
		NfQueue:  cfg.Num,
		AfFamily: unix.AF_UNSPEC,
		Logger:   nfLogger{log},
	})
	if err != nil {
		return nil, fmt.Errorf("open NFQUEUE %d: %w", cfg.Num, hint(err))
	}
	if err := nf.SetOption(netlink.NoENOBUFS, true); err != nil {
		nf.Close()
		return nil, fmt.Errorf("NFQUEUE %d: set NoENOBUFS: %w", cfg.Num, err)
	}
	if err := nf.Con.SetReadBuffer(cfg.ReadBuf); err != nil {
		nf.Close()
		return nil, fmt.Errorf("NFQUEUE %d: set receive buffer: %w", cfg.Num, err)
	}
	return &Reader{cfg: cfg, nf: nf, log: log}, nil
}

// Start binds the queue and returns once the kernel delivers its packets
// (with their contents) to this reader; a goroutine then hands every packet
// to h until ctx is cancelled or Close is called. While nothing is bound the
// queue rules' bypass flag lets candidates pass.
//
// go-nfqueue opens the socket and sends the verdicts, but the reader does
// not use its receive loop: that costs two recvmsg calls (a peek for the
// size, then the read), a fresh buffer and several small allocations per
// packet. Here each packet is one read(2) on the non-blocking socket into a
// reused buffer, parsed in place; the read that finds the socket empty
// (EAGAIN) ends a burst and flushes the pending batch verdict before the
// goroutine waits for the next packet. Packets queued while the bind is being
// configured are handled like any other.
func (r *Reader) Start(ctx context.Context, h Handler) error {
	rc, err := r.nf.Con.SyscallConn()
	if err != nil {
		return fmt.Errorf("NFQUEUE %d: %w", r.cfg.Num, err)
	}
	l := &loop{r: r, h: h, ctx: ctx, rc: rc, buf: make([]byte, 64<<10)}
	l.read = l.readBurst // one closure for the whole life of the reader

	// Bind, with copy mode, flags and queue length, in one datagram; read
	// until every message is acknowledged.
	msgs, n := bindMessages(1, r.cfg.Num, r.cfg.CopyLen, r.flags(), r.cfg.MaxLen)
	l.firstSeq, l.nAcks, l.binding = 1, n, true
	if err := l.write(msgs); err != nil {
		return fmt.Errorf("bind NFQUEUE %d: %w", r.cfg.Num, hint(err))
	}
	if err := r.nf.Con.SetReadDeadline(time.Now().Add(bindTimeout)); err != nil {
		return fmt.Errorf("bind NFQUEUE %d: %w", r.cfg.Num, err)
	}
	for l.acks < l.nAcks {
		if err := rc.Read(l.read); err != nil {
			return fmt.Errorf("bind NFQUEUE %d: no answer from the kernel: %w", r.cfg.Num, err)
		}
		if l.rerr != nil {
			return fmt.Errorf("bind NFQUEUE %d: %w", r.cfg.Num, l.rerr)
		}
	}
	if l.bindErr != nil {
		l.unbind()
		return fmt.Errorf("bind NFQUEUE %d: %w", r.cfg.Num, hint(l.bindErr))
	}
	l.binding = false
	if err := r.nf.Con.SetReadDeadline(time.Time{}); err != nil {
		l.unbind()
		return fmt.Errorf("NFQUEUE %d: %w", r.cfg.Num, err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	r.cancel = cancel
	r.done = make(chan struct{})
	go func() {
		<-runCtx.Done()
		// A deadline in the past wakes the reader from its wait.
		r.nf.Con.SetReadDeadline(time.Unix(1, 0))
	}()
	go func() {
		defer close(r.done)
		defer cancel()
		l.run(runCtx)
	}()
	return nil
}

// bindTimeout bounds the wait for the kernel's answers to the bind.
const bindTimeout = 5 * time.Second

// flags are the queue flags the reader asks for.
func (r *Reader) flags() uint32 {
	return nfqueue.NfQaCfgFlagFailOpen | nfqueue.NfQaCfgFlagGSO
}

// maxBatch bounds the packets one verdict message covers.
const maxBatch = 32

// batch is the run of packets with one verdict not yet sent.
type batch struct {
	verdict int
	last    uint32
	n       int
}

// loop is the state of one reader goroutine.
type loop struct {
	r   *Reader
	h   Handler
	ctx context.Context
	rc  syscall.RawConn
	buf []byte
	pkt Packet
	b   batch

	read func(fd uintptr) bool
	// clockN counts the packets stamped since the clock was last read
	// (0: read it for the next packet).
	clockN int
	now    time.Time
	rerr   error // a read error met by read

	// While binding: the sequence numbers of the bind messages, how many
	// answers came, and the first error among them.
	binding         bool
	firstSeq        uint32
	nAcks, acks     int
	bindErr         error
	parseErrsLogged bool
}

// run reads until the context ends or the socket is closed, then flushes the
// last verdicts and unbinds.
func (l *loop) run(ctx context.Context) {
	defer l.unbind()
	for {
		l.rerr = nil
		err := l.rc.Read(l.read)
		l.flush()
		if err != nil || ctx.Err() != nil {
			return // deadline set by the cancel, or the socket closed
		}
		if l.rerr != nil {
			if errors.Is(l.rerr, unix.EBADF) {
				return
			}
			l.r.Stats.ReadErrors.Add(1)
			l.r.log.Warn("NFQUEUE receive failed", "queue", l.r.cfg.Num, "err", l.rerr)
		}
	}
}

// readBurst reads datagrams until the socket is empty (then it flushes the
// batch and asks to wait: false) or a read fails (l.rerr; true). While
// binding it returns true once every bind message is answered.
func (l *loop) readBurst(fd uintptr) bool {
	for {
		n, err := unix.Read(int(fd), l.buf)
		switch {
		case err == unix.EAGAIN:
			l.flush()
			l.clockN = 0 // a burst's end: the next packet reads the clock
			return false
		case err == unix.EINTR:
			continue
		case err == unix.ENOBUFS:
			// Messages were lost to a full receive buffer (NoENOBUFS
			// normally prevents this report); fail-open let them pass.
			l.r.Stats.ReadErrors.Add(1)
			continue
		case err != nil:
			l.rerr = err
			return true
		}
		l.datagram(l.buf[:n])
		if l.binding && l.acks >= l.nAcks {
			return true
		}
	}
}

// datagram handles the messages of one datagram.
func (l *loop) datagram(b []byte) {
	err := eachMessage(b, func(m message) bool {
		if m.isPacket() {
			l.packet(m.data)
			return true
		}
		if aerr, ok := m.ackErr(); ok && m.seq >= l.firstSeq && m.seq < l.firstSeq+uint32(l.nAcks) {
			l.acks++
			if aerr != nil && l.bindErr == nil {
				l.bindErr = aerr
			}
		}
		return true
	})
	if err != nil {
		l.r.Stats.ReadErrors.Add(1)
		if !l.parseErrsLogged {
			l.parseErrsLogged = true
			l.r.log.Warn("NFQUEUE message malformed", "queue", l.r.cfg.Num, "err", err)
		}
	}
}

// packet gives one queued packet its verdict. Consecutive packets with the
// same verdict get one verdict message, sent when the socket has no further
// packet waiting (readBurst), the batch is full, or the next packet's verdict
// differs; so nothing is held while the queue is idle.
func (l *loop) packet(data []byte) {
	r := l.r
	if !parsePacket(data, &l.pkt) {
		r.Stats.ReadErrors.Add(1)
		return
	}
	if l.clockN == 0 {
		l.now = time.Now()
	}
	if l.clockN++; l.clockN >= ClockEvery {
		l.clockN = 0
	}
	l.pkt.Time = l.now
	v := Accept
	if len(l.pkt.Payload) > 0 {
		v = l.h(&l.pkt)
	}
	if r.cfg.DryRun {
		v = Accept
	}
	r.Stats.Packets.Add(1)
	nv := nfqueue.NfAccept
	if v == Drop {
		nv = nfqueue.NfDrop
		r.Stats.Dropped.Add(1)
	} else {
		r.Stats.Accepted.Add(1)
	}
	if l.b.n > 0 && l.b.verdict != nv {
		l.flush()
	}
	l.b.verdict, l.b.last = nv, l.pkt.ID
	l.b.n++
	if l.b.n >= maxBatch {
		l.flush()
	}
}

// flush sends the verdict for every packet of the batch (a batch verdict
// covers all queued packets up to and including b.last, which are exactly
// the batch's: earlier ones have their verdicts already).
func (l *loop) flush() {
	b := &l.b
	if b.n == 0 {
		return
	}
	var err error
	if b.n == 1 {
		err = l.r.nf.SetVerdict(b.last, b.verdict)
	} else {
		err = l.r.nf.SetVerdictBatch(b.last, b.verdict)
		l.r.Stats.Batches.Add(1)
	}
	b.n = 0
	if err != nil {
		l.r.Stats.VerdictErrors.Add(1)
		if l.ctx.Err() == nil {
			l.r.log.Warn("NFQUEUE verdict failed", "queue", l.r.cfg.Num, "err", err)
		}
	}
}

// write sends a datagram to the kernel on the queue socket.
func (l *loop) write(b []byte) error {
	var werr error
	err := l.rc.Write(func(fd uintptr) bool {
		_, werr = unix.Write(int(fd), b)
		return werr != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	return werr
}

// unbind tells the kernel this reader no longer serves the queue (best
// effort: closing the socket unbinds it too).
func (l *loop) unbind() {
	l.write(appendConfig(nil, 0, l.r.cfg.Num, cmdAttr(nfqnlCfgUnbind)))
}

// Close unbinds the queue and closes the socket; it waits for the reader
// goroutine to finish.
func (r *Reader) Close() error {
	if r.cancel != nil {
		r.cancel()
		<-r.done
	}
	return r.nf.Close()
}

func hint(err error) error {
	switch {
	case errors.Is(err, unix.EPERM):
		// The kernel answers EPERM both without CAP_NET_ADMIN and when
		// another socket holds the queue number.
		return fmt.Errorf("%w (ftwall needs CAP_NET_ADMIN, and no other process may be bound to this queue number: stop it or pick another with --queue)", err)
	case errors.Is(err, unix.EBUSY):
		return fmt.Errorf("%w (another process is bound to this queue number; pick another with --queue)", err)
	}
	return err
}

// nfLogger adapts slog to go-nfqueue's printf-style logger.
type nfLogger struct{ l *slog.Logger }

func (n nfLogger) Debugf(format string, args ...any) { n.l.Debug(fmt.Sprintf(format, args...)) }
func (n nfLogger) Errorf(format string, args ...any) { n.l.Debug(fmt.Sprintf(format, args...)) }
