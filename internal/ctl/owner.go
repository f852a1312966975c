package ctl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultRunDir is the run directory of the systemd unit (RuntimeDirectory).
const DefaultRunDir = "/run/ftwall"

// File names in the run directory.
const (
	lockName   = "ftwall.pid"
	socketName = "control.sock"
)

// LockPath and SocketPath name the lock file and the socket in dir.
func LockPath(dir string) string   { return filepath.Join(dir, lockName) }
func SocketPath(dir string) string { return filepath.Join(dir, socketName) }

// HeldError says that another process holds the run directory's lock.
type HeldError struct {
	Dir string
	PID int // 0 when the lock file names none
}

func (e *HeldError) Error() string {
	who := "another ftwall process"
	if e.PID > 0 {
		who = fmt.Sprintf("ftwall (pid %d)", e.PID)
	}
	return fmt.Sprintf("%s holds %s", who, LockPath(e.Dir))
}

// Owner is a held lock of a run directory.
type Owner struct {
	dir string
	f   *os.File
}

// Acquire takes the run directory's lock, creating the directory (0755)
// when needed; wait bounds how long it waits for a holder to let go (0 =
// not at all). A held lock gives a *HeldError.
func Acquire(dir string, wait time.Duration) (*Owner, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	f, err := os.OpenFile(LockPath(dir), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock file: %w", err)
	}
	deadline := time.Now().Add(wait)
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", LockPath(dir), err)
		}
		if time.Now().After(deadline) {
			pid := readPID(f)
			f.Close()
			return nil, &HeldError{Dir: dir, PID: pid}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock file: %w", err)
		}
	}
	return &Owner{dir: dir, f: f}, nil
}

// Dir is the run directory.
func (o *Owner) Dir() string { return o.dir }

// Release lets go of the lock. The file stays (removing a lock file races
// with the next holder); its pid is cleared.
func (o *Owner) Release() error {
	if o == nil || o.f == nil {
		return nil
	}
	_ = o.f.Truncate(0)
	if perNamespace(o.dir) {
		// A namespace's directory goes with its owner (namespaces come and
		// go; the host's directory stays).
		_ = os.Remove(LockPath(o.dir))
		_ = os.Remove(o.dir) // only when empty
	}
	err := o.f.Close() // closing releases the flock
	o.f = nil
	return err
}

// Holder reports whether a process holds dir's lock, and its pid.
func Holder(dir string) (pid int, held bool, err error) {
	f, err := os.Open(LockPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("lock file: %w", err)
	}
	defer f.Close()
	err = unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
	if err == nil {
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		return 0, false, nil
	}
	if !errors.Is(err, unix.EWOULDBLOCK) {
		return 0, false, fmt.Errorf("lock %s: %w", LockPath(dir), err)
	}
	return readPID(f), true, nil
}

func readPID(f *os.File) int {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
