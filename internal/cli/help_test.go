package cli

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
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
	for _, want := range []string{".TH FTWALL 8", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH COMMANDS", ".SH GLOBAL OPTIONS",
		".SH ENVIRONMENT", ".SH FILES", ".SH EXIT STATUS", ".SH EXAMPLES", ".SH SEE ALSO",
		`.I /etc/ftwall/ftwall.yaml`, `FTWALL_PEER_TIMEOUT=12h`,
		// Options with their real defaults, not urfave/cli's --lan="".
		`\fB\-\-peer\-timeout\fR \fIDURATION\fR`, `Default: 24h.`, `Default: fasttrack,bittorrent.`, `Default: reject.`} {
		if !strings.Contains(out, want) {
			t.Errorf("man page lacks %q", want)
		}
	}
	if strings.Contains(out, `=""`) || strings.Contains(out, "[value]") {
		t.Error("man page shows urfave/cli's generated option syntax")
	}
	inv := &invocation{}
	for _, cmd := range inv.commands() {
		// Each command has a synopsis line and a section with its options.
		if !strings.Contains(out, ".B "+roff(cmd.name)+"\n") {
			t.Errorf("man page has no synopsis of %s", cmd.name)
		}
		head := ".SS \"ftwall " + roff(cmd.name)
		i := strings.Index(out, head)
		if i < 0 {
			t.Errorf("man page has no section for %s", cmd.name)
			continue
		}
		section := out[i+len(head):]
		if j := strings.Index(section, ".SS "); j >= 0 {
			section = section[:j]
		}
		for _, o := range cmd.opts {
			if !strings.Contains(section, "\\fB\\-\\-"+roff(o.name)+"\\fR") {
				t.Errorf("man page lacks option --%s in the section of %s", o.name, cmd.name)
			}
		}
	}
	// It renders without a warning.
	path := filepath.Join(t.TempDir(), "ftwall.8")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("groff"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("groff is missing: .ci/run installs groff-base")
		}
		t.Skip("groff not installed (apt-get install groff-base): the rendering is not checked")
	}
	cmd := exec.Command("groff", "-ww", "-z", "-man", "-Tutf8", path)
	if msg, err := cmd.CombinedOutput(); err != nil || len(msg) > 0 {
		t.Errorf("groff -ww -man: %v\n%s", err, msg)
	}
	if _, err := exec.LookPath("man"); err == nil {
		cmd := exec.Command("man", "--warnings", "-l", path)
		cmd.Env = append(os.Environ(), "MANPAGER=cat", "MANWIDTH=80")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("man --warnings -l: %v\n%s", err, stderr.String())
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
