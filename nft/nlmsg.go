package nft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Netlink message header (struct nlmsghdr), host byte order.
const nlmsgHeaderLen = 16

var errShortMessage = errors.New("truncated netlink message")

// parseNetlinkMessages calls fn for each message of a datagram with its type,
// flags and payload, until fn returns false. It reports errors carried by
// NLMSG_ERROR and NLMSG_DONE messages as errnos, and sets done when the
// datagram ends the dump. It never panics on malformed input.
func parseNetlinkMessages(b []byte, fn func(typ, flags uint16, data []byte) bool) (done bool, err error) {
	for len(b) > 0 {
		if len(b) < nlmsgHeaderLen {
			return false, errShortMessage
		}
		n := int(binary.NativeEndian.Uint32(b))
		typ := binary.NativeEndian.Uint16(b[4:])
		flags := binary.NativeEndian.Uint16(b[6:])
		if n < nlmsgHeaderLen || n > len(b) {
			return false, fmt.Errorf("%w: length %d of %d bytes", errShortMessage, n, len(b))
		}
		data := b[nlmsgHeaderLen:n]
		switch typ {
		case unix.NLMSG_ERROR, unix.NLMSG_DONE:
			if len(data) >= 4 {
				if errno := int32(binary.NativeEndian.Uint32(data)); errno < 0 {
					return true, syscall.Errno(-errno)
				}
			}
			if typ == unix.NLMSG_DONE {
				return true, nil
			}
		case unix.NLMSG_NOOP:
		default:
			if !fn(typ, flags, data) {
				return false, nil
			}
		}
		next := (n + 3) &^ 3
		if next >= len(b) {
			return false, nil
		}
		b = b[next:]
	}
	return false, nil
}

// receiveDump reads the answer to a dump request datagram by datagram, with
// one buffer, and passes each message to fn until the dump ends or fn returns
// false. Returning early leaves the rest of the dump unread: the caller closes
// the socket, which ends the dump in the kernel.
func receiveDump(c *netlink.Conn, fn func(typ, flags uint16, data []byte) bool) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	buf := make([]byte, dumpBufferSize)
	for {
		var n int
		var rerr error
		if err := rc.Read(func(fd uintptr) bool {
			n, _, rerr = unix.Recvfrom(int(fd), buf, 0)
			return rerr != unix.EAGAIN && rerr != unix.EINTR
		}); err != nil {
			return err
		}
		if rerr != nil {
			return rerr
		}
		if n == 0 {
			return errors.New("netlink socket closed during a dump")
		}
		stopped := false
		done, err := parseNetlinkMessages(buf[:n], func(typ, flags uint16, data []byte) bool {
			if !fn(typ, flags, data) {
				stopped = true
				return false
			}
			return true
		})
		if err != nil || done || stopped {
			return err
		}
	}
}
