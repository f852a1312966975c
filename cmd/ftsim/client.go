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

func clientCommand(stdout, stderr io.Writer) *cli.Command {
	return &cli.Command{
		Name:  "client",
		Usage: "join the FastTrack network like a Kazaa client and report what got through",
		Description: "Pings every node by UDP and connects by TCP to those that invite it with a supernode pong (0x28); " +
			"when nothing answers it switches to parallel TCP connects, then to one connect at a time. FastTrack pings " +
			"to its UDP port (a firewall's time-lock probes) are answered all along. Then, if asked, an HTTP download " +
			"(--http) and a GIVE push (--give); then it keeps answering pings for --answer-probes.",
		HideHelpCommand: true,
		OnUsageError:    onUsageError,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "node", Usage: "a node `ip:port` or [ipv6]:port to ping and connect to (repeat, or comma-separate)"},
			&cli.StringFlag{Name: "nodes-file", Usage: "read more nodes from `FILE`, one ip:port a line, # comments"},
			&cli.StringFlag{Name: "network", Value: ftsim.DefaultNetwork, Usage: "FastTrack network `name` (KaZaA, fileshare, Grokster, …)"},
			&cli.UintFlag{Name: "port", Usage: "local UDP `port` (0: any free port)"},
			&cli.StringSliceFlag{Name: "bind", Usage: "local `address` for the UDP sockets (default: all IPv4 and IPv6 addresses)"},
			&cli.BoolFlag{Name: "udp", Value: true, Usage: "use UDP; --udp=false: no pings and no probe answers (a workstation firewall blocks UDP)"},
			&cli.IntFlag{Name: "udp-rounds", Value: 1, Usage: "ping rounds before deciding UDP is blocked"},
			&cli.IntFlag{Name: "pings", Value: 1, Usage: "identical pings per node and round"},
			&cli.DurationFlag{Name: "ping-wait", Value: ftsim.DefaultPingWait, Usage: "wait for pongs per round"},
			&cli.DurationFlag{Name: "connect-timeout", Value: ftsim.DefaultConnectTimeout, Usage: "bound of each TCP connect"},
			&cli.IntFlag{Name: "max-parallel", Value: ftsim.DefaultMaxParallel, Usage: "simultaneous connects in parallel mode"},
			&cli.BoolFlag{Name: "switch-on-node-pong", Usage: "treat node pongs (0x29) without an invitation as blocked and go on to TCP"},
			&cli.StringFlag{Name: "probe-reply", Value: "0x28", Usage: "pong `type` sent back to pings: 0x28 or 0x29"},
			&cli.DurationFlag{Name: "answer-probes", Usage: "keep answering pings this long after the other steps"},
			&cli.StringFlag{Name: "http", Usage: "download from this peer `ip:port`"},
			&cli.StringFlag{Name: "supernode", Usage: "X-Kazaa-SupernodeIP `ip:port` (default: the node connected to)"},
			&cli.StringFlag{Name: "hash", Value: ftsim.DefaultHash, Usage: "file hash to ask for (40 hex digits)"},
			&cli.StringFlag{Name: "range", Usage: "Range header `value` for the download, e.g. bytes=0-"},
			&cli.StringFlag{Name: "username", Value: ftsim.DefaultUsername, Usage: "X-Kazaa-Username"},
			&cli.DurationFlag{Name: "http-timeout", Value: ftsim.DefaultHTTPTimeout, Usage: "bound of the download and of the push"},
			&cli.Int64Flag{Name: "max-download", Value: ftsim.DefaultMaxDownload, Usage: "most body `bytes` read"},
			&cli.StringFlag{Name: "give", Usage: "push to this peer `ip:port` with GIVE and serve its request"},
			&cli.UintFlag{Name: "give-id", Value: ftsim.DefaultGiveID, Usage: "GIVE `id`"},
			&cli.Int64Flag{Name: "body-size", Value: ftsim.DefaultBodySize, Usage: "`bytes` of the file served over a push"},
			logLevelFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError("client: unexpected arguments %q", c.Args().Slice())
			}
			log, err := newLogger(c, stderr)
			if err != nil {
				return err
			}
			o, err := clientOptions(c)
			if err != nil {
				return err
			}
			o.Log = log
			cl, err := ftsim.NewClient(c.Context, o)
			if err != nil {
				return err
			}
			return printJSON(stdout, cl.Run(c.Context))
		},
	}
}

// clientOptions turns the flags into options; it reports flag errors as
// usage errors.
func clientOptions(c *cli.Context) (ftsim.ClientOptions, error) {
	o := ftsim.ClientOptions{
		Network:          c.String("network"),
		NoUDP:            !c.Bool("udp"),
		UDPRounds:        c.Int("udp-rounds"),
		PingsPerNode:     c.Int("pings"),
		PingWait:         c.Duration("ping-wait"),
		ConnectTimeout:   c.Duration("connect-timeout"),
		MaxParallel:      c.Int("max-parallel"),
		SwitchOnNodePong: c.Bool("switch-on-node-pong"),
		AnswerProbes:     c.Duration("answer-probes"),
		Hash:             c.String("hash"),
		Range:            c.String("range"),
		Username:         c.String("username"),
		HTTPTimeout:      c.Duration("http-timeout"),
		MaxDownload:      c.Int64("max-download"),
		BodySize:         c.Int64("body-size"),
	}
	nodes, err := ftsim.ParseNodes(strings.Join(commaList(c.StringSlice("node")), "\n"))
	if err != nil {
		return o, usageError("--node: %v", err)
	}
	if f := c.String("nodes-file"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return o, usageError("--nodes-file: %v", err)
		}
		more, err := ftsim.ParseNodes(string(b))
		if err != nil {
			return o, usageError("--nodes-file %s: %v", f, err)
		}
		for _, n := range more {
			if !slices.Contains(nodes, n) {
				nodes = append(nodes, n)
			}
		}
	}
	o.Nodes = nodes
	if o.Port, err = portFlag(c, "port"); err != nil {
		return o, err
	}
	if o.Bind, err = addrsFlag(c, "bind"); err != nil {
		return o, err
	}
	if o.ProbeReply, err = ftsim.ParseMsgType(c.String("probe-reply")); err != nil {
		return o, usageError("--probe-reply: %v", err)
	}
	for name, dst := range map[string]*netip.AddrPort{"http": &o.HTTP, "supernode": &o.Supernode, "give": &o.Give} {
		if *dst, err = addrPortFlag(c, name); err != nil {
			return o, err
		}
	}
	id := c.Uint("give-id")
	if id == 0 || uint64(id) > 1<<32-1 {
		return o, usageError("--give-id %d: want 1 to 4294967295", id)
	}
	o.GiveID = uint32(id)
	return o, nil
}

func portFlag(c *cli.Context, name string) (uint16, error) {
	p := c.Uint(name)
	if p > 65535 {
		return 0, usageError("--%s %d: want 0 to 65535", name, p)
	}
	return uint16(p), nil
}

func addrsFlag(c *cli.Context, name string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range commaList(c.StringSlice(name)) {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, usageError("--%s %q: want an IPv4 or IPv6 address", name, s)
		}
		out = append(out, a)
	}
	return out, nil
}

// addrPortFlag parses an optional ip:port flag (zero when not given).
func addrPortFlag(c *cli.Context, name string) (netip.AddrPort, error) {
	s := c.String(name)
	if s == "" {
		return netip.AddrPort{}, nil
	}
	ap, err := ftsim.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, usageError("--%s: %v", name, err)
	}
	return ap, nil
}
