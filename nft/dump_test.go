package nft

import (
	"encoding/binary"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// elemMessage builds the payload of a NEWSETELEM dump message like the kernel.
func elemMessage(t testing.TB, elems ...[]netlink.Attribute) []byte {
	t.Helper()
	var list []netlink.Attribute
	for _, e := range elems {
		b, err := netlink.MarshalAttributes(e)
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, netlink.Attribute{Type: unix.NLA_F_NESTED | unix.NFTA_LIST_ELEM, Data: b})
	}
	lb, err := netlink.MarshalAttributes(list)
	if err != nil {
		t.Fatal(err)
	}
	b, err := netlink.MarshalAttributes([]netlink.Attribute{
		{Type: unix.NFTA_SET_ELEM_LIST_TABLE, Data: []byte("ftwall\x00")},
		{Type: unix.NFTA_SET_ELEM_LIST_SET, Data: []byte("peers4\x00")},
		{Type: unix.NLA_F_NESTED | unix.NFTA_SET_ELEM_LIST_ELEMENTS, Data: lb},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keyAttr(t testing.TB, key []byte) netlink.Attribute {
	t.Helper()
	b, err := netlink.MarshalAttributes([]netlink.Attribute{{Type: unix.NFTA_DATA_VALUE, Data: key}})
	if err != nil {
		t.Fatal(err)
	}
	return netlink.Attribute{Type: unix.NLA_F_NESTED | unix.NFTA_SET_ELEM_KEY, Data: b}
}

func TestParseElemMessage(t *testing.T) {
	msg := elemMessage(t,
		[]netlink.Attribute{keyAttr(t, []byte{198, 51, 100, 1}),
			{Type: unix.NFTA_SET_ELEM_TIMEOUT, Data: be64(3600_000)},
			{Type: unix.NFTA_SET_ELEM_EXPIRATION, Data: be64(1234)}},
		[]netlink.Attribute{keyAttr(t, []byte{198, 51, 100, 2})},
		[]netlink.Attribute{keyAttr(t, []byte{192, 0, 3, 0}), {Type: unix.NFTA_SET_ELEM_FLAGS, Data: be32(unix.NFT_SET_ELEM_INTERVAL_END)}},
	)
	var got []rawElem
	if err := parseElemMessage(msg, func(e rawElem) bool { got = append(got, e); return true }); err != nil {
		t.Fatal(err)
	}
	want := []rawElem{
		{key: []byte{198, 51, 100, 1}, timeout: time.Hour, expires: 1234 * time.Millisecond},
		{key: []byte{198, 51, 100, 2}},
		{key: []byte{192, 0, 3, 0}, intervalEnd: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parsed %+v, want %+v", got, want)
	}

	// fn returning false stops.
	n := 0
	if err := parseElemMessage(msg, func(rawElem) bool { n++; return false }); err != nil || n != 1 {
		t.Errorf("stop: %d calls, %v", n, err)
	}

	k4, _ := lookupSet(SetPeers4)
	el, err := k4.element(want[0])
	if err != nil || el != (Element{Addr: addr("198.51.100.1"), Timeout: time.Hour, Expires: 1234 * time.Millisecond}) {
		t.Errorf("element = %+v %v", el, err)
	}
	k6, _ := lookupSet(SetPeers6)
	if _, err := k6.element(want[0]); err == nil {
		t.Error("IPv4 key accepted for an IPv6 set")
	}
}

func TestParseElemMessageMalformed(t *testing.T) {
	good := elemMessage(t, []netlink.Attribute{keyAttr(t, []byte{1, 2, 3, 4}), {Type: unix.NFTA_SET_ELEM_TIMEOUT, Data: be64(1)}})
	for name, b := range map[string][]byte{
		"truncated":     good[:len(good)-3],
		"short header":  {1, 0},
		"length 2":      {2, 0, 0, 0},
		"length beyond": {200, 0, 3, 0, 0, 0, 0, 0},
		"bad timeout": elemMessage(t, []netlink.Attribute{keyAttr(t, []byte{1, 2, 3, 4}),
			{Type: unix.NFTA_SET_ELEM_TIMEOUT, Data: []byte{1, 2, 3}}}),
		"bad flags": elemMessage(t, []netlink.Attribute{{Type: unix.NFTA_SET_ELEM_FLAGS, Data: []byte{1}}}),
	} {
		if err := parseElemMessage(b, func(rawElem) bool { return true }); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestMsDuration(t *testing.T) {
	if msDuration(1500) != 1500*time.Millisecond {
		t.Error("1500 ms")
	}
	if msDuration(math.MaxUint64) != time.Duration(math.MaxInt64) {
		t.Error("no saturation")
	}
}

func FuzzParseElemMessage(f *testing.F) {
	f.Add(elemMessage(f, []netlink.Attribute{keyAttr(f, []byte{198, 51, 100, 1}),
		{Type: unix.NFTA_SET_ELEM_TIMEOUT, Data: be64(3600_000)}, {Type: unix.NFTA_SET_ELEM_EXPIRATION, Data: be64(5)}}))
	f.Add(elemMessage(f, []netlink.Attribute{keyAttr(f, make([]byte, 16))}, []netlink.Attribute{{Type: unix.NFTA_SET_ELEM_FLAGS, Data: be32(1)}}))
	f.Add([]byte{})
	f.Add([]byte{4, 0, 3, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		k4, _ := lookupSet(SetPeers4)
		k6, _ := lookupSet(SetPeers6)
		_ = parseElemMessage(b, func(e rawElem) bool {
			if e.timeout < 0 || e.expires < 0 {
				t.Fatalf("negative duration %+v", e)
			}
			for _, k := range []setKind{k4, k6} {
				if el, err := k.element(e); err == nil && el.Addr.Is4() == k.v6 {
					t.Fatalf("set %s got %v", k.name, el.Addr)
				}
			}
			return true
		})
	})
}
