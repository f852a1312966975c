package store

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ftwall/ftwall/internal/oneline"
)

// Header is the first line of a storefile in the current format.
const Header = "# ftwall peers v1"

// headerPrefix starts a format header line of any version.
const headerPrefix = "# ftwall peers v"

// LegacyReason is the Reason of peers read from an ftwall 1.x storefile line.
const LegacyReason = "ftwall 1.x storefile"

// maxLineLen is the longest line accepted; longer lines are malformed.
const maxLineLen = 4096

// Peer is one learned FastTrack peer.
type Peer struct {
	Addr     netip.Addr
	Port     uint16
	LastSeen time.Time
	Reason   string
}

// AddrPort returns the peer's address and port.
func (p Peer) AddrPort() netip.AddrPort { return netip.AddrPortFrom(p.Addr, p.Port) }

// LineError is a malformed storefile line; the line was skipped.
type LineError struct {
	Line int    // 1-based line number
	Text string // the line (shortened when very long)
	Err  error
}

func (e *LineError) Error() string {
	return fmt.Sprintf("line %d: %v: %q", e.Line, e.Err, e.Text)
}

func (e *LineError) Unwrap() error { return e.Err }

var (
	errMissingAddr = errors.New("missing ADDR:PORT")
	errZone        = errors.New("address has a zone; peers are global addresses")
	errTooLong     = fmt.Errorf("line longer than %d bytes", maxLineLen)
)

// lineText shortens a line for a LineError.
func lineText(b []byte) string {
	const max = 120
	if len(b) > max {
		return strings.ToValidUTF8(string(b[:max]), "?") + "…"
	}
	return strings.ToValidUTF8(string(b), "?")
}

// cutField splits b at the first run of spaces or tabs.
func cutField(b []byte) (field, rest []byte) {
	i := bytes.IndexAny(b, " \t")
	if i < 0 {
		return b, nil
	}
	return b[:i], bytes.TrimLeft(b[i:], " \t")
}

// parseLine parses one peer line (without its line ending; surrounding white
// space is allowed). A line with only ADDR:PORT is an ftwall 1.x line and gets
// legacySeen as its last-seen time. intern, when not nil, shares the strings
// of repeated reasons.
func parseLine(line []byte, legacySeen time.Time, intern map[string]string) (Peer, error) {
	line = bytes.TrimSpace(line)
	ap, rest := cutField(line)
	if len(ap) == 0 {
		return Peer{}, errMissingAddr
	}
	addrPort, err := netip.ParseAddrPort(string(ap))
	if err != nil {
		return Peer{}, fmt.Errorf("bad ADDR:PORT: %w", err)
	}
	if addrPort.Addr().Zone() != "" {
		return Peer{}, errZone
	}
	p := Peer{Addr: addrPort.Addr().Unmap(), Port: addrPort.Port()}
	if len(rest) == 0 {
		p.LastSeen, p.Reason = legacySeen, LegacyReason
		return p, nil
	}
	ts, rest := cutField(rest)
	p.LastSeen, err = time.Parse(time.RFC3339, string(ts))
	if err != nil {
		return Peer{}, fmt.Errorf("last seen is not an RFC 3339 time: %w", err)
	}
	if y := p.LastSeen.UTC().Year(); y < 0 || y > 9999 {
		return Peer{}, fmt.Errorf("last seen year %d out of range", y)
	}
	p.Reason = internReason(oneline.Clean(rest), intern)
	return p, nil
}

func internReason(b []byte, intern map[string]string) string {
	if intern == nil {
		return string(b)
	}
	if s, ok := intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(intern) < 4096 {
		intern[s] = s
	}
	return s
}

// appendLine appends p's line, with a newline.
func appendLine(dst []byte, p Peer) []byte {
	dst = p.AddrPort().AppendTo(dst)
	dst = append(dst, ' ')
	dst = p.LastSeen.UTC().Truncate(time.Second).AppendFormat(dst, time.RFC3339)
	if r := oneline.Clean([]byte(p.Reason)); len(r) > 0 {
		dst = append(dst, ' ')
		dst = append(dst, r...)
	}
	return append(dst, '\n')
}

// parseHeader checks a "# ftwall peers vN" line; only v1 is understood.
func parseHeader(line []byte) error {
	v := strings.TrimSpace(string(line[len(headerPrefix):]))
	n, err := strconv.Atoi(v)
	if err != nil || n != 1 {
		return fmt.Errorf("storefile format %q is not supported by this ftwall (it reads v1 and ftwall 1.x files); use a newer ftwall or another --store file", "v"+v)
	}
	return nil
}
