package bench

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// Options configure a benchmark run.
type Options struct {
	Ftwall  string   // the ftwall binary (required)
	Ftsim   string   // the ftsim binary, for the sanity check ("" = skip it)
	Self    string   // the ftwbench binary, run as `accept-loop` in the router ("" = this executable)
	Out     string   // report file ("" = none)
	Runs    int      // runs per figure (≥ 1; 0 = 5, or 1 with Quick)
	Quick   bool     // one short run with small sizes (smoke test)
	Only    []string // run only these sections ("P1" … "P6"; nil = all); the report judges only their targets
	Command string   // the command line, recorded in the report
	Log     *slog.Logger
}

// sizes are the durations and counts of one mode.
type sizes struct {
	iperfSecs int           // iperf3 -t (one more second is omitted at the start)
	pps       time.Duration // UDP packets-per-second window
	p2Warm    time.Duration // flood before the P2 window opens
	p2Window  time.Duration
	p2Peers   int // distinct peers of the P2 floods
	p2Drains  int // backlog drains per P2 configuration
	p3Peers   int
	p4Peers   int
	p6Pings   int // peers of the propagation measurement
	p6Load    int // shared entries loaded at start (and a tenth of it)
}

var (
	fullSizes  = sizes{iperfSecs: 4, pps: 2 * time.Second, p2Warm: time.Second, p2Window: 2 * time.Second, p2Peers: 508, p2Drains: 30, p3Peers: 200, p4Peers: 1_000_000, p6Pings: 200, p6Load: 1_000_000}
	quickSizes = sizes{iperfSecs: 1, pps: 500 * time.Millisecond, p2Warm: 300 * time.Millisecond, p2Window: 500 * time.Millisecond, p2Peers: 64, p2Drains: 2, p3Peers: 20, p4Peers: 10_000, p6Pings: 20, p6Load: 10_000}
)

func (o *Options) check() error {
	if o.Runs < 0 {
		return fmt.Errorf("--runs %d: want at least 1", o.Runs)
	}
	if o.Runs == 0 {
		o.Runs = 5
		if o.Quick {
			o.Runs = 1
		}
	}
	if len(o.Only) > 0 {
		only, err := ParseSections(o.Only)
		if err != nil {
			return err
		}
		o.Only = only
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Ftwall == "" {
		return errors.New("--ftwall: the path of the ftwall binary is required (make build writes bin/ftwall)")
	}
	if err := executable(o.Ftwall, "--ftwall"); err != nil {
		return err
	}
	if o.Ftsim != "" {
		if err := executable(o.Ftsim, "--ftsim"); err != nil {
			return err
		}
	}
	if o.Self == "" {
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find ftwbench's own executable (for the accept loop): %w", err)
		}
		o.Self = self
	}
	if _, err := exec.LookPath("iperf3"); err != nil {
		return errors.New("iperf3 is not installed (apt-get install iperf3)")
	}
	if os.Geteuid() != 0 {
		return errors.New("the benchmarks need root (network namespaces, nftables, NFQUEUE): run `sudo make bench`")
	}
	return nil
}

func executable(path, flag string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s %s: %w (run `make tools` first)", flag, path, err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("%s %s: not an executable file", flag, path)
	}
	return nil
}

// Sections are the benchmark suite's section ids, in the order they run.
var Sections = []string{"P1", "P2", "P3", "P4", "P5", "P6"}

// ParseSections reads --only's values: section ids (case-insensitive),
// each value possibly a comma-separated list. It returns them in the
// suite's order, without repeats.
func ParseSections(vals []string) ([]string, error) {
	want := map[string]bool{}
	for _, v := range vals {
		for _, f := range strings.Split(v, ",") {
			id := strings.ToUpper(strings.TrimSpace(f))
			if id == "" {
				continue
			}
			if !slices.Contains(Sections, id) {
				return nil, fmt.Errorf("--only %s: unknown section (want some of %s)", strings.TrimSpace(f), strings.Join(Sections, ", "))
			}
			want[id] = true
		}
	}
	if len(want) == 0 {
		return nil, errors.New("--only: no section given")
	}
	var out []string
	for _, id := range Sections {
		if want[id] {
			out = append(out, id)
		}
	}
	return out, nil
}

// runs reports whether section id is to run.
func (o *Options) runs(id string) bool {
	return len(o.Only) == 0 || slices.Contains(o.Only, id)
}
