package clientdir

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// FileMode is the mode of client files (readable by watchers).
const FileMode os.FileMode = 0o644

// Dir writes the client files of one directory. It remembers what it wrote,
// so updates are rate-limited. All methods are safe for concurrent use.
type Dir struct {
	path        string
	minInterval time.Duration

	mu      sync.Mutex
	written map[netip.Addr]Entry
}

// Open prepares the client directory path, creating it (mode 0755) when
// missing. minInterval limits how often a client's file is rewritten only
// because its last evidence moved on (see Put).
func Open(path string, minInterval time.Duration) (*Dir, error) {
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, fmt.Errorf("client dir: create %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("client dir: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("client dir: %s is not a directory", path)
	}
	return &Dir{path: path, minInterval: max(minInterval, 0), written: make(map[netip.Addr]Entry)}, nil
}

// Path returns the directory.
func (d *Dir) Path() string { return d.path }

// Put creates or updates the client's file and reports whether it wrote it.
// A client whose file this Dir wrote before is only rewritten when something
// other than its evidence times changed (port, network, reason, first seen),
// or when its last evidence is at least minInterval newer than in the file.
func (d *Dir) Put(e Entry) (bool, error) {
	if !e.Addr.IsValid() {
		return false, errors.New("client dir: invalid client address")
	}
	e.Addr = normalize(e.Addr)
	d.mu.Lock()
	defer d.mu.Unlock()
	if old, ok := d.written[e.Addr]; ok && !d.due(old, e) {
		return false, nil
	}
	if err := d.write(e); err != nil {
		return false, err
	}
	d.written[e.Addr] = e
	return true, nil
}

// due reports whether e must be written over old.
func (d *Dir) due(old, e Entry) bool {
	if old.Port != e.Port || old.Protocol != e.Protocol || old.Network != e.Network || old.Reason != e.Reason || !old.FirstSeen.Equal(e.FirstSeen) {
		return true
	}
	return e.LastEvidence.Sub(old.LastEvidence) >= d.minInterval && !e.LastEvidence.Equal(old.LastEvidence)
}

// write replaces the client's file atomically: temporary file, rename.
func (d *Dir) write(e Entry) (err error) {
	name := FileName(e.Addr)
	f, err := os.CreateTemp(d.path, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("client dir: create a file in %s: %w", d.path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(appendEntry(nil, e)); err != nil {
		return fmt.Errorf("client dir: write %s: %w", f.Name(), err)
	}
	if err := f.Chmod(FileMode); err != nil {
		return fmt.Errorf("client dir: chmod %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("client dir: close %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), filepath.Join(d.path, name)); err != nil {
		return fmt.Errorf("client dir: rename to %s: %w", name, err)
	}
	return nil
}

// Remove deletes the client's file (its lock lapsed). A missing file is not
// an error.
func (d *Dir) Remove(addr netip.Addr) error {
	if !addr.IsValid() {
		return nil
	}
	addr = normalize(addr)
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.written, addr)
	err := os.Remove(filepath.Join(d.path, FileName(addr)))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("client dir: %w", err)
	}
	return nil
}

// Reconcile makes the directory match the current locks, at start-up: it
// removes client files (and leftover temporary files) of clients not in
// current, and writes a file for every current client. Files whose names are
// not client addresses in canonical form, directories and other non-regular
// files are never touched. All failures are returned joined.
func (d *Dir) Reconcile(current []Entry) error {
	want := make(map[netip.Addr]bool, len(current))
	for _, e := range current {
		if e.Addr.IsValid() {
			want[normalize(e.Addr)] = true
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return fmt.Errorf("client dir: %w", err)
	}
	var errs []error
	for _, de := range entries {
		if !de.Type().IsRegular() {
			continue
		}
		name := de.Name()
		addr, ours := ParseFileName(name)
		stale := ours && !want[addr]
		if !ours {
			stale = isTempName(name)
		}
		if !stale {
			continue
		}
		if err := os.Remove(filepath.Join(d.path, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("client dir: %w", err))
		}
	}
	clear(d.written)
	for _, e := range current {
		if !e.Addr.IsValid() {
			continue
		}
		e.Addr = normalize(e.Addr)
		if err := d.write(e); err != nil {
			errs = append(errs, err)
			continue
		}
		d.written[e.Addr] = e
	}
	return errors.Join(errs...)
}

// isTempName reports whether name is a temporary file of this package:
// ".<client file name>.tmp-<random>".
func isTempName(name string) bool {
	rest, ok := strings.CutPrefix(name, ".")
	if !ok {
		return false
	}
	i := strings.LastIndex(rest, ".tmp-")
	if i < 0 {
		return false
	}
	_, ok = ParseFileName(rest[:i])
	return ok
}

// ReadAll parses every client file in dir; files that are not client files
// are ignored, unreadable or malformed client files are returned as errors
// (joined) next to the entries that could be read.
func ReadAll(dir string) ([]Entry, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("client dir: %w", err)
	}
	var out []Entry
	var errs []error
	for _, de := range entries {
		addr, ok := ParseFileName(de.Name())
		if !ok || !de.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			errs = append(errs, fmt.Errorf("client dir: %w", err))
			continue
		}
		e, err := ParseEntry(data)
		if err == nil && e.Addr != addr {
			err = fmt.Errorf("holds addr=%v", e.Addr)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("client dir: %s: %w", de.Name(), err))
			continue
		}
		out = append(out, e)
	}
	return out, errors.Join(errs...)
}
