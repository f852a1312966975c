package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseVmHWM returns the VmHWM line of /proc/PID/status in bytes.
func ParseVmHWM(status []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmHWM:"))
		if !ok {
			continue
		}
		f := strings.Fields(string(rest))
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("malformed VmHWM line %q", sc.Bytes())
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil || kb > math.MaxUint64/1024 {
			return 0, fmt.Errorf("malformed VmHWM line %q", sc.Bytes())
		}
		return kb * 1024, nil
	}
	return 0, errors.New("no VmHWM line (is this a /proc/PID/status file of a running process?)")
}

// ParseIperf3 returns the received bit rate of an `iperf3 -J` TCP test
// (end.sum_received.bits_per_second).
func ParseIperf3(out []byte) (float64, error) {
	var r struct {
		Error string `json:"error"`
		End   struct {
			SumReceived *struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, fmt.Errorf("iperf3 -J output is not JSON: %w", err)
	}
	if r.Error != "" {
		return 0, fmt.Errorf("iperf3: %s", r.Error)
	}
	if r.End.SumReceived == nil {
		return 0, errors.New("iperf3 -J output has no end.sum_received")
	}
	v := r.End.SumReceived.BitsPerSecond
	if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("iperf3 reported an invalid rate %v", v)
	}
	return v, nil
}

// LogAttr returns the value of attribute key on the first line of a slog
// text log whose message is msg ("" when there is none).
func LogAttr(log, msg, key string) string {
	quoted := "msg=" + strconv.Quote(msg)
	plain := "msg=" + msg
	for line := range strings.Lines(log) {
		line = strings.TrimRight(line, "\r\n")
		i := strings.Index(line, quoted)
		n := len(quoted)
		if i < 0 {
			i = strings.Index(line, plain+" ")
			n = len(plain)
			if i < 0 && strings.HasSuffix(line, plain) {
				i = len(line) - n
			}
		}
		if i < 0 {
			continue
		}
		for _, f := range strings.Fields(line[i+n:]) {
			if v, ok := strings.CutPrefix(f, key+"="); ok {
				return v
			}
		}
		return ""
	}
	return ""
}

// LogDuration is LogAttr parsed as a Go duration.
func LogDuration(log, msg, key string) (time.Duration, bool) {
	v := LogAttr(log, msg, key)
	if v == "" {
		return 0, false
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, false
	}
	return d, true
}
