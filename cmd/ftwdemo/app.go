package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/ftwall/ftwall/internal/demo"
)

// Exit codes.
const (
	exitOK     = 0 // FastTrack blocked, ordinary traffic untouched
	exitFailed = 1 // a check failed, or the demo could not run
	exitUsage  = 2 // bad flags
)

// run runs the command line args and returns the exit code; euid is the
// effective user id (the demo needs root).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, euid int) int {
	code := exitOK
	app := &cli.App{
		Name:  "ftwdemo",
		Usage: "show ftwall blocking a simulated Kazaa client in a throw-away namespace lab",
		Description: "Builds network namespaces (a Kazaa PC and a neighbour on two LAN links of a router, and an \"internet\" " +
			"with a web server, a DNS-like server and simulated supernodes), runs `ftwall run` on the router, plays the Kazaa " +
			"client (UDP ping flood, TCP modes, an HTTP download with UDP off) and ordinary traffic, and prints what got " +
			"through, the learned peers and locked clients and the rule counters; then removes everything. Needs root; " +
			"touches nothing outside its own namespaces. Exit status 0: FastTrack blocked and ordinary traffic not; 1 otherwise.",
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return cli.Exit(err.Error()+" (see --help)", exitUsage)
		},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ftwall", Usage: "the ftwall `BINARY` to run on the router (default: ftwall next to ftwdemo, else ftwall in $PATH)"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "show ftwall's own log as it runs"},
			&cli.BoolFlag{Name: "keep", Usage: "keep the lab and ftwall running after the demo, until Ctrl-C, to look around"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return cli.Exit(fmt.Sprintf("unexpected argument %q (see --help)", c.Args().First()), exitUsage)
			}
			if euid != 0 {
				return demo.ErrNotRoot
			}
			path := c.String("ftwall")
			if path == "" {
				p, err := findFtwall()
				if err != nil {
					return err
				}
				path = p
			}
			res, err := demo.Run(c.Context, demo.Options{
				FtwallPath: path,
				Out:        stdout,
				Verbose:    c.Bool("verbose"),
				Keep:       c.Bool("keep"),
			})
			if err != nil {
				return err
			}
			if !res.Passed() {
				code = exitFailed
			}
			return nil
		},
	}
	if err := app.RunContext(ctx, args); err != nil {
		fmt.Fprintf(stderr, "ftwdemo: %v\n", err)
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			return ec.ExitCode()
		}
		return exitFailed
	}
	return code
}

// findFtwall looks for the ftwall binary next to this program (bin/ftwall
// beside bin/ftwdemo), then in $PATH.
func findFtwall() (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "ftwall")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	p, err := exec.LookPath("ftwall")
	if err != nil {
		return "", errors.New("no ftwall binary next to ftwdemo or in $PATH: build it with `make build` and pass --ftwall bin/ftwall")
	}
	return p, nil
}
