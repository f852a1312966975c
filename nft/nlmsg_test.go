package nft

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// nlmsg encodes one netlink message like the kernel (host byte order, padded).
func nlmsg(typ, flags uint16, data []byte) []byte {
	b := binary.NativeEndian.AppendUint32(nil, uint32(nlmsgHeaderLen+len(data)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, flags)
	b = append(b, make([]byte, 8)...)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func errnoData(errno int32) []byte {
	return binary.NativeEndian.AppendUint32(nil, uint32(errno))
}

func TestParseNetlinkMessages(t *testing.T) {
	const newElem = unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_NEWSETELEM
	dgram := append(nlmsg(newElem, unix.NLM_F_MULTI, []byte{1, 2, 3}), nlmsg(newElem, unix.NLM_F_MULTI|unix.NLM_F_DUMP_INTR, []byte{4})...)
	var got [][]byte
	var flags []uint16
	done, err := parseNetlinkMessages(dgram, func(typ, f uint16, data []byte) bool {
		if typ != newElem {
			t.Errorf("type %#x", typ)
		}
		got = append(got, data)
		flags = append(flags, f)
		return true
	})
	if err != nil || done || len(got) != 2 || string(got[0][:3]) != "\x01\x02\x03" || flags[1]&unix.NLM_F_DUMP_INTR == 0 {
		t.Errorf("parse = %v %v %x %v", done, err, got, flags)
	}

	// DONE ends the dump; an error in DONE or ERROR is returned as errno.
	done, err = parseNetlinkMessages(nlmsg(unix.NLMSG_DONE, unix.NLM_F_MULTI, errnoData(0)), func(uint16, uint16, []byte) bool { return true })
	if !done || err != nil {
		t.Errorf("done: %v %v", done, err)
	}
	_, err = parseNetlinkMessages(nlmsg(unix.NLMSG_ERROR, 0, errnoData(-int32(unix.ENOENT))), func(uint16, uint16, []byte) bool { return true })
	if !errors.Is(err, unix.ENOENT) {
		t.Errorf("error message: %v", err)
	}
	// fn returning false stops before the next message.
	n := 0
	if _, err := parseNetlinkMessages(dgram, func(uint16, uint16, []byte) bool { n++; return false }); err != nil || n != 1 {
		t.Errorf("stop: %d %v", n, err)
	}
	for name, b := range map[string][]byte{
		"short header": make([]byte, 10),
		"length 8":     nlmsg(1, 0, nil)[:8],
		"beyond":       append(binary.NativeEndian.AppendUint32(nil, 100), make([]byte, 16)...),
	} {
		if _, err := parseNetlinkMessages(b, func(uint16, uint16, []byte) bool { return true }); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseSetMessage(t *testing.T) {
	b, err := netlink.MarshalAttributes([]netlink.Attribute{
		{Type: unix.NFTA_SET_TABLE, Data: []byte("ftwall\x00")},
		{Type: unix.NFTA_SET_NAME, Data: []byte("peers4\x00")},
		{Type: unix.NFTA_SET_FLAGS, Data: be32(unix.NFT_SET_TIMEOUT)},
		{Type: unix.NFTA_SET_TIMEOUT, Data: be64(86_400_000)},
		{Type: nftaSetCount, Data: be32(1_000_000)},
	})
	if err != nil {
		t.Fatal(err)
	}
	si, err := parseSetMessage(b)
	want := setInfo{name: "peers4", flags: unix.NFT_SET_TIMEOUT, timeout: 24 * time.Hour, count: 1_000_000, hasCount: true}
	if err != nil || si != want {
		t.Errorf("parseSetMessage = %+v %v", si, err)
	}
	bad, _ := netlink.MarshalAttributes([]netlink.Attribute{{Type: nftaSetCount, Data: []byte{1}}})
	if _, err := parseSetMessage(bad); err == nil {
		t.Error("short count accepted")
	}
}

func FuzzParseNetlinkMessages(f *testing.F) {
	f.Add(nlmsg(unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_NEWSETELEM, unix.NLM_F_MULTI, []byte{1, 2, 3, 4, 5}))
	f.Add(nlmsg(unix.NLMSG_DONE, unix.NLM_F_MULTI, errnoData(0)))
	f.Add(nlmsg(unix.NLMSG_ERROR, 0, errnoData(-2)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		total := 0
		_, _ = parseNetlinkMessages(b, func(_, _ uint16, data []byte) bool {
			total += len(data)
			if total > len(b) {
				t.Fatalf("payloads exceed the input")
			}
			_ = parseElemMessage(data, func(rawElem) bool { return true })
			return true
		})
	})
}

func FuzzParseSetMessage(f *testing.F) {
	seed, _ := netlink.MarshalAttributes([]netlink.Attribute{
		{Type: unix.NFTA_SET_NAME, Data: []byte("locked6\x00")},
		{Type: unix.NFTA_SET_TIMEOUT, Data: be64(120_000)},
		{Type: nftaSetCount, Data: be32(3)},
	})
	f.Add(seed)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		si, err := parseSetMessage(b)
		if err == nil && (si.timeout < 0 || si.count < 0) {
			t.Fatalf("parsed %+v", si)
		}
	})
}
