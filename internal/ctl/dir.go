package ctl

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// netnsPrefix names the run directories of other network namespaces.
const netnsPrefix = "netns-"

// DefaultDir is the run directory when none is given: DefaultRunDir in the
// host's network namespace, DefaultRunDir/netns-INODE in any other. The
// table is per network namespace, and so is its owner: an `ftwall run` in
// a namespace (ip netns exec) does not own the host's table.
func DefaultDir() string {
	return defaultDir("/proc/self/ns/net", "/proc/1/ns/net", "/run/netns")
}

// defaultDir decides with the namespace files given. The host's namespace
// is the one of process 1. Where that cannot be read (a hardened /proc, a
// container that hides process 1), a namespace that ip-netns(8) named (a
// file in named) still counts as another one.
func defaultDir(self, init, named string) string {
	ino, ok := nsInode(self)
	if !ok {
		return DefaultRunDir
	}
	if host, ok := nsInode(init); ok {
		if host == ino {
			return DefaultRunDir
		}
		return perNamespaceDir(ino)
	}
	entries, err := os.ReadDir(named)
	if err != nil {
		return DefaultRunDir
	}
	for _, e := range entries {
		if n, ok := nsInode(filepath.Join(named, e.Name())); ok && n == ino {
			return perNamespaceDir(ino)
		}
	}
	return DefaultRunDir
}

// nsKey is a namespace file's identity (nsfs device and inode).
type nsKey struct{ dev, ino uint64 }

func nsInode(path string) (nsKey, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return nsKey{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nsKey{}, false
	}
	return nsKey{dev: uint64(st.Dev), ino: st.Ino}, true
}

func perNamespaceDir(k nsKey) string {
	return filepath.Join(DefaultRunDir, fmt.Sprintf("%s%d", netnsPrefix, k.ino))
}

// perNamespace reports whether dir is a default run directory of another
// network namespace (removed when its owner lets go).
func perNamespace(dir string) bool {
	return filepath.Dir(dir) == DefaultRunDir && strings.HasPrefix(filepath.Base(dir), netnsPrefix)
}
