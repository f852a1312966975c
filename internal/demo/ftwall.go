package demo

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ftwall/ftwall/internal/lab"
)

// readyMarker is in the log line `ftwall run` writes once it reads its
// queues.
const readyMarker = "msg=inspecting"

// Waits for ftwall run: start-up (ruleset, queues) on a busy machine, and a
// clean stop after SIGTERM.
const (
	ftwallReadyTimeout = 20 * time.Second
	ftwallStopTimeout  = 10 * time.Second
)

// tailLines of ftwall's log are kept for a failure report.
const tailLines = 40

// ftwallProc is `ftwall run` inside the router namespace.
type ftwallProc struct {
	*lab.Proc
	args []string
	log  *logSink
}

// ftwallArgs are the arguments of `ftwall run` in the demo, then extra.
func ftwallArgs(extra ...string) []string {
	return append([]string{"run", "--lan", lab.IfLAN0, "--lan", lab.IfLAN1, "--timelock", TimeLock.String(),
		"--log", "all", "--summary-interval", "0"}, extra...)
}

// startFtwall starts ftwall run in ns, with extra arguments. Its log goes
// to verbose (with a prefix) when that is not nil, and always into a short
// tail.
func startFtwall(ns *lab.NS, path string, verbose io.Writer, extra ...string) (*ftwallProc, error) {
	return startProcess(ns, path, ftwallArgs(extra...), newLogSink(verbose, "    ftwall| ", readyMarker, tailLines))
}

// startProcess starts path with args in ns, its output going to log.
func startProcess(ns *lab.NS, path string, args []string, log *logSink) (*ftwallProc, error) {
	p, err := lab.StartProc(ns, path, log, nil, path, args...)
	if err != nil {
		return nil, err
	}
	return &ftwallProc{Proc: p, args: args, log: log}, nil
}

// waitReady waits until ftwall reads its queues.
func (p *ftwallProc) waitReady(ctx context.Context) error {
	t := time.NewTimer(ftwallReadyTimeout)
	defer t.Stop()
	select {
	case <-p.log.Ready():
		return nil
	case <-p.Done():
		p.log.Flush()
		return fmt.Errorf("ftwall run exited before it was ready (%v); its log:\n%s", p.Err(), p.tail())
	case <-t.C:
		return fmt.Errorf("ftwall run not ready after %s (no %q log line); its log:\n%s", ftwallReadyTimeout, readyMarker, p.tail())
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// stop sends SIGTERM and waits for the exit (SIGKILL after a while). It
// returns the exit error, an error when the process had to be killed, and
// whether it was still running when stop was called.
func (p *ftwallProc) stop() (wasRunning bool, err error) {
	wasRunning, err = p.Stop(ftwallStopTimeout)
	p.log.Flush()
	return wasRunning, err
}

// tail is the end of ftwall's log, indented.
func (p *ftwallProc) tail() string {
	lines := p.log.Tail()
	if len(lines) == 0 {
		return "    (no output)"
	}
	return "    " + strings.Join(lines, "\n    ")
}

// commandLine is how the demo started ftwall, for the narrative.
func (p *ftwallProc) commandLine() string {
	return "ftwall " + strings.Join(p.args, " ")
}
