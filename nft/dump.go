package nft

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// rawElem is one set element as the kernel dumps it.
type rawElem struct {
	key         []byte // aliases the message buffer
	intervalEnd bool
	timeout     time.Duration // 0 when the kernel sent none
	expires     time.Duration
	comment     string
}

// parseElemMessage parses the payload of an NFT_MSG_NEWSETELEM message (after
// the 4-byte nfgenmsg header) and calls fn for each element until fn returns
// false. It never panics on malformed input.
func parseElemMessage(b []byte, fn func(rawElem) bool) error {
	stop := errors.New("stop")
	err := forEachAttr(b, func(typ uint16, payload []byte) error {
		if typ != unix.NFTA_SET_ELEM_LIST_ELEMENTS {
			return nil
		}
		return forEachAttr(payload, func(typ uint16, elem []byte) error {
			if typ != unix.NFTA_LIST_ELEM {
				return nil
			}
			e, err := parseElem(elem)
			if err != nil {
				return err
			}
			if !fn(e) {
				return stop
			}
			return nil
		})
	})
	if errors.Is(err, stop) {
		return nil
	}
	return err
}

func parseElem(b []byte) (rawElem, error) {
	var e rawElem
	err := forEachAttr(b, func(typ uint16, p []byte) error {
		switch typ {
		case unix.NFTA_SET_ELEM_KEY:
			return forEachAttr(p, func(typ uint16, v []byte) error {
				if typ == unix.NFTA_DATA_VALUE {
					e.key = v
				}
				return nil
			})
		case unix.NFTA_SET_ELEM_FLAGS:
			f, err := beUint32(p)
			if err != nil {
				return fmt.Errorf("element flags: %w", err)
			}
			e.intervalEnd = f&unix.NFT_SET_ELEM_INTERVAL_END != 0
		case unix.NFTA_SET_ELEM_USERDATA:
			e.comment, _ = commentFromUserData(p)
		case unix.NFTA_SET_ELEM_TIMEOUT:
			ms, err := beUint64(p)
			if err != nil {
				return fmt.Errorf("element timeout: %w", err)
			}
			e.timeout = msDuration(ms)
		case unix.NFTA_SET_ELEM_EXPIRATION:
			ms, err := beUint64(p)
			if err != nil {
				return fmt.Errorf("element expiration: %w", err)
			}
			e.expires = msDuration(ms)
		}
		return nil
	})
	return e, err
}

// msDuration converts kernel milliseconds, saturating instead of overflowing.
func msDuration(ms uint64) time.Duration {
	if ms > uint64(math.MaxInt64/int64(time.Millisecond)) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(ms) * time.Millisecond
}

// element converts a dumped element of a set of kind k.
func (k setKind) element(e rawElem) (Element, error) {
	want := 4
	if k.v6 {
		want = 16
	}
	if len(e.key) != want {
		return Element{}, fmt.Errorf("set %s: element key of %d bytes, want %d", k.name, len(e.key), want)
	}
	a, _ := netip.AddrFromSlice(e.key)
	return Element{Addr: a, Timeout: e.timeout, Expires: e.expires, Comment: e.comment}, nil
}

// dumpSet streams the elements of a set to fn (interval ends skipped) until
// fn returns false. interrupted reports that the set changed during the dump,
// so the elements seen may be inconsistent.
func (k *Kernel) dumpSet(ctx context.Context, kind setKind, fn func(Element) bool) (interrupted bool, err error) {
	if err := k.check(ctx); err != nil {
		return false, err
	}
	c, done, err := k.dialDump(ctx)
	if err != nil {
		return false, err
	}
	defer done()

	attrs, err := netlink.MarshalAttributes([]netlink.Attribute{
		{Type: unix.NFTA_SET_ELEM_LIST_TABLE, Data: []byte(TableName + "\x00")},
		{Type: unix.NFTA_SET_ELEM_LIST_SET, Data: []byte(kind.name + "\x00")},
	})
	if err != nil {
		return false, err
	}
	req := netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_GETSETELEM),
			Flags: netlink.Request | netlink.Dump,
		},
		Data: append([]byte{unix.NFPROTO_INET, unix.NFNETLINK_V0, 0, 0}, attrs...),
	}
	if _, err := c.Send(req); err != nil {
		return false, kernelError("read set "+kind.name, err)
	}
	what := "read set " + kind.name
	var convErr error
	stopped := false
	err = receiveDump(c, func(typ, flags uint16, data []byte) bool {
		if flags&uint16(netlink.DumpInterrupted) != 0 {
			interrupted = true
		}
		if typ != unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_NEWSETELEM || len(data) < 4 {
			return true
		}
		err := parseElemMessage(data[4:], func(e rawElem) bool {
			if e.intervalEnd {
				return true
			}
			el, err := kind.element(e)
			if err != nil {
				convErr = err
				return false
			}
			if !fn(el) {
				stopped = true
				return false
			}
			return true
		})
		if err != nil && convErr == nil {
			convErr = err
		}
		return convErr == nil && !stopped
	})
	switch {
	case convErr != nil:
		return interrupted, fmt.Errorf("%s: malformed answer from the kernel: %w", what, convErr)
	case err == nil:
		return interrupted, nil
	case ctx.Err() != nil:
		return false, fmt.Errorf("%s: %w", what, ctx.Err())
	case isNotFound(err):
		return false, fmt.Errorf("%s: %w", what, ErrNoTable)
	}
	return false, kernelError(what, err)
}

// dumpBufferSize is the buffer for each recvmsg of a dump. The kernel sizes
// the messages of a dump after the largest buffer the reader offered (up to
// 32 KiB); the larger they are, the fewer rounds a dump needs, and for hash
// sets every round walks the set from its start to skip what was sent.
const dumpBufferSize = 64 << 10

// dialDump opens a netlink socket for reading; cancelling ctx aborts reads.
func (k *Kernel) dialDump(ctx context.Context) (*netlink.Conn, func(), error) {
	if err := k.check(ctx); err != nil {
		return nil, nil, err
	}
	cfg := &netlink.Config{MessageBufferSize: dumpBufferSize}
	if k.netns > 0 {
		cfg.NetNS = k.netns
	}
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, cfg)
	if err != nil {
		return nil, nil, kernelError("open netlink socket", noNftables(err))
	}
	if err := setBuffer(c, unix.SO_RCVBUFFORCE, minSockBuf, c.SetReadBuffer); err != nil {
		k.log.Debug("netlink receive buffer not raised", "err", err)
	}
	if d, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	return c, func() { stop(); _ = c.Close() }, nil
}
