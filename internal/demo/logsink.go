package demo

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// maxLogLine bounds one buffered log line; longer lines are cut.
const maxLogLine = 4096

// logSink receives ftwall's output: it splits it into lines, keeps the last
// few for a failure report, copies them to out with a prefix when out is not
// nil, and closes ready the first time a line contains the ready marker.
type logSink struct {
	mu      sync.Mutex
	partial []byte
	tail    []string
	keep    int
	out     io.Writer
	prefix  string
	marker  string
	ready   chan struct{}
	isReady bool
	backend string
}

func newLogSink(out io.Writer, prefix, marker string, keep int) *logSink {
	return &logSink{out: out, prefix: prefix, marker: marker, keep: max(keep, 1), ready: make(chan struct{})}
}

// Write implements io.Writer. It never fails: ftwall must not stall on its
// log.
func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := maxLogLine - len(s.partial)
			s.partial = append(s.partial, p[:min(len(p), max(room, 0))]...)
			break
		}
		room := maxLogLine - len(s.partial)
		s.partial = append(s.partial, p[:min(i, max(room, 0))]...)
		s.line(string(s.partial))
		s.partial = s.partial[:0]
		p = p[i+1:]
	}
	return n, nil
}

// Flush handles an unterminated last line (after the process ended).
func (s *logSink) Flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.partial) > 0 {
		s.line(string(s.partial))
		s.partial = s.partial[:0]
	}
}

// line handles one complete line; s.mu is held.
func (s *logSink) line(l string) {
	l = strings.TrimRight(l, "\r")
	if len(s.tail) == s.keep {
		copy(s.tail, s.tail[1:])
		s.tail = s.tail[:len(s.tail)-1]
	}
	s.tail = append(s.tail, l)
	if s.backend == "" && strings.Contains(l, "msg=\"ruleset applied\"") {
		s.backend = logValue(l, "backend")
	}
	if !s.isReady && s.marker != "" && strings.Contains(l, s.marker) {
		s.isReady = true
		close(s.ready)
	}
	if s.out != nil {
		// Best effort: a broken terminal must not stop ftwall.
		_, _ = io.WriteString(s.out, s.prefix+l+"\n")
	}
}

// Ready is closed once a line with the marker was seen.
func (s *logSink) Ready() <-chan struct{} { return s.ready }

// Tail returns the last lines kept.
func (s *logSink) Tail() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.tail...)
}

// Backend is the queue backend named by ftwall's "ruleset applied" line, ""
// until it was seen.
func (s *logSink) Backend() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.backend
}

// logValue returns the value of key in a log/slog text line (key=value or
// key="quoted value"), "" when the key is absent.
func logValue(line, key string) string {
	for i := 0; i < len(line); {
		j := strings.Index(line[i:], key+"=")
		if j < 0 {
			return ""
		}
		j += i
		if j > 0 && line[j-1] != ' ' {
			i = j + len(key) + 1
			continue
		}
		v := line[j+len(key)+1:]
		if strings.HasPrefix(v, `"`) {
			// Quoted: up to the next unescaped quote.
			var b strings.Builder
			for k := 1; k < len(v); k++ {
				switch v[k] {
				case '\\':
					if k+1 < len(v) {
						k++
						b.WriteByte(v[k])
					}
				case '"':
					return b.String()
				default:
					b.WriteByte(v[k])
				}
			}
			return b.String()
		}
		if sp := strings.IndexByte(v, ' '); sp >= 0 {
			v = v[:sp]
		}
		return v
	}
	return ""
}
