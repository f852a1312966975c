package changelog

import (
	"os"
	"strings"
	"testing"
)

func TestParseAndDebian(t *testing.T) {
	in := "# Changelog\n\n## [Unreleased]\n\n- not yet\n\n## [0.2.0] - 2027-01-05\n\n### Fixed\n\n- a `bug`\n  over two lines\n\n" +
		"## [0.1.0] - 2026-12-03\n\n### Added\n\n- everything\n"
	rels, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	got := Debian(rels, "ftwall", DefaultMaintainer)
	want := "ftwall (0.2.0) unstable; urgency=medium\n\n  * Fixed: a bug over two lines\n\n -- " + DefaultMaintainer + "  Tue, 05 Jan 2027 00:00:00 +0000\n" +
		"\nftwall (0.1.0) unstable; urgency=medium\n\n  * Added: everything\n\n -- " + DefaultMaintainer + "  Thu, 03 Dec 2026 00:00:00 +0000\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, c := range []struct{ name, in, err string }{
		{"no release", "# Changelog\n## [Unreleased]\n", "no release section"},
		{"no date", "## [0.1.0]\n### Added\n- x\n", "needs a date"},
		{"not semver", "## [one] - 2026-12-03\n", "not a semantic version"},
		{"bad heading", "## 0.1.0\n", "is not"},
		{"no kind", "## [0.1.0] - 2026-12-03\n- x\n", "outside"},
		{"empty", "## [0.1.0] - 2026-12-03\n### Added\n", "lists no change"},
		{"order", "## [0.1.0] - 2026-12-03\n### Added\n- x\n## [0.0.9] - 2027-01-01\n### Added\n- y\n", "dated after"},
	} {
		if _, err := Parse(c.in); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.err)
		}
	}
}

func TestLongLinesWrap(t *testing.T) {
	rels := []Release{{Version: "1.0.0", Changes: []Change{{Kind: "Added", Text: strings.Repeat("word ", 60)}}}}
	for _, l := range strings.Split(Debian(rels, "ftwall", DefaultMaintainer), "\n") {
		if len(l) > 80 {
			t.Errorf("line of %d columns: %q", len(l), l)
		}
	}
}

// TestRepositoryChangelog: CHANGELOG.md parses and its newest release is
// VERSION's.
func TestRepositoryChangelog(t *testing.T) {
	text, err := os.ReadFile("../../../../CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	version, err := os.ReadFile("../../../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	rels, err := Parse(string(text))
	if err != nil {
		t.Fatalf("CHANGELOG.md: %v", err)
	}
	if v := strings.TrimSpace(string(version)); rels[0].Version != v {
		t.Errorf("CHANGELOG.md's newest release is %s, VERSION is %s", rels[0].Version, v)
	}
}
