package events

import (
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
)

// NewLogger returns the service logger: records at level and above go to w
// in format "text" (or "") or "json"; with useSyslog they also go to the
// local syslog daemon (facility daemon, tag "ftwall", text format without
// time stamps, syslog severity from the record level). The Closer releases
// the syslog connection (it is a no-op without syslog).
func NewLogger(w io.Writer, format string, level slog.Level, useSyslog bool) (*slog.Logger, io.Closer, error) {
	var dial func() (*syslog.Writer, error)
	if useSyslog {
		dial = func() (*syslog.Writer, error) { return syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, "ftwall") }
	}
	return newLogger(w, format, level, dial)
}

func newLogger(w io.Writer, format string, level slog.Level, dial func() (*syslog.Writer, error)) (*slog.Logger, io.Closer, error) {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch format {
	case "", "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, nil, fmt.Errorf("unknown log format %q: use text or json", format)
	}
	if dial == nil {
		return slog.New(h), nopCloser{}, nil
	}
	sw, err := dial()
	if err != nil {
		return nil, nil, fmt.Errorf("--syslog: cannot connect to the local syslog daemon (is one running and listening on /dev/log?): %w", err)
	}
	return slog.New(teeHandler{h, newSyslogHandler(sw, level)}), sw, nil
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }
