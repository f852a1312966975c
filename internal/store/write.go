package store

import (
	"bufio"
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

// writeFile replaces path with the lines of peers, crash-safely: temp file in
// the same directory, write, fsync, rename, fsync the directory.
func writeFile(fsys fileSystem, path string, peers []Peer) (err error) {
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
	for _, p := range peers {
		buf = appendLine(buf, p)
		if len(buf) > 128 {
			if _, err := w.Write(buf); err != nil {
				return fmt.Errorf("store: write %s: %w", tmp, err)
			}
			buf = buf[:0]
		}
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
