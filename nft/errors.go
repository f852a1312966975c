package nft

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ErrNoNftables means the kernel cannot do nftables at all.
var ErrNoNftables = errors.New("this kernel has no nftables support: load the nf_tables module (modprobe nf_tables) or use a kernel built with CONFIG_NF_TABLES")

// ErrNoTable means table inet ftwall does not exist.
var ErrNoTable = errors.New("table inet " + TableName + " does not exist (run ftwall setup first)")

// ErrSetFull means a set reached its size (peers4/peers6: Config.MaxPeers):
// the kernel refuses new elements (ENFILE) until old ones expire; refreshes
// of elements it holds still work.
var ErrSetFull = errors.New("set is full")

// ErrClosed is returned by a Kernel after Close.
var ErrClosed = errors.New("nft: use of a closed Kernel")

// isNotFound reports a kernel ENOENT (no such table, set, chain or element).
func isNotFound(err error) bool { return errors.Is(err, unix.ENOENT) }

// kernelError turns low-level failures into errors an administrator can act
// on; what says what was being done ("read table inet ftwall").
func kernelError(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNoNftables), errors.Is(err, ErrNoTable):
		return fmt.Errorf("%s: %w", what, err)
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES), errors.Is(err, os.ErrPermission):
		return fmt.Errorf("%s: permission denied: changing or reading nftables needs CAP_NET_ADMIN (run ftwall as root): %w", what, err)
	case errors.Is(err, unix.EPROTONOSUPPORT), errors.Is(err, unix.EAFNOSUPPORT):
		return fmt.Errorf("%s: %w (%v)", what, ErrNoNftables, err)
	case errors.Is(err, unix.EMSGSIZE):
		return fmt.Errorf("%s: the netlink batch is larger than the socket buffer allows; write fewer elements at once: %w", what, err)
	case errors.Is(err, unix.ENOBUFS):
		return fmt.Errorf("%s: the kernel's answers overflowed the netlink receive buffer; the change may have been applied, check with ftwall status: %w", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
