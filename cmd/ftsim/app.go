package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ftwall/ftwall/internal/ftsim"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the simulator could not run (sockets, …)
	exitUsage = 2 // bad flags
)

// run runs the command line args and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.RunContext(ctx, args)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "ftsim: %v\n", err)
	var ec cli.ExitCoder
	switch {
	case errors.As(err, &ec):
		return ec.ExitCode()
	case errors.Is(err, ftsim.ErrOptions):
		return exitUsage
	}
	return exitError
}

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:  "ftsim",
		Usage: "simulate FastTrack (Kazaa) clients and supernodes for ftwall's tests and demo",
		Description: "ftsim client joins the network like a Kazaa 2.x client (UDP ping flood, then parallel TCP, then one TCP " +
			"connect at a time), downloads over HTTP with X-Kazaa-* headers and pushes with GIVE; ftsim node answers pings, " +
			"accepts TCP and serves downloads; ftsim gift behaves like the genuine giFT 0.11.9 + giFT-FastTrack 0.8.9 client " +
			"(connects before pings, quiet open sessions, a reconnect loop over its node cache and fallback list, probes " +
			"never answered). All stop by themselves and print a JSON report on stdout.",
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		// Errors come back to run, which prints them and picks the exit code.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   onUsageError,
		Commands:       []*cli.Command{clientCommand(stdout, stderr), nodeCommand(stdout, stderr), giftCommand(stdout, stderr)},
	}
}

// onUsageError turns flag parsing errors into exit code 2, without the help
// text on stdout (which carries only reports).
func onUsageError(_ *cli.Context, err error, _ bool) error {
	return cli.Exit(err.Error()+" (see --help)", exitUsage)
}

func logLevelFlag() cli.Flag {
	return &cli.StringFlag{
		Name:  "log-level",
		Usage: "progress messages on stderr: debug, info, warn or error",
		Value: "info",
	}
}

// newLogger returns a text logger on stderr at the --log-level level.
func newLogger(c *cli.Context, stderr io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return nil, usageError("--log-level %q: want debug, info, warn or error", c.String("log-level"))
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl})), nil
}

// printJSON writes v indented, with a final newline.
func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the report: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func usageError(format string, args ...any) error {
	return cli.Exit(fmt.Sprintf(format, args...), exitUsage)
}

// commaList splits repeated flag values that may themselves hold comma- or
// blank-separated lists.
func commaList(vals []string) []string {
	var out []string
	for _, v := range vals {
		out = append(out, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })...)
	}
	return out
}
