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
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: open peer file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("store: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("store: %s is not a regular file", path)
	}
	peers, lineErrs, err := parse(f, fi.ModTime(), int(fi.Size()/48))
	if err != nil {
		return nil, nil, fmt.Errorf("store: read %s: %w", path, err)
	}
	return peers, lineErrs, nil
}

// parse reads storefile lines from r; legacySeen is the last-seen time of
// ftwall 1.x lines, sizeHint the expected number of peers.
func parse(r io.Reader, legacySeen time.Time, sizeHint int) ([]Peer, []LineError, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	peers := make([]Peer, 0, min(max(sizeHint, 16), 4<<20))
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
				return nil, nil, err
			}
			continue
		}
		if err != nil && err != io.EOF {
			return nil, nil, err
		}
		p, ok, lerr := parseOne(line, legacySeen, intern)
		var hdr *headerError
		switch {
		case errors.As(lerr, &hdr):
			return nil, nil, fmt.Errorf("line %d: %w", n, hdr.err)
		case lerr != nil:
			lineErrs = append(lineErrs, LineError{Line: n, Text: lineText(bytes.TrimSpace(line)), Err: lerr})
		case ok:
			peers = append(peers, p)
		}
		if err == io.EOF {
			break
		}
	}
	return peers, lineErrs, nil
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
