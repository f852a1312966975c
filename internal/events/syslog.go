package events

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"log/syslog"
)

// severity is a syslog severity ftwall uses.
type severity int

const (
	sevDebug severity = iota
	sevInfo
	sevWarning
	sevErr
	numSeverities
)

func severityOf(l slog.Level) severity {
	switch {
	case l >= slog.LevelError:
		return sevErr
	case l >= slog.LevelWarn:
		return sevWarning
	case l >= slog.LevelInfo:
		return sevInfo
	default:
		return sevDebug
	}
}

// levelHandlers holds one handler per severity and gives each record to
// the one of its level, so that each output (a syslog severity, a journald
// priority prefix) is chosen without parsing what was formatted.
type levelHandlers [numSeverities]slog.Handler

func (h levelHandlers) Enabled(ctx context.Context, l slog.Level) bool {
	return h[severityOf(l)].Enabled(ctx, l)
}

func (h levelHandlers) Handle(ctx context.Context, r slog.Record) error {
	return h[severityOf(r.Level)].Handle(ctx, r)
}

func (h levelHandlers) WithAttrs(attrs []slog.Attr) slog.Handler {
	for i := range h {
		h[i] = h[i].WithAttrs(attrs)
	}
	return h
}

func (h levelHandlers) WithGroup(name string) slog.Handler {
	for i := range h {
		h[i] = h[i].WithGroup(name)
	}
	return h
}

// newSyslogHandler formats records (text or JSON, without time: syslog
// adds it) and sends each as one syslog message with the severity of its
// level.
func newSyslogHandler(w *syslog.Writer, newHandler handlerFunc, level slog.Level) levelHandlers {
	opts := &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return durationText(groups, a)
		},
	}
	var h levelHandlers
	for s := range numSeverities {
		h[s] = newHandler(severityWriter{w, s}, opts)
	}
	return h
}

// newPrefixHandler writes each record on one line that starts with the
// priority prefix of its level ("<3>" error, "<4>" warning, "<6>" info,
// "<7>" debug), which journald reads as the record's priority.
func newPrefixHandler(w io.Writer, newHandler handlerFunc, opts *slog.HandlerOptions) levelHandlers {
	var h levelHandlers
	for s := range numSeverities {
		h[s] = newHandler(prefixWriter{w: w, prefix: journalPrefix[s]}, opts)
	}
	return h
}

var journalPrefix = [numSeverities]string{sevDebug: "<7>", sevInfo: "<6>", sevWarning: "<4>", sevErr: "<3>"}

// prefixWriter writes each Write (one record, as slog's handlers write
// them) with prefix in front, in one write.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	if _, err := p.w.Write(append([]byte(p.prefix), b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// severityWriter writes each Write as one syslog message of one severity.
type severityWriter struct {
	w   *syslog.Writer
	sev severity
}

func (s severityWriter) Write(p []byte) (int, error) {
	msg := string(bytes.TrimRight(p, "\n"))
	var err error
	switch s.sev {
	case sevErr:
		err = s.w.Err(msg)
	case sevWarning:
		err = s.w.Warning(msg)
	case sevInfo:
		err = s.w.Info(msg)
	default:
		err = s.w.Debug(msg)
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}
