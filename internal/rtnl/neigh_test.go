package rtnl

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// Values from linux/neighbour.h and linux/rtnetlink.h, written out so that
// a wrong constant fails the test.
const (
	kNDA_DST         = 1
	kNDA_LLADDR      = 2
	kNDA_CACHEINFO   = 3
	kNUD_INCOMPLETE  = 0x01
	kNUD_REACHABLE   = 0x02
	kNUD_STALE       = 0x04
	kNUD_FAILED      = 0x20
	kNUD_NOARP       = 0x40
	kNUD_PERMANENT   = 0x80
	kNTF_USE         = 0x01
	kRTNLGRP_LINK    = 1
	kRTNLGRP_IPV4_IF = 5
	kRTNLGRP_IPV6_IF = 9
)

// neighMessage builds an RTM_NEWNEIGH body as the kernel sends it.
func neighMessage(fam uint8, ifindex uint32, state uint16, dst []byte, lladdr []byte) []byte {
	b := []byte{fam, 0, 0, 0}
	b = binary.NativeEndian.AppendUint32(b, ifindex)
	b = binary.NativeEndian.AppendUint16(b, state)
	b = append(b, 0, 1) // flags, type RTN_UNICAST
	b = appendAttr(b, kNDA_DST, dst)
	if lladdr != nil {
		b = appendAttr(b, kNDA_LLADDR, lladdr)
	}
	return appendAttr(b, kNDA_CACHEINFO, make([]byte, 16))
}

func TestParseNeigh(t *testing.T) {
	mac := []byte{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}
	v4 := netip.MustParseAddr("10.0.1.2")
	v6 := netip.MustParseAddr("fd00:1::2")
	for _, c := range []struct {
		name     string
		msg      []byte
		dst      netip.Addr
		resolved bool
		noarp    bool
		hw       []byte
	}{
		{"reachable", neighMessage(unix.AF_INET, 4, kNUD_REACHABLE, v4.AsSlice(), mac), v4, true, false, mac},
		{"stale ipv6", neighMessage(unix.AF_INET6, 4, kNUD_STALE, v6.AsSlice(), mac), v6, true, false, mac},
		{"permanent", neighMessage(unix.AF_INET, 4, kNUD_PERMANENT, v4.AsSlice(), mac), v4, true, false, mac},
		{"incomplete", neighMessage(unix.AF_INET, 4, kNUD_INCOMPLETE, v4.AsSlice(), nil), v4, false, false, nil},
		{"failed with old address", neighMessage(unix.AF_INET, 4, kNUD_FAILED, v4.AsSlice(), mac), v4, false, false, mac},
		{"no lladdr", neighMessage(unix.AF_INET, 4, kNUD_REACHABLE, v4.AsSlice(), nil), v4, false, false, nil},
		{"none", neighMessage(unix.AF_INET, 4, 0, v4.AsSlice(), mac), v4, false, false, mac},
		{"noarp", neighMessage(unix.AF_INET, 4, kNUD_NOARP, v4.AsSlice(), mac), v4, true, true, mac},
		{"infiniband", neighMessage(unix.AF_INET, 4, kNUD_REACHABLE, v4.AsSlice(), make([]byte, 20)), v4, false, false, nil},
	} {
		e, dst, idx, err := parseNeigh(c.msg)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if dst != c.dst || idx != 4 {
			t.Errorf("%s: dst %v ifindex %d", c.name, dst, idx)
		}
		if e.Resolved() != c.resolved || e.NoARP() != c.noarp || !bytes.Equal(e.HwAddr[:e.HwLen], c.hw) {
			t.Errorf("%s: %+v resolved %v noarp %v, want %v %v %x", c.name, e, e.Resolved(), e.NoARP(), c.resolved, c.noarp, c.hw)
		}
	}
	for _, bad := range [][]byte{nil, make([]byte, 11), append(make([]byte, 12), 200, 0, 1, 0)} {
		if _, _, _, err := parseNeigh(bad); err == nil {
			t.Errorf("%x parsed", bad)
		}
	}
}

// TestRequests checks the request bodies against the kernel's rules for a
// neighbour get (neigh_valid_get_req: pads, state, flags and type zero;
// NDA_DST of the family's length the only attribute) and for NTF_USE.
func TestRequests(t *testing.T) {
	get := getRequest(netip.MustParseAddr("10.0.1.2"), 7)
	want := []byte{unix.AF_INET, 0, 0, 0}
	want = binary.NativeEndian.AppendUint32(want, 7)
	want = append(want, 0, 0, 0, 0)
	want = binary.NativeEndian.AppendUint16(want, 8)
	want = binary.NativeEndian.AppendUint16(want, kNDA_DST)
	want = append(want, 10, 0, 1, 2)
	if !bytes.Equal(get, want) {
		t.Errorf("get request %x, want %x", get, want)
	}
	use := useRequest(netip.MustParseAddr("fd00:1::9"), 7)
	if len(use) != ndmsgLen+4+16 || use[0] != unix.AF_INET6 || use[10] != kNTF_USE || binary.NativeEndian.Uint16(use[8:]) != 0 {
		t.Errorf("use request %x", use)
	}
	if _, dst, idx, err := parseNeigh(use); err != nil || dst != netip.MustParseAddr("fd00:1::9") || idx != 7 {
		t.Errorf("use request reads back as %v on %d (%v)", dst, idx, err)
	}
	if watchGroups != 1<<(kRTNLGRP_LINK-1)|1<<(kRTNLGRP_IPV4_IF-1)|1<<(kRTNLGRP_IPV6_IF-1) {
		t.Errorf("groups %#x", watchGroups)
	}
}

func FuzzParseNeigh(f *testing.F) {
	f.Add(neighMessage(unix.AF_INET, 4, kNUD_REACHABLE, []byte{10, 0, 1, 2}, []byte{2, 0, 0, 0, 0, 1}))
	f.Add(neighMessage(unix.AF_INET6, 4, kNUD_STALE, make([]byte, 16), nil))
	f.Add(getRequest(netip.MustParseAddr("fd00::1"), 1))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, _, _, err := parseNeigh(b)
		if err != nil {
			return
		}
		if e.HwLen > MaxHwLen || (e.Resolved() && e.HwLen == 0) {
			t.Fatalf("entry %+v", e)
		}
	})
}
