package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func allTopNames() []string {
	var n []string
	for _, o := range append(setupOptions(), append(statusOptions(), runOptions()...)...) {
		n = append(n, o.name)
	}
	return n
}

func inspectNames() []string {
	var n []string
	for _, o := range inspectOptions() {
		n = append(n, o.name)
	}
	return n
}

func TestParseConfigValues(t *testing.T) {
	const text = `# ftwall test
lan: [lan0, "lan1"]
wan: wan0
allow:
  - 192.0.2.0/24
  - 2001:db8::/32, 198.51.100.7
peer-timeout: 12h
timelock: 0
reset: true
queue: 0x10
sample: 3
store: ""
client-dir:
inspect:
  lan: 10.0.0.0/8
  json: yes-not-bool-but-ignored-here
`
	cf, err := parseConfig("t.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if err := cf.check(allTopNames(), inspectNames()); err != nil {
		t.Fatal(err)
	}
	vals, lines, err := cf.values("", runOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := map[any]any{
		"lan":          []any{"lan0", "lan1"},
		"wan":          []any{"wan0"},
		"allow":        []any{"192.0.2.0/24", "2001:db8::/32", "198.51.100.7"},
		"peer-timeout": 12 * time.Hour,
		"timelock":     time.Duration(0),
		"reset":        true,
		"queue":        uint(16),
		"store":        "",
		"client-dir":   "",
	}
	if !reflect.DeepEqual(vals, want) {
		t.Errorf("values:\n got %#v\nwant %#v", vals, want)
	}
	if lines["lan"] != 2 || lines["queue"] != 10 {
		t.Errorf("lines = %v, want lan on 2 and queue on 10", lines)
	}
	// sample belongs to status only; inspect's section is separate.
	svals, _, err := cf.values("", statusOptions())
	if err != nil {
		t.Fatal(err)
	}
	if svals["sample"] != 3 {
		t.Errorf("status sample = %#v, want 3", svals["sample"])
	}
	if _, _, err := cf.values(sectionInspect, inspectOptions()); err == nil || !strings.Contains(err.Error(), "line 16") {
		t.Errorf("inspect json: want a type error on line 16, got %v", err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{"syntax", "lan: [lan0\nwan: x\n", "config file f.yaml line "},
		{"tab indentation", "lan:\n\t- lan0\n", "invalid YAML"},
		{"not a mapping", "- lan0\n- lan1\n", "config file f.yaml line 1: expected option names with values"},
		{"scalar document", "hello\n", "found \"hello\""},
		{"duplicate", "lan: a\nqueue: 1\nlan: b\n", "line 3: option \"lan\" appears twice (first on line 1)"},
		{"unknown", "peer-timeout: 1h\npeer_timout: 2h\n", "line 2: unknown option \"peer_timout\" (did you mean \"peer-timeout\"?)"},
		{"unknown in inspect", "inspect:\n  pcaps: x\n", "line 2: unknown option inspect: \"pcaps\" (did you mean \"pcap\"?)"},
		{"inspect not a mapping", "inspect: [a]\n", "line 1: \"inspect\" must hold the options"},
		{"config key", "config: other.yaml\n", "line 1: unknown option \"config\""},
		{"duration int", "lan: x\ntimelock: 120\n", "line 2: timelock: \"120\" is not a duration such as 90s, 2m or 24h"},
		{"bool", "reset: maybe\n", "line 1: reset: \"maybe\" is not true or false"},
		{"uint negative", "queue: -1\n", "line 1: queue: \"-1\" is not a non-negative integer"},
		{"int text", "sample: many\n", "line 1: sample: \"many\" is not an integer"},
		{"list of maps", "lan:\n  - {a: b}\n", "line 1: lan: list items must be single values"},
		{"map for scalar", "queue: {a: 1}\n", "line 1: queue: expected a non-negative integer, found a mapping"},
		{"null duration", "peer-timeout:\n", "line 1: peer-timeout: no value"},
		{"key not scalar", "[a]: 1\n", "line 1: option names must be plain words"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cf, err := parseConfig("f.yaml", []byte(tc.text))
			if err == nil {
				err = cf.check(allTopNames(), inspectNames())
			}
			if err == nil {
				_, _, err = cf.values("", runOptions())
			}
			if err == nil {
				_, _, err = cf.values("", statusOptions())
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestParseConfigEmptyAndComments(t *testing.T) {
	for _, text := range []string{"", "# only a comment\n", "---\n"} {
		cf, err := parseConfig("f.yaml", []byte(text))
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		vals, _, err := cf.values("", runOptions())
		if err != nil || len(vals) != 0 {
			t.Fatalf("%q: values %v, %v; want none", text, vals, err)
		}
	}
}

func TestParseConfigAliases(t *testing.T) {
	cf, err := parseConfig("f.yaml", []byte("lan: &l [lan0, lan1]\nwan: &w wan0\nallow: *w\n"))
	if err != nil {
		t.Fatal(err)
	}
	vals, _, err := cf.values("", setupOptions())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(vals["allow"], []any{"wan0"}) {
		t.Errorf("alias value = %#v", vals["allow"])
	}
}

func TestReadConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := readConfigFile(filepath.Join(dir, "missing.yaml")); err == nil ||
		err.Error() != "config file "+filepath.Join(dir, "missing.yaml")+": cannot open: no such file or directory" {
		t.Errorf("missing file: %v", err)
	}
	if _, err := readConfigFile(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte(strings.Repeat("# comment\n", maxConfigSize/10+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readConfigFile(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big file: %v", err)
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"peer-timeout", "timelock", "lan", "lock-action", "queue", "queues"}
	for in, want := range map[string]string{
		"peer_timeout": "peer-timeout",
		"time-lock":    "timelock",
		"lna":          "lan",
		"queeu":        "queue",
		"Queues":       "queues",
		"zzzzzzz":      "",
		"peer":         "peer-timeout",
	} {
		if got := suggest(in, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzConfigFile feeds arbitrary text through the configuration parser and
// every command's value check: errors are fine, panics and multi-line
// messages are not.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("lan: [lan0]\npeer-timeout: 1h\nqueue: 3\n"))
	f.Add([]byte("inspect:\n  lan: 10.0.0.0/8\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("lan: !!binary aGVsbG8=\n"))
	f.Add([]byte("<<: {lan: x}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cf, err := parseConfig("f.yaml", data)
		if err != nil {
			if strings.Contains(oneLine(err), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		_ = cf.check(allTopNames(), inspectNames())
		for _, opts := range [][]option{setupOptions(), statusOptions(), runOptions()} {
			_, _, _ = cf.values("", opts)
		}
		_, _, _ = cf.values(sectionInspect, inspectOptions())
	})
}
