package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/ftwall/ftwall/internal/lab"
)

// Proc is a long-running program inside a lab namespace (`ftwall run`, the
// accept loop, the iperf3 server).
type Proc struct {
	name    string
	cmdline string
	cmd     *exec.Cmd
	out     *lab.Buffer
	done    chan struct{}
	waitErr error
	started time.Time
}

// childEnv is the environment of the programs ftwbench starts: its own,
// without FTWALL_* variables, so that only the options on the recorded
// command line apply.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FTWALL_") {
			env = append(env, kv)
		}
	}
	return env
}

// StartProc starts path with args in ns (`ip netns exec`, which execs the
// program itself, so the process id is the program's).
func StartProc(ns *lab.NS, name, path string, args ...string) (*Proc, error) {
	p := &Proc{name: name, out: &lab.Buffer{}, done: make(chan struct{})}
	p.cmd = ns.Command(context.Background(), path, args...)
	p.cmd.Env = childEnv()
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmdline = ShellQuote(append([]string{path}, args...))
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s in network namespace %s: %w", name, ns.Name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// CommandLine is the program's command line (without `ip netns exec`).
func (p *Proc) CommandLine() string { return p.cmdline }

// Output returns what the program printed so far.
func (p *Proc) Output() string { return p.out.String() }

// Pid is the program's process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// WaitOutput waits until the output contains text and returns the time
// from the start of the program until then (measured when seen, polling
// every millisecond).
func (p *Proc) WaitOutput(ctx context.Context, text string, limit time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(limit)
	for {
		if strings.Contains(p.out.String(), text) {
			return time.Since(p.started), nil
		}
		select {
		case <-p.done:
			return 0, fmt.Errorf("%s exited (%v) before printing %q:\n%s", p.name, p.waitErr, text, tail(p.out.String(), 2000))
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s did not print %q within %v:\n%s", p.name, text, limit, tail(p.out.String(), 2000))
		}
	}
}

// Stop sends SIGTERM and waits up to limit, then kills. It reports an
// unclean exit (other than by SIGTERM).
func (p *Proc) Stop(limit time.Duration) error {
	select {
	case <-p.done:
		return p.exitError()
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.exitError()
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %v of SIGTERM and was killed", p.name, limit)
	}
}

// Kill kills the program at once (cleanup after a failure).
func (p *Proc) Kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *Proc) exitError() error {
	if p.waitErr == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(p.waitErr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			return nil
		}
	}
	return fmt.Errorf("%s: %w:\n%s", p.name, p.waitErr, tail(p.out.String(), 2000))
}

// PeakRSS returns the program's peak resident set size (VmHWM) in bytes.
func (p *Proc) PeakRSS() (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		return 0, fmt.Errorf("read the peak RSS of %s: %w", p.name, err)
	}
	v, err := ParseVmHWM(b)
	if err != nil {
		return 0, fmt.Errorf("read the peak RSS of %s: %w", p.name, err)
	}
	return v, nil
}

// RunTimed runs path with args in ns to completion and returns its output
// and wall-clock duration (including `ip netns exec`'s own start).
func RunTimed(ctx context.Context, ns *lab.NS, path string, args ...string) (string, time.Duration, error) {
	cmd := ns.Command(ctx, path, args...)
	cmd.Env = childEnv()
	var out bytes.Buffer
	cmd.Stdout = &out
	var errb bytes.Buffer
	cmd.Stderr = &errb
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if err != nil {
		return out.String(), took, fmt.Errorf("in network namespace %s: %s: %w: %s", ns.Name, ShellQuote(append([]string{path}, args...)), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), took, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// ShellQuote joins args into a command line that a POSIX shell reads back
// as the same words.
func ShellQuote(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,@+%", r))
		}) < 0 {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}
