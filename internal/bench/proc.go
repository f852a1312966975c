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
// accept loop, the iperf3 server), with its output collected.
type Proc struct {
	*lab.Proc
	cmdline string
	out     *lab.Buffer
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

// StartProc starts path with args in ns.
func StartProc(ns *lab.NS, name, path string, args ...string) (*Proc, error) {
	out := &lab.Buffer{}
	lp, err := lab.StartProc(ns, name, out, childEnv(), path, args...)
	if err != nil {
		return nil, err
	}
	return &Proc{Proc: lp, out: out, cmdline: ShellQuote(append([]string{path}, args...))}, nil
}

// CommandLine is the program's command line (without `ip netns exec`).
func (p *Proc) CommandLine() string { return p.cmdline }

// Output returns what the program printed so far.
func (p *Proc) Output() string { return p.out.String() }

// WaitOutput waits until the output contains text and returns the time
// from the start of the program until then (measured when seen, polling
// every millisecond).
func (p *Proc) WaitOutput(ctx context.Context, text string, limit time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(limit)
	for {
		if strings.Contains(p.out.String(), text) {
			return time.Since(p.Started()), nil
		}
		select {
		case <-p.Done():
			return 0, fmt.Errorf("%s exited (%v) before printing %q:\n%s", p.Name(), p.Err(), text, tail(p.out.String(), 2000))
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s did not print %q within %v:\n%s", p.Name(), text, limit, tail(p.out.String(), 2000))
		}
	}
}

// Stop sends SIGTERM and waits up to limit, then kills. It reports an
// unclean exit (other than by SIGTERM).
func (p *Proc) Stop(limit time.Duration) error {
	_, err := p.Proc.Stop(limit)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w:\n%s", p.Name(), err, tail(p.out.String(), 2000))
	}
	return nil
}

// PeakRSS returns the program's peak resident set size (VmHWM) in bytes.
func (p *Proc) PeakRSS() (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		return 0, fmt.Errorf("read the peak RSS of %s: %w", p.Name(), err)
	}
	v, err := ParseVmHWM(b)
	if err != nil {
		return 0, fmt.Errorf("read the peak RSS of %s: %w", p.Name(), err)
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
