package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ftwall/ftwall/internal/buildinfo"
)

// manCommand is the hidden `ftwall man`: it prints the ftwall(8) manual
// page in roff, generated from the same commands and options as --help
// and the completion scripts.
func (inv *invocation) manCommand() *cli.Command {
	return &cli.Command{
		Name:            "man",
		Usage:           "print the manual page ftwall(8) in roff format",
		Hidden:          true,
		HideHelpCommand: true,
		OnUsageError:    inv.onUsageError,
		Action: inv.action(func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			if _, err := io.WriteString(inv.env.stdout, manPage(inv.commands(), buildinfo.Get().Version)); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
			return nil
		}),
	}
}

// defaultText is an option's default as the manual page shows it ("" for
// none).
func (o option) defaultText() string {
	if o.defText != "" {
		return o.defText
	}
	switch o.kind {
	case kindString:
		return o.def
	case kindList:
		return strings.Join(o.defL, ",")
	case kindDuration:
		if o.defD == 0 {
			return ""
		}
		return humanDuration(seconds(o.defD), "0")
	case kindUint:
		return strconv.FormatUint(uint64(o.defU), 10)
	case kindInt:
		return strconv.Itoa(o.defI)
	}
	return ""
}

// manOption is one option's .TP entry.
func manOption(b *strings.Builder, prefix string, o option) {
	placeholder, usage := unquoteUsage(o.usage)
	b.WriteString(".TP\n\\fB\\-\\-" + roff(o.name) + "\\fR")
	if o.kind != kindBool {
		if placeholder == "" {
			placeholder = "VALUE"
		}
		b.WriteString(" \\fI" + roff(placeholder) + "\\fR")
	}
	b.WriteString("\n" + roff(sentence(usage)))
	if d := o.defaultText(); d != "" {
		b.WriteString(" Default: " + roff(d) + ".")
	}
	if prefix != "" {
		b.WriteString(" Environment: \\fB" + roff(envName(prefix, o.name)) + "\\fR.")
	}
	b.WriteString("\n")
}

