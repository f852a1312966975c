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
	ID      uint32
	Hook    uint8
	InDev   uint32 // input interface index (0 = none, e.g. locally generated)
	OutDev  uint32
	Payload []byte
}

// Handler classifies one packet. It runs on the reader's goroutine and must
// not block on I/O other than cheap non-blocking sends.
type Handler func(p *Packet) Verdict

// Config configures one queue reader.
type Config struct {
	Num     uint16 // queue number
	MaxLen  uint32 // kernel queue length in packets (0 = 4096)
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
}

// Open binds queue cfg.Num. It fails when another process already holds the
// queue or when the caller lacks CAP_NET_ADMIN.
func Open(cfg Config) (*Reader, error) {
	if cfg.MaxLen == 0 {
		cfg.MaxLen = 4096
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
	nf, err := nfqueue.Open(&nfqueue.Config{
		NetNS:        cfg.NetNS,
		NfQueue:      cfg.Num,
		MaxQueueLen:  cfg.MaxLen,
		MaxPacketLen: cfg.CopyLen,
		Copymode:     nfqueue.NfQnlCopyPacket,
		Flags:        nfqueue.NfQaCfgFlagFailOpen | nfqueue.NfQaCfgFlagGSO,
		AfFamily:     unix.AF_UNSPEC,
		Logger:       nfLogger{log},
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
func (r *Reader) Start(ctx context.Context, h Handler) error {
	var pkt Packet
	var b batch
	rc, err := r.nf.Con.SyscallConn()
	if err != nil {
		return fmt.Errorf("NFQUEUE %d: %w", r.cfg.Num, err)
	}
	// The socket's descriptor, for the per-packet poll (taken once: a
	// Control call per packet would allocate its closure every time).
	fd := -1
	if err := rc.Control(func(f uintptr) { fd = int(f) }); err != nil {
		return fmt.Errorf("NFQUEUE %d: %w", r.cfg.Num, err)
	}
	hook := func(a nfqueue.Attribute) int {
		if a.PacketID == nil {
			return 0
		}
		pkt = Packet{ID: *a.PacketID}
		if a.Hook != nil {
			pkt.Hook = *a.Hook
		}
		if a.InDev != nil {
			pkt.InDev = *a.InDev
		}
		if a.OutDev != nil {
			pkt.OutDev = *a.OutDev
		}
		if a.Payload != nil {
			pkt.Payload = *a.Payload
		}
		v := Accept
		if len(pkt.Payload) > 0 {
			v = h(&pkt)
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
		// Batch verdicts: consecutive packets with the same verdict get one
		// verdict message, sent as soon as no further packet is waiting on
		// the socket (so nothing is held while the queue is idle) or the
		// batch is full. A different verdict flushes the batch first.
		if b.n > 0 && b.verdict != nv {
			r.flush(ctx, &b)
		}
		b.verdict, b.last = nv, pkt.ID
		b.n++
		if b.n >= maxBatch || !moreWaiting(fd) {
			r.flush(ctx, &b)
		}
		return 0
	}
	errfn := func(err error) int {
		if ctx.Err() != nil {
			return 1
		}
		if errors.Is(err, unix.ENOBUFS) {
			r.Stats.ReadErrors.Add(1)
			return 0
		}
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			return 0
		}
		r.Stats.ReadErrors.Add(1)
		r.log.Warn("NFQUEUE receive failed", "queue", r.cfg.Num, "err", err)
		return 0
	}
	if err := r.nf.RegisterWithErrorFunc(ctx, hook, errfn); err != nil {
		return fmt.Errorf("bind NFQUEUE %d: %w", r.cfg.Num, hint(err))
	}
	return nil
}

// maxBatch bounds the packets one verdict message covers.
const maxBatch = 32

// batch is the run of packets with one verdict not yet sent.
type batch struct {
	verdict int
	last    uint32
	n       int
}

// flush sends the verdict for every packet of b (a batch verdict covers all
// queued packets up to and including b.last, which are exactly b's: earlier
// ones have their verdicts already).
func (r *Reader) flush(ctx context.Context, b *batch) {
	if b.n == 0 {
		return
	}
	var err error
	if b.n == 1 {
		err = r.nf.SetVerdict(b.last, b.verdict)
	} else {
		err = r.nf.SetVerdictBatch(b.last, b.verdict)
		r.Stats.Batches.Add(1)
	}
	b.n = 0
	if err != nil {
		r.Stats.VerdictErrors.Add(1)
		if ctx.Err() == nil {
			r.log.Warn("NFQUEUE verdict failed", "queue", r.cfg.Num, "err", err)
		}
	}
}

// moreWaiting reports whether another message is waiting on the queue's
// socket fd (a poll with zero timeout; on error it says no, which flushes).
func moreWaiting(fd int) bool {
	fds := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds[:], 0)
	return err == nil && n > 0 && fds[0].Revents&unix.POLLIN != 0
}

// Close unbinds the queue and closes the socket; it waits for the reader
// goroutine to finish.
func (r *Reader) Close() error { return r.nf.Close() }

func hint(err error) error {
	switch {
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("%w (ftwall needs CAP_NET_ADMIN)", err)
	case errors.Is(err, unix.EBUSY):
		return fmt.Errorf("%w (another process is bound to this queue number; pick another with --queue)", err)
	}
	return err
}

// nfLogger adapts slog to go-nfqueue's printf-style logger.
type nfLogger struct{ l *slog.Logger }

func (n nfLogger) Debugf(format string, args ...any) { n.l.Debug(fmt.Sprintf(format, args...)) }
func (n nfLogger) Errorf(format string, args ...any) { n.l.Debug(fmt.Sprintf(format, args...)) }
