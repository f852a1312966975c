package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCompletionScriptsParse: every script is valid for its shell (bash -n,
// zsh -n, fish --no-execute) and names every visible command and option.
func TestCompletionScriptsParse(t *testing.T) {
	h := newHarness(t)
	inv := &invocation{}
	for _, sh := range completionShells {
		script := h.mustRun("completion", sh)
		for _, c := range inv.completionCommands() {
			if !strings.Contains(script, c.name) {
				t.Errorf("%s completion lacks the command %s", sh, c.name)
			}
			for _, o := range c.opts {
				if !strings.Contains(script, o.name) {
					t.Errorf("%s completion lacks %s's option --%s", sh, c.name, o.name)
				}
			}
		}
		path := filepath.Join(t.TempDir(), "ftwall."+sh)
		if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
			t.Fatal(err)
		}
		check := map[string][]string{"bash": {"-n", path}, "zsh": {"-n", path}, "fish": {"--no-execute", path}}[sh]
		if _, err := exec.LookPath(sh); err != nil {
			if sh == "bash" || os.Getenv("CI") != "" {
				t.Errorf("%s is not installed: .ci/run installs it", sh)
			} else {
				t.Logf("%s not installed: its script is not checked (make deps installs it)", sh)
			}
			continue
		}
		if out, err := exec.Command(sh, check...).CombinedOutput(); err != nil {
			t.Errorf("%s %s: %v\n%s\nscript:\n%s", sh, strings.Join(check, " "), err, out, script)
		}
	}
}

// TestBashCompletionCompletes runs the bash script's function on command
// lines and checks what it offers.
func TestBashCompletionCompletes(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatal("bash is not installed")
	}
	h := newHarness(t)
	path := filepath.Join(t.TempDir(), "ftwall.bash")
	if err := os.WriteFile(path, []byte(h.mustRun("completion", "bash")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		words []string // the last one is the word being completed
		want  []string
		not   []string
	}{
		{[]string{"ftwall", "se"}, []string{"setup"}, []string{"status"}},
		{[]string{"ftwall", ""}, []string{"setup", "teardown", "block", "unblock", "unlock", "list", "status", "inspect", "run", "help", "completion"}, []string{"man"}},
		{[]string{"ftwall", "--config", "/etc/ftwall.yaml", "ru"}, []string{"run"}, nil},
		{[]string{"ftwall", "run", "--lock-action", ""}, []string{"reject", "drop"}, nil},
		{[]string{"ftwall", "run", "--protocols", "b"}, []string{"bittorrent"}, []string{"fasttrack"}},
		{[]string{"ftwall", "setup", "--re"}, []string{"--reset"}, []string{"--dry-run"}},
		{[]string{"ftwall", "run", "--dr"}, []string{"--dry-run"}, nil},
		{[]string{"ftwall", "list", ""}, []string{"peers", "locked", "pardoned"}, nil},
		{[]string{"ftwall", "list", "--"}, []string{"--json", "--help"}, []string{"--lan"}},
		{[]string{"ftwall", "completion", ""}, []string{"bash", "zsh", "fish"}, nil},
		{[]string{"ftwall", "run", "--lan", "l"}, []string{"lo"}, nil},
		{[]string{"ftwall", "block", "--timeout", ""}, nil, []string{"--json"}},
	} {
		var quoted []string
		for _, w := range c.words {
			quoted = append(quoted, shellQuote(w))
		}
		script := "source " + shellQuote(path) + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" +
			itoa(len(c.words)-1) + "\n_ftwall\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
		out, err := exec.Command("bash", "-c", script).CombinedOutput()
		if err != nil {
			t.Errorf("%q: %v\n%s", c.words, err, out)
			continue
		}
		got := map[string]bool{}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			got[l] = true
		}
		for _, w := range c.want {
			if !got[w] {
				t.Errorf("%q: offered %q, not %q", c.words, strings.Fields(string(out)), w)
			}
		}
		for _, w := range c.not {
			if got[w] {
				t.Errorf("%q: offered %q, with %q", c.words, strings.Fields(string(out)), w)
			}
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestCompletionRefusesOtherShells(t *testing.T) {
	h := newHarness(t)
	if code := h.run("completion", "tcsh"); code != 2 {
		t.Errorf("completion tcsh: exit %d, want 2", code)
	}
	if code := h.run("completion"); code != 2 {
		t.Errorf("completion without a shell: exit %d, want 2", code)
	}
}
