package main

import (
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ftwall/ftwall/internal/ftsim"
)

func giftCommand(stdout, stderr io.Writer) *cli.Command {
	return &cli.Command{
		Name:  "gift",
		Usage: "behave like the genuine giFT 0.11.9 + giFT-FastTrack 0.8.9 client and report what happened",
		Description: "Connects by TCP to the first --sessions cached nodes, then pings the next --pings-per-round with " +
			"0x27 from its UDP port (--port, also its TCP listen port); a session sends the fixed 12-byte start, 6 and " +
			"21 bytes and stays open; every failed session removes its node from the cache and starts the next connect " +
			"at once; an empty cache is reloaded from the fallback list (--fallback, --fallback-file), or, without one, " +
			"the client waits --retry-interval. Pongs (0x28 and 0x29 alike) move their node to the front of the cache; " +
			"a ping without a pong stalls discovery for --udp-timeout. Pings to its port are never answered. GET and " +
			"GIVE are served on the TCP port. Stops after --for, after --max-connects, or on SIGINT/SIGTERM, then " +
			"prints its report. The log line \"gift started\" on stderr says it is ready and on which port.",
		HideHelpCommand: true,
		OnUsageError:    onUsageError,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "node", Usage: "a cached node `ip:port`, best first (repeat, or comma-separate)"},
			&cli.StringFlag{Name: "nodes-file", Usage: "more cached nodes from `FILE`, one ip:port a line, # comments"},
			&cli.StringSliceFlag{Name: "fallback", Usage: "a fallback node `ip:port`, loaded when the cache is empty (repeat, or comma-separate)"},
			&cli.StringFlag{Name: "fallback-file", Usage: "more fallback nodes from `FILE` (giFT's nodes file), one ip:port a line"},
			&cli.StringFlag{Name: "network", Value: ftsim.DefaultNetwork, Usage: "network `name` of pings and sessions"},
			&cli.UintFlag{Name: "port", Value: ftsim.DefaultGiftPort, Usage: "UDP and TCP `port` (0: any free port)"},
			&cli.StringSliceFlag{Name: "bind", Usage: "local `address` for the UDP sockets and TCP listeners (default: all IPv4 and IPv6 addresses)"},
			&cli.IntFlag{Name: "sessions", Value: ftsim.DefaultGiftSessions, Usage: "sessions kept, connecting or established"},
			&cli.IntFlag{Name: "pings-per-round", Value: ftsim.DefaultGiftPingsPerRound, Usage: "nodes pinged per discovery cycle"},
			&cli.DurationFlag{Name: "udp-timeout", Value: ftsim.DefaultGiftUDPTimeout, Usage: "wait of a ping for its pong"},
			&cli.DurationFlag{Name: "connect-timeout", Value: ftsim.DefaultGiftConnectTimeout, Usage: "bound of each TCP connect"},
			&cli.DurationFlag{Name: "handshake-timeout", Value: ftsim.DefaultGiftHandshakeTimeout, Usage: "wait for each part of the node's handshake"},
			&cli.DurationFlag{Name: "retry-interval", Value: ftsim.DefaultGiftRetryInterval, Usage: "period of the retry timer"},
			&cli.DurationFlag{Name: "for", Value: ftsim.DefaultGiftFor, Usage: "run duration"},
			&cli.IntFlag{Name: "max-connects", Value: ftsim.DefaultGiftMaxConnects, Usage: "most TCP connects; the client stops when they are used up and no session is left"},
			&cli.StringFlag{Name: "username", Value: ftsim.DefaultGiftUsername, Usage: "X-Kazaa-Username of served files"},
			&cli.Int64Flag{Name: "body-size", Value: ftsim.DefaultBodySize, Usage: "`bytes` of the served file"},
			&cli.StringFlag{Name: "hash", Value: ftsim.DefaultHash, Usage: "file hash requested after a GIVE"},
			&cli.DurationFlag{Name: "io-timeout", Value: ftsim.DefaultIOTimeout, Usage: "bound of each accepted TCP connection"},
			&cli.IntFlag{Name: "max-conns", Value: ftsim.DefaultMaxConns, Usage: "simultaneous accepted TCP connections"},
			&cli.Int64Flag{Name: "max-download", Value: ftsim.DefaultMaxDownload, Usage: "most body `bytes` read after a GIVE"},
			logLevelFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError("gift: unexpected arguments %q", c.Args().Slice())
			}
			log, err := newLogger(c, stderr)
			if err != nil {
				return err
			}
			o, err := giftOptions(c)
			if err != nil {
				return err
			}
			o.Log = log
			g, err := ftsim.StartGift(c.Context, o)
			if err != nil {
				return err
			}
			return printJSON(stdout, g.Wait())
		},
	}
}

// giftOptions turns the flags into options; it reports flag errors as
// usage errors.
func giftOptions(c *cli.Context) (ftsim.GiftOptions, error) {
	o := ftsim.GiftOptions{
		Network:          c.String("network"),
		Sessions:         c.Int("sessions"),
		PingsPerRound:    c.Int("pings-per-round"),
		UDPTimeout:       c.Duration("udp-timeout"),
		ConnectTimeout:   c.Duration("connect-timeout"),
		HandshakeTimeout: c.Duration("handshake-timeout"),
		RetryInterval:    c.Duration("retry-interval"),
		For:              c.Duration("for"),
		MaxConnects:      c.Int("max-connects"),
		Username:         c.String("username"),
		BodySize:         c.Int64("body-size"),
		Hash:             c.String("hash"),
		IOTimeout:        c.Duration("io-timeout"),
		MaxConns:         c.Int("max-conns"),
		MaxDownload:      c.Int64("max-download"),
	}
	// A zero duration or count would mean "the default" to the options:
	// on the command line it is a mistake.
	for _, name := range []string{"udp-timeout", "connect-timeout", "handshake-timeout", "retry-interval", "for", "io-timeout"} {
		if c.Duration(name) <= 0 {
			return o, usageError("--%s %s: want more than 0", name, c.Duration(name))
		}
	}
	for _, name := range []string{"sessions", "pings-per-round", "max-connects", "max-conns"} {
		if c.Int(name) <= 0 {
			return o, usageError("--%s %d: want more than 0", name, c.Int(name))
		}
	}
	var err error
	if o.Nodes, err = nodeList(c, "node", "nodes-file"); err != nil {
		return o, err
	}
	if o.Fallback, err = nodeList(c, "fallback", "fallback-file"); err != nil {
		return o, err
	}
	if o.Port, err = portFlag(c, "port"); err != nil {
		return o, err
	}
	if o.Port == 0 {
		o.RandomPort = true
	}
	if o.Bind, err = addrsFlag(c, "bind"); err != nil {
		return o, err
	}
	return o, nil
}

// nodeList reads the nodes of a repeated ip:port flag and of a file flag,
// in that order, each once.
func nodeList(c *cli.Context, flag, fileFlag string) ([]netip.AddrPort, error) {
	nodes, err := ftsim.ParseNodes(strings.Join(commaList(c.StringSlice(flag)), "\n"))
	if err != nil {
		return nil, usageError("--%s: %v", flag, err)
	}
	f := c.String(fileFlag)
	if f == "" {
		return nodes, nil
	}
	b, err := os.ReadFile(f)
	if err != nil {
		return nil, usageError("--%s: %v", fileFlag, err)
	}
	more, err := ftsim.ParseNodes(string(b))
	if err != nil {
		return nil, usageError("--%s %s: %v", fileFlag, f, err)
	}
	for _, n := range more {
		if !slices.Contains(nodes, n) {
			nodes = append(nodes, n)
		}
	}
	if len(nodes) > ftsim.MaxNodes {
		return nil, usageError("--%s and --%s: %d nodes, at most %d", flag, fileFlag, len(nodes), ftsim.MaxNodes)
	}
	return nodes, nil
}
