package ctl

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// netnsPrefix names the run directories of other network namespaces.
const netnsPrefix = "netns-"

// DefaultDir is the run directory when none is given: DefaultRunDir in the
// host's network namespace, DefaultRunDir/netns-INODE in any other. The
// table is per network namespace, and so is its owner: an `ftwall run` in
// a namespace (ip netns exec) does not own the host's table.
func DefaultDir() string {
	self, err1 := os.Readlink("/proc/self/ns/net")
	host, err2 := os.Readlink("/proc/1/ns/net")
	if err1 != nil || err2 != nil || self == host {
		return DefaultRunDir
	}
	// "net:[4026531840]"
	ino := strings.TrimSuffix(strings.TrimPrefix(self, "net:["), "]")
	return filepath.Join(DefaultRunDir, fmt.Sprintf("%s%s", netnsPrefix, ino))
}

// perNamespace reports whether dir is a default run directory of another
// network namespace (removed when its owner lets go).
func perNamespace(dir string) bool {
	return filepath.Dir(dir) == DefaultRunDir && strings.HasPrefix(filepath.Base(dir), netnsPrefix)
}
