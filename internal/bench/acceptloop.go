package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	nfqueue "github.com/florianl/go-nfqueue/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/ftwall/ftwall/internal/metrics"
	"github.com/ftwall/ftwall/internal/queue"
)

// ReadyMessage is the log message the accept loop prints once every queue
// is bound (like `ftwall run`'s "inspecting").
const ReadyMessage = "verdicting"

// AcceptLoopConfig configures the bare verdict loop of `ftwbench
// accept-loop`.
type AcceptLoopConfig struct {
	Queue  uint16 // first queue number
	Queues uint16 // number of queues, one reader each (≥ 1)
	// Historical reads without fail-open and without GSO, like ftwall 1.x's
	// ip_queue reader: a full queue drops and every segment is queued
	// separately. Otherwise the readers are internal/queue's, exactly as
	// `ftwall run` opens them, with a handler that accepts every packet.
	Historical bool
	// Drop verdicts every packet with drop instead of accept (P2 gives the
	// bare loop the verdict ftwall gives its floods, so that both leave the
	// kernel the same work after the verdict).
	Drop bool
	Log  *slog.Logger
}

// AcceptLoop verdicts every packet of the queues with accept (or drop)
// until ctx is done, without looking at it. It logs ReadyMessage when the
// queues are bound and the number of verdicts when it stops.
func AcceptLoop(ctx context.Context, cfg AcceptLoopConfig) error {
	if cfg.Queues == 0 {
		return errors.New("accept-loop: --queues must be at least 1")
	}
	if int(cfg.Queue)+int(cfg.Queues)-1 > 65535 {
		return fmt.Errorf("accept-loop: queues %d..%d: the last queue number must be at most 65535", cfg.Queue, int(cfg.Queue)+int(cfg.Queues)-1)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var verdicts atomic.Uint64
	var wg sync.WaitGroup
	errCh := make(chan error, cfg.Queues)
	var closers []func() error
	defer func() {
		cancel()
		for _, c := range closers {
			_ = c()
		}
		wg.Wait()
	}()
	for i := range cfg.Queues {
		num := cfg.Queue + i
		if cfg.Historical {
			nf, err := openHistorical(num, log)
			if err != nil {
				return err
			}
			closers = append(closers, nf.Close)
			hook := func(a nfqueue.Attribute) int {
				if a.PacketID == nil {
					return 0
				}
				v := nfqueue.NfAccept
				if cfg.Drop {
					v = nfqueue.NfDrop
				}
				if err := nf.SetVerdict(*a.PacketID, v); err != nil && ctx.Err() == nil {
					log.Warn("verdict failed", "queue", num, "err", err)
				}
				verdicts.Add(1)
				return 0
			}
			errfn := func(err error) int {
				if ctx.Err() != nil {
					return 1
				}
				return 0 // ENOBUFS and read timeouts: keep reading
			}
			if err := nf.RegisterWithErrorFunc(ctx, hook, errfn); err != nil {
				return fmt.Errorf("accept-loop: bind NFQUEUE %d: %w", num, err)
			}
			continue
		}
		r, err := queue.Open(queue.Config{Num: num, Logger: log})
		if err != nil {
			return fmt.Errorf("accept-loop: %w", err)
		}
		closers = append(closers, r.Close)
		verdict := queue.Accept
		if cfg.Drop {
			verdict = queue.Drop
		}
		// Start returns once the queue is bound; go-nfqueue's goroutine reads.
		if err := r.Start(ctx, func(*queue.Packet) queue.Verdict {
			verdicts.Add(1)
			return verdict
		}); err != nil {
			return fmt.Errorf("accept-loop: queue %d: %w", num, err)
		}
	}
	if err := waitQueuesBound(ctx, queueStatsPath, cfg.Queue, cfg.Queues, 10*time.Second); err != nil {
		return fmt.Errorf("accept-loop: %w", err)
	}
	log.Info(ReadyMessage, "queues", fmt.Sprintf("%d..%d", cfg.Queue, cfg.Queue+cfg.Queues-1), "historical", cfg.Historical, "drop", cfg.Drop)
	select {
	case <-ctx.Done():
	case err := <-errCh:
		return err
	}
	log.Info("stopped", "verdicts", verdicts.Load())
	return nil
}

// openHistorical opens a queue like internal/queue does, but without the
// fail-open and GSO flags.
func openHistorical(num uint16, log *slog.Logger) (*nfqueue.Nfqueue, error) {
	nf, err := nfqueue.Open(&nfqueue.Config{
		NfQueue:      num,
		MaxQueueLen:  4096,
		MaxPacketLen: 4096,
		Copymode:     nfqueue.NfQnlCopyPacket,
		AfFamily:     unix.AF_UNSPEC,
		Logger:       nopNFLogger{},
	})
	if err != nil {
		return nil, fmt.Errorf("accept-loop: open NFQUEUE %d: %w", num, err)
	}
	if err := nf.SetOption(netlink.NoENOBUFS, true); err != nil {
		nf.Close()
		return nil, fmt.Errorf("accept-loop: NFQUEUE %d: set NoENOBUFS: %w", num, err)
	}
	if err := nf.Con.SetReadBuffer(8 << 20); err != nil {
		nf.Close()
		return nil, fmt.Errorf("accept-loop: NFQUEUE %d: set receive buffer: %w", num, err)
	}
	return nf, nil
}

type nopNFLogger struct{}

func (nopNFLogger) Debugf(string, ...any) {}
func (nopNFLogger) Errorf(string, ...any) {}

// waitQueuesBound polls a nfnetlink_queue statistics file until queues
// first..first+n-1 all have a reader.
func waitQueuesBound(ctx context.Context, path string, first, n uint16, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		st, err := metrics.ReadQueueStats(path)
		if err == nil && queuesBound(st, first, n) {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("queues %d..%d not bound after %v: %w", first, first+n-1, limit, err)
			}
			return fmt.Errorf("queues %d..%d not bound after %v", first, first+n-1, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func queuesBound(st []metrics.QueueStats, first, n uint16) bool {
	found := 0
	for _, q := range st {
		if q.Queue >= first && int(q.Queue) < int(first)+int(n) {
			found++
		}
	}
	return found == int(n)
}
