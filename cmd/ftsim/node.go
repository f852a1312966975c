package main

import (
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ftwall/ftwall/internal/ftsim"
)

func nodeCommand(stdout, stderr io.Writer) *cli.Command {
	return &cli.Command{
		Name:  "node",
		Usage: "play a FastTrack supernode: answer pings, accept TCP, serve downloads",
		Description: "Listens for UDP and TCP on one port number on every listen address. Pings (0x27) are answered " +
			"from the address pinged with a supernode pong (0x28; --pong 0x29 or none); TCP connections get the " +
			"8-byte answer to a session start, a file for a FastTrack GET (X-Kazaa-* response headers), a download " +
			"request after a GIVE. Stops after --for or on SIGINT/SIGTERM, then prints its report. The log line " +
			"\"node listening\" on stderr says it is ready and on which port.",
		HideHelpCommand: true,
		OnUsageError:    onUsageError,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "listen", Usage: "local `address` (repeat; default: all IPv4 and IPv6 addresses)"},
			&cli.UintFlag{Name: "port", Value: 1214, Usage: "UDP and TCP `port` (0: any free port)"},
			&cli.StringFlag{Name: "network", Value: ftsim.DefaultNetwork, Usage: "network `name` in pongs and X-Kazaa-Network"},
			&cli.StringFlag{Name: "pong", Value: "0x28", Usage: "answer to pings: 0x28, 0x29 or none"},
			&cli.UintFlag{Name: "load", Value: 10, Usage: "load `percent` in supernode pongs"},
			&cli.DurationFlag{Name: "for", Value: 30 * time.Second, Usage: "lifetime (0: until SIGINT/SIGTERM)"},
			&cli.Int64Flag{Name: "body-size", Value: ftsim.DefaultBodySize, Usage: "`bytes` of the served file"},
			&cli.StringFlag{Name: "username", Value: ftsim.DefaultUsername, Usage: "X-Kazaa-Username"},
			&cli.StringFlag{Name: "supernode", Usage: "X-Kazaa-SupernodeIP `ip:port` of responses (default: none)"},
			&cli.StringFlag{Name: "hash", Value: ftsim.DefaultHash, Usage: "file hash requested after a GIVE"},
			&cli.DurationFlag{Name: "io-timeout", Value: ftsim.DefaultIOTimeout, Usage: "bound of each TCP connection"},
			&cli.IntFlag{Name: "max-conns", Value: ftsim.DefaultMaxConns, Usage: "simultaneous TCP connections"},
			&cli.Int64Flag{Name: "max-download", Value: ftsim.DefaultMaxDownload, Usage: "most body `bytes` read after a GIVE"},
			logLevelFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError("node: unexpected arguments %q", c.Args().Slice())
			}
			log, err := newLogger(c, stderr)
			if err != nil {
				return err
			}
			o := ftsim.NodeOptions{
				Log:         log,
				Network:     c.String("network"),
				For:         c.Duration("for"),
				BodySize:    c.Int64("body-size"),
				Username:    c.String("username"),
				Hash:        c.String("hash"),
				IOTimeout:   c.Duration("io-timeout"),
				MaxConns:    c.Int("max-conns"),
				MaxDownload: c.Int64("max-download"),
			}
			if o.Port, err = portFlag(c, "port"); err != nil {
				return err
			}
			if o.Listen, err = addrsFlag(c, "listen"); err != nil {
				return err
			}
			if o.Supernode, err = addrPortFlag(c, "supernode"); err != nil {
				return err
			}
			if strings.EqualFold(c.String("pong"), "none") {
				o.NoPong = true
			} else if o.Pong, err = ftsim.ParseMsgType(c.String("pong")); err != nil {
				return usageError("--pong: %v", err)
			}
			load := c.Uint("load")
			if load > 100 {
				return usageError("--load %d: want 0 to 100", load)
			}
			o.Load = byte(load)
			n, err := ftsim.StartNode(c.Context, o)
			if err != nil {
				return err
			}
			return printJSON(stdout, n.Wait())
		},
	}
}
