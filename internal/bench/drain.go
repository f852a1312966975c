package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/internal/metrics"
)

// The backlog drain of P2: the reader is stopped (SIGSTOP), the flood fills
// its queues, the flood stops, and the reader is let go (SIGCONT); the
// verdict rate is the backlog over the time until every queue is empty.
// Nothing else runs meanwhile, so the figure is the reader's own limit
// whatever the generator can offer.
const (
	drainFillLimit = 500 * time.Millisecond // flood at most this long per fill
	drainSettle    = 5 * time.Millisecond   // after the flood, for packets in flight
	drainLimit     = 5 * time.Second        // a backlog not verdicted by then fails the run
	drainPoll      = 100 * time.Microsecond // queue statistics read every
	drainHeadroom  = 64                     // a queue counts as full this close to its length
	drainMinFill   = 1024                   // fewer packets per queue than this fail the run
)

// queueStatsPath is the queue statistics of the network namespace of the
// thread that opens it.
const queueStatsPath = "/proc/thread-self/net/netfilter/nfnetlink_queue"

// queueStatsFile is the router's /proc/net/netfilter/nfnetlink_queue,
// opened once inside its namespace and read again from the start on each
// poll (a seq_file restarts at offset 0), so that a poll costs one pread.
type queueStatsFile struct {
	f   *os.File
	buf []byte
}

func openQueueStats(ns *lab.NS) (*queueStatsFile, error) {
	var f *os.File
	err := ns.Do(func() error {
		var err error
		f, err = os.Open(queueStatsPath)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open NFQUEUE statistics of network namespace %s: %w", ns.Name, err)
	}
	return &queueStatsFile{f: f, buf: make([]byte, 64<<10)}, nil
}

func (q *queueStatsFile) Close() error { return q.f.Close() }

// read returns the statistics of queues first..first+n-1 (missing queues
// are an error: their reader is gone).
func (q *queueStatsFile) read(first, n uint16) ([]metrics.QueueStats, error) {
	m, err := q.f.ReadAt(q.buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read NFQUEUE statistics: %w", err)
	}
	st, err := metrics.ParseQueueStats(bytes.NewReader(q.buf[:m]))
	if err != nil {
		return nil, err
	}
	out := make([]metrics.QueueStats, 0, n)
	for _, s := range st {
		if s.Queue >= first && int(s.Queue) < int(first)+int(n) {
			out = append(out, s)
		}
	}
	if len(out) != int(n) {
		return nil, fmt.Errorf("NFQUEUE statistics list %d of queues %d..%d: a reader is gone", len(out), first, int(first)+int(n)-1)
	}
	return out, nil
}

// drainCount is what one drain verdicted: the backlog at the start and
// whatever arrived during the drain (id_sequence − queue_total, summed
// over the queues, 32-bit counters wrapping).
func drainCount(before, after []metrics.QueueStats) uint64 {
	var n uint64
	for i := range after {
		b, a := before[i], after[i]
		n += uint64((a.IDSequence - a.Waiting) - (b.IDSequence - b.Waiting))
	}
	return n
}

func waitingTotal(st []metrics.QueueStats) (total uint64, least uint32) {
	least = ^uint32(0)
	for _, s := range st {
		total += uint64(s.Waiting)
		least = min(least, s.Waiting)
	}
	return total, least
}

// drainResult is the sum over a configuration's drains.
type drainResult struct {
	packets uint64
	took    time.Duration
}

func (d drainResult) rate() float64 {
	if d.took <= 0 {
		return 0
	}
	return float64(d.packets) / d.took.Seconds()
}

// drain runs cycles backlog drains of the reader p, whose queues 0..
// queues-1 hold at most maxLen packets each, filling them with the
// configuration's flood.
func (r *runner) drain(ctx context.Context, p *Proc, socks []*FloodSocket, msgs [][]Datagram, queues, maxLen, cycles int) (drainResult, error) {
	qs, err := openQueueStats(r.lab.Router)
	if err != nil {
		return drainResult{}, err
	}
	defer qs.Close()
	var res drainResult
	for range cycles {
		n, took, err := r.drainOnce(ctx, p, qs, socks, msgs, uint16(queues), maxLen)
		if err != nil {
			return drainResult{}, err
		}
		res.packets += n
		res.took += took
	}
	return res, nil
}

func (r *runner) drainOnce(ctx context.Context, p *Proc, qs *queueStatsFile, socks []*FloodSocket, msgs [][]Datagram, queues uint16, maxLen int) (uint64, time.Duration, error) {
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		return 0, 0, err
	}
	stopped := true
	defer func() {
		if stopped {
			_ = p.Signal(syscall.SIGCONT)
		}
	}()
	if err := waitStopped(ctx, p.Pid(), time.Second); err != nil {
		return 0, 0, err
	}
	if err := r.fillQueues(ctx, qs, socks, msgs, queues, maxLen); err != nil {
		return 0, 0, err
	}
	if err := sleepCtx(ctx, drainSettle); err != nil {
		return 0, 0, err
	}
	before, err := qs.read(0, queues)
	if err != nil {
		return 0, 0, err
	}
	if _, least := waitingTotal(before); least < drainMinFill {
		return 0, 0, fmt.Errorf("backlog drain: a queue held only %d packets after %v of flood with its reader stopped (want at least %d)", least, drainFillLimit, drainMinFill)
	}
	t0 := time.Now()
	if err := p.Signal(syscall.SIGCONT); err != nil {
		return 0, 0, err
	}
	stopped = false
	for {
		if err := sleepCtx(ctx, drainPoll); err != nil {
			return 0, 0, err
		}
		after, err := qs.read(0, queues)
		if err != nil {
			return 0, 0, err
		}
		took := time.Since(t0)
		if total, _ := waitingTotal(after); total == 0 {
			return drainCount(before, after), took, nil
		}
		if took > drainLimit {
			total, _ := waitingTotal(after)
			return 0, 0, fmt.Errorf("backlog drain: %d packets still waiting %v after the reader was let go", total, drainLimit)
		}
	}
}

