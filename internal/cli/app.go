package cli

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ftwall/ftwall/internal/buildinfo"
	"github.com/ftwall/ftwall/internal/service"
)

// invocation is one run of the application: the raw arguments, where each
// option's value came from, and (for a reload) where `run` delivers its
// configuration instead of starting the service.
type invocation struct {
	env  *env
	args []string

	// origins maps an option name to the source of its value when that
	// is the environment or the configuration file ("" or absent: a flag
	// or the default).
	origins map[string]string
	// configPath is the configuration file read, "" for none.
	configPath string

	// captureRun, when set, receives run's configuration; the service is
	// not started (used to re-read the configuration on SIGHUP).
	captureRun func(service.Config)
}

// command describes one ftwall command for app().
type command struct {
	name, usage, description string
	section                  string // configuration file section ("" = top level)
	envPrefix                string
	opts                     []option
	readConfig               bool
	hidden                   bool
	argsUsage                string
	action                   func(*cli.Context) error
}

func (inv *invocation) commands() []command {
	return []command{
		{
			name:  "setup",
			usage: "create or update the nftables table inet ftwall",
			description: "Builds ftwall's own table inet ftwall in one atomic step: the peer, time-lock and allow sets\n" +
				"and the rules that drop traffic to and from blocked peers, refuse new connections of\n" +
				"time-locked clients and queue candidate packets to `ftwall run`. Running it again with the\n" +
				"same options changes nothing; with other options it replaces the rules and keeps the\n" +
				"learned peers and locked clients (unless --reset). Needs CAP_NET_ADMIN, except with --check.",
			envPrefix: envPrefix, opts: setupOptions(), readConfig: true, action: inv.setup,
		},
		{
			name:  "teardown",
			usage: "remove the table inet ftwall",
			description: "Deletes the table inet ftwall and with it every rule, set and learned element. Nothing else\n" +
				"in the ruleset is touched. Succeeds when the table is already absent. Refuses while ftwall run\n" +
				"owns the table (stop the service first). Needs CAP_NET_ADMIN.",
			// No configuration file: a broken one must not stand in the way
			// of removing the table. --run-dir comes from the flag or the
			// environment.
			envPrefix: envPrefix, opts: []option{runDirOption()}, action: inv.teardown,
		},
		{
			name:  "block",
			usage: "block peers by hand",
			description: "Adds the addresses to peers4/peers6, like a learned peer, and to the storefile (unless\n" +
				"--timeout gives them their own lifetime); ends their pardon. Through the running service when\n" +
				"ftwall run runs (it also checks its allowlist, protected and own addresses), else directly.\n" +
				"Needs CAP_NET_ADMIN (root, for the control socket).",
			envPrefix: envPrefix, opts: blockOptions(), readConfig: true, argsUsage: "ADDR...", action: inv.block,
		},
		{
			name:  "unblock",
			usage: "take back blocked peers (a false positive)",
			description: "Removes the addresses from peers4/peers6, from the storefile and from the service's memory,\n" +
				"so they do not come back at a restart, and pardons them: ftwall does not learn them again for\n" +
				"--pardon (pardon4/pardon6). Works whether or not ftwall run runs. Needs CAP_NET_ADMIN.",
			envPrefix: envPrefix, opts: unblockOptions(), readConfig: true, argsUsage: "ADDR...", action: inv.unblock,
		},
		{
			name:  "unlock",
			usage: "end the time-lock of clients",
			description: "Removes the addresses from locked4/locked6 and from the service's time-lock state, and pardons\n" +
				"them: ftwall does not lock them again for --pardon. Works whether or not ftwall run runs.\n" +
				"Needs CAP_NET_ADMIN.",
			envPrefix: envPrefix, opts: unlockOptions(), readConfig: true, argsUsage: "ADDR...", action: inv.unlock,
		},
		{
			name:  "list",
			usage: "list blocked peers, locked clients or pardoned addresses",
			description: "Prints every element of peers4/peers6 (peers), locked4/locked6 (locked) or pardon4/pardon6\n" +
				"(pardoned) with its remaining lifetime and comment, as the kernel holds them. Needs CAP_NET_ADMIN.",
			envPrefix: envPrefix, opts: listOptions(), argsUsage: "peers|locked|pardoned", action: inv.list,
		},
		{
			name:  "status",
			usage: "show the table, its sets and counters",
			description: "Shows whether the table inet ftwall exists, its queue backend, every set with its element\n" +
				"count, default timeout and first elements with their remaining lifetime, and the counters\n" +
				"of dropped, refused and queued packets. Needs CAP_NET_ADMIN to read the ruleset.",
			envPrefix: envPrefix, opts: statusOptions(), readConfig: true, action: inv.status,
		},
		{
			name:  "inspect",
			usage: "analyse capture files for peer-to-peer traffic",
			description: "Runs capture files (pcap or pcapng) through ftwall's classifier and reports the\n" +
				"peer-to-peer clients, peers and evidence found, and what ftwall would have blocked. Touches nothing,\n" +
				"needs no privileges. Options come from `FTWALL_INSPECT_*` variables and the \"inspect:\"\n" +
				"section of the configuration file.",
			section: sectionInspect, envPrefix: envPrefixInspect, opts: inspectOptions(), readConfig: true,
			argsUsage: "[FILE...]", action: inv.inspect,
		},
		{
			name:  "run",
			usage: "apply the table and inspect queued packets (the service)",
			description: "Applies the table like setup, then reads the queued packets, learns the peers of the\n" +
				"enabled protocols (--protocols), time-locks their clients, answers FastTrack pings with\n" +
				"spoofed pongs and keeps the sets up to date\n" +
				"until SIGINT or SIGTERM. SIGHUP re-reads the configuration file and the environment (log\n" +
				"format, level and syslog need a restart). Needs CAP_NET_ADMIN and CAP_NET_RAW.",
			envPrefix: envPrefix, opts: runOptions(), readConfig: true, action: inv.run,
		},
	}
}

