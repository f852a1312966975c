package store

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FileMode is the mode of a written storefile.
const FileMode os.FileMode = 0o640

// tempPattern is the os.CreateTemp pattern of the temporary file for path;
// leftovers of a crash match it and are removed by Open.
func tempPattern(path string) string { return "." + filepath.Base(path) + ".tmp-*" }

// isTempName reports whether name (a base name in path's directory) is a
// temporary file of path's saves.
func isTempName(path, name string) bool {
	return strings.HasPrefix(name, "."+filepath.Base(path)+".tmp-")
}

// source produces the peers of a new storefile, in file order, handing each
// to yield; it stops at yield's first error and returns it.
type source func(yield func(Peer) error) error

// slicePeers is the source of a slice.
func slicePeers(peers []Peer) source {
	return func(yield func(Peer) error) error {
		for _, p := range peers {
			if err := yield(p); err != nil {
				return err
			}
		}
		return nil
	}
}

// writeFile replaces path with the lines of peers, crash-safely: temp file in
// the same directory, write, fsync, rename, fsync the directory.
func writeFile(fsys fileSystem, path string, peers []Peer) error {
	return writeFrom(fsys, path, slicePeers(peers))
}

// writeFrom is writeFile with the peers from src. When src fails, the old
// file stays and the temporary file is removed; the error is src's.
func writeFrom(fsys fileSystem, path string, src source) (err error) {
	dir := filepath.Dir(path)
	f, err := fsys.CreateTemp(dir, tempPattern(path))
	if err != nil {
		return fmt.Errorf("store: create temporary file next to %s: %w", path, err)
	}
	tmp, closed, renamed := f.Name(), false, false
	defer func() {
		if err != nil && !closed {
			f.Close()
		}
		if err != nil && !renamed {
			fsys.Remove(tmp)
		}
	}()
	if err := f.Chmod(FileMode); err != nil {
		return fmt.Errorf("store: chmod %s: %w", tmp, err)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	buf := make([]byte, 0, 256)
	buf = append(append(buf, Header...), '\n')
	err = src(func(p Peer) error {
		buf = appendLine(buf, p)
		if len(buf) > 128 {
			if _, err := w.Write(buf); err != nil {
				return &writeError{fmt.Errorf("store: write %s: %w", tmp, err)}
			}
			buf = buf[:0]
		}
		return nil
	})
	var werr *writeError
	if errors.As(err, &werr) {
		return werr.err
	}
	if err != nil {
		return err
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("store: write %s: %w", tmp, err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("store: write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("store: sync %s: %w", tmp, err)
	}
	closed = true
	if err := f.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", tmp, err)
	}
	if err := fsys.Rename(tmp, path); err != nil {
		return fmt.Errorf("store: replace %s: %w", path, err)
	}
	renamed = true
	if err := fsys.SyncDir(dir); err != nil {
		// The new file is in place but its rename may not survive a power
		// loss; report it so the caller saves again.
		return fmt.Errorf("store: sync directory %s after replacing %s: %w", dir, path, err)
	}
	return nil
}

// removeTemps removes temporary files left in path's directory by a save that
// was interrupted (kill -9, power loss).
func removeTemps(path string) {
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Type().IsRegular() && isTempName(path, e.Name()) {
			os.Remove(filepath.Join(filepath.Dir(path), e.Name()))
		}
	}
}

// writeError is a failed write of the temporary file, told apart from the
// source's own errors.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }
