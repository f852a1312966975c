package nft

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Element is one address of a set.
type Element struct {
	Addr netip.Addr `json:"addr"`
	// Timeout is the element's own lifetime; 0 means the set's default
	// timeout. When read back it is 0 for elements that use the default.
	Timeout time.Duration `json:"timeout"`
	// Expires is the remaining lifetime, filled in when elements are read;
	// 0 for elements that never expire.
	Expires time.Duration `json:"expires"`
	// Comment is the element's comment (nft shows it); ftwall keeps a locked
	// client's FastTrack port and network there, so that a restart can go on
	// probing it. At most 251 bytes (this kernel refuses 252 with EINVAL and
	// drops a 253-byte comment silently).
	Comment string `json:"comment,omitempty"`
}

// setKind describes one of the table's sets.
type setKind struct {
	name     string
	v6       bool
	writable bool // peers and locked sets; the allow sets come from Config.Allow
}

func lookupSet(name string) (setKind, error) {
	switch name {
	case SetPeers4, SetLocked4, SetPardon4:
		return setKind{name: name, writable: true}, nil
	case SetPeers6, SetLocked6, SetPardon6:
		return setKind{name: name, v6: true, writable: true}, nil
	case SetAllow4:
		return setKind{name: name}, nil
	case SetAllow6:
		return setKind{name: name, v6: true}, nil
	}
	return setKind{}, fmt.Errorf("unknown set %q (ftwall's sets are %s, %s, %s, %s, %s, %s, %s and %s)",
		name, SetPeers4, SetPeers6, SetLocked4, SetLocked6, SetPardon4, SetPardon6, SetAllow4, SetAllow6)
}

func writableSet(name string) (setKind, error) {
	k, err := lookupSet(name)
	if err != nil {
		return k, err
	}
	if !k.writable {
		return k, fmt.Errorf("set %q is built from --allow by setup and cannot be written directly", name)
	}
	return k, nil
}

// addrFor returns a in the form set k stores, or an error when the address
// family does not fit the set. IPv4-mapped IPv6 addresses count as IPv4.
func (k setKind) addrFor(a netip.Addr) (netip.Addr, error) {
	if !a.IsValid() {
		return a, fmt.Errorf("set %s: invalid (zero) address", k.name)
	}
	a = a.WithZone("")
	if a.Is4In6() {
		a = a.Unmap()
	}
	if a.Is4() == k.v6 {
		want := "IPv4"
		if k.v6 {
			want = "IPv6"
		}
		return a, fmt.Errorf("set %s holds %s addresses, not %s", k.name, want, a)
	}
	return a, nil
}

// normalizeElements checks elems for set k and returns them with canonical
// addresses, without duplicates (the last occurrence of an address wins, in
// the position of its first), and with timeouts rounded up to whole
// milliseconds.
func (k setKind) normalizeElements(elems []Element) ([]Element, error) {
	out := make([]Element, 0, len(elems))
	index := make(map[netip.Addr]int, len(elems))
	for _, e := range elems {
		a, err := k.addrFor(e.Addr)
		if err != nil {
			return nil, err
		}
		if e.Timeout < 0 {
			return nil, fmt.Errorf("set %s: element %s has a negative timeout %s", k.name, a, e.Timeout)
		}
		t := e.Timeout
		if r := t % time.Millisecond; r != 0 {
			t += time.Millisecond - r
		}
		if len(e.Comment) > maxElemCommentLen || strings.IndexByte(e.Comment, 0) >= 0 {
			return nil, fmt.Errorf("set %s: element %s: comment is longer than %d bytes or holds a NUL", k.name, a, maxElemCommentLen)
		}
		ne := Element{Addr: a, Timeout: t, Comment: e.Comment}
		if i, ok := index[a]; ok {
			out[i] = ne
			continue
		}
		index[a] = len(out)
		out = append(out, ne)
	}
	return out, nil
}

// normalizeAddrs is normalizeElements for addresses alone.
func (k setKind) normalizeAddrs(addrs []netip.Addr) ([]netip.Addr, error) {
	out := make([]netip.Addr, 0, len(addrs))
	seen := make(map[netip.Addr]bool, len(addrs))
	for _, a := range addrs {
		a, err := k.addrFor(a)
		if err != nil {
			return nil, err
		}
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out, nil
}
