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

// Check compares a figure with a target of the issue. The figure's runs
// give an interval for its median (Series.MedianInterval); a target is met
// when the whole interval meets it, not met when none of it does, and
// undecided when the interval straddles the limit.
type Check struct {
	Name    string
	Unit    Unit
	Values  Series
	AtLeast bool // target is a minimum (else a maximum)
	Limit   float64
	// GeneratorBound is set when, in the median run, the thing measured
	// took within GeneratorMargin of all the load offered: the figure
	// says how much the generator offered, not how much the measured
	// side could take, so no target is claimed from it.
	GeneratorBound bool
}

// Verdicts.
const (
	VerdictMet         = "met"
	VerdictNotMet      = "NOT met"
	VerdictUndecided   = "undecided"
	VerdictGenerator   = "undecided (generator-bound)"
	VerdictNotMeasured = "not measured"
	GeneratorMargin    = 0.03 // measured ≥ 97 % of offered: generator-bound
)

// GeneratorBoundRuns reports whether the median run's measured rate is
// within GeneratorMargin of its offered load (measured[i] and offered[i]
// belong to run i).
func GeneratorBoundRuns(measured, offered Series) bool {
	if len(measured) == 0 || len(measured) != len(offered) {
		return false
	}
	frac := make(Series, 0, len(measured))
	for i := range measured {
		if offered[i] > 0 {
			frac = append(frac, measured[i]/offered[i])
		}
	}
	return len(frac) > 0 && frac.Median() >= 1-GeneratorMargin
}

// Target formats the target, e.g. "≥ 0.98".
func (c Check) Target() string {
	op := "≤"
	if c.AtLeast {
		op = "≥"
	}
	return op + " " + c.Unit.Format(c.Limit)
}

// Verdict is VerdictMet, VerdictNotMet, VerdictUndecided,
// VerdictGenerator or VerdictNotMeasured.
func (c Check) Verdict() string {
	lo, hi := c.Values.MedianInterval()
	switch {
	case math.IsNaN(lo):
		return VerdictNotMeasured
	case c.GeneratorBound:
		return VerdictGenerator
	}
	meets := func(v float64) bool {
		if c.AtLeast {
			return v >= c.Limit
		}
		return v <= c.Limit
	}
	switch {
	case meets(lo) && meets(hi):
		return VerdictMet
	case !meets(lo) && !meets(hi):
		return VerdictNotMet
	}
	return VerdictUndecided
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
	fmt.Fprintf(&b, "| nats-server | %s |\n", m.NATSServer)
	fmt.Fprintf(&b, "| load average at start | %s |\n", m.LoadAvg)
	if m.LoadAvgEnd != "" {
		fmt.Fprintf(&b, "| load average at the end | %s |\n", m.LoadAvgEnd)
	}
	if !math.IsNaN(m.Steal) && m.Steal >= 0 {
		fmt.Fprintf(&b, "| CPU steal during the run | %.1f %% of the CPU time (hypervisor; a few %% already moves the ratios) |\n", 100*m.Steal)
	}
	fmt.Fprintf(&b, "| CPU pinning | P2's senders are pinned one per CPU (sched_setaffinity); the readers, the router's forwarding and the servers of P6 are not pinned |\n")
	fmt.Fprintf(&b, "| runs | every figure is the median of %d runs, with [min – max] |\n", r.Runs)
	fmt.Fprintf(&b, "| duration | %s |\n", r.Took.Round(time.Second))
	if r.Sanity != "" {
		fmt.Fprintf(&b, "| sanity check | %s |\n", strings.NewReplacer("\n", " ", "|", "\\|").Replace(r.Sanity))
	}
	b.WriteString("\nAll traffic runs between throw-away network namespaces (internal/lab: client → router → internet) on one machine: the traffic generators, the router and the receivers share its CPUs, so the absolute figures are lower than on a real gateway, and the ratios are the meaningful part.\n\n")

	fmt.Fprintf(&b, "## Targets\n\n")
	b.WriteString("A target is decided from the interval of its runs, not from the median alone: with n runs, the smallest and the largest value bound the median with a confidence of 1 − 2·0.5ⁿ (94 % for 5 runs, 98 % for 7). The target is **met** when the whole interval meets it, **NOT met** when none of it does, and **undecided** when the interval straddles the limit (more runs may decide it). A figure whose median run measured within 3 % of the load the generator offered is **generator-bound**: it shows the generator's limit, so no target is claimed from it.\n\n")
	counts := map[string]int{}
	fmt.Fprintf(&b, "| target | goal | measured (median [min – max]) | result |\n|---|---|---|---|\n")
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "| %s | %s | %s | **%s** |\n", c.Name, c.Target(), c.Unit.Summary(c.Values), c.Verdict())
		counts[c.Verdict()]++
	}
	fmt.Fprintf(&b, "\n%d of %d targets met, %d not met, %d undecided (%d of them generator-bound).",
		counts[VerdictMet], len(r.Checks), counts[VerdictNotMet], counts[VerdictUndecided]+counts[VerdictGenerator], counts[VerdictGenerator])
	for _, v := range []string{VerdictNotMet, VerdictUndecided, VerdictGenerator, VerdictNotMeasured} {
		var names []string
		for _, c := range r.Checks {
			if c.Verdict() == v {
				names = append(names, c.Name)
			}
		}
		if len(names) > 0 {
			fmt.Fprintf(&b, " %s: %s.", strings.ToUpper(v[:1])+v[1:], strings.Join(names, "; "))
		}
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
