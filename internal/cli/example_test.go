package cli

import (
	"os"

	"github.com/ftwall/ftwall/inspect/registry"
	"github.com/ftwall/ftwall/internal/service"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestExampleShowsDefaults: every "#key: value" line of the shipped
// configuration file states run's built-in default (a value that differs
// must be written "# e.g. key: value"). Each such line, uncommented on its
// own, must give the same service configuration as no file at all.
func TestExampleShowsDefaults(t *testing.T) {
	text, err := os.ReadFile("../../contrib/ftwall.yaml")
	if err != nil {
		t.Fatal(err)
	}
	runOpts := map[string]bool{}
	for _, o := range runOptions() {
		runOpts[o.name] = true
	}
	h := newHarness(t)
	h.mustRun("run", "--lan", "lan0")
	want := normalConfig(t, h.lastRun())

	key := regexp.MustCompile(`^#([a-z-]+):(.*)$`)
	lines := strings.Split(string(text), "\n")
	checked := 0
	for i := 0; i < len(lines); i++ {
		m := key.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		name, entry := m[1], strings.TrimPrefix(lines[i], "#")
		for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "#  - ") {
			i++
			entry += "\n" + strings.TrimPrefix(lines[i], "#")
		}
		if !runOpts[name] {
			continue // status, unblock or block options: checked by their commands' tests
		}
		if name == optLAN {
			continue // no default; the file leaves it unset
		}
		file := filepath.Join(t.TempDir(), "one.yaml")
		if err := os.WriteFile(file, []byte(entry+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		h := newHarness(t)
		if code := h.run("--config", file, "run", "--lan", "lan0"); code != 0 {
			t.Errorf("contrib/ftwall.yaml line %q: exit %d: %s", entry, code, h.stderr.String())
			continue
		}
		if got := normalConfig(t, h.lastRun()); got != want {
			t.Errorf("contrib/ftwall.yaml shows %q as a default, but it is not run's default:\n got %s\nwant %s", entry, got, want)
		}
		checked++
	}
	if checked < 20 {
		t.Errorf("only %d default lines checked in contrib/ftwall.yaml", checked)
	}
}

// normalConfig prints c without what differs between two harnesses (the
// run directory) or cannot be printed (callbacks, detector values).
func normalConfig(t *testing.T, c service.Config) string {
	t.Helper()
	c.Reload, c.RunDir = nil, ""
	checkDetectors(t, &c, registry.Names())
	return sprintConfig(c)
}
