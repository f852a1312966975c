// Package changelog reads a Keep a Changelog file and writes the Debian
// changelog of its releases.
package changelog

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// DefaultMaintainer is the package's maintainer (the nfpm configuration's).
const DefaultMaintainer = "ftwall developers <ftwall@ftwall.invalid>"

// Release is one "## [VERSION] - DATE" section.
type Release struct {
	Version string
	Date    time.Time
	Changes []Change
}

// Change is one list item under a "### Kind" heading.
type Change struct {
	Kind, Text string
}

var (
	releaseRE = regexp.MustCompile(`^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?\s*$`)
	semverRE  = regexp.MustCompile(`^\d+\.\d+\.\d+(?:[-+~][0-9A-Za-z.+~-]+)?$`)
)

// Parse returns the releases of text, newest first, without Unreleased.
func Parse(text string) ([]Release, error) {
	var rels []Release
	var cur *Release
	kind := ""
	for n, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "## "):
			m := releaseRE.FindStringSubmatch(line)
			if m == nil {
				return nil, fmt.Errorf("line %d: %q is not \"## [VERSION] - YYYY-MM-DD\"", n+1, line)
			}
			if strings.EqualFold(m[1], "Unreleased") {
				cur = nil
				continue
			}
			if !semverRE.MatchString(m[1]) {
				return nil, fmt.Errorf("line %d: %q is not a semantic version", n+1, m[1])
			}
			d, err := time.Parse("2006-01-02", m[2])
			if err != nil {
				return nil, fmt.Errorf("line %d: release %s needs a date (YYYY-MM-DD)", n+1, m[1])
			}
			rels = append(rels, Release{Version: m[1], Date: d})
			cur, kind = &rels[len(rels)-1], ""
		case cur == nil:
		case strings.HasPrefix(line, "### "):
			kind = strings.TrimSpace(line[4:])
		case strings.HasPrefix(line, "- "):
			if kind == "" {
				return nil, fmt.Errorf("line %d: a change outside a \"### Added/Changed/Fixed…\" heading", n+1)
			}
			cur.Changes = append(cur.Changes, Change{Kind: kind, Text: strings.TrimSpace(line[2:])})
		case strings.HasPrefix(line, "  ") && strings.TrimSpace(line) != "" && len(cur.Changes) > 0:
			c := &cur.Changes[len(cur.Changes)-1]
			c.Text += " " + strings.TrimSpace(line)
		}
	}
	if len(rels) == 0 {
		return nil, fmt.Errorf("no release section (\"## [VERSION] - YYYY-MM-DD\")")
	}
	for i, r := range rels {
		if len(r.Changes) == 0 {
			return nil, fmt.Errorf("release %s lists no change", r.Version)
		}
		if i > 0 && !r.Date.Before(rels[i-1].Date) && !r.Date.Equal(rels[i-1].Date) {
			return nil, fmt.Errorf("release %s is dated after the newer release %s", r.Version, rels[i-1].Version)
		}
	}
	return rels, nil
}

// Debian is the Debian changelog of rels (native package versions).
func Debian(rels []Release, pkg, maintainer string) string {
	var b strings.Builder
	for i, r := range rels {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s (%s) unstable; urgency=medium\n\n", pkg, r.Version)
		for _, c := range r.Changes {
			text := strings.ReplaceAll(c.Text, "`", "")
			b.WriteString(wrap("  * "+c.Kind+": "+text, "    ", 78))
		}
		fmt.Fprintf(&b, "\n -- %s  %s\n", maintainer, r.Date.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	}
	return b.String()
}

// wrap breaks s at spaces into lines of at most width columns, the
// continuation lines indented by indent.
func wrap(s, indent string, width int) string {
	var b strings.Builder
	line := ""
	for _, w := range strings.Fields(s[4:]) {
		switch {
		case line == "":
			line = s[:4] + w
		case len(line)+1+len(w) > width:
			b.WriteString(line + "\n")
			line = indent + w
		default:
			line += " " + w
		}
	}
	b.WriteString(line + "\n")
	return b.String()
}
