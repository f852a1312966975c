package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// Proc is a long-running program inside a namespace (`ftwall run`, a
// helper, a server), started by StartProc.
type Proc struct {
	name    string
	cmd     *exec.Cmd
	started time.Time
	done    chan struct{}
	err     error // the Wait error, valid once done is closed
}

// StartProc starts path with args in n (`ip netns exec`, which execs the
// program itself, so the process id is the program's), its standard output
// and error going to out; env, when not nil, is its environment. name is
// the program's name for errors.
//
// Should the test or tool itself be killed, the program gets SIGTERM
// instead of running on in a namespace nobody removes. The kernel sends
// that signal when the *thread* that started the process ends, and Go ends
// threads whose goroutine exits while locked to them (NS.Do does that all
// the time). So the program is started and waited for by one goroutine that
// keeps its thread locked: nothing else runs on that thread, and it ends
// only after the program has.
func StartProc(n *NS, name string, out io.Writer, env []string, path string, args ...string) (*Proc, error) {
	p := &Proc{name: name, done: make(chan struct{})}
	// Not bound to a context: Stop ends it with SIGTERM, the way a service
	// manager would.
	p.cmd = n.Command(context.Background(), path, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	// A child the program left behind may hold its output open; do not wait
	// for that longer than this after the program itself has exited.
	p.cmd.WaitDelay = 2 * time.Second
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked, see above
		if err := p.cmd.Start(); err != nil {
			started <- err
			return
		}
		p.started = time.Now()
		started <- nil
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s in network namespace %s: %w", name, n.Name, err)
	}
	return p, nil
}

// Name is the program's name given to StartProc.
func (p *Proc) Name() string { return p.name }

// Pid is the program's process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Started is when the program was started.
func (p *Proc) Started() time.Time { return p.started }

// Done is closed when the program has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is the program's exit error (nil for exit status 0); valid once Done
// is closed.
func (p *Proc) Err() error { return p.err }

// Running reports whether the program has not exited yet.
func (p *Proc) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Signal sends sig to the program; a program that has exited already is
// not an error.
func (p *Proc) Signal(sig os.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("send %v to %s: %w", sig, p.name, err)
	}
	return nil
}

// Stop sends SIGTERM and waits up to limit for the exit, then kills the
// program. It returns whether the program was still running, and its exit
// error or an error saying it had to be killed.
func (p *Proc) Stop(limit time.Duration) (wasRunning bool, err error) {
	wasRunning = p.Running()
	if wasRunning {
		if err := p.Signal(syscall.SIGTERM); err != nil {
			return wasRunning, err
		}
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-p.done:
		return wasRunning, p.err
	case <-t.C:
		p.Kill()
		return wasRunning, fmt.Errorf("%s did not stop within %v of SIGTERM and was killed", p.name, limit)
	}
}

// Kill kills the program at once and waits for it.
func (p *Proc) Kill() {
	if p.Running() {
		_ = p.cmd.Process.Kill()
	}
	<-p.done
}
