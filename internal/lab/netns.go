package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// NetnsDir is where named network namespaces are bind-mounted, the directory
// `ip netns` uses.
const NetnsDir = "/run/netns"

// NS is one named network namespace, kept alive by its bind mount under
// NetnsDir and by the open file returned by File.
type NS struct {
	Name string

	path string
	file *os.File

	mu     sync.Mutex
	closed bool
}

func nsPath(name string) string { return filepath.Join(NetnsDir, name) }

func checkNSName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") || len(name) > 200 {
		return fmt.Errorf("network namespace name %q: want 1 to 200 characters without '/'", name)
	}
	return nil
}

// NewNS creates a new, empty network namespace (only a down lo) named name
// and mounts it at /run/netns/<name>. It fails if that name exists already.
func NewNS(name string) (*NS, error) {
	if err := checkNSName(name); err != nil {
		return nil, err
	}
	if err := ensureNetnsDir(); err != nil {
		return nil, err
	}
	path := nsPath(name)
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("network namespace %s exists already (see `ip netns list`): %w", name, err)
		}
		return nil, fmt.Errorf("create mount point for network namespace %s: %w", name, err)
	}
	f.Close()

	if err := unshareAndMount(path); err != nil {
		return nil, errors.Join(fmt.Errorf("create network namespace %s: %w", name, err), removeNSPath(path))
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open network namespace %s: %w", name, err), removeNSPath(path))
	}
	return &NS{Name: name, path: path, file: file}, nil
}

// unshareAndMount creates a network namespace on a dedicated OS thread and
// bind-mounts it at path.
func unshareAndMount(path string) error {
	return onDiscardedThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("unshare(CLONE_NEWNET) (needs CAP_SYS_ADMIN): %w", err)
		}
		src := fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())
		if err := unix.Mount(src, path, "none", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind-mount %s on %s: %w", src, path, err)
		}
		return nil
	})
}

// onDiscardedThread runs fn in a new goroutine locked to its OS thread and
// never unlocked, so the thread ends with the goroutine and no other
// goroutine ever runs in whatever namespace fn entered. Before the goroutine
// ends, the thread returns to the namespace it started in: when the thread
// is the process's main thread, Go parks it for good instead of ending it,
// and it must not keep a lab namespace alive (or make /proc/<pid>/ns/net
// name a lab). A panic in fn is re-raised in the caller's goroutine.
func onDiscardedThread(fn func() error) error {
	type result struct {
		err      error
		panicked bool
		value    any
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with this goroutine
		var r result
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			r.err = fmt.Errorf("open this thread's network namespace: %w", err)
			done <- r
			return
		}
		defer func() {
			if p := recover(); p != nil {
				r.panicked, r.value = true, p
			}
			// Best effort: if this fails the thread still never runs
			// another goroutine.
			_ = unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET)
			orig.Close()
			done <- r
		}()
		r.err = fn()
	}()
	r := <-done
	if r.panicked {
		panic(r.value)
	}
	return r.err
}

// ensureNetnsDir creates NetnsDir and makes it a shared mount point, as
// `ip netns add` does, so that unmounting a namespace also unmounts it in the
// private mount namespaces of `ip netns exec` children. A lock on the
// directory serialises this between concurrent test processes.
func ensureNetnsDir() error {
	if err := os.MkdirAll(NetnsDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", NetnsDir, err)
	}
	d, err := os.Open(NetnsDir)
	if err != nil {
		return fmt.Errorf("open %s: %w", NetnsDir, err)
	}
	defer d.Close()
	if err := unix.Flock(int(d.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", NetnsDir, err)
	}
	defer unix.Flock(int(d.Fd()), unix.LOCK_UN)

	for made := false; ; made = true {
		err := unix.Mount("", NetnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EINVAL) || made {
			return fmt.Errorf("make %s a shared mount: %w", NetnsDir, err)
		}
		// Not a mount point yet: bind-mount it onto itself, then retry.
		if err := unix.Mount(NetnsDir, NetnsDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind-mount %s onto itself: %w", NetnsDir, err)
		}
	}
}

// removeNSPath unmounts and deletes a namespace mount point; missing mounts
// or files are not errors.
func removeNSPath(path string) error {
	err := unix.Unmount(path, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount network namespace %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove network namespace file %s: %w", path, err)
	}
	return nil
}

// Path is the namespace's bind mount, /run/netns/<name>.
func (n *NS) Path() string { return n.path }

// File is the open namespace file. Libraries that take a namespace fd
// (nftables.WithNetNSFd, nfqueue.Config.NetNS) need it to stay open: it is
// closed by Close.
func (n *NS) File() *os.File { return n.file }

// Fd is File's descriptor.
func (n *NS) Fd() int { return int(n.file.Fd()) }

// Close closes the namespace file and removes the bind mount. The kernel
// frees the namespace, with its interfaces, once no process or socket uses it
// any more. Close is idempotent.
func (n *NS) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	var errs []error
	if err := n.file.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close network namespace %s: %w", n.Name, err))
	}
	if err := removeNSPath(n.path); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Do runs fn on a fresh OS thread that has entered n. The thread is locked
// for fn's whole run and discarded afterwards, so nothing else ever runs in
// the namespace by accident; the caller's thread does not change namespace.
// Sockets opened by fn stay in n and can be used from any goroutine. A panic
// in fn is re-raised in the caller's goroutine.
func (n *NS) Do(fn func() error) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return fmt.Errorf("network namespace %s is closed", n.Name)
	}
	fd := n.Fd()
	n.mu.Unlock()

	defer runtime.KeepAlive(n.file)
	return onDiscardedThread(func() error {
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("enter network namespace %s: %w", n.Name, err)
		}
		return fn()
	})
}
