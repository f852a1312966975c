package cli

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ftwall/ftwall/inspect/registry"
	"github.com/ftwall/ftwall/internal/service"
	"github.com/ftwall/ftwall/nft"
)

// TestPrecedence checks flag > environment > file > default for options of
// every value type, each level set on top of the ones below it.
func TestPrecedence(t *testing.T) {
	type level struct {
		file, env, flag string // "" = not set at this level
		want            string
	}
	cases := []struct {
		name   string
		opt    string
		get    func(service.Config) string
		levels [4]level // default, +file, +env, +flag
	}{
		{
			name: "duration", opt: optPeerTimeout,
			get: func(c service.Config) string { return c.Ruleset.PeerTimeout.String() },
			levels: [4]level{
				{want: "24h0m0s"},
				{file: "12h", want: "12h0m0s"},
				{file: "12h", env: "6h", want: "6h0m0s"},
				{file: "12h", env: "6h", flag: "90m", want: "1h30m0s"},
			},
		},
		{
			name: "list", opt: optWAN,
			get: func(c service.Config) string { return fmt.Sprint(c.Ruleset.WAN) },
			levels: [4]level{
				{want: "[]"},
				{file: "[wan0, wan1]", want: "[wan0 wan1]"},
				{file: "[wan0, wan1]", env: "wan2, wan3", want: "[wan2 wan3]"},
				{file: "[wan0, wan1]", env: "wan2,wan3", flag: "wan4", want: "[wan4]"},
			},
		},
		{
			name: "bool true over false", opt: optReset,
			get: func(c service.Config) string { return fmt.Sprint(c.Reset) },
			levels: [4]level{
				{want: "false"},
				{file: "true", want: "true"},
				{file: "true", env: "false", want: "false"},
				{file: "true", env: "false", flag: "true", want: "true"},
			},
		},
		{
			name: "bool false over true", opt: optDryRun,
			get: func(c service.Config) string { return fmt.Sprint(c.DryRun) },
			levels: [4]level{
				{want: "false"},
				{file: "false", want: "false"},
				{file: "false", env: "1", want: "true"},
				{file: "false", env: "true", flag: "false", want: "false"},
			},
		},
		{
			name: "uint", opt: optQueue,
			get: func(c service.Config) string { return fmt.Sprint(c.Ruleset.QueueNum) },
			levels: [4]level{
				{want: "0"},
				{file: "5", want: "5"},
				{file: "5", env: "6", want: "6"},
				{file: "5", env: "6", flag: "7", want: "7"},
			},
		},
		{
			name: "int", opt: optPongRate,
			get: func(c service.Config) string { return fmt.Sprint(c.PongRate) },
			levels: [4]level{
				{want: "2000"},
				{file: "100", want: "100"},
				{file: "100", env: "200", want: "200"},
				{file: "100", env: "200", flag: "300", want: "300"},
			},
		},
		{
			name: "string", opt: optLockAction,
			get: func(c service.Config) string { return c.Ruleset.LockAction.String() },
			levels: [4]level{
				{want: "reject"},
				{file: "drop", want: "drop"},
				{file: "drop", env: "reject", want: "reject"},
				{file: "drop", env: "reject", flag: "drop", want: "drop"},
			},
		},
	}
	for _, tc := range cases {
		for i, l := range tc.levels {
			t.Run(fmt.Sprintf("%s/%d", tc.name, i), func(t *testing.T) {
				h := newHarness(t)
				args := []string{"run", "--lan", "lan0"}
				if l.file != "" {
					args = append(args, "--config", writeFile(t, "ftwall.yaml", fmt.Sprintf("%s: %s\n", tc.opt, l.file)))
				}
				if l.env != "" {
					t.Setenv(envName(envPrefix, tc.opt), l.env)
				}
				if l.flag != "" {
					args = append(args, "--"+tc.opt+"="+l.flag)
				}
				h.mustRun(args...)
				if got := tc.get(h.lastRun()); got != l.want {
					t.Errorf("%s = %s, want %s", tc.opt, got, l.want)
				}
			})
		}
	}
}