// app builds the urfave/cli application for this invocation. Flags are
// built anew every time because urfave/cli keeps parse state in them.
func (inv *invocation) app() *cli.App {
	e := inv.env
	var cmds []*cli.Command
	for _, c := range inv.commands() {
		cmds = append(cmds, inv.cliCommand(c))
	}
	cmds = append(cmds, inv.helpCommand(), inv.completionCommand(), inv.manCommand())
	return &cli.App{
		Name:      "ftwall",
		HelpName:  "ftwall",
		Usage:     "stop peer-to-peer clients (BitTorrent, FastTrack) on a Linux gateway with nftables",
		UsageText: "ftwall [--config FILE] COMMAND [OPTIONS]",
		Description: "ftwall builds its own nftables table inet ftwall whose sets hold blocked peers and\n" +
			"time-locked clients, so the kernel drops their traffic itself; `ftwall run` inspects only\n" +
			"candidate packets and fills the sets. Every option can also be set with the environment\n" +
			"variable `FTWALL_OPTION` (`FTWALL_INSPECT_OPTION` for inspect; the option name in upper case\n" +
			"with - as _, lists separated by commas, e.g. `FTWALL_PEER_TIMEOUT=12h`, `FTWALL_LAN=eth1,eth2`)\n" +
			"or in the YAML file given with --config (keys are option names). Precedence: flag,\n" +
			"environment, file, default. Exit status: 0 success, 1 runtime error, 2 usage error, 3 status found no table.",
		Version:   buildinfo.Version(),
		Writer:    e.stdout,
		ErrWriter: e.stderr,
		Flags:     []cli.Flag{configFlag(), &cli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "show help", DisableDefaultText: true}},
		// urfave/cli's own help command is a package-level value that it
		// modifies when used; ftwall builds its own per application.
		HideHelpCommand: true,
		Commands:        cmds,
		OnUsageError:    inv.onUsageError,
		ExitErrHandler:  func(*cli.Context, error) {}, // Main prints and exits
		Action:          inv.rootAction,
	}
}

// configFlag is --config; it exists globally and on every command so it
// may be given before or after the command name.
func configFlag() cli.Flag {
	o := globalOptions()[0]
	return &cli.StringFlag{Name: o.name, Usage: o.usage, EnvVars: []string{envName(envPrefix, o.name)}, TakesFile: true}
}

func (inv *invocation) cliCommand(c command) *cli.Command {
	fl := flags(c.envPrefix, c.opts)
	cmd := &cli.Command{
		Name:            c.name,
		Usage:           c.usage,
		Description:     c.description,
		ArgsUsage:       c.argsUsage,
		Hidden:          c.hidden,
		HideHelpCommand: true,
		Flags:           append(fl, configFlag()),
		OnUsageError:    inv.onUsageError,
		Action:          inv.action(c.action),
	}
	if c.readConfig {
		cmd.Before = inv.loadConfig(c, fl)
	}
	return cmd
}

