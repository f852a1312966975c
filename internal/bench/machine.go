package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Machine describes where the benchmarks ran.
type Machine struct {
	CPUs      int
	Model     string
	MemBytes  uint64
	Kernel    string
	Date      time.Time
	GoVersion string // the Go version ftwbench was built with
	Ftwall    string // `ftwall --version`
	Iperf3    string // first line of `iperf3 --version`
	LoadAvg   string // /proc/loadavg at the start: a busy machine gives noisy figures
	// LoadAvgEnd is /proc/loadavg when the run ended.
	LoadAvgEnd string
	// Steal is the share of CPU time the hypervisor took from this
	// machine while the run went on (from /proc/stat); NaN when unknown.
	Steal float64
	// NATSServer is `nats-server --version` (P6).
	NATSServer string
	// cpu0 is /proc/stat's cpu line at the start.
	cpu0 []uint64
}

// cpuTimes reads /proc/stat's aggregate cpu line (user nice system idle
// iowait irq softirq steal ...).
func cpuTimes() []uint64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return nil
	}
	var out []uint64
	for _, v := range f[1:] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil
		}
		out = append(out, n)
	}
	return out
}

// StealShare is the steal time's share of the CPU time between two
// /proc/stat readings (NaN when unknown).
func StealShare(a, b []uint64) float64 {
	if len(a) < 8 || len(b) < 8 {
		return math.NaN()
	}
	var total uint64
	// guest and guest_nice (fields 9, 10) are inside user and nice.
	for i := 0; i < 8; i++ {
		total += b[i] - a[i]
	}
	if total == 0 {
		return math.NaN()
	}
	return float64(b[7]-a[7]) / float64(total)
}

// finish records the machine's state at the end of the run.
func (m *Machine) finish() {
	m.Steal = StealShare(m.cpu0, cpuTimes())
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.LoadAvgEnd = strings.Join(f[:3], " ")
		}
	}
}

// ReadMachine collects the machine description.
func ReadMachine(ctx context.Context, ftwall string) Machine {
	m := Machine{CPUs: runtime.NumCPU(), Date: time.Now().UTC(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.Model = cpuModel(b)
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemBytes = memTotal(b)
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	m.Ftwall = firstLine(ctx, ftwall, "--version")
	m.Iperf3 = firstLine(ctx, "iperf3", "--version")
	m.NATSServer = firstLine(ctx, "nats-server", "--version")
	m.cpu0 = cpuTimes()
	m.Steal = math.NaN()
	return m
}

func firstLine(ctx context.Context, name string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return fmt.Sprintf("unknown (%v)", err)
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

func cpuModel(cpuinfo []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(cpuinfo))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func memTotal(meminfo []byte) uint64 {
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "MemTotal:" && f[2] == "kB" {
			kb, err := strconv.ParseUint(f[1], 10, 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}
