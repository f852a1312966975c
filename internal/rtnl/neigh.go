package rtnl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// MaxHwLen is the longest link-layer address Entry holds: NFQUEUE reports at
// most 8 bytes (struct nfqnl_msg_packet_hw), Ethernet uses 6.
const MaxHwLen = 8

// Entry is what the kernel's neighbour table holds for one address.
type Entry struct {
	State  uint16 // NUD_* bits
	Flags  uint8  // NTF_* bits
	HwAddr [MaxHwLen]byte
	// HwLen is the length of the link-layer address (NDA_LLADDR) in
	// HwAddr; 0 when the entry carries none. A longer address than
	// MaxHwLen (InfiniBand) is not kept: HwLen 0, TooLong true.
	HwLen   uint8
	TooLong bool
}

// Resolved reports whether the entry names a link-layer address the kernel
// uses: not incomplete, failed or new (NUD_NONE), and with NDA_LLADDR.
func (e Entry) Resolved() bool {
	if e.State&(unix.NUD_INCOMPLETE|unix.NUD_FAILED) != 0 || e.State == unix.NUD_NONE {
		return false
	}
	return e.HwLen > 0
}

// NoARP reports whether the interface resolves no addresses (NUD_NOARP,
// e.g. a device with `arp off`): its entries hold no learned address.
func (e Entry) NoARP() bool { return e.State&unix.NUD_NOARP != 0 }

// Neighbours asks the kernel's neighbour table over one rtnetlink socket.
type Neighbours struct {
	c       *netlink.Conn
	timeout time.Duration
}

// Options configure OpenNeighbours.
type Options struct {
	// NetNS is a network namespace file descriptor (0: the caller's).
	NetNS int
	// Timeout bounds each request (0 = 1 s).
	Timeout time.Duration
}

// OpenNeighbours opens an rtnetlink socket for neighbour requests.
func OpenNeighbours(o Options) (*Neighbours, error) {
	c, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{NetNS: o.NetNS})
	if err != nil {
		return nil, fmt.Errorf("open rtnetlink socket for neighbour lookups: %w", err)
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	// Error messages from the kernel (extack) where it has them; not fatal.
	_ = c.SetOption(netlink.ExtendedAcknowledge, true)
	return &Neighbours{c: c, timeout: o.Timeout}, nil
}

// Close closes the socket.
func (n *Neighbours) Close() error { return n.c.Close() }

// ndmsgLen is sizeof(struct ndmsg).
const ndmsgLen = 12

// appendNdmsg appends a struct ndmsg (family, pad, pad, ifindex, state,
// flags, type).
func appendNdmsg(b []byte, family uint8, ifindex uint32, state uint16, flags uint8) []byte {
	b = append(b, family, 0, 0, 0)
	b = binary.NativeEndian.AppendUint32(b, ifindex)
	b = binary.NativeEndian.AppendUint16(b, state)
	return append(b, flags, 0)
}

func appendAttr(b []byte, typ uint16, v []byte) []byte {
	l := 4 + len(v)
	b = binary.NativeEndian.AppendUint16(b, uint16(l))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, v...)
	for range (l+3)&^3 - l {
		b = append(b, 0)
	}
	return b
}

