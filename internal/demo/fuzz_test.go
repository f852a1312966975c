package demo

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzLogSink: however ftwall's output is cut into writes, the sink sees the
// same lines, never more than it keeps, none longer than maxLogLine.
func FuzzLogSink(f *testing.F) {
	f.Add("a\nb\nc", uint8(1))
	f.Add("time=x msg=inspecting backend=compat\n\n\r\n", uint8(7))
	f.Add(strings.Repeat("y", maxLogLine+5)+"\nz", uint8(200))
	f.Fuzz(func(t *testing.T, data string, cut uint8) {
		whole := newLogSink(nil, "", readyMarker, 1000)
		whole.Write([]byte(data))
		whole.Flush()
		parts := newLogSink(nil, "", readyMarker, 1000)
		for rest := data; len(rest) > 0; {
			n := min(len(rest), int(cut)%17+1)
			parts.Write([]byte(rest[:n]))
			rest = rest[n:]
		}
		parts.Flush()
		a, b := whole.Tail(), parts.Tail()
		if strings.Join(a, "\n") != strings.Join(b, "\n") || len(a) != len(b) {
			t.Fatalf("lines differ by write boundaries:\n%q\n%q", a, b)
		}
		for _, l := range a {
			if len(l) > maxLogLine {
				t.Fatalf("line of %d bytes kept", len(l))
			}
		}
		if whole.Backend() != parts.Backend() {
			t.Fatalf("backend %q vs %q", whole.Backend(), parts.Backend())
		}
	})
}

// FuzzLogValue: any line and key, no panic; a value found is part of the
// line unless it had escapes.
func FuzzLogValue(f *testing.F) {
	f.Add(`a=1 b="two words" c=\`, "b")
	f.Add(`backend="unterminated`, "backend")
	f.Add(`k==v k=w`, "k")
	f.Fuzz(func(t *testing.T, line, key string) {
		v := logValue(line, key)
		if !strings.Contains(line, `\`) && !strings.Contains(line, v) {
			t.Fatalf("logValue(%q, %q) = %q, not in the line", line, key, v)
		}
	})
}

// FuzzCounterSection: the section is always a suffix of the status text's
// lines.
func FuzzCounterSection(f *testing.F) {
	f.Add("table inet ftwall: present\n\nCOUNTER  PACKETS\ndropped  1\n")
	f.Add("no counters here")
	f.Fuzz(func(t *testing.T, status string) {
		sec := counterSection(status)
		if !strings.HasSuffix(strings.TrimRight(status, "\n"), sec) {
			t.Fatalf("counterSection(%q) = %q, not a suffix", status, sec)
		}
	})
}

// FuzzReadyQueues: any /proc text parses without panic into numbers that
// start lines of the text.
func FuzzReadyQueues(f *testing.F) {
	f.Add("    0  17497     0 2  4096     0     0       30  1\n")
	f.Add("65535 1 2\n70000 1\nx 1\n\n")
	f.Fuzz(func(t *testing.T, text string) {
		for _, q := range readyQueues(text) {
			if !strings.Contains(text, strconv.Itoa(int(q))) {
				t.Fatalf("queue %d not in %q", q, text)
			}
		}
	})
}
