package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
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
	cmd  *exec.Cmd
	args []string
	log  *logSink
	done chan struct{}
	err  error // valid once done is closed
}

// ftwallArgs are the arguments of `ftwall run` in the demo.
func ftwallArgs() []string {
	return []string{"run", "--lan", lab.IfLAN0, "--lan", lab.IfLAN1, "--timelock", TimeLock.String(),
		"--log", "all", "--summary-interval", "0"}
}

// startFtwall starts ftwall run in ns. Its log goes to verbose (with a
// prefix) when that is not nil, and always into a short tail.
func startFtwall(ns *lab.NS, path string, verbose io.Writer) (*ftwallProc, error) {
	return startProcess(ns, path, ftwallArgs(), newLogSink(verbose, "    ftwall| ", readyMarker, tailLines))
}

// startProcess starts path with args in ns, its output going to log.
func startProcess(ns *lab.NS, path string, args []string, log *logSink) (*ftwallProc, error) {
	p := &ftwallProc{args: args, log: log, done: make(chan struct{})}
	// Not bound to a context: stop ends it with SIGTERM, so that it exits
	// the way an administrator's service manager would stop it.
	p.cmd = ns.Command(context.Background(), path, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	// Should the demo itself be killed, ftwall gets SIGTERM instead of
	// running on in a lab nobody removes. The kernel sends that signal when
	// the *thread* that started the process ends, and Go ends threads whose
	// goroutine exits while locked to them (internal/lab's NS.Do does that
	// all the time). So ftwall is started and waited for by one goroutine
	// that keeps its thread locked: nothing else runs on that thread, and it
	// ends only after ftwall has.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked, see above
		if err := p.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = p.cmd.Wait()
		p.log.Flush()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s in network namespace %s: %w", path, ns.Name, err)
	}
	return p, nil
}

// waitReady waits until ftwall reads its queues.
func (p *ftwallProc) waitReady(ctx context.Context) error {
	t := time.NewTimer(ftwallReadyTimeout)
	defer t.Stop()
	select {
	case <-p.log.Ready():
		return nil
	case <-p.done:
		return fmt.Errorf("ftwall run exited before it was ready (%v); its log:\n%s", p.err, p.tail())
	case <-t.C:
		return fmt.Errorf("ftwall run not ready after %s (no %q log line); its log:\n%s", ftwallReadyTimeout, readyMarker, p.tail())
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// running reports whether the process has not exited yet.
func (p *ftwallProc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and waits for the exit (SIGKILL after a while). It
// returns the exit error, an error when the process had to be killed, and
// whether it was still running when stop was called.
func (p *ftwallProc) stop() (wasRunning bool, err error) {
	wasRunning = p.running()
	if wasRunning {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return wasRunning, fmt.Errorf("send SIGTERM to ftwall run: %w", err)
		}
	}
	t := time.NewTimer(ftwallStopTimeout)
	defer t.Stop()
	select {
	case <-p.done:
		return wasRunning, p.err
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		return wasRunning, fmt.Errorf("ftwall run did not stop within %s of SIGTERM and was killed", ftwallStopTimeout)
	}
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
