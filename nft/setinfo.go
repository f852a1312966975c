package nft

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// nftaSetCount is NFTA_SET_COUNT, the number of elements of a set, which
// recent kernels report with the set (Linux 6.18 does; golang.org/x/sys has
// no constant for it).
const nftaSetCount = 20

// nftaSetHandle is NFTA_SET_HANDLE (not in golang.org/x/sys either).
const nftaSetHandle = 16

// setInfo is what the kernel reports about a set itself.
type setInfo struct {
	name     string
	handle   uint64 // the kernel's handle: a recreated set gets a new one
	flags    uint32
	timeout  time.Duration
	count    int
	hasCount bool
}

// parseSetMessage parses the payload of an NFT_MSG_NEWSET message (after
// the nfgenmsg header). It never panics on malformed input.
func parseSetMessage(b []byte) (setInfo, error) {
	var si setInfo
	err := forEachAttr(b, func(typ uint16, p []byte) error {
		switch typ {
		case unix.NFTA_SET_NAME:
			si.name = strings.TrimRight(string(p), "\x00")
		case nftaSetHandle:
			h, err := beUint64(p)
			if err != nil {
				return fmt.Errorf("set handle: %w", err)
			}
			si.handle = h
		case unix.NFTA_SET_FLAGS:
			f, err := beUint32(p)
			if err != nil {
				return fmt.Errorf("set flags: %w", err)
			}
			si.flags = f
		case unix.NFTA_SET_TIMEOUT:
			ms, err := beUint64(p)
			if err != nil {
				return fmt.Errorf("set timeout: %w", err)
			}
			si.timeout = msDuration(ms)
		case nftaSetCount:
			n, err := beUint32(p)
			if err != nil {
				return fmt.Errorf("set element count: %w", err)
			}
			si.count, si.hasCount = int(n), true
		}
		return nil
	})
	return si, err
}

// readSetInfo reads the sets of table inet ftwall, by name.
func (k *Kernel) readSetInfo(ctx context.Context) (map[string]setInfo, error) {
	c, done, err := k.dialDump(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	attrs, err := netlink.MarshalAttributes([]netlink.Attribute{
		{Type: unix.NFTA_SET_TABLE, Data: []byte(TableName + "\x00")},
	})
	if err != nil {
		return nil, err
	}
	msgs, err := c.Execute(netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_GETSET),
			Flags: netlink.Request | netlink.Dump,
		},
		Data: append([]byte{unix.NFPROTO_INET, unix.NFNETLINK_V0, 0, 0}, attrs...),
	})
	const what = "read the sets of table inet " + TableName
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("%s: %w", what, ctx.Err())
		case isNotFound(err):
			return nil, fmt.Errorf("%s: %w", what, ErrNoTable)
		}
		return nil, kernelError(what, err)
	}
	out := map[string]setInfo{}
	for _, m := range msgs {
		if m.Header.Type != netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_NEWSET) || len(m.Data) < 4 {
			continue
		}
		si, err := parseSetMessage(m.Data[4:])
		if err != nil {
			return nil, fmt.Errorf("%s: malformed answer from the kernel: %w", what, err)
		}
		out[si.name] = si
	}
	return out, nil
}
