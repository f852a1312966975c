package events

import (
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// NewLogger returns run's logger: text or JSON records on w, or with
// useSyslog the same records to the local syslog daemon instead (one
// message per record, with the severity of its level; syslog adds the
// time). When w is the stream journald reads (systemd's JOURNAL_STREAM
// names its device and inode), each line starts with the kernel-style
// priority prefix "<N>" that journald turns into the record's priority,
// so `journalctl -p warning` finds warnings. Durations are written as
// text ("2m0s") in both formats.
func NewLogger(w io.Writer, format string, level slog.Level, useSyslog bool) (*slog.Logger, io.Closer, error) {
	var dial func() (*syslog.Writer, error)
	if useSyslog {
		dial = func() (*syslog.Writer, error) { return syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, "ftwall") }
	}
	return newLogger(w, format, level, dial, isJournalStream(w, os.Getenv("JOURNAL_STREAM")))
}

func newLogger(w io.Writer, format string, level slog.Level, dial func() (*syslog.Writer, error), journal bool) (*slog.Logger, io.Closer, error) {
	newHandler, err := handlerFor(format)
	if err != nil {
		return nil, nil, err
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: durationText}
	if dial != nil {
		sw, err := dial()
		if err != nil {
			return nil, nil, fmt.Errorf("--syslog: cannot connect to the local syslog daemon (is one running and listening on /dev/log?): %w", err)
		}
		return slog.New(newSyslogHandler(sw, newHandler, level)), sw, nil
	}
	if journal {
		return slog.New(newPrefixHandler(w, newHandler, opts)), nopCloser{}, nil
	}
	return slog.New(newHandler(w, opts)), nopCloser{}, nil
}

type handlerFunc func(io.Writer, *slog.HandlerOptions) slog.Handler

func handlerFor(format string) (handlerFunc, error) {
	switch format {
	case "", "text":
		return func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewTextHandler(w, o) }, nil
	case "json":
		return func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewJSONHandler(w, o) }, nil
	}
	return nil, fmt.Errorf("unknown log format %q: use text or json", format)
}

// durationText writes durations as Go duration text ("2m0s") instead of
// JSON's nanosecond integers.
func durationText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// isJournalStream reports whether w is the file journald connected as
// stdout/stderr: JOURNAL_STREAM is "<device>:<inode>" of that stream.
func isJournalStream(w io.Writer, env string) bool {
	f, ok := w.(*os.File)
	if !ok || env == "" {
		return false
	}
	dev, ino, ok := strings.Cut(env, ":")
	if !ok {
		return false
	}
	d, err1 := strconv.ParseUint(dev, 10, 64)
	i, err2 := strconv.ParseUint(ino, 10, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return uint64(st.Dev) == d && st.Ino == i
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }
