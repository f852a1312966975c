package events

import (
	"bytes"
	"context"
	"log/slog"
	"log/syslog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSyslogTee points the syslog side at a socket of the test: each record
// must reach both outputs, with the syslog severity of its level.
func TestSyslogTee(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var buf bytes.Buffer
	log, closer, err := newLogger(&buf, "json", slog.LevelDebug, func() (*syslog.Writer, error) {
		return syslog.Dial("unixgram", sock, syslog.LOG_DAEMON|syslog.LOG_INFO, "ftwall")
	})
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()

	log = log.With("component", "test").WithGroup("g")
	log.Debug("d", "k", 1)
	log.Info("i", "k", 2)
	log.Warn("w", "k", 3)
	log.Error("e", "k", 4)
	log.Log(context.Background(), slog.LevelError+4, "fatal-ish", "k", 5)

	// LOG_DAEMON is facility 3: priority = 3*8 + severity.
	want := []struct{ pri, text string }{
		{"<31>", `level=DEBUG msg=d component=test g.k=1`},
		{"<30>", `level=INFO msg=i component=test g.k=2`},
		{"<28>", `level=WARN msg=w component=test g.k=3`},
		{"<27>", `level=ERROR msg=e component=test g.k=4`},
		{"<27>", `level=ERROR+4 msg=fatal-ish component=test g.k=5`},
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
		if strings.Contains(msg, "time=") {
			t.Errorf("syslog message %d has a time stamp: %q", i, msg)
		}
	}
	if lines := jsonLines(t, &buf); len(lines) != len(want) {
		t.Errorf("stderr side got %d lines, want %d", len(lines), len(want))
	} else if g, ok := lines[0]["g"].(map[string]any); !ok || g["k"] != 1.0 || lines[0]["component"] != "test" {
		t.Errorf("stderr side: %v", lines[0])
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
	})
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	log.Info("hidden")
	log.Warn("shown")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	p := make([]byte, 4096)
	n, err := conn.Read(p)
	if err != nil || !strings.Contains(string(p[:n]), "msg=shown") {
		t.Errorf("first syslog message %q, %v", p[:n], err)
	}
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), "shown") {
		t.Errorf("stderr side %q", buf.String())
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
