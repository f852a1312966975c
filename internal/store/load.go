package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// Load reads a storefile. A missing file is an empty store, not an error.
// Malformed lines are skipped and returned as LineErrors; the error is for
// files that cannot be read at all (permissions, a directory, an unsupported
// format version). Peers are returned in file order, duplicates included.
func Load(path string) ([]Peer, []LineError, error) {
	var peers []Peer
	lineErrs, err := loadEach(path, func(hint int) { peers = make([]Peer, 0, hint) }, func(p Peer) { peers = append(peers, p) })
	return peers, lineErrs, err
}

// loadEach reads a storefile like Load and hands each peer to emit without
// collecting them (a million peers need no intermediate slice); sized is
// called first with the expected number of peers.
func loadEach(path string, sized func(hint int), emit func(Peer)) ([]LineError, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: open peer file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("store: %s is not a regular file", path)
	}
	sized(min(max(int(fi.Size()/48), 16), 4<<20))
	lineErrs, err := parseEach(f, fi.ModTime(), emit)
	if err != nil {
		return nil, fmt.Errorf("store: read %s: %w", path, err)
	}
	return lineErrs, nil
}

// parseEach reads storefile lines from r and hands each peer to emit;
// legacySeen is the last-seen time of ftwall 1.x lines.
func parseEach(r io.Reader, legacySeen time.Time, emit func(Peer)) ([]LineError, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var lineErrs []LineError
	intern := make(map[string]string)
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) || len(line) > maxLineLen+2 {
			lineErrs = append(lineErrs, LineError{Line: n, Text: lineText(line), Err: errTooLong})
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			continue
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		p, ok, lerr := parseOne(line, legacySeen, intern)
		var hdr *headerError
		switch {
		case errors.As(lerr, &hdr):
			return nil, fmt.Errorf("line %d: %w", n, hdr.err)
		case lerr != nil:
			lineErrs = append(lineErrs, LineError{Line: n, Text: lineText(bytes.TrimSpace(line)), Err: lerr})
		case ok:
			emit(p)
		}
		if err == io.EOF {
			break
		}
	}
	return lineErrs, nil
}

// headerError is an unsupported format header: the whole file is refused.
type headerError struct{ err error }

func (e *headerError) Error() string { return e.err.Error() }

// parseOne handles one raw line: ok is false for blank and comment lines.
func parseOne(raw []byte, legacySeen time.Time, intern map[string]string) (p Peer, ok bool, err error) {
	line := bytes.TrimSpace(raw)
	if len(line) == 0 {
		return Peer{}, false, nil
	}
	if line[0] == '#' {
		if bytes.HasPrefix(line, []byte(headerPrefix)) {
			if err := parseHeader(line); err != nil {
				return Peer{}, false, &headerError{err}
			}
		}
		return Peer{}, false, nil
	}
	p, err = parseLine(line, legacySeen, intern)
	return p, err == nil, err
}
