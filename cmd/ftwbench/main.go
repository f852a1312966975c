// Command ftwbench runs ftwall's benchmark suite (P1–P6) in a throw-away
// namespace lab and writes BENCHMARKS.md; see package internal/bench. It
// needs root. `ftwbench accept-loop` is the bare NFQUEUE verdict loop the
// suite runs inside the lab's router namespace.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/ftwall/ftwall/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command line and returns the exit code: 0 success, 1 the
// benchmarks failed, 2 usage error.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	err := newApp(stderr).RunContext(ctx, args)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "ftwbench: %v\n", err)
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return 1
}

func newApp(stderr io.Writer) *cli.App {
	return &cli.App{
		Name:  "ftwbench",
		Usage: "run ftwall's benchmarks (P1–P6) in a namespace lab and write BENCHMARKS.md (needs root)",
		Description: "Builds a throw-away lab (client, router, internet namespaces), runs the ftwall binary in the router " +
			"and measures forwarding cost, inspector throughput, detection latency, scale with a million peers and memory. " +
			"Each figure is the median of --runs runs with its spread; --only runs some sections only. Nothing outside the lab's namespaces is touched.",
		Writer:          stderr,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return cli.Exit(err.Error()+" (see --help)", 2)
		},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ftwall", Usage: "the ftwall `BINARY` to benchmark", Value: "./bin/ftwall"},
			&cli.StringFlag{Name: "ftsim", Usage: "the ftsim `BINARY` for the sanity check before measuring (empty: skip it)"},
			&cli.StringFlag{Name: "out", Usage: "write the report to `FILE` (empty: standard output)", Value: "BENCHMARKS.md"},
			&cli.IntFlag{Name: "runs", Usage: "`N` runs per figure (default 5, 1 with --quick)"},
			&cli.BoolFlag{Name: "quick", Usage: "short smoke run: one run, small sizes (figures not comparable with the targets)"},
			&cli.StringSliceFlag{Name: "only", Usage: "run only these `SECTIONS` (P1–P6; repeat or separate with commas); the report is marked partial and judges only their targets (P5 reports memory seen in P2 and P4)"},
			&cli.BoolFlag{Name: "verbose", Usage: "log progress at debug level"},
		},
		Action:   benchAction,
		Commands: []*cli.Command{acceptLoopCommand()},
	}
}

func benchAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return cli.Exit(fmt.Sprintf("unexpected argument %q (see --help)", c.Args().First()), 2)
	}
	level := slog.LevelInfo
	if c.Bool("verbose") {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level}))
	o := bench.Options{
		Ftwall:  c.String("ftwall"),
		Ftsim:   c.String("ftsim"),
		Out:     c.String("out"),
		Runs:    c.Int("runs"),
		Quick:   c.Bool("quick"),
		Only:    c.StringSlice("only"),
		Command: commandLine(os.Args),
		Log:     log,
	}
	if c.IsSet("runs") && o.Runs < 1 {
		return cli.Exit(fmt.Sprintf("--runs %d: want at least 1", o.Runs), 2)
	}
	if c.IsSet("only") {
		only, err := bench.ParseSections(o.Only)
		if err != nil {
			return cli.Exit(err.Error(), 2)
		}
		o.Only = only
	}
	rep, err := bench.Run(c.Context, o)
	if err != nil {
		return err
	}
	if o.Out == "" {
		_, err := os.Stdout.Write(rep.Markdown())
		return err
	}
	met := 0
	for _, ch := range rep.Checks {
		if ch.Verdict() == "met" {
			met++
		}
	}
	log.Info("report written", "file", o.Out, "targets_met", met, "targets", len(rep.Checks), "took", rep.Took.Round(1e9))
	return nil
}

// commandLine is the invocation as a shell would read it back, with the
// program name as typed.
func commandLine(args []string) string {
	return bench.ShellQuote(args)
}

func acceptLoopCommand() *cli.Command {
	return &cli.Command{
		Name:   "accept-loop",
		Usage:  "verdict every packet of NFQUEUE queues with accept or drop, without looking at it (run by the benchmarks inside the lab's router)",
		Hidden: true,
		Flags: []cli.Flag{
			&cli.UintFlag{Name: "queue", Usage: "first queue `NUMBER`"},
			&cli.UintFlag{Name: "queues", Value: 1, Usage: "`COUNT` of queues, one reader each"},
			&cli.BoolFlag{Name: "historical", Usage: "no fail-open and no GSO, like ftwall 1.x's reader"},
			&cli.BoolFlag{Name: "drop", Usage: "verdict drop instead of accept"},
		},
		Action: func(c *cli.Context) error {
			q, n := c.Uint("queue"), c.Uint("queues")
			if q > 65535 || n < 1 || n > 65536 {
				return cli.Exit("--queue must be 0-65535 and --queues at least 1", 2)
			}
			log := slog.New(slog.NewTextHandler(c.App.ErrWriter, nil))
			return bench.AcceptLoop(c.Context, bench.AcceptLoopConfig{
				Queue: uint16(q), Queues: uint16(n), Historical: c.Bool("historical"), Drop: c.Bool("drop"), Log: log,
			})
		},
	}
}
