package demo

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/ftwall/ftwall/internal/lab"
	"github.com/ftwall/ftwall/nft"
)

// How long to wait for ftwall's set writes to show up in the kernel (each
// write takes tens of milliseconds; the machine may be busy), and how often
// to look.
const (
	learnTimeout = 10 * time.Second
	pollEvery    = 25 * time.Millisecond
)

// sets reads the router's ftwall sets.
type sets struct {
	k    *nft.Kernel
	wait time.Duration // how long waitFor waits
}

// setContents maps a set name to its addresses.
type setContents map[string][]netip.Addr

func (c setContents) has(set string, a netip.Addr) bool {
	return slices.Contains(c[set], a)
}

// peersSet and lockedSet name the set for a's family.
func peersSet(a netip.Addr) string {
	if a.Is4() {
		return nft.SetPeers4
	}
	return nft.SetPeers6
}

func lockedSet(a netip.Addr) string {
	if a.Is4() {
		return nft.SetLocked4
	}
	return nft.SetLocked6
}

// read returns the peer and locked sets.
func (s sets) read(ctx context.Context) (setContents, error) {
	c := setContents{}
	for _, name := range []string{nft.SetPeers4, nft.SetPeers6, nft.SetLocked4, nft.SetLocked6} {
		els, err := s.k.Elements(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("read set %s in the router namespace: %w", name, err)
		}
		for _, e := range els {
			c[name] = append(c[name], e.Addr)
		}
	}
	return c, nil
}

// waitFor polls the sets until cond holds or s.wait passes; it returns
// the last contents read and whether cond held.
func (s sets) waitFor(ctx context.Context, cond func(setContents) bool) (setContents, bool, error) {
	deadline := time.Now().Add(s.wait)
	for {
		c, err := s.read(ctx)
		if err != nil {
			return nil, false, err
		}
		if cond(c) {
			return c, true, nil
		}
		if time.Now().After(deadline) {
			return c, false, nil
		}
		select {
		case <-ctx.Done():
			return nil, false, context.Cause(ctx)
		case <-time.After(pollEvery):
		}
	}
}

// allIn reports whether every address is in its family's peers (locked
// false) or locked (locked true) set.
func allIn(c setContents, addrs []netip.Addr, locked bool) bool {
	for _, a := range addrs {
		set := peersSet(a)
		if locked {
			set = lockedSet(a)
		}
		if !c.has(set, a) {
			return false
		}
	}
	return true
}

// missing lists the addresses not in their set.
func missing(c setContents, addrs []netip.Addr, locked bool) []netip.Addr {
	var out []netip.Addr
	for _, a := range addrs {
		set := peersSet(a)
		if locked {
			set = lockedSet(a)
		}
		if !c.has(set, a) {
			out = append(out, a)
		}
	}
	return out
}

// nftListSet runs `nft list set inet ftwall NAME` in the router, as an
// administrator would type it.
func nftListSet(ctx context.Context, router *lab.NS, name string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := router.Run(ctx, "nft", "list", "set", "inet", nft.TableName, name)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(out, "\n"), nil
}

// ftwallStatusCounters runs `ftwall status --sample 0` in the router and
// returns its counter table (the whole output when that is not found).
func ftwallStatusCounters(ctx context.Context, router *lab.NS, ftwall string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := router.Run(ctx, ftwall, "status", "--sample", "0")
	if err != nil {
		return "", err
	}
	return counterSection(out), nil
}

// counterSection returns the part of `ftwall status` text output from the
// COUNTER header on, or all of it when there is no such header.
func counterSection(status string) string {
	lines := strings.Split(strings.TrimRight(status, "\n"), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "COUNTER") {
			return strings.Join(lines[i:], "\n")
		}
	}
	return strings.Join(lines, "\n")
}
