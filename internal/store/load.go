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
	lineErrs, err := readFile(path, func(p Peer) error { peers = append(peers, p); return nil })
	return peers, lineErrs, err
}

// openFile opens the storefile for reading; a missing file is (nil, nil).
func openFile(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: open peer file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("store: %w", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("store: %s is not a regular file", path)
	}
	return f, fi, nil
}

// readFile reads a storefile like Load and hands each peer to emit without
// collecting them (a million peers need no intermediate slice). An error from
// emit stops the read and is returned as it is.
func readFile(path string, emit func(Peer) error) ([]LineError, error) {
	f, fi, err := openFile(path)
	if f == nil {
		return nil, err
	}
	defer f.Close()
	return readFrom(f, path, fi.ModTime(), emit)
}

// readFrom is readFile on an open file.
func readFrom(r io.Reader, path string, legacySeen time.Time, emit func(Peer) error) ([]LineError, error) {
	var emitErr error
	lineErrs, err := parseEach(r, legacySeen, func(p Peer) error {
		emitErr = emit(p)
		return emitErr
	})
	if err != nil && emitErr != nil && errors.Is(err, emitErr) {
		return lineErrs, err
	}
	if err != nil {
		return nil, fmt.Errorf("store: read %s: %w", path, err)
	}
	return lineErrs, nil
}

// parseEach reads storefile lines from r and hands each peer to emit;
// legacySeen is the last-seen time of ftwall 1.x lines. An error from emit
// stops it and is returned.
func parseEach(r io.Reader, legacySeen time.Time, emit func(Peer) error) ([]LineError, error) {
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
			if eerr := emit(p); eerr != nil {
				return lineErrs, eerr
			}
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
