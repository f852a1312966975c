package nft

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Monitor follows nftables' change notifications (the NFNLGRP_NFTABLES
// netlink group, what `nft monitor` reads) for table inet ftwall.
//
// It is a raw subscription rather than google/nftables' Monitor: that one
// decodes every element notification (a storefile load is a million of
// them), cannot filter by table, and stops for good at the first receive
// error, while a burst of notifications overflowing the socket (ENOBUFS) is
// expected here and only means "look again".
type Monitor struct {
	c *netlink.Conn
}

// monitorBuffer is the monitor socket's receive buffer. Element
// notifications are skipped; when they overflow it (a large load), the
// overflow is reported as a change.
const monitorBuffer = 1 << 20

// WatchRuleset subscribes to the nftables notifications of the Kernel's
// network namespace. The subscription is in place when it returns.
func (k *Kernel) WatchRuleset() (*Monitor, error) {
	if k.closed.Load() {
		return nil, ErrClosed
	}
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: k.netns})
	if err != nil {
		return nil, kernelError("open the nftables monitor socket", noNftables(err))
	}
	if err := c.JoinGroup(unix.NFNLGRP_NFTABLES); err != nil {
		c.Close()
		return nil, kernelError("subscribe to nftables notifications (NFNLGRP_NFTABLES)", err)
	}
	if err := setBuffer(c, unix.SO_RCVBUFFORCE, monitorBuffer, c.SetReadBuffer); err != nil {
		c.Close()
		return nil, fmt.Errorf("set the nftables monitor's receive buffer: %w", err)
	}
	return &Monitor{c: c}, nil
}

// Change is one notification about table inet ftwall (or a lost batch of
// notifications, Overflow).
type Change struct {
	// What is the message: "deltable", "newrule", …; "" for Overflow.
	What string
	// PortID is the netlink port of the socket whose batch made the change
	// (0 for the kernel itself).
	PortID uint32
	// Overflow: notifications were lost (ENOBUFS), any change may be among
	// them.
	Overflow bool
}

// Run reads notifications until ctx is done (it then returns nil) or the
// socket fails, and calls changed for every change to table inet ftwall's
// table, chains, rules, sets or objects, and for every overflow. Element
// notifications, other tables' changes and generation markers are skipped.
// changed runs on Run's goroutine and must not block. Run closes the
// Monitor when it returns.
func (m *Monitor) Run(ctx context.Context, changed func(Change)) error {
	defer m.c.Close()
	stop := context.AfterFunc(ctx, func() { _ = m.c.SetReadDeadline(time.Now()) })
	defer stop()
	for {
		msgs, err := m.c.Receive()
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, unix.ENOBUFS) {
			changed(Change{Overflow: true})
			continue
		}
		if err != nil {
			return fmt.Errorf("read nftables notifications: %w", err)
		}
		for _, msg := range msgs {
			if what, ok := ownChange(msg); ok {
				changed(Change{What: what, PortID: msg.Header.PID})
			}
		}
	}
}

// Close ends the subscription (Run returns an error if it is running).
func (m *Monitor) Close() error { return m.c.Close() }

// ownChange reports whether msg is a change to an object of table inet
// ftwall other than set elements, and names it.
func ownChange(msg netlink.Message) (string, bool) {
	t := uint16(msg.Header.Type)
	if t>>8 != unix.NFNL_SUBSYS_NFTABLES {
		return "", false
	}
	var what string
	switch t & 0xff {
	case unix.NFT_MSG_NEWTABLE:
		what = "newtable"
	case unix.NFT_MSG_DELTABLE:
		what = "deltable"
	case unix.NFT_MSG_NEWCHAIN:
		what = "newchain"
	case unix.NFT_MSG_DELCHAIN:
		what = "delchain"
	case unix.NFT_MSG_NEWRULE:
		what = "newrule"
	case unix.NFT_MSG_DELRULE:
		what = "delrule"
	case unix.NFT_MSG_NEWSET:
		what = "newset"
	case unix.NFT_MSG_DELSET:
		what = "delset"
	case unix.NFT_MSG_NEWOBJ:
		what = "newobj"
	case unix.NFT_MSG_DELOBJ:
		what = "delobj"
	default: // elements, generation markers, flowtables
		return "", false
	}
	// nfgenmsg: family, version, resource id; then the attributes, where
	// type 1 is the table's name for all of these messages
	// (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE,
	// NFTA_OBJ_TABLE).
	if len(msg.Data) < 4 || msg.Data[0] != unix.NFPROTO_INET {
		return "", false
	}
	ad, err := netlink.NewAttributeDecoder(msg.Data[4:])
	if err != nil {
		return "", false
	}
	for ad.Next() {
		if ad.Type() == 1 {
			if ad.String() != TableName {
				return "", false
			}
			return what, true
		}
	}
	return "", false
}
