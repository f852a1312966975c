package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"github.com/ftwall/ftwall/internal/service"
	"github.com/ftwall/ftwall/nft"
)

func decodeJSON(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, data)
	}
}

// checkOneLine asserts that stderr is exactly one "ftwall: …" line
// containing want, and returns it.
func checkOneLine(t *testing.T, stderr, want string) {
	t.Helper()
	if !strings.HasPrefix(stderr, "ftwall: ") || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("stderr is not one \"ftwall: …\" line: %q", stderr)
	}
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr %q does not contain %q", stderr, want)
	}
	for _, bad := range []string{"goroutine ", "panic", "Incorrect Usage", "NAME:"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("stderr contains %q: %q", bad, stderr)
		}
	}
}

// TestUsageErrors runs every kind of bad input and checks the one-line
// message and exit code 2, and that the kernel was never touched.
func TestUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		file string // configuration file text; its path is passed with --config
		want string
	}{
		{"no command", nil, nil, "", "no command given"},
		{"unknown command", []string{"stup"}, nil, "", `unknown command "stup" (did you mean "setup"?)`},
		{"help for unknown", []string{"help", "stup"}, nil, "", `no help for "stup"`},
		{"unknown option", []string{"setup", "--lann", "lan0"}, nil, "", "unknown option --lann (did you mean --lan?); see ftwall setup --help"},
		{"unknown global option", []string{"--verbose", "setup"}, nil, "", "unknown option --verbose"},
		{"missing value", []string{"setup", "--lan"}, nil, "", "--lan needs a value"},
		{"positional argument", []string{"setup", "--lan", "lan0", "now"}, nil, "", `unexpected argument "now"`},
		{"teardown argument", []string{"teardown", "all"}, nil, "", `unexpected argument "all"`},
		{"no lan", []string{"setup"}, nil, "", "--lan: at least one LAN interface is required"},
		{"bad interface", []string{"setup", "--lan", "eth0/1"}, nil, "", `--lan: interface name "eth0/1" contains the invalid character '/'`},
		{"long interface", []string{"setup", "--lan", "averyveryverylongname"}, nil, "", "--lan: interface name"},
		{"lan is wan", []string{"setup", "--lan", "lan0", "--wan", "lan0"}, nil, "", `--wan: interface "lan0" is also a LAN interface`},
		{"malformed cidr", []string{"setup", "--lan", "lan0", "--allow", "192.0.2.0/33"}, nil, "", `--allow: "192.0.2.0/33" is not a CIDR prefix`},
		{"not an address", []string{"setup", "--lan", "lan0", "--allow", "example.com"}, nil, "", `--allow: "example.com" is neither an address nor a CIDR prefix`},
		{"host bits", []string{"setup", "--lan", "lan0", "--allow", "192.0.2.1/24"}, nil, "", `--allow: "192.0.2.1/24" has host bits set; write 192.0.2.0/24`},
		{"mapped prefix", []string{"setup", "--lan", "lan0", "--allow", "::ffff:192.0.2.0/120"}, nil, "", "IPv4-mapped"},
		{"queue out of range", []string{"setup", "--lan", "lan0", "--queue", "70000"}, nil, "", "--queue: 70000 is out of range: queue numbers are 0-65535"},
		{"queue not a number", []string{"setup", "--lan", "lan0", "--queue", "first"}, nil, "", `--queue: invalid value "first": want a non-negative integer`},
		{"negative queue", []string{"setup", "--lan", "lan0", "--queue", "-1"}, nil, "", `--queue: invalid value "-1"`},
		{"zero queues", []string{"setup", "--lan", "lan0", "--queues", "0"}, nil, "", "--queues: 0 is out of range: 1-65535 queues"},
		{"queues overflow", []string{"setup", "--lan", "lan0", "--queue", "65535", "--queues", "2"}, nil, "", "--queues: queues 65535-65536"},
		{"duration without unit", []string{"setup", "--lan", "lan0", "--timelock", "120"}, nil, "", `--timelock: invalid value "120": want a duration such as 90s, 2m or 24h`},
		{"negative duration", []string{"setup", "--lan", "lan0", "--peer-timeout", "-1h"}, nil, "", "--peer-timeout: -1h0m0s is negative"},
		{"sub-millisecond", []string{"setup", "--lan", "lan0", "--timelock", "1500us"}, nil, "", "--timelock: 1.5ms: the kernel counts whole milliseconds"},
		{"lock action", []string{"setup", "--lan", "lan0", "--lock-action", "kill"}, nil, "", `--lock-action: "kill" is not a lock action: want reject or drop`},
		{"backend", []string{"setup", "--lan", "lan0", "--backend", "iptables"}, nil, "", `--backend: "iptables" is not a queue backend`},
		{"bool value", []string{"setup", "--lan", "lan0", "--reset=maybe"}, nil, "", `--reset: invalid value "maybe": want true or false`},
		{"sample", []string{"status", "--sample", "-1"}, nil, "", "--sample: -1 is negative"},
		{"status json value", []string{"status", "--json=2"}, nil, "", `--json: invalid value "2"`},
		{"pong", []string{"run", "--lan", "lan0", "--pong", "0x27"}, nil, "", `--pong: "0x27" is not a pong type`},
		{"pong rate", []string{"run", "--lan", "lan0", "--pong-rate", "0"}, nil, "", "--pong-rate: 0: want at least 1"},
		{"store interval", []string{"run", "--lan", "lan0", "--store-interval", "0s"}, nil, "", "--store-interval: 0s: want a positive duration"},
		{"summary interval", []string{"run", "--lan", "lan0", "--summary-interval", "-1m"}, nil, "", "--summary-interval: -1m0s is negative"},
		{"log letters", []string{"run", "--lan", "lan0", "--log", "cpx"}, nil, "", `--log: unknown log letter 'x'`},
		{"log format", []string{"run", "--lan", "lan0", "--log-format", "xml"}, nil, "", `--log-format: "xml" is not a log format`},
		{"log level", []string{"run", "--lan", "lan0", "--log-level", "loud"}, nil, "", `--log-level: "loud" is not a log level`},
		{"metrics listen", []string{"run", "--lan", "lan0", "--metrics-listen", "9117"}, nil, "", `--metrics-listen: "9117" is not host:port`},
		{"metrics port", []string{"run", "--lan", "lan0", "--metrics-listen", ":http"}, nil, "", `port "http" is not a number`},
		{"own", []string{"run", "--lan", "lan0", "--own", "192.0.2.300"}, nil, "", `--own: "192.0.2.300" is not an IP address`},
		{"own unspecified", []string{"run", "--lan", "lan0", "--own", "::"}, nil, "", `--own: "::" is the unspecified address`},
		{"probe sources", []string{"run", "--lan", "lan0", "--probe-source", "10.0.1.1,10.0.2.1"}, nil, "", "--probe-source: 10.0.1.1 and 10.0.2.1: give at most one IPv4 and one IPv6 address"},
		{"queue maxlen", []string{"run", "--lan", "lan0", "--queue-maxlen", "0"}, nil, "", "--queue-maxlen: 0 is out of range"},
		{"queue maxlen big", []string{"run", "--lan", "lan0", "--queue-maxlen", "4294967296"}, nil, "", "--queue-maxlen: 4294967296 is out of range"},
		{"inspect no file", []string{"inspect"}, nil, "", "inspect: no capture file given"},
		{"inspect lan", []string{"inspect", "--lan", "lan0", "x.pcap"}, nil, "", `--lan: "lan0" is neither an address nor a CIDR prefix`},
		{"man argument", []string{"man", "x"}, nil, "", `unexpected argument "x"`},

		{"env bad type", []string{"setup", "--lan", "lan0"}, map[string]string{"FTWALL_QUEUE": "abc"}, "", `FTWALL_QUEUE: invalid value "abc" for --queue: want a non-negative integer`},
		{"env bad bool", []string{"setup", "--lan", "lan0"}, map[string]string{"FTWALL_RESET": "yes"}, "", `FTWALL_RESET: invalid value "yes" for --reset`},
		{"env bad value", []string{"setup", "--lan", "lan0"}, map[string]string{"FTWALL_QUEUE": "70000"}, "", "--queue: 70000 is out of range: queue numbers are 0-65535 (from FTWALL_QUEUE)"},
		{"env bad cidr", []string{"setup"}, map[string]string{"FTWALL_LAN": "lan0", "FTWALL_ALLOW": "10.0.0.0/8,10.1/16"}, "", `--allow: "10.1/16" is not a CIDR prefix such as 192.0.2.0/24 or 2001:db8::/32 (from FTWALL_ALLOW)`},
		{"env inspect lan", []string{"inspect", "x.pcap"}, map[string]string{"FTWALL_INSPECT_LAN": "lan0"}, "", `(from FTWALL_INSPECT_LAN)`},
		{"env missing config", []string{"setup", "--lan", "lan0"}, map[string]string{"FTWALL_CONFIG": "/nonexistent/ftwall.yaml"}, "", "config file /nonexistent/ftwall.yaml: cannot open: no such file or directory"},

		{"missing config", []string{"--config", "/nonexistent/ftwall.yaml", "setup", "--lan", "lan0"}, nil, "", "config file /nonexistent/ftwall.yaml: cannot open: no such file or directory"},
		{"malformed config", []string{"setup"}, nil, "lan: [lan0\npeer-timeout: 1h\n", "line "},
		{"config syntax line", []string{"setup"}, nil, "lan: lan0\n  queue: 1\n", "line 2: invalid YAML: mapping values are not allowed in this context"},
		{"config unknown option", []string{"setup"}, nil, "lan: lan0\n\npeer_timout: 1h\n", `line 3: unknown option "peer_timout" (did you mean "peer-timeout"?)`},
		{"config wrong type", []string{"status"}, nil, "sample: ten\n", `line 1: sample: "ten" is not an integer`},
		{"config other command type", []string{"setup", "--lan", "lan0"}, nil, "store-interval: often\n", `line 1: store-interval: "often" is not a duration`},
		{"config bad value", []string{"setup"}, nil, "lan: lan0\nqueue: 70000\n", "--queue: 70000 is out of range: queue numbers are 0-65535 (from config file "},
		{"config bad cidr", []string{"setup"}, nil, "lan: lan0\nallow:\n  - 192.0.2.0/24\n  - 2001:db8::/129\n", `--allow: "2001:db8::/129" is not a CIDR prefix`},
		{"config inspect lan", []string{"inspect", "x.pcap"}, nil, "inspect:\n  lan: [lan0]\n", "line 2)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := tc.args
			if tc.file != "" {
				args = append([]string{"--config", writeFile(t, "ftwall.yaml", tc.file)}, args...)
			}
			want := tc.want
			if code := h.run(args...); code != ExitUsage {
				t.Errorf("exit code %d, want %d (stderr %q)", code, ExitUsage, h.stderr.String())
			}
			checkOneLine(t, h.stderr.String(), want)
			if h.stdout.Len() != 0 {
				t.Errorf("stdout not empty: %q", h.stdout.String())
			}
			if h.opened != 0 || len(h.ran) != 0 || len(h.audits) != 0 {
				t.Errorf("bad input reached the kernel/service/audit: opened %d, ran %d, audits %d", h.opened, len(h.ran), len(h.audits))
			}
		})
	}
}

// TestRuntimeErrors checks the errors that are not the user's input: exit
// code 1 and one line with an actionable hint.
func TestRuntimeErrors(t *testing.T) {
	eperm := fmt.Errorf("read table inet ftwall: netlink receive: %w", syscall.EPERM)
	noNft := fmt.Errorf("open netlink socket: %w", syscall.EPROTONOSUPPORT)
	cases := []struct {
		name    string
		args    []string
		prepare func(h *harness)
		want    string
	}{
		{"setup without CAP_NET_ADMIN", []string{"setup", "--lan", "lan0"}, func(h *harness) { h.capNetAdmin = false }, "ftwall: permission denied: changing the firewall needs CAP_NET_ADMIN; run ftwall as root\n"},
		{"run without CAP_NET_RAW", []string{"run", "--lan", "lan0"}, func(h *harness) { h.capNetRaw = false }, "ftwall: permission denied: ftwall run needs CAP_NET_RAW; run ftwall as root\n"},
		{"run without any", []string{"run", "--lan", "lan0"}, func(h *harness) { h.capNetRaw, h.capNetAdmin = false, false }, "needs CAP_NET_ADMIN and CAP_NET_RAW"},
		{"capability read error", []string{"teardown"}, func(h *harness) {
			h.e.hasCapability = func(capability) (bool, error) {
				return false, fmt.Errorf("read the process capabilities: %w", syscall.EINVAL)
			}
		}, "read the process capabilities: invalid argument"},
		{"panic", []string{"status"}, func(h *harness) {
			h.e.openFirewall = func() (nft.Firewall, error) { panic("boom") }
		}, "ftwall: internal error: boom (please report this bug)\n"},
		{"teardown without CAP_NET_ADMIN", []string{"teardown"}, func(h *harness) { h.capNetAdmin = false }, "needs CAP_NET_ADMIN"},
		{"run without CAP_NET_ADMIN", []string{"run", "--lan", "lan0"}, func(h *harness) { h.capNetAdmin = false }, "needs CAP_NET_ADMIN"},
		{"status EPERM", []string{"status"}, func(h *harness) { h.openErr = eperm }, "connect to nftables: read table inet ftwall: netlink receive: operation not permitted (ftwall needs CAP_NET_ADMIN: run it as root)"},
		{"setup no nftables", []string{"setup", "--lan", "lan0"}, func(h *harness) { h.openErr = noNft }, "protocol not supported (this kernel has no nftables support"},
		{"status no nftables", []string{"status"}, func(h *harness) { h.openErr = fmt.Errorf("x: %w", syscall.EAFNOSUPPORT) }, "no nftables support"},
		{"multi-line error", []string{"teardown"}, func(h *harness) { h.openErr = errors.New("first\nsecond") }, "connect to nftables: first; second"},
		{"service error", []string{"run", "--lan", "lan0"}, func(h *harness) {
			h.onRun = func(ctx context.Context, cfg service.Config) error { return errors.New("queue 0: already in use") }
		}, "queue 0: already in use"},
		{"audit error", []string{"inspect", "--pcap", "/dev/null"}, func(h *harness) { h.auditErr = errors.New("/dev/null: not a pcap or pcapng capture") }, "/dev/null: not a pcap"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tc.prepare(h)
			if code := h.run(tc.args...); code != ExitRuntime {
				t.Errorf("exit code %d, want %d (stderr %q)", code, ExitRuntime, h.stderr.String())
			}
			checkOneLine(t, h.stderr.String(), tc.want)
		})
	}
}

