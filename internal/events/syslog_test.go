package events

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"log/syslog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSyslogReplacesStderr points the syslog side at a socket of the test:
// each record must reach syslog, as JSON with --log-format json and with
// the syslog severity of its level, and nothing the other output.
func TestSyslogReplacesStderr(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var buf bytes.Buffer
	log, closer, err := newLogger(&buf, "json", slog.LevelDebug, func() (*syslog.Writer, error) {
		return syslog.Dial("unixgram", sock, syslog.LOG_DAEMON|syslog.LOG_INFO, "ftwall")
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()

	log = log.With("component", "test").WithGroup("g")
	log.Debug("d", "k", 1)
	log.Info("i", "k", 2)
	log.Warn("w", "k", 3)
	log.Error("e", "took", 2*time.Minute)
	log.Log(context.Background(), slog.LevelError+4, "fatal-ish", "k", 5)

	// LOG_DAEMON is facility 3: priority = 3*8 + severity.
	want := []struct{ pri, text string }{
		{"<31>", `{"level":"DEBUG","msg":"d","component":"test","g":{"k":1}}`},
		{"<30>", `{"level":"INFO","msg":"i","component":"test","g":{"k":2}}`},
		{"<28>", `{"level":"WARN","msg":"w","component":"test","g":{"k":3}}`},
		{"<27>", `{"level":"ERROR","msg":"e","component":"test","g":{"took":"2m0s"}}`},
		{"<27>", `{"level":"ERROR+4","msg":"fatal-ish","component":"test","g":{"k":5}}`},
	}
	p := make([]byte, 4096)
	for i, w := range want {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(p)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		msg := string(p[:n])
		if !strings.HasPrefix(msg, w.pri) || !strings.Contains(msg, "ftwall[") || !strings.HasSuffix(strings.TrimSpace(msg), w.text) {
			t.Errorf("syslog message %d = %q, want priority %s and text %q", i, msg, w.pri, w.text)
		}
		if strings.Contains(msg, `"time"`) {
			t.Errorf("syslog message %d has a time stamp: %q", i, msg)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("with syslog, the other output got %q; want nothing (journald would show every line twice)", buf.String())
	}
}

func TestSyslogLevelFilter(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var buf bytes.Buffer
	log, closer, err := newLogger(&buf, "text", slog.LevelWarn, func() (*syslog.Writer, error) {
		return syslog.Dial("unixgram", sock, syslog.LOG_DAEMON|syslog.LOG_INFO, "ftwall")
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	log.Info("hidden")
	log.Warn("shown")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	p := make([]byte, 4096)
	n, err := conn.Read(p)
	if err != nil || !strings.Contains(string(p[:n]), "msg=shown") || strings.Contains(string(p[:n]), "hidden") {
		t.Errorf("first syslog message %q, %v", p[:n], err)
	}
}

// Under journald every line carries its priority prefix.
func TestJournalPriorityPrefix(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		log, _, err := newLogger(&buf, format, slog.LevelDebug, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		log = log.With("a", 1)
		log.Debug("d")
		log.Info("i")
		log.Warn("w")
		log.Error("e")
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		want := []string{"<7>", "<6>", "<4>", "<3>"}
		if len(lines) != len(want) {
			t.Fatalf("%s: %d lines: %q", format, len(lines), buf.String())
		}
		for i, l := range lines {
			if !strings.HasPrefix(l, want[i]) || strings.Count(l, "<") != 1 || !strings.Contains(l, "a") {
				t.Errorf("%s line %d = %q, want prefix %s", format, i, l, want[i])
			}
		}
	}
	// Without journald: no prefix.
	var buf bytes.Buffer
	log, _, _ := newLogger(&buf, "text", slog.LevelInfo, nil, false)
	log.Info("i")
	if strings.HasPrefix(buf.String(), "<") {
		t.Errorf("prefix without journald: %q", buf.String())
	}
}

func TestDurationsAsText(t *testing.T) {
	var buf bytes.Buffer
	log, _, _ := newLogger(&buf, "json", slog.LevelInfo, nil, false)
	log.Info("x", "timelock", 2*time.Minute, slog.Group("g", "took", 1500*time.Microsecond))
	if l := jsonLines(t, &buf); len(l) != 1 || l[0]["timelock"] != "2m0s" || l[0]["g"].(map[string]any)["took"] != "1.5ms" {
		t.Errorf("durations: %s", buf.String())
	}
}

func TestIsJournalStream(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stream")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	env := fmt.Sprintf("%d:%d", st.Dev, st.Ino)
	if !isJournalStream(f, env) {
		t.Errorf("JOURNAL_STREAM=%s of the file itself: not detected", env)
	}
	for _, bad := range []string{"", "1:2", fmt.Sprintf("%d:%d", st.Dev, st.Ino+1), "x:y", "12"} {
		if isJournalStream(f, bad) {
			t.Errorf("JOURNAL_STREAM=%q detected", bad)
		}
	}
	if isJournalStream(&bytes.Buffer{}, env) {
		t.Error("a buffer detected as the journal stream")
	}
}

// TestNewLoggerSyslog uses the machine's syslog socket: it must work when a
// daemon listens on /dev/log and fail with an actionable message otherwise.
func TestNewLoggerSyslog(t *testing.T) {
	var buf bytes.Buffer
	log, closer, err := NewLogger(&buf, "text", slog.LevelInfo, true)
	if _, statErr := os.Stat("/dev/log"); statErr != nil {
		if err == nil || !strings.Contains(err.Error(), "syslog daemon") {
			t.Errorf("no /dev/log: NewLogger = %v, want an error about the syslog daemon", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("NewLogger with /dev/log present: %v", err)
	}
	log.Info("ftwall events test")
	if err := closer.Close(); err != nil {
		t.Error(err)
	}
}
