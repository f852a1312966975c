package cli

import (
	"net/netip"
	"strings"
	"testing"
)

func TestHelpDocumentsEveryOption(t *testing.T) {
	h := newHarness(t)
	out := h.mustRun("--help")
	for _, c := range []string{"setup", "teardown", "status", "inspect", "run", "--config", "FTWALL_CONFIG", "Exit status"} {
		if !strings.Contains(out, c) {
			t.Errorf("ftwall --help lacks %q", c)
		}
	}
	if strings.Contains(out, "\n   man ") {
		t.Errorf("the hidden man command is listed:\n%s", out)
	}
	inv := &invocation{}
	for _, cmd := range inv.commands() {
		for _, form := range [][]string{{cmd.name, "--help"}, {"help", cmd.name}} {
			out := h.mustRun(form...)
			if h.stderr.Len() != 0 {
				t.Errorf("%v: stderr %q", form, h.stderr.String())
			}
			for _, o := range cmd.opts {
				for _, want := range []string{"--" + o.name, "$" + envName(cmd.envPrefix, o.name)} {
					if !strings.Contains(out, want) {
						t.Errorf("%v lacks %q", form, want)
					}
				}
			}
		}
	}
}

func TestVersion(t *testing.T) {
	h := newHarness(t)
	for _, arg := range []string{"--version", "-v"} {
		out := h.mustRun(arg)
		if !strings.HasPrefix(out, "ftwall version ") || !strings.Contains(out, "go1.") {
			t.Errorf("%s: %q", arg, out)
		}
	}
}

func TestManPage(t *testing.T) {
	h := newHarness(t)
	out := h.mustRun("man")
	for _, want := range []string{".TH ftwall 8", ".SH COMMAND DETAILS", ".B ftwall run", ".SH EXIT STATUS", ".SH ENVIRONMENT", "--peer-timeout", "FTWALL_PEER_TIMEOUT=12h"} {
		if !strings.Contains(out, want) {
			t.Errorf("man page lacks %q", want)
		}
	}
	inv := &invocation{}
	for _, cmd := range inv.commands() {
		for _, o := range cmd.opts {
			if !strings.Contains(out, o.name) {
				t.Errorf("man page lacks option %s of %s", o.name, cmd.name)
			}
		}
	}
}

// TestEnvNames pins the variable naming rule of the documentation.
func TestEnvNames(t *testing.T) {
	for _, tc := range []struct{ prefix, name, want string }{
		{envPrefix, optPeerTimeout, "FTWALL_PEER_TIMEOUT"},
		{envPrefix, optLAN, "FTWALL_LAN"},
		{envPrefix, optQueueMaxLen, "FTWALL_QUEUE_MAXLEN"},
		{envPrefixInspect, optLAN, "FTWALL_INSPECT_LAN"},
		{envPrefix, optConfig, "FTWALL_CONFIG"},
	} {
		if got := envName(tc.prefix, tc.name); got != tc.want {
			t.Errorf("envName(%q, %q) = %q, want %q", tc.prefix, tc.name, got, tc.want)
		}
	}
}

func TestParsePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.0/24":   "192.0.2.0/24",
		"203.0.113.9":    "203.0.113.9/32",
		"2001:db8::/32":  "2001:db8::/32",
		"2001:db8::1":    "2001:db8::1/128",
		"::ffff:1.2.3.4": "1.2.3.4/32",
		"0.0.0.0/0":      "0.0.0.0/0",
	} {
		p, err := parsePrefix(in)
		if err != nil || p.String() != want {
			t.Errorf("parsePrefix(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	for _, in := range []string{"", "192.0.2.0/33", "192.0.2.1/24", "fe80::1%eth0", "::ffff:1.2.3.0/120", "host", "1.2.3.4/-1", "10.1/16"} {
		if p, err := parsePrefix(in); err == nil {
			t.Errorf("parsePrefix(%q) = %v, want an error", in, p)
		}
	}
}

// FuzzOptionValues feeds arbitrary strings to the value parsers of the
// options: they return a value or an error, never panic, and accepted
// values are canonical.
func FuzzOptionValues(f *testing.F) {
	for _, s := range []string{"192.0.2.0/24", "2001:db8::1", "0x29", "supernode", "[::1]:9117", ":9117", "1.2.3.4/8", "fe80::1%eth0", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := parsePrefix(s); err == nil {
			if !p.IsValid() || p.Masked() != p || p.Addr().Is4In6() {
				t.Errorf("parsePrefix(%q) = %v: not canonical", s, p)
			}
			if q, err := parsePrefix(p.String()); err != nil || q != p {
				t.Errorf("parsePrefix(%q) does not round-trip: %v, %v", p, q, err)
			}
		}
		if b, err := parsePong(s); err == nil && b != 0x28 && b != 0x29 {
			t.Errorf("parsePong(%q) = %#x", s, b)
		}
		if a, err := parseAddr(s); err == nil {
			if !a.IsValid() || a.Is4In6() || a.Zone() != "" || a.IsUnspecified() {
				t.Errorf("parseAddr(%q) = %v", s, a)
			}
			if _, err := netip.ParseAddr(a.String()); err != nil {
				t.Errorf("parseAddr(%q) = %v does not reparse", s, a)
			}
		}
		_ = checkListenAddr(s)
	})
}
