package rtnl_test

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/internal/rtnl"
)

// hwAddr reads an interface's MAC inside ns.
func hwAddr(t *testing.T, ns *lab.NS, dev string) net.HardwareAddr {
	t.Helper()
	out, err := ns.Run(t.Context(), "cat", "/sys/class/net/"+dev+"/address")
	if err != nil {
		t.Fatal(err)
	}
	mac, err := net.ParseMAC(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	return mac
}

func ifindex(t *testing.T, ns *lab.NS, dev string) uint32 {
	t.Helper()
	var idx int
	err := ns.Do(func() error {
		ifc, err := net.InterfaceByName(dev)
		if err == nil {
			idx = ifc.Index
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return uint32(idx)
}

// TestNeighboursInLab: after the client talks to the router, the router's
// table holds the client's MAC for both its addresses; an unused address is
// absent until Resolve, then unresolved (nobody answers).
func TestNeighboursInLab(t *testing.T) {
	l := lab.NewT(t)
	for _, a := range []netip.Addr{l.RouterLAN4, l.RouterLAN6} {
		if err := l.Client.Ping(t.Context(), a); err != nil {
			t.Fatal(err)
		}
	}
	n, err := rtnl.OpenNeighbours(rtnl.Options{NetNS: l.Router.Fd()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	lan0 := ifindex(t, l.Router, lab.IfLAN0)
	mac := hwAddr(t, l.Client, lab.IfHost)
	for _, a := range []netip.Addr{l.ClientIP4, l.ClientIP6} {
		e, found, err := n.Lookup(a, lan0)
		if err != nil || !found || !e.Resolved() || !bytes.Equal(e.HwAddr[:e.HwLen], mac) {
			t.Errorf("%v: %+v found %v err %v; want resolved to %v", a, e, found, err, mac)
		}
		// Not on the other interface.
		if _, found, err := n.Lookup(a, ifindex(t, l.Router, lab.IfLAN1)); found || err != nil {
			t.Errorf("%v found on lan1 (%v)", a, err)
		}
	}
	for _, a := range []netip.Addr{netip.MustParseAddr("10.0.1.77"), netip.MustParseAddr("fd00:1::77")} {
		if _, found, err := n.Lookup(a, lan0); found || err != nil {
			t.Fatalf("%v: found %v err %v before anything asked for it", a, found, err)
		}
		if err := n.Resolve(a, lan0); err != nil {
			t.Fatal(err)
		}
		e, found, err := n.Lookup(a, lan0)
		if err != nil || !found || e.Resolved() {
			t.Errorf("%v after Resolve: %+v found %v err %v; want an unresolved entry", a, e, found, err)
		}
	}
	// Resolve on an address the table holds keeps its MAC.
	if err := n.Resolve(l.ClientIP4, lan0); err != nil {
		t.Fatal(err)
	}
	if e, _, _ := n.Lookup(l.ClientIP4, lan0); !bytes.Equal(e.HwAddr[:e.HwLen], mac) {
		t.Errorf("after Resolve the client's entry is %+v", e)
	}
}

// TestWatchAddresses: adding an address to the router's wan0 is an event.
func TestWatchAddresses(t *testing.T) {
	l := lab.NewT(t)
	w, err := rtnl.WatchAddresses(l.Router.Fd())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	events := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- w.Run(ctx, func() {
			select {
			case events <- struct{}{}:
			default:
			}
		})
	}()
	if out, err := l.Router.Run(t.Context(), "ip", "addr", "add", "203.0.113.77/24", "dev", lab.IfWAN0); err != nil {
		t.Fatal(err, out)
	}
	select {
	case <-events:
	case <-time.After(5 * time.Second):
		t.Error("no event after adding an address")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
}
