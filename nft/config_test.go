package nft

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect/registry"
)

func validConfig() Config {
	return Config{
		LAN:         []string{"lan0"},
		PeerTimeout: 24 * time.Hour,
		TimeLock:    120 * time.Second,
		Queues:      1,
		Queue:       builtinQueue(),
	}
}

// builtinQueue is the prefilters of every built-in detector.
func builtinQueue() []QueueRule { return QueueRules(registry.Builtin()) }

// Rule identifiers of FastTrack's prefilters, for the tests.
var (
	ruleFTPing   = QueueRuleID("fasttrack", "ping")
	ruleFTHTTP   = QueueRuleID("fasttrack", "http")
	ruleFTOpener = QueueRuleID("fasttrack", "opener")
	ruleFTPong   = QueueRuleID("fasttrack", "pong")
)

func TestValidateAccepts(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"minimal":          func(*Config) {},
		"zero timeouts":    func(c *Config) { c.PeerTimeout, c.TimeLock = 0, 0 },
		"several LAN, WAN": func(c *Config) { c.LAN = []string{"lan0", "lan1", "br-lan.10"}; c.WAN = []string{"wan0", "ppp0"} },
		"15-byte name":     func(c *Config) { c.LAN = []string{"abcdefghijklmno"} },
		"allow mixed": func(c *Config) {
			c.Allow = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("10.1.2.3/8")}
		},
		"last queue 65535": func(c *Config) { c.QueueNum, c.Queues = 65532, 4 },
		"single queue max": func(c *Config) { c.QueueNum, c.Queues = 65535, 1 },
		"drop, native":     func(c *Config) { c.LockAction, c.Backend = LockDrop, BackendNative },
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			mod(&c)
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*Config)
		option string
		text   string
	}{
		{"no LAN", func(c *Config) { c.LAN = nil }, "--lan", "at least one"},
		{"empty LAN name", func(c *Config) { c.LAN = []string{""} }, "--lan", "empty interface name"},
		{"LAN name too long", func(c *Config) { c.LAN = []string{"abcdefghijklmnop"} }, "--lan", "at most 15"},
		{"LAN dot", func(c *Config) { c.LAN = []string{"."} }, "--lan", "not a valid interface name"},
		{"LAN dotdot", func(c *Config) { c.LAN = []string{".."} }, "--lan", "not a valid interface name"},
		{"LAN slash", func(c *Config) { c.LAN = []string{"a/b"} }, "--lan", "invalid character"},
		{"LAN colon", func(c *Config) { c.LAN = []string{"eth0:1"} }, "--lan", "invalid character"},
		{"LAN space", func(c *Config) { c.LAN = []string{"eth 0"} }, "--lan", "invalid character"},
		{"LAN tab", func(c *Config) { c.LAN = []string{"eth\t0"} }, "--lan", "invalid character"},
		{"LAN NUL", func(c *Config) { c.LAN = []string{"eth\x000"} }, "--lan", "invalid character"},
		{"LAN wildcard", func(c *Config) { c.LAN = []string{"eth*"} }, "--lan", "wildcards"},
		{"LAN duplicate", func(c *Config) { c.LAN = []string{"lan0", "lan0"} }, "--lan", "given twice"},
		{"WAN invalid", func(c *Config) { c.WAN = []string{""} }, "--wan", "empty interface name"},
		{"WAN duplicate", func(c *Config) { c.WAN = []string{"wan0", "wan0"} }, "--wan", "given twice"},
		{"WAN is LAN", func(c *Config) { c.WAN = []string{"lan0"} }, "--wan", "also a LAN interface"},
		{"allow invalid", func(c *Config) { c.Allow = []netip.Prefix{{}} }, "--allow", "invalid prefix"},
		{"allow 4in6", func(c *Config) { c.Allow = []netip.Prefix{netip.MustParsePrefix("::ffff:192.0.2.1/128")} }, "--allow", "IPv4-mapped"},
		{"allow everything v4", func(c *Config) { c.Allow = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")} }, "--allow", "switches ftwall off"},
		{"allow everything v6", func(c *Config) { c.Allow = []netip.Prefix{netip.MustParsePrefix("::/0")} }, "--allow", "switches ftwall off"},
		{"peer timeout negative", func(c *Config) { c.PeerTimeout = -time.Second }, "--peer-timeout", "negative"},
		{"peer timeout sub-ms", func(c *Config) { c.PeerTimeout = 1500 * time.Microsecond }, "--peer-timeout", "milliseconds"},
		{"timelock negative", func(c *Config) { c.TimeLock = -1 }, "--timelock", "negative"},
		{"timelock sub-ms", func(c *Config) { c.TimeLock = time.Nanosecond }, "--timelock", "milliseconds"},
		{"lock action", func(c *Config) { c.LockAction = 7 }, "--lock-action", "want reject or drop"},
		{"no queues", func(c *Config) { c.Queues = 0 }, "--queues", "at least 1"},
		{"queues overflow", func(c *Config) { c.QueueNum, c.Queues = 65535, 2 }, "--queues", "at most 65535"},
		{"backend", func(c *Config) { c.Backend = 9 }, "--backend", "want auto, native or compat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mod(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate accepted the config")
			}
			var oe *OptionError
			if !errors.As(err, &oe) {
				t.Fatalf("error %v is no *OptionError", err)
			}
			if oe.Option != tt.option {
				t.Errorf("option %q, want %q (error %v)", oe.Option, tt.option, err)
			}
			if !strings.HasPrefix(err.Error(), tt.option+": ") || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not start with %q and mention %q", err, tt.option+": ", tt.text)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Config{LAN: []string{"x/y"}, WAN: []string{"x/y"}, PeerTimeout: -1, Queues: 0}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted the config")
	}
	for _, opt := range []string{"--lan: ", "--wan: ", "--peer-timeout: ", "--queues: "} {
		if !strings.Contains(err.Error(), opt) {
			t.Errorf("error %q lacks %q", err, opt)
		}
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if !strings.HasPrefix(line, "--") {
			t.Errorf("error line %q names no option", line)
		}
	}
}

