package demo

import (
	"bytes"
	"strings"
	"testing"
)

func TestLogSinkSplitsLinesAndForwards(t *testing.T) {
	var out bytes.Buffer
	s := newLogSink(&out, "> ", "msg=inspecting", 3)
	for _, chunk := range []string{"one\ntw", "o\n", "thr", "ee\r\nfour\n", "five"} {
		if n, err := s.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", chunk, n, err)
		}
	}
	if got, want := strings.Join(s.Tail(), "|"), "two|three|four"; got != want {
		t.Errorf("tail = %q; want %q (last 3 complete lines)", got, want)
	}
	s.Flush()
	if got, want := strings.Join(s.Tail(), "|"), "three|four|five"; got != want {
		t.Errorf("tail after Flush = %q; want %q", got, want)
	}
	if got, want := out.String(), "> one\n> two\n> three\n> four\n> five\n"; got != want {
		t.Errorf("forwarded %q; want %q", got, want)
	}
}

func TestLogSinkReadyAndBackend(t *testing.T) {
	s := newLogSink(nil, "", readyMarker, 10)
	select {
	case <-s.Ready():
		t.Fatal("ready before any line")
	default:
	}
	if s.Backend() != "" {
		t.Fatalf("backend %q before the ruleset line", s.Backend())
	}
	// The marker split over two writes, then seen twice: Ready closes once.
	s.Write([]byte(`time=x level=INFO msg="ruleset applied" table="inet ftwall" backend=compat created=true` + "\n"))
	s.Write([]byte("time=x level=INFO msg=insp"))
	select {
	case <-s.Ready():
		t.Fatal("ready on half a line")
	default:
	}
	s.Write([]byte("ecting queues=0..0\ntime=y msg=inspecting\n"))
	select {
	case <-s.Ready():
	default:
		t.Fatal("not ready after the marker line")
	}
	if got := s.Backend(); got != "compat" {
		t.Errorf("backend = %q; want compat", got)
	}
}

func TestLogSinkCutsLongLines(t *testing.T) {
	s := newLogSink(nil, "", "", 2)
	long := strings.Repeat("x", 3*maxLogLine)
	s.Write([]byte(long[:maxLogLine+7]))
	s.Write([]byte(long[maxLogLine+7:] + "\nshort\n"))
	tail := s.Tail()
	if len(tail) != 2 || len(tail[0]) != maxLogLine || tail[1] != "short" {
		t.Errorf("tail = %d lines, first %d bytes; want the long line cut to %d bytes, then %q", len(tail), len(tail[0]), maxLogLine, "short")
	}
}

func TestLogValue(t *testing.T) {
	line := `time=2026 level=INFO msg="ruleset applied" table="inet ftwall" backend=native xbackend=no why="a \"quoted\" text" empty=`
	for _, c := range []struct{ key, want string }{
		{"backend", "native"},
		{"msg", "ruleset applied"},
		{"table", "inet ftwall"},
		{"why", `a "quoted" text`},
		{"empty", ""},
		{"level", "INFO"},
		{"missing", ""},
		{"ackend", ""}, // only whole keys
	} {
		if got := logValue(line, c.key); got != c.want {
			t.Errorf("logValue(%q) = %q; want %q", c.key, got, c.want)
		}
	}
}
