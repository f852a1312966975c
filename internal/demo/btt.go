package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/ftwall/ftwall/internal/btlab"
)

// btLogKeep lines of the real-client rig's log are kept for a failure
// report.
const btLogKeep = 60

// btT is the demo's btlab.T: what a test gives internal/btlab, for a
// program that is not a test. The rig's work runs in run, on a goroutine
// of its own, where Fatalf and Skipf end it (runtime.Goexit, as in a test)
// after recording why; close runs the cleanups the rig registered (it
// stops every process it started and removes its directories), last first,
// also after a failure.
type btT struct {
	name   string
	ctx    context.Context
	cancel context.CancelFunc
	log    *logSink

	mu       sync.Mutex
	base     string // parent of the TempDir directories; "" until the first
	cleanups []func()
	failed   bool
	fatal    string // Fatalf's message (or a panic's)
	skipped  string // Skipf's message
	closed   bool
}

var _ btlab.T = (*btT)(nil)

// errBTSkipped is returned by btT.run after Skipf; its message is Skipf's.
type errBTSkipped struct{ reason string }

func (e *errBTSkipped) Error() string { return e.reason }

// newBTT returns a btT whose Context ends with ctx or at close; verbose,
// when not nil, gets every log line as it comes (with a prefix).
func newBTT(ctx context.Context, name string, verbose io.Writer) *btT {
	ctx, cancel := context.WithCancel(ctx)
	return &btT{name: name, ctx: ctx, cancel: cancel, log: newLogSink(verbose, "    btlab| ", "", btLogKeep)}
}

// run calls fn on a goroutine of its own and waits for it. It returns nil
// when fn returned (or ended with runtime.Goexit) without Fatalf or Skipf,
// an *errBTSkipped after Skipf, and an error with Fatalf's message after
// Fatalf or a panic.
func (t *btT) run(fn func()) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			// recover is nil while Fatalf's Goexit unwinds.
			if r := recover(); r != nil {
				t.recordFatal(fmt.Sprintf("panic: %v\n%s", r, debug.Stack()))
			}
		}()
		fn()
	}()
	<-done
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.fatal != "":
		return errors.New(t.fatal)
	case t.skipped != "":
		return &errBTSkipped{reason: t.skipped}
	}
	return nil
}

// close ends Context, runs the cleanups, last registered first (each on a
// goroutine of its own, so that a Fatalf in one stops only that one), and
// removes the TempDir directories. Idempotent.
func (t *btT) close() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	t.mu.Unlock()
	t.cancel()
	for {
		t.mu.Lock()
		n := len(t.cleanups)
		if n == 0 {
			t.mu.Unlock()
			break
		}
		fn := t.cleanups[n-1]
		t.cleanups = t.cleanups[:n-1]
		t.mu.Unlock()
		_ = t.run(fn)
	}
	t.mu.Lock()
	base := t.base
	t.mu.Unlock()
	if base != "" {
		if err := os.RemoveAll(base); err != nil {
			t.Logf("remove %s: %v", base, err)
		}
	}
	t.log.Flush()
}

// tail is the end of the rig's log, indented.
func (t *btT) tail() string {
	lines := t.log.Tail()
	if len(lines) == 0 {
		return "    (no output)"
	}
	return "    " + strings.Join(lines, "\n    ")
}

func (t *btT) recordFatal(msg string) {
	t.mu.Lock()
	t.failed = true
	if t.fatal == "" {
		t.fatal = msg
	}
	t.mu.Unlock()
	t.Logf("%s", msg)
}

// Helper does nothing: there is no test output to attribute lines in.
func (t *btT) Helper() {}

// Name names the rig's run (btlab uses it for pcap file names).
func (t *btT) Name() string { return t.name }

// Context ends when the demo is interrupted or the scene is over.
func (t *btT) Context() context.Context { return t.ctx }

// TempDir returns a new directory, removed by close.
func (t *btT) TempDir() string {
	t.mu.Lock()
	base, err := t.base, error(nil)
	if base == "" {
		base, err = os.MkdirTemp("", "ftwdemo-bittorrent-")
		t.base = base
	}
	t.mu.Unlock()
	if err != nil {
		t.Fatalf("temporary directory: %v", err)
	}
	dir, err := os.MkdirTemp(base, "")
	if err != nil {
		t.Fatalf("temporary directory: %v", err)
	}
	return dir
}

// Cleanup registers fn for close.
func (t *btT) Cleanup(fn func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, fn)
}

// Logf keeps the line for a failure report (and shows it with --verbose).
func (t *btT) Logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	_, _ = io.WriteString(t.log, strings.TrimRight(msg, "\n")+"\n")
}

// Errorf logs and marks the run failed.
func (t *btT) Errorf(format string, args ...any) {
	t.mu.Lock()
	t.failed = true
	t.mu.Unlock()
	t.Logf(format, args...)
}

// Fatalf records the message and ends the calling goroutine.
func (t *btT) Fatalf(format string, args ...any) {
	t.recordFatal(fmt.Sprintf(format, args...))
	runtime.Goexit()
}

// Skipf records the reason and ends the calling goroutine.
func (t *btT) Skipf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	t.mu.Lock()
	if t.skipped == "" {
		t.skipped = msg
	}
	t.mu.Unlock()
	t.Logf("skipped: %s", msg)
	runtime.Goexit()
}

// Failed reports whether Errorf or Fatalf was called.
func (t *btT) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}