func family(a netip.Addr) uint8 {
	if a.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// getRequest is the body of an RTM_GETNEIGH get (not dump) request for a on
// ifindex: the kernel wants pads, state, flags and type zero and NDA_DST as
// the only attribute.
func getRequest(a netip.Addr, ifindex uint32) []byte {
	b := appendNdmsg(make([]byte, 0, ndmsgLen+20), family(a), ifindex, 0, 0)
	return appendAttr(b, unix.NDA_DST, a.AsSlice())
}

// useRequest is the body of an RTM_NEWNEIGH request with NTF_USE: the
// kernel creates the entry if needed and starts resolving it, as if a packet
// were waiting for it; an entry it holds keeps its address.
func useRequest(a netip.Addr, ifindex uint32) []byte {
	b := appendNdmsg(make([]byte, 0, ndmsgLen+20), family(a), ifindex, unix.NUD_NONE, unix.NTF_USE)
	return appendAttr(b, unix.NDA_DST, a.AsSlice())
}

// nlaTypeMask strips NLA_F_NESTED and NLA_F_NET_BYTEORDER from an attribute type.
const nlaTypeMask = 0x3fff

var errMalformed = errors.New("malformed neighbour message")

// parseNeigh reads an RTM_NEWNEIGH message body: the entry, the address
// (NDA_DST) and the interface index. It never panics on malformed input.
func parseNeigh(b []byte) (e Entry, dst netip.Addr, ifindex uint32, err error) {
	if len(b) < ndmsgLen {
		return Entry{}, netip.Addr{}, 0, fmt.Errorf("%w: %d bytes", errMalformed, len(b))
	}
	ifindex = binary.NativeEndian.Uint32(b[4:])
	e.State = binary.NativeEndian.Uint16(b[8:])
	e.Flags = b[10]
	for a := b[ndmsgLen:]; len(a) >= 4; {
		l := int(binary.NativeEndian.Uint16(a))
		typ := binary.NativeEndian.Uint16(a[2:]) & nlaTypeMask
		if l < 4 || l > len(a) {
			return Entry{}, netip.Addr{}, 0, fmt.Errorf("%w: attribute length %d of %d bytes", errMalformed, l, len(a))
		}
		v := a[4:l]
		switch typ {
		case unix.NDA_DST:
			if d, ok := netip.AddrFromSlice(v); ok {
				dst = d.Unmap()
			}
		case unix.NDA_LLADDR:
			switch {
			case len(v) > MaxHwLen:
				e.TooLong = true
			case len(v) > 0:
				e.HwLen = uint8(copy(e.HwAddr[:], v))
			}
		}
		a = a[min((l+3)&^3, len(a)):]
	}
	return e, dst, ifindex, nil
}

// Lookup returns the kernel's entry for a on ifindex; found is false when
// the table has none (ENOENT). It does not create one.
func (n *Neighbours) Lookup(a netip.Addr, ifindex uint32) (e Entry, found bool, err error) {
	a = a.Unmap()
	if !a.IsValid() {
		return Entry{}, false, errors.New("neighbour lookup of an invalid address")
	}
	if err := n.c.SetDeadline(time.Now().Add(n.timeout)); err != nil {
		return Entry{}, false, fmt.Errorf("neighbour lookup of %s: %w", a, err)
	}
	msgs, err := n.c.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETNEIGH, Flags: netlink.Request},
		Data:   getRequest(a, ifindex),
	})
	if errors.Is(err, unix.ENOENT) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("neighbour lookup of %s on interface %d (RTM_GETNEIGH needs Linux 4.20 or later): %w", a, ifindex, err)
	}
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWNEIGH {
			continue
		}
		e, dst, idx, err := parseNeigh(m.Data)
		if err != nil {
			return Entry{}, false, fmt.Errorf("neighbour lookup of %s: %w", a, err)
		}
		if dst != a || (ifindex != 0 && idx != ifindex) {
			continue
		}
		return e, true, nil
	}
	return Entry{}, false, nil
}

// Resolve asks the kernel to resolve a on ifindex (ARP request or neighbour
// solicitation), creating an entry if it has none; it needs CAP_NET_ADMIN.
func (n *Neighbours) Resolve(a netip.Addr, ifindex uint32) error {
	a = a.Unmap()
	if !a.IsValid() || ifindex == 0 {
		return errors.New("neighbour resolution needs an address and an interface")
	}
	if err := n.c.SetDeadline(time.Now().Add(n.timeout)); err != nil {
		return fmt.Errorf("resolve neighbour %s: %w", a, err)
	}
	_, err := n.c.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_NEWNEIGH, Flags: netlink.Request | netlink.Acknowledge | netlink.Create},
		Data:   useRequest(a, ifindex),
	})
	if err != nil {
		return fmt.Errorf("ask the kernel to resolve neighbour %s on interface %d (RTM_NEWNEIGH, NTF_USE; needs CAP_NET_ADMIN): %w", a, ifindex, err)
	}
	return nil
}