// helpCommand is `ftwall help [COMMAND]`.
func (inv *invocation) helpCommand() *cli.Command {
	return &cli.Command{
		Name:            "help",
		Aliases:         []string{"h"},
		Usage:           "show the help of ftwall or of one command",
		ArgsUsage:       "[COMMAND]",
		HideHelpCommand: true,
		OnUsageError:    inv.onUsageError,
		Action: inv.action(func(c *cli.Context) error {
			if !c.Args().Present() {
				return cli.ShowAppHelp(c)
			}
			name := c.Args().First()
			if cmd := c.App.Command(name); cmd == nil || cmd.Hidden {
				return usagef("no help for %q: it is not a command (see ftwall --help)", name)
			}
			return cli.ShowCommandHelp(c, name)
		}),
	}
}

// action marks the errors of an action as runtime errors unless the action
// marked them as usage errors already.
func (inv *invocation) action(fn func(*cli.Context) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		err := fn(c)
		if err == nil {
			return nil
		}
		var ue *usageError
		if errors.As(err, &ue) {
			return err
		}
		return &runtimeError{err: err}
	}
}

// rootAction runs when no command was named.
func (inv *invocation) rootAction(c *cli.Context) error {
	if c.Args().Present() {
		name := c.Args().First()
		msg := fmt.Sprintf("unknown command %q", name)
		var names []string
		for _, cmd := range inv.commands() {
			names = append(names, cmd.name)
		}
		if s := suggest(name, names); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return usagef("%s; the commands are %s (see ftwall --help)", msg, strings.Join(names, ", "))
	}
	var names []string
	for _, cmd := range inv.commands() {
		names = append(names, cmd.name)
	}
	return usagef("no command given; the commands are %s (see ftwall --help)", strings.Join(names, ", "))
}

var (
	undefinedFlag = regexp.MustCompile(`^flag provided but not defined: -+(\S+)$`)
	invalidValue  = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for (?:flag )?-+(\S+): (.*)$`)
	missingValue  = regexp.MustCompile(`^flag needs an argument: -+(\S+)$`)
	badEnvValue   = regexp.MustCompile(`^could not parse "(.*)" as \S+ value from environment variable "(\S+)" for flag (\S+): `)
)

// onUsageError rewrites flag parsing errors into one actionable line and
// keeps urfave/cli from printing the help text.
func (inv *invocation) onUsageError(c *cli.Context, err error, isSubcommand bool) error {
	where := "ftwall"
	var opts []option
	if c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name {
		where = "ftwall " + c.Command.Name
		for _, cmd := range inv.commands() {
			if cmd.name == c.Command.Name {
				opts = cmd.opts
			}
		}
	}
	opts = append(opts, globalOptions()...)
	msg := err.Error()
	switch {
	case undefinedFlag.MatchString(msg):
		name := undefinedFlag.FindStringSubmatch(msg)[1]
		msg = fmt.Sprintf("unknown option --%s", name)
		var names []string
		for _, o := range opts {
			names = append(names, o.name)
		}
		if s := suggest(name, names); s != "" {
			msg += fmt.Sprintf(" (did you mean --%s?)", s)
		}
		msg += fmt.Sprintf("; see %s --help", where)
	case invalidValue.MatchString(msg):
		m := invalidValue.FindStringSubmatch(msg)
		msg = fmt.Sprintf("--%s: invalid value %q", m[2], m[1])
		if o, ok := findOption(opts, m[2]); ok {
			msg += ": want " + o.kind.describe()
		} else {
			msg += ": " + m[3]
		}
	case badEnvValue.MatchString(msg):
		m := badEnvValue.FindStringSubmatch(msg)
		msg = fmt.Sprintf("%s: invalid value %q for --%s", m[2], m[1], m[3])
		if o, ok := findOption(opts, m[3]); ok {
			msg += ": want " + o.kind.describe()
		}
	case missingValue.MatchString(msg):
		msg = fmt.Sprintf("--%s needs a value", missingValue.FindStringSubmatch(msg)[1])
	default:
		msg = fmt.Sprintf("%s (see %s --help)", msg, where)
	}
	return usagef("%s", msg)
}