func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	// Capitalise a plain word, not a name such as peers4 or ftwall_x.
	first, _, _ := strings.Cut(s, " ")
	if !strings.ContainsAny(first, "0123456789_") {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// synopsis is one command's synopsis line.
func synopsis(c command) string {
	s := ".B ftwall\n[\\fB\\-\\-config\\fR \\fIFILE\\fR]\n.B " + roff(c.name) + "\n"
	if len(c.opts) > 0 {
		s += "[\\fIOPTIONS\\fR]\n"
	}
	if c.argsUsage != "" {
		s += "\\fI" + roff(c.argsUsage) + "\\fR\n"
	}
	return s + ".br\n"
}

// manPage is ftwall(8) in roff.
func manPage(cmds []command, version string) string {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH FTWALL 8 \"\" \"ftwall %s\" \"System Administration\"\n", roff(version))
	b.WriteString(".SH NAME\nftwall \\- stop peer\\-to\\-peer clients (BitTorrent, FastTrack) on a Linux gateway with nftables\n")
	b.WriteString(".SH SYNOPSIS\n")
	for _, c := range cmds {
		if !c.hidden {
			b.WriteString(synopsis(c))
		}
	}
	b.WriteString(".B ftwall completion\n.IR bash | zsh | fish\n.br\n.B ftwall\n.RB [ \\-\\-help | \\-\\-version ]\n")
	b.WriteString(`.SH DESCRIPTION
.B ftwall
builds its own nftables table
.BR "inet ftwall" .
Named sets with per\-element timeouts hold the peers it learned
.RB ( peers4 ", " peers6 )
and the time\-locked clients
.RB ( locked4 ", " locked6 ),
so the kernel drops their traffic itself.
Only candidate packets, chosen by each protocol detector's kernel prefilter, are queued to
.BR "ftwall run" ,
which classifies them, blocks the peers a LAN client was seen talking to, time\-locks the client
(its new outbound TCP connections are refused for \-\-timelock), and keeps the sets up to date.
Evidence is only taken from packets arriving on LAN interfaces.
.PP
The table outlives the process: a stopped service leaves every drop and lock in place, so the kernel
keeps blocking; it is removed with
.BR "ftwall teardown" .
While
.B ftwall run
runs it owns the table: it holds the lock file
.I /run/ftwall/ftwall.pid
and serves the root\-only control socket
.IR /run/ftwall/control.sock .
Then
.BR block ", " unblock " and " unlock
go through the service,
.B setup
with the service's own options reports the table unchanged and with other options is refused
(change the configuration file and run
.B systemctl reload ftwall
instead), and
.B teardown
is refused until the service stops. When no service runs, these commands work on the kernel sets and the
storefile directly. A table removed by another program (for example
.BR "nft flush ruleset" )
is restored by the running service within 2 seconds, with every element.
.SH COMMANDS
`)
	for _, c := range cmds {
		if c.hidden {
			continue
		}
		head := "ftwall " + c.name
		if len(c.opts) > 0 {
			head += " [OPTIONS]"
		}
		if c.argsUsage != "" {
			head += " " + c.argsUsage
		}
		fmt.Fprintf(&b, ".SS \"%s\"\n%s\n", roff(head), roff(strings.ReplaceAll(c.description, "\n", " ")))
		if len(c.opts) > 0 {
			b.WriteString(".PP\nOptions:\n.RS\n")
			for _, o := range c.opts {
				manOption(&b, c.envPrefix, o)
			}
			b.WriteString(".RE\n")
		}
	}
	b.WriteString(`.SS "ftwall completion bash|zsh|fish"
Prints a completion script for the shell. The Debian package installs all three.
.SS "ftwall help [COMMAND]"
Shows the help of ftwall or of one command, like \-\-help.
.SH GLOBAL OPTIONS
.TP
\fB\-\-config\fR \fIFILE\fR
Read options from the YAML configuration file. May be given before or after the command name.
Environment: \fBFTWALL_CONFIG\fR.
.TP
.BR \-h ", " \-\-help
Show help (also after a command name).
.TP
.BR \-v ", " \-\-version
Print the version, the commit it was built from and the Go release.
.SH ENVIRONMENT
Every option of setup, teardown, block, unblock, unlock, list, status and run can be set with the variable
.BI FTWALL_ NAME\fR,
where NAME is the option name in upper case with \- replaced by _, for example
.B FTWALL_PEER_TIMEOUT=12h
or
.BR FTWALL_LAN=eth1,eth2 .
The options of inspect use
.BI FTWALL_INSPECT_ NAME\fR.
Lists are separated by commas; booleans are true or false.
.B FTWALL_CONFIG
names the configuration file.
Precedence: a flag overrides the variable, the variable overrides the configuration file, the file
overrides the built\-in default.
.PP
.B JOURNAL_STREAM
(set by systemd) makes ftwall run log with journald priorities.
.SH FILES
.TP
.I /etc/ftwall/ftwall.yaml
The configuration file the systemd unit reads: a YAML mapping of option names to values (lists as
YAML lists), with the options of inspect in an
.B inspect:
mapping. Unknown names and values of the wrong type are errors naming the line.
The packaged file is commented and starts nothing before
.B lan:
names an interface.
.TP
.I /var/lib/ftwall/peers
The storefile of learned peers (\-\-store), read at start and written every \-\-store\-interval and at exit.
.TP
.I /run/ftwall/ftwall.pid
The lock file of the running service (flock); its pid.
.TP
.I /run/ftwall/control.sock
The service's control socket, root only.
.TP
.I /run/ftwall/clients
One file per time\-locked client (\-\-client\-dir), removed when the lock lapses.
.TP
.I /lib/systemd/system/ftwall.service
The systemd unit.
.SH EXIT STATUS
.TP
.B 0
Success (also teardown when the table was already absent).
.TP
.B 1
Runtime error: missing CAP_NET_ADMIN, a kernel without nftables, a failing netlink request,
an unreadable capture file or storefile, a service failure, a final storefile save that failed.
.TP
.B 2
Usage error: unknown command or option, a bad value in a flag, an FTWALL_ variable or the
configuration file, a missing or malformed configuration file.
.TP
.B 3
status: the table is absent (the report says so; nothing is printed on standard error).
.PP
Errors are printed as one line on standard error, starting with "ftwall: ".
.SH EXAMPLES
Check a configuration without touching the kernel (needs no privileges):
.PP
.EX
ftwall \-\-config /etc/ftwall/ftwall.yaml run \-\-check
.EE
.PP
Start the service and look at what it learned:
.PP
.EX
systemctl start ftwall
ftwall status
ftwall list peers
nft list set inet ftwall peers4
.EE
.PP
Take back a false positive, and end a client's time\-lock:
.PP
.EX
ftwall unblock 198.51.100.7
ftwall unlock 10.0.1.2
.EE
.PP
Block an address by hand, with a reason:
.PP
.EX
ftwall block 203.0.113.50 \-\-reason "ticket 7"
.EE
.PP
Try a configuration without enforcing it, then analyse a capture:
.PP
.EX
ftwall run \-\-lan eth1 \-\-wan eth0 \-\-dry\-run
ftwall inspect \-\-lan 10.0.0.0/8 capture.pcapng
.EE
.PP
Remove everything ftwall put in the kernel:
.PP
.EX
systemctl stop ftwall
ftwall teardown
.EE
.SH SEE ALSO
.BR nft (8),
.BR systemctl (1),
.BR journalctl (1)
`)
	return b.String()
}

// unquoteUsage splits a usage text into its `PLACEHOLDER` (the first word
// in back quotes, "" when none) and the text without the back quotes, as
// urfave/cli shows it.
func unquoteUsage(usage string) (placeholder, text string) {
	if i := strings.IndexByte(usage, '`'); i >= 0 {
		if j := strings.IndexByte(usage[i+1:], '`'); j >= 0 {
			placeholder = usage[i+1 : i+1+j]
		}
	}
	return placeholder, strings.ReplaceAll(usage, "`", "")
}

// roff escapes text for a roff paragraph: backslashes, hyphens (as \-, so
// options can be copied), a leading control character, and every
// character outside ASCII (as \[uXXXX], so the page needs no preconv).
func roff(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString("\\e")
		case r == '-':
			b.WriteString("\\-")
		case r == '`':
		case r > 0x7e:
			fmt.Fprintf(&b, "\\[u%04X]", r)
		default:
			b.WriteRune(r)
		}
	}
	s = b.String()
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = "\\&" + s
	}
	return s
}