// TestNoPrivilegesNoKernelChange: without CAP_NET_ADMIN setup and teardown
// stop before opening the firewall.
func TestNoPrivilegesNoKernelChange(t *testing.T) {
	h := newHarness(t)
	h.capNetAdmin = false
	h.run("setup", "--lan", "lan0")
	h.run("teardown")
	h.run("run", "--lan", "lan0")
	if h.opened != 0 || len(h.ran) != 0 {
		t.Errorf("opened %d firewalls, ran %d services without privileges", h.opened, len(h.ran))
	}
}

func TestOneLine(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errors.New("a\n  b\n\nc  d"), "a; b; c d"},
		{fmt.Errorf("x: %w", syscall.EPERM), "x: operation not permitted (ftwall needs CAP_NET_ADMIN: run it as root)"},
		{fmt.Errorf("x: permission denied: needs CAP_NET_ADMIN: %w", syscall.EPERM), "x: permission denied: needs CAP_NET_ADMIN: operation not permitted"},
		// A file ftwall may not read is not a capability problem.
		{fmt.Errorf("read storefile: %w", &fs.PathError{Op: "open", Path: "/var/lib/ftwall/peers", Err: syscall.EACCES}),
			"read storefile: open /var/lib/ftwall/peers: permission denied"},
		{errors.New(""), "unknown error"},
		{errors.Join(errors.New("--lan: a"), errors.New("--wan: b")), "--lan: a; --wan: b"},
	} {
		if got := oneLine(tc.err); got != tc.want {
			t.Errorf("oneLine(%q) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
