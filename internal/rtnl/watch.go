package rtnl

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// watchGroups are the rtnetlink multicast groups Watch joins: address and
// link changes.
const watchGroups = 1<<(unix.RTNLGRP_LINK-1) | 1<<(unix.RTNLGRP_IPV4_IFADDR-1) | 1<<(unix.RTNLGRP_IPV6_IFADDR-1)

// Watcher receives address and link events.
type Watcher struct {
	c *netlink.Conn
}

// WatchAddresses subscribes to the kernel's address and link events
// (RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_LINK) in the network
// namespace netns (0: the caller's). Run delivers them.
func WatchAddresses(netns int) (*Watcher, error) {
	c, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{Groups: watchGroups, NetNS: netns})
	if err != nil {
		return nil, fmt.Errorf("subscribe to rtnetlink address and link events: %w", err)
	}
	// A burst beyond the receive buffer costs events, not the watcher
	// (ENOBUFS is reported once and handled as "something changed").
	return &Watcher{c: c}, nil
}

// Run calls changed once for every batch of events read, until ctx is done
// (then it closes the socket and returns nil) or reading fails. A receive
// buffer overrun (ENOBUFS: events were lost) counts as a change. changed
// must not block.
func (w *Watcher) Run(ctx context.Context, changed func()) error {
	stop := context.AfterFunc(ctx, func() {
		// A deadline in the past wakes the blocked read.
		_ = w.c.SetReadDeadline(time.Unix(1, 0))
	})
	defer stop()
	defer w.c.Close()
	for {
		msgs, err := w.c.Receive()
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, unix.ENOBUFS) {
			changed()
			continue
		}
		if err != nil {
			return fmt.Errorf("read rtnetlink address and link events: %w", err)
		}
		if anyChange(msgs) {
			changed()
		}
	}
}

// anyChange reports whether msgs hold an address or link event.
func anyChange(msgs []netlink.Message) bool {
	for _, m := range msgs {
		switch m.Header.Type {
		case unix.RTM_NEWADDR, unix.RTM_DELADDR, unix.RTM_NEWLINK, unix.RTM_DELLINK:
			return true
		}
	}
	return false
}
