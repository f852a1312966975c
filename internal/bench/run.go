package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ftwall/ftwall/internal/lab"
)

// runner holds one benchmark run's lab and state.
type runner struct {
	o      Options
	sz     sizes
	log    *slog.Logger
	lab    *lab.Lab
	sinks  *Sinks
	iperf  *Proc
	report *Report
	tmp    string

	p2Peaks, p4Peaks Series // peak RSS of ftwall run per run (P5)
	p2AllowPeaks     Series // the same in P2's allowlist runs
	p3p99            Series
}

// iperfPort is the iperf3 server's port in the internet namespace.
const iperfPort = 5201

// Run builds a lab, runs every benchmark and returns the report; it writes
// it to o.Out too. A benchmark that fails is reported in its section and the
// others still run; the error is for a run that could not happen at all.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	start := time.Now()
	r := &runner{o: o, sz: fullSizes, log: o.Log}
	if o.Quick {
		r.sz = quickSizes
	}
	r.report = &Report{Command: o.Command, Runs: o.Runs, Quick: o.Quick, Only: o.Only, Machine: ReadMachine(ctx, o.Ftwall)}
	tmp, err := os.MkdirTemp("", "ftwbench-")
	if err != nil {
		return nil, fmt.Errorf("create a temporary directory: %w", err)
	}
	r.tmp = tmp
	defer os.RemoveAll(tmp)

	r.log.Info("building the lab")
	l, err := lab.New(ctx, "ftwbench")
	if err != nil {
		return nil, err
	}
	r.lab = l
	defer func() {
		if err := l.Close(); err != nil {
			r.log.Warn("lab not removed completely", "err", err)
		}
	}()
	if err := extendLab(ctx, l); err != nil {
		return nil, err
	}
	if o.Ftsim != "" {
		r.report.Sanity = r.sanity(ctx)
		r.log.Info("sanity check", "result", r.report.Sanity)
	}
	if r.sinks, err = InstallSinks(l.Internet); err != nil {
		return nil, err
	}
	r.iperf, err = StartProc(l.Internet, "iperf3 server", "iperf3", "-s", "-p", strconv.Itoa(iperfPort))
	if err != nil {
		return nil, err
	}
	defer r.iperf.Kill()

	for _, b := range []struct {
		name string
		fn   func(context.Context) *Section
	}{{"P1", r.p1}, {"P2", r.p2}, {"P3", r.p3}, {"P4", r.p4}} {
		if ctx.Err() != nil {
			break
		}
		if !r.o.runs(b.name) {
			continue
		}
		r.log.Info("benchmark", "part", b.name)
		s := b.fn(ctx)
		r.report.Sections = append(r.report.Sections, s)
		for _, e := range s.Errors {
			r.log.Warn("benchmark run failed", "part", b.name, "err", e)
		}
	}
	if r.o.runs("P5") {
		r.report.Sections = append(r.report.Sections, r.p5())
	}
	if r.o.runs("P6") && ctx.Err() == nil {
		r.log.Info("benchmark", "part", "P6")
		s := r.p6(ctx)
		r.report.Sections = append(r.report.Sections, s)
		for _, e := range s.Errors {
			r.log.Warn("benchmark run failed", "part", "P6", "err", e)
		}
	}
	r.report.Checks = checks(r.report)
	r.report.Took = time.Since(start)
	r.report.Machine.finish()
	if err := ctx.Err(); err != nil {
		return r.report, fmt.Errorf("interrupted: %w", err)
	}
	if o.Out != "" {
		if err := writeFileAtomic(o.Out, r.report.Markdown()); err != nil {
			return r.report, err
		}
	}
	return r.report, nil
}

// cleanRouter removes ftwall's and ftwbench's tables from the router, so
// that each configuration starts from an empty ruleset.
func (r *runner) cleanRouter(ctx context.Context) error {
	if err := teardownIn(ctx, r.lab.Router); err != nil {
		return err
	}
	return RemoveTable(r.lab.Router)
}

// ftwallRunArgs is `ftwall run` as the benchmarks start it.
func ftwallRunArgs(queues int, extra ...string) []string {
	return append([]string{"run", "--lan", lab.IfLAN0, "--lan", lab.IfLAN1, "--queues", strconv.Itoa(queues), "--log", ""}, extra...)
}

// startFtwall starts `ftwall run` in the router and waits until it reads
// its queues; it returns the time from its start until then.
func (r *runner) startFtwall(ctx context.Context, s *Section, queues int, extra ...string) (*Proc, time.Duration, error) {
	p, err := StartProc(r.lab.Router, "ftwall run", r.o.Ftwall, ftwallRunArgs(queues, extra...)...)
	if err != nil {
		return nil, 0, err
	}
	s.command("ip netns exec <router> " + p.CommandLine())
	ready, err := p.WaitOutput(ctx, "msg=inspecting", 5*time.Minute)
	if err == nil {
		err = waitRouterQueues(ctx, r.lab.Router, uint16(queues))
	}
	if err != nil {
		p.Kill()
		return nil, 0, err
	}
	return p, ready, nil
}

// startAcceptLoop starts the bare verdict loop in the router (accepting,
// or dropping when drop).
func (r *runner) startAcceptLoop(ctx context.Context, s *Section, queues int, historical, drop bool) (*Proc, error) {
	args := []string{"accept-loop", "--queue", "0", "--queues", strconv.Itoa(queues)}
	if historical {
		args = append(args, "--historical")
	}
	if drop {
		args = append(args, "--drop")
	}
	p, err := StartProc(r.lab.Router, "ftwbench accept-loop", r.o.Self, args...)
	if err != nil {
		return nil, err
	}
	s.command("ip netns exec <router> " + ShellQuote(append([]string{"ftwbench"}, args...)))
	if _, err := p.WaitOutput(ctx, "msg="+ReadyMessage, 30*time.Second); err != nil {
		p.Kill()
		return nil, err
	}
	if err := waitRouterQueues(ctx, r.lab.Router, uint16(queues)); err != nil {
		p.Kill()
		return nil, err
	}
	return p, nil
}

// stopProc stops p and records an unclean exit in s.
func stopProc(s *Section, p *Proc) {
	if err := p.Stop(30 * time.Second); err != nil {
		s.fail("%v", err)
	}
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write the report %s: %w", path, err)
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write the report %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write the report %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write the report %s: %w", path, err)
	}
	return nil
}
