package lab

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Roles of the lab's namespaces; the last component of every lab namespace
// name.
const (
	RoleClient   = "client"
	RoleClient2  = "client2"
	RoleRouter   = "router"
	RoleInternet = "internet"
)

// DefaultPrefix is used when New gets an empty prefix.
const DefaultPrefix = "ftlab"

const maxPrefixLen = 24

// nsName is the parsed form of a lab namespace name:
// "<prefix>-<pid>-<tag>-<role>".
type nsName struct {
	Prefix string
	PID    int
	Tag    string
	Role   string
}

func (n nsName) String() string {
	return fmt.Sprintf("%s-%d-%s-%s", n.Prefix, n.PID, n.Tag, n.Role)
}

// checkPrefix reports whether p can start a lab namespace name: 1 to 24
// lower-case letters and digits.
func checkPrefix(p string) error {
	if p == "" || len(p) > maxPrefixLen {
		return fmt.Errorf("lab prefix %q: want 1 to %d lower-case letters or digits", p, maxPrefixLen)
	}
	for _, c := range []byte(p) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return fmt.Errorf("lab prefix %q: want only lower-case letters or digits", p)
		}
	}
	return nil
}

// PrefixFrom turns any text (a test name, say) into a valid lab prefix:
// lower-cased letters and digits only, at most 24 of them, DefaultPrefix if
// nothing is left.
func PrefixFrom(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			if b.Len() == maxPrefixLen {
				break
			}
		}
	}
	if b.Len() == 0 {
		return DefaultPrefix
	}
	return b.String()
}

// newTag returns 6 random lower-case hex digits.
func newTag() string {
	return fmt.Sprintf("%06x", rand.Uint32()&0xffffff)
}

func isRole(s string) bool {
	switch s {
	case RoleClient, RoleClient2, RoleRouter, RoleInternet, RoleLANHost, RoleCore:
		return true
	}
	return isNATSRole(s)
}

// parseNSName parses a lab namespace name; ok is false for any other name.
func parseNSName(s string) (n nsName, ok bool) {
	parts := strings.Split(s, "-")
	if len(parts) != 4 {
		return nsName{}, false
	}
	if checkPrefix(parts[0]) != nil || !isRole(parts[3]) {
		return nsName{}, false
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 || strconv.Itoa(pid) != parts[1] {
		return nsName{}, false
	}
	tag := parts[2]
	if len(tag) != 6 {
		return nsName{}, false
	}
	for _, c := range []byte(tag) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return nsName{}, false
		}
	}
	return nsName{Prefix: parts[0], PID: pid, Tag: tag, Role: parts[3]}, true
}

// processGone reports whether no process with this pid exists.
func processGone(pid int) bool {
	err := unix.Kill(pid, 0)
	return errors.Is(err, unix.ESRCH)
}

// SweepStale removes lab namespaces left behind by lab processes that no
// longer run (killed by a test timeout or a signal before their cleanup ran).
// Only names of the lab's own form whose pid is gone are touched. It returns
// the names it removed.
func SweepStale() ([]string, error) {
	entries, err := os.ReadDir(NetnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", NetnsDir, err)
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		n, ok := parseNSName(e.Name())
		if !ok || n.PID == os.Getpid() || !processGone(n.PID) {
			continue
		}
		if err := removeNSPath(nsPath(e.Name())); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, e.Name())
	}
	return removed, errors.Join(errs...)
}
