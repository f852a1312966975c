package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// manCommand is the hidden `ftwall man`: it prints the ftwall(8) manual
// page in roff, generated from the same commands and options as --help.
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
			page, err := c.App.ToManWithSection(8)
			if err != nil {
				return fmt.Errorf("generate the manual page: %w", err)
			}
			if _, err := io.WriteString(inv.env.stdout, page+manExtra(inv.commands())); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
			return nil
		}),
	}
}

// manExtra is the part of the manual page urfave/cli does not generate:
// the commands' descriptions, the environment, the configuration file,
// the exit status and examples, in roff.
func manExtra(cmds []command) string {
	var b strings.Builder
	b.WriteString(".SH COMMAND DETAILS\n")
	for _, c := range cmds {
		fmt.Fprintf(&b, ".TP\n.B ftwall %s\n%s\n", c.name, roff(strings.ReplaceAll(c.description, "\n", " ")))
	}
	b.WriteString(`.SH ENVIRONMENT
Every option of setup, status and run can be set with the variable
.BR FTWALL_ NAME,
where NAME is the option name in upper case with \- replaced by _, for example
.B FTWALL_PEER_TIMEOUT=12h
or
.BR FTWALL_LAN=eth1,eth2 .
The options of inspect use
.BR FTWALL_INSPECT_ NAME.
Lists are separated by commas; booleans are true or false.
.B FTWALL_CONFIG
names the configuration file.
A flag overrides the variable, the variable overrides the configuration file.
.SH FILES
.TP
.I /etc/ftwall/ftwall.yaml
Configuration file read with \-\-config FILE: a YAML mapping of option names to values
(lists as YAML lists), with the options of inspect in an
.B inspect:
mapping. Unknown names and values of the wrong type are errors naming the line.
An annotated example is shipped as contrib/ftwall.yaml.
.SH EXIT STATUS
.TP
.B 0
Success (also teardown when the table was already absent).
.TP
.B 1
Runtime error: missing CAP_NET_ADMIN, a kernel without nftables, a failing netlink request,
an unreadable capture file, a service failure.
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
.EX
ftwall setup \-\-check \-\-lan eth1 \-\-wan eth0
ftwall setup \-\-lan eth1 \-\-wan eth0 \-\-allow 192.0.2.10
ftwall status
ftwall \-\-config /etc/ftwall/ftwall.yaml run
ftwall inspect \-\-pcap capture.pcapng \-\-lan 10.0.0.0/8
ftwall teardown
.EE
.SH SEE ALSO
.BR nft (8)
`)
	return b.String()
}

// roff escapes text for a roff paragraph.
func roff(s string) string {
	s = strings.ReplaceAll(s, "\\", "\\e")
	s = strings.ReplaceAll(s, "-", "\\-")
	s = strings.ReplaceAll(s, "`", "")
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = "\\&" + s
	}
	return s
}