func TestBackendText(t *testing.T) {
	for _, b := range []Backend{BackendAuto, BackendNative, BackendCompat} {
		got, err := ParseBackend(strings.ToUpper(b.String()))
		if err != nil || got != b {
			t.Errorf("ParseBackend(%q) = %v, %v", b.String(), got, err)
		}
		j, err := json.Marshal(b)
		if err != nil || string(j) != `"`+b.String()+`"` {
			t.Errorf("json %s, %v", j, err)
		}
		var back Backend
		if err := json.Unmarshal(j, &back); err != nil || back != b {
			t.Errorf("json round trip %v, %v", back, err)
		}
	}
	if _, err := ParseBackend("nftables"); err == nil || !strings.Contains(err.Error(), "auto, native or compat") {
		t.Errorf("ParseBackend(nftables) error %v", err)
	}
	if s := Backend(9).String(); s != "Backend(9)" {
		t.Errorf("String %q", s)
	}
	if _, err := Backend(9).MarshalText(); err == nil {
		t.Error("MarshalText of an invalid backend succeeded")
	}
}

func TestLockActionText(t *testing.T) {
	for _, a := range []LockAction{LockReject, LockDrop} {
		got, err := ParseLockAction(" " + a.String() + " ")
		if err != nil || got != a {
			t.Errorf("ParseLockAction(%q) = %v, %v", a.String(), got, err)
		}
		var back LockAction
		if err := back.UnmarshalText([]byte(a.String())); err != nil || back != a {
			t.Errorf("UnmarshalText %v, %v", back, err)
		}
	}
	if _, err := ParseLockAction("tarpit"); err == nil || !strings.Contains(err.Error(), "reject or drop") {
		t.Errorf("ParseLockAction(tarpit) error %v", err)
	}
	var a LockAction
	if err := a.UnmarshalText([]byte("x")); err == nil {
		t.Error("UnmarshalText(x) succeeded")
	}
	if _, err := LockAction(5).MarshalText(); err == nil {
		t.Error("MarshalText of an invalid action succeeded")
	}
}

func FuzzParseBackend(f *testing.F) {
	for _, s := range []string{"auto", "native", "compat", "", "NATIVE ", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBackend(s)
		if err != nil {
			return
		}
		if again, err := ParseBackend(b.String()); err != nil || again != b {
			t.Fatalf("%q parsed to %v, which does not round-trip: %v %v", s, b, again, err)
		}
	})
}

func FuzzParseLockAction(f *testing.F) {
	for _, s := range []string{"reject", "drop", "", "Drop", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseLockAction(s)
		if err != nil {
			return
		}
		if again, err := ParseLockAction(a.String()); err != nil || again != a {
			t.Fatalf("%q parsed to %v, which does not round-trip", s, a)
		}
	})
}

func FuzzValidIfName(f *testing.F) {
	for _, s := range []string{"lan0", "", ".", "..", "a/b", "eth*", "abcdefghijklmnop", "br-lan.10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if validIfName(s) != nil {
			return
		}
		if len(s) == 0 || len(s) > maxIfNameLen || strings.ContainsAny(s, "/: \t\n\x00*") {
			t.Fatalf("validIfName accepted %q", s)
		}
		if k := ifnameKey(s); len(k) != 16 || string(k[:len(s)]) != s {
			t.Fatalf("ifnameKey(%q) = %x", s, k)
		}
	})
}