// fillQueues floods until every queue holds its length less drainHeadroom
// packets, or for drainFillLimit.
func (r *runner) fillQueues(ctx context.Context, qs *queueStatsFile, socks []*FloodSocket, msgs [][]Datagram, queues uint16, maxLen int) error {
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	errs := make(chan error, len(socks))
	for i, sock := range socks {
		go func() {
			_, err := sock.Flood(fctx, FloodConfig{Messages: msgs[i], CPU: i % numCPU()})
			errs <- err
		}()
	}
	deadline := time.Now().Add(drainFillLimit)
	var rerr error
	for time.Now().Before(deadline) {
		st, err := qs.read(0, queues)
		if err != nil {
			rerr = err
			break
		}
		if _, least := waitingTotal(st); int(least) >= maxLen-drainHeadroom {
			break
		}
		if err := sleepCtx(ctx, time.Millisecond); err != nil {
			rerr = err
			break
		}
	}
	stop()
	for range socks {
		if err := <-errs; err != nil && rerr == nil && ctx.Err() == nil {
			rerr = fmt.Errorf("backlog drain: flood: %w", err)
		}
	}
	return rerr
}

// waitStopped waits until every thread of process pid is stopped (state T
// in /proc/PID/task/*/stat).
func waitStopped(ctx context.Context, pid int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		ok, err := allThreadsStopped(pid)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("backlog drain: process %d not stopped %v after SIGSTOP", pid, limit)
		}
		if err := sleepCtx(ctx, 200*time.Microsecond); err != nil {
			return err
		}
	}
}

func allThreadsStopped(pid int) (bool, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(tasks) == 0 {
		return false, fmt.Errorf("backlog drain: threads of process %d: not found", pid)
	}
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // a thread that ended
		}
		st, err := procState(string(b))
		if err != nil {
			return false, err
		}
		if st != 'T' && st != 't' {
			return false, nil
		}
	}
	return true, nil
}

// procState is the state letter of a /proc/PID/stat line ("pid (comm) S …";
// comm may hold spaces and parentheses, so the last ')' ends it).
func procState(stat string) (byte, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return 0, fmt.Errorf("backlog drain: unreadable stat line %q", stat)
	}
	return stat[i+2], nil
}