// TestPrecedenceSetupCheckSources checks the sources setup --check reports.
func TestPrecedenceSetupCheckSources(t *testing.T) {
	h := newHarness(t)
	cfg := writeFile(t, "f.yaml", "lan: lan0\npeer-timeout: 1h\nqueue: 3\nbackend: compat\n")
	t.Setenv("FTWALL_QUEUE", "4")
	t.Setenv("FTWALL_TIMELOCK", "60s")
	h.mustRun("setup", "--config", cfg, "--check", "--json", "--backend", "native")
	var rep checkReport
	decodeJSON(t, h.stdout.Bytes(), &rep)
	want := map[string]string{
		"lan":          "config file " + cfg + " line 1",
		"peer-timeout": "config file " + cfg + " line 2",
		"queue":        "FTWALL_QUEUE",
		"timelock":     "FTWALL_TIMELOCK",
		"backend":      "flag",
		"allow":        "default",
	}
	got := map[string]string{}
	for _, o := range rep.Options {
		got[o.Name] = o.Source
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("source of %s = %q, want %q", k, got[k], v)
		}
	}
	if rep.ConfigFile != cfg || !rep.Valid {
		t.Errorf("report = %+v", rep)
	}
}

// TestConfigBeforeOrAfterCommand accepts --config before and after the
// command name, and FTWALL_CONFIG.
func TestConfigBeforeOrAfterCommand(t *testing.T) {
	cfg := "lan: [lan1]\ntimelock: 30s\n"
	for _, mode := range []string{"before", "after", "env"} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t)
			p := writeFile(t, "f.yaml", cfg)
			switch mode {
			case "before":
				h.mustRun("--config", p, "run")
			case "after":
				h.mustRun("run", "--config", p)
			case "env":
				t.Setenv("FTWALL_CONFIG", p)
				h.mustRun("run")
			}
			c := h.lastRun()
			if !slices.Equal(c.Ruleset.LAN, []string{"lan1"}) || c.Ruleset.TimeLock != 30*time.Second {
				t.Errorf("ruleset = %+v", c.Ruleset)
			}
		})
	}
}

// TestEnvListsAndDefaults checks comma-separated lists in the environment and
// the defaults of run.
func TestEnvListsAndDefaults(t *testing.T) {
	h := newHarness(t)
	t.Setenv("FTWALL_LAN", "lan0, lan1")
	t.Setenv("FTWALL_ALLOW", "192.0.2.0/24,2001:db8::1")
	h.mustRun("run")
	c := h.lastRun()
	if !slices.Equal(c.Ruleset.LAN, []string{"lan0", "lan1"}) {
		t.Errorf("LAN = %v", c.Ruleset.LAN)
	}
	if fmt.Sprint(c.Ruleset.Allow) != "[192.0.2.0/24 2001:db8::1/128]" {
		t.Errorf("Allow = %v", c.Ruleset.Allow)
	}
	want := service.Config{
		Ruleset: nft.Config{
			LAN: c.Ruleset.LAN, Allow: c.Ruleset.Allow,
			PeerTimeout: 24 * time.Hour, TimeLock: 120 * time.Second, MaxPeers: nft.DefaultMaxPeers,
			LockAction: nft.LockReject, QueueNum: 0, Queues: 1, Backend: nft.BackendAuto,
		},
		PongType: 0x29, PongRate: 2000, PongBurst: 4000, PeerBudget: 5000, PeerBudgetRate: 50, StoreInterval: 30 * time.Second,
		LogLetters: "cp", SummaryInterval: 60 * time.Second, QueueMaxLen: 4096,
		RunDir: h.runDir,
	}
	c.Reload = nil
	checkDetectors(t, &c, registry.Names())
	if fmt.Sprintf("%+v", c) != fmt.Sprintf("%+v", want) {
		t.Errorf("run defaults:\n got %+v\nwant %+v", c, want)
	}
}
