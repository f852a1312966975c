package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/ftwall/ftwall/internal/audit"
)

func (inv *invocation) inspect(c *cli.Context) error {
	// Files named on the command line (--pcap or arguments) replace those
	// from FTWALL_INSPECT_PCAP or the configuration file.
	files := listValue(c, optPcap)
	if c.Args().Present() {
		if !inv.onCommandLine(optPcap) {
			files = nil
		}
		files = append(files, c.Args().Slice()...)
	}
	if len(files) == 0 {
		return usagef("inspect: no capture file given; use --pcap FILE (see ftwall inspect --help)")
	}
	ds, err := inv.detectors(c)
	if err != nil {
		return err
	}
	opts := audit.Options{Files: files, JSON: c.Bool(optJSON), Detectors: ds, Stdin: inv.env.stdin}
	for _, s := range listValue(c, optLAN) {
		p, err := parsePrefix(s)
		if err != nil {
			return inv.badOption(optLAN, "%v", err)
		}
		opts.LAN = append(opts.LAN, p)
	}
	if len(opts.LAN) == 0 {
		opts.LAN = inv.env.defaultLAN()
	}
	// Check every file before the audit starts, so a typo in the last name
	// does not end a long report as "incomplete".
	stdin := 0
	for _, f := range files {
		if f == audit.StdinName {
			if stdin++; stdin > 1 {
				return usagef("inspect: standard input (-) given twice")
			}
			continue
		}
		st, err := os.Stat(f)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return fmt.Errorf("capture file %s: %w", f, err)
		}
		if st.IsDir() {
			return fmt.Errorf("capture file %s: is a directory", f)
		}
	}
	return inv.env.runAudit(c.Context, opts, inv.env.stdout)
}
