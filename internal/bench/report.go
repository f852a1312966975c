package bench

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"time"
)

// Figure is one measured quantity: its runs and how to print them.
type Figure struct {
	Label  string
	Unit   Unit
	Values Series
}

// Check compares a figure's median with a target of the issue.
type Check struct {
	Name    string
	Unit    Unit
	Values  Series
	AtLeast bool // target is a minimum (else a maximum)
	Limit   float64
}

// Target formats the target, e.g. "≥ 0.98".
func (c Check) Target() string {
	op := "≤"
	if c.AtLeast {
		op = "≥"
	}
	return op + " " + c.Unit.Format(c.Limit)
}

// Verdict is "met", "NOT met" or "not measured".
func (c Check) Verdict() string {
	m := c.Values.Median()
	switch {
	case math.IsNaN(m):
		return "not measured"
	case c.AtLeast && m >= c.Limit, !c.AtLeast && m <= c.Limit:
		return "met"
	}
	return "NOT met"
}

// Section is one benchmark's part of the report.
type Section struct {
	ID, Title string
	Method    []string // paragraphs
	Commands  []string
	Figures   []Figure
	Notes     []string
	Errors    []string
}

func (s *Section) figure(label string, u Unit, v Series) {
	s.Figures = append(s.Figures, Figure{Label: label, Unit: u, Values: v})
}

func (s *Section) command(c string) {
	for _, have := range s.Commands {
		if have == c {
			return
		}
	}
	s.Commands = append(s.Commands, c)
}

func (s *Section) fail(format string, args ...any) {
	s.Errors = append(s.Errors, fmt.Sprintf(format, args...))
}

// Report is the whole of BENCHMARKS.md.
type Report struct {
	Command  string
	Machine  Machine
	Runs     int
	Quick    bool
	Only     []string // the sections run, when not all (--only)
	Took     time.Duration
	Sanity   string
	Sections []*Section
	Checks   []Check
}

// Section returns the section with id, or nil.
func (r *Report) Section(id string) *Section {
	for _, s := range r.Sections {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// Markdown renders the report.
func (r *Report) Markdown() []byte {
	var b bytes.Buffer
	m := r.Machine
	fmt.Fprintf(&b, "# ftwall benchmarks\n\n")
	fmt.Fprintf(&b, "Written by `ftwbench` (`sudo make bench`); do not edit by hand, run it again.\n\n")
	if r.Quick {
		fmt.Fprintf(&b, "**Quick smoke run** (`--quick`): one run with small sizes; these figures only show that every benchmark works and are not comparable with the targets.\n\n")
	}
	if len(r.Only) > 0 {
		fmt.Fprintf(&b, "**Partial run** (`--only %s`): the other sections were not run, and only the targets of these are judged.\n\n", strings.Join(r.Only, ","))
	}
	fmt.Fprintf(&b, "## Machine\n\n")
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| command | `%s` |\n", r.Command)
	fmt.Fprintf(&b, "| date | %s |\n", m.Date.Format(time.RFC3339))
	fmt.Fprintf(&b, "| CPUs | %d × %s |\n", m.CPUs, m.Model)
	fmt.Fprintf(&b, "| memory | %.1f GiB |\n", float64(m.MemBytes)/(1<<30))
	fmt.Fprintf(&b, "| kernel | %s |\n", m.Kernel)
	fmt.Fprintf(&b, "| Go | %s |\n", m.GoVersion)
	fmt.Fprintf(&b, "| ftwall | %s |\n", m.Ftwall)
	fmt.Fprintf(&b, "| iperf3 | %s |\n", m.Iperf3)
	fmt.Fprintf(&b, "| load average at start | %s |\n", m.LoadAvg)
	fmt.Fprintf(&b, "| runs | every figure is the median of %d runs, with [min – max] |\n", r.Runs)
	fmt.Fprintf(&b, "| duration | %s |\n", r.Took.Round(time.Second))
	if r.Sanity != "" {
		fmt.Fprintf(&b, "| sanity check | %s |\n", strings.NewReplacer("\n", " ", "|", "\\|").Replace(r.Sanity))
	}
	b.WriteString("\nAll traffic runs between throw-away network namespaces (internal/lab: client → router → internet) on one machine: the traffic generators, the router and the receivers share its CPUs, so the absolute figures are lower than on a real gateway, and the ratios are the meaningful part.\n\n")

	fmt.Fprintf(&b, "## Targets\n\n")
	met, total := 0, 0
	fmt.Fprintf(&b, "| target | goal | measured (median [min – max]) | result |\n|---|---|---|---|\n")
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "| %s | %s | %s | **%s** |\n", c.Name, c.Target(), c.Unit.Summary(c.Values), c.Verdict())
		total++
		if c.Verdict() == "met" {
			met++
		}
	}
	fmt.Fprintf(&b, "\n%d of %d targets met.", met, total)
	var notMet []string
	for _, c := range r.Checks {
		if c.Verdict() != "met" {
			notMet = append(notMet, c.Name)
		}
	}
	if len(notMet) > 0 {
		fmt.Fprintf(&b, " Not met: %s.", strings.Join(notMet, "; "))
	}
	b.WriteString("\n\n")

	for _, s := range r.Sections {
		fmt.Fprintf(&b, "## %s %s\n\n", s.ID, s.Title)
		for _, p := range s.Method {
			fmt.Fprintf(&b, "%s\n\n", p)
		}
		if len(s.Figures) > 0 {
			fmt.Fprintf(&b, "| figure | median | min – max | runs |\n|---|---|---|---|\n")
			for _, f := range s.Figures {
				v := f.Values
				fmt.Fprintf(&b, "| %s | %s | %s – %s | %d |\n", f.Label, f.Unit.Format(v.Median()), f.Unit.Format(v.Min()), f.Unit.Format(v.Max()), len(v))
			}
			b.WriteString("\n")
		}
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
		if len(s.Notes) > 0 {
			b.WriteString("\n")
		}
		if len(s.Errors) > 0 {
			fmt.Fprintf(&b, "Errors (runs that failed are left out of the figures):\n\n")
			for _, e := range s.Errors {
				fmt.Fprintf(&b, "```\n%s\n```\n\n", strings.TrimSpace(e))
			}
		}
		if len(s.Commands) > 0 {
			fmt.Fprintf(&b, "Commands (`<client>`, `<router>`, `<internet>` are the lab's namespaces):\n\n")
			for _, c := range s.Commands {
				fmt.Fprintf(&b, "    %s\n", c)
			}
			b.WriteString("\n")
		}
	}
	return b.Bytes()
}
