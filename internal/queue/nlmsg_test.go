package queue

import (
	"bytes"
	"encoding/binary"
	"errors"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Attribute numbers of enum nfqnl_attr_type, written out from
// linux/netfilter/nfnetlink_queue.h rather than taken from the package's
// constants, so that a wrong constant fails the test.
const (
	kNFQA_PACKET_HDR     = 1
	kNFQA_MARK           = 3
	kNFQA_TIMESTAMP      = 4
	kNFQA_IFINDEX_INDEV  = 5
	kNFQA_IFINDEX_OUTDEV = 6
	kNFQA_HWADDR         = 9
	kNFQA_PAYLOAD        = 10
)

// packetMessage builds an NFQNL_MSG_PACKET message as the kernel sends it.
func packetMessage(id uint32, hook uint8, in, out uint32, payload []byte, extra ...[]byte) []byte {
	var attrs []byte
	hdr := binary.BigEndian.AppendUint32(nil, id)
	hdr = binary.BigEndian.AppendUint16(hdr, 0x0800)
	hdr = append(hdr, hook)
	attrs = appendAttr(attrs, kNFQA_PACKET_HDR, hdr)
	for _, e := range extra {
		attrs = append(attrs, e...)
	}
	if in != 0 {
		attrs = appendAttr(attrs, kNFQA_IFINDEX_INDEV|unix.NLA_F_NET_BYTEORDER, binary.BigEndian.AppendUint32(nil, in))
	}
	if out != 0 {
		attrs = appendAttr(attrs, kNFQA_IFINDEX_OUTDEV, binary.BigEndian.AppendUint32(nil, out))
	}
	if payload != nil {
		attrs = appendAttr(attrs, kNFQA_PAYLOAD, payload)
	}
	b := binary.NativeEndian.AppendUint32(nil, uint32(nlmsgHeaderLen+nfgenLen+len(attrs)))
	b = binary.NativeEndian.AppendUint16(b, nfnlSubsysQueue<<8|nfqnlMsgPacket)
	b = binary.NativeEndian.AppendUint16(b, 0)
	b = binary.NativeEndian.AppendUint32(b, 0)
	b = binary.NativeEndian.AppendUint32(b, 0)
	b = append(b, unix.AF_INET, 0, 0, 0)
	return append(b, attrs...)
}

func ackMessage(seq uint32, errno syscall.Errno) []byte {
	b := binary.NativeEndian.AppendUint32(nil, nlmsgHeaderLen+4+nlmsgHeaderLen)
	b = binary.NativeEndian.AppendUint16(b, unix.NLMSG_ERROR)
	b = binary.NativeEndian.AppendUint16(b, 0)
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, 0)
	b = binary.NativeEndian.AppendUint32(b, uint32(-int32(errno)))
	return append(b, make([]byte, nlmsgHeaderLen)...)
}

func TestParsePacket(t *testing.T) {
	payload := []byte{0x45, 0, 0, 20, 1, 2, 3}              // odd length: padding follows
	mark := appendAttr(nil, kNFQA_MARK, []byte{0, 0, 0, 7}) // ignored
	mark = appendAttr(mark, kNFQA_TIMESTAMP, make([]byte, 16))
	dgram := append(packetMessage(77, 2, 5, 6, payload, mark), packetMessage(78, 1, 9, 0, nil)...)
	var got []Packet
	err := eachMessage(dgram, func(m message) bool {
		if !m.isPacket() {
			t.Fatalf("message type %#x is not a packet", m.typ)
		}
		var p Packet
		if !parsePacket(m.data, &p) {
			t.Fatal("no packet header found")
		}
		p.Payload = bytes.Clone(p.Payload)
		got = append(got, p)
		return true
	})
	if err != nil || len(got) != 2 {
		t.Fatalf("%d packets, %v", len(got), err)
	}
	if p := got[0]; p.ID != 77 || p.Hook != 2 || p.InDev != 5 || p.OutDev != 6 || !bytes.Equal(p.Payload, payload) {
		t.Errorf("first packet %+v", p)
	}
	if p := got[1]; p.ID != 78 || p.Hook != 1 || p.InDev != 9 || p.OutDev != 0 || p.Payload != nil {
		t.Errorf("second packet %+v", p)
	}
	// Without a packet header there is no id to answer.
	var p Packet
	if parsePacket([]byte{2, 0, 0, 0}, &p) || parsePacket(nil, &p) {
		t.Error("a message without a packet header parsed")
	}
	// Truncated datagrams are errors, not panics.
	for _, n := range []int{1, 15, 20, len(dgram) - 1} {
		calls := 0
		err := eachMessage(dgram[:n], func(m message) bool { calls++; parsePacket(m.data, &p); return true })
		if !errors.Is(err, errTruncated) {
			t.Errorf("datagram cut at %d: %v after %d messages", n, err, calls)
		}
	}
}

// hwAttr is an NFQA_HWADDR attribute as the kernel builds it (struct
// nfqnl_msg_packet_hw: be16 hw_addrlen, u16 pad, u8 hw_addr[8]).
func hwAttr(n uint16, addr ...byte) []byte {
	v := binary.BigEndian.AppendUint16(nil, n)
	v = append(v, 0, 0)
	var a [8]byte
	copy(a[:], addr)
	return appendAttr(nil, kNFQA_HWADDR, append(v, a[:]...))
}

func TestParseHwAddr(t *testing.T) {
	mac := []byte{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}
	for _, c := range []struct {
		name string
		attr []byte
		want []byte
	}{
		{"ethernet", hwAttr(6, mac...), mac},
		{"eight bytes", hwAttr(8, 1, 2, 3, 4, 5, 6, 7, 8), []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{"length 0", hwAttr(0, mac...), nil},
		{"length above 8", hwAttr(9, mac...), nil},
		{"short value", appendAttr(nil, kNFQA_HWADDR, []byte{0, 6, 0, 0, 2, 0x11}), nil},
		{"absent", nil, nil},
	} {
		var extra [][]byte
		if c.attr != nil {
			extra = append(extra, c.attr)
		}
		var p Packet
		err := eachMessage(packetMessage(1, 2, 5, 0, []byte{0x45}, extra...), func(m message) bool {
			if !parsePacket(m.data, &p) {
				t.Errorf("%s: no packet header found", c.name)
			}
			return true
		})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := p.HwAddr[:p.HwLen]; !bytes.Equal(got, c.want) {
			t.Errorf("%s: hardware address %x (length %d), want %x", c.name, got, p.HwLen, c.want)
		}
		if p.InDev != 5 || !bytes.Equal(p.Payload, []byte{0x45}) {
			t.Errorf("%s: the attributes after NFQA_HWADDR were lost: %+v", c.name, p)
		}
	}
	// Parsing allocates nothing.
	msg := packetMessage(1, 2, 5, 0, []byte{0x45}, hwAttr(6, mac...))[nlmsgHeaderLen:]
	var p Packet
	if n := testing.AllocsPerRun(100, func() { parsePacket(msg, &p) }); n != 0 {
		t.Errorf("parsePacket allocates %v times", n)
	}
}

func TestAckErr(t *testing.T) {
	var got []error
	var seqs []uint32
	dgram := append(ackMessage(1, 0), ackMessage(2, unix.EBUSY)...)
	dgram = append(dgram, packetMessage(5, 1, 1, 0, []byte{0x45})...)
	eachMessage(dgram, func(m message) bool {
		if err, ok := m.ackErr(); ok {
			got = append(got, err)
			seqs = append(seqs, m.seq)
		}
		return true
	})
	if len(got) != 2 || got[0] != nil || !errors.Is(got[1], unix.EBUSY) || seqs[0] != 1 || seqs[1] != 2 {
		t.Errorf("acks %v seqs %v", got, seqs)
	}
}

// TestBindMessages checks the bind datagram: three config messages for the
// queue, each asking for an acknowledgement, with the attributes the kernel
// expects (nfqnl_msg_config_cmd, nfqnl_msg_config_params, flags+mask,
// queue length; all values big-endian).
func TestBindMessages(t *testing.T) {
	b, n := bindMessages(10, 513, 4096, 3, 1024)
	if n != 3 {
		t.Fatalf("%d messages", n)
	}
	type attr struct {
		typ uint16
		v   []byte
	}
	var msgs [][]attr
	err := eachMessage(b, func(m message) bool {
		if m.typ != nfnlSubsysQueue<<8|nfqnlMsgConfig || m.seq != uint32(10+len(msgs)) {
			t.Errorf("message %d: type %#x seq %d", len(msgs), m.typ, m.seq)
		}
		if !bytes.Equal(m.data[:4], []byte{unix.AF_UNSPEC, 0, 2, 1}) { // res_id 513 big-endian
			t.Errorf("nfgenmsg %x", m.data[:4])
		}
		var as []attr
		for a := m.data[4:]; len(a) >= 4; {
			l := int(binary.NativeEndian.Uint16(a))
			as = append(as, attr{binary.NativeEndian.Uint16(a[2:]), a[4:l]})
			a = a[align4(l):]
		}
		msgs = append(msgs, as)
		return true
	})
	if err != nil || len(msgs) != 3 {
		t.Fatalf("%d messages, %v", len(msgs), err)
	}
	flags := binary.NativeEndian.Uint16(b[6:])
	if flags != unix.NLM_F_REQUEST|unix.NLM_F_ACK {
		t.Errorf("flags %#x", flags)
	}
	want := [][]attr{
		{{nfqaCfgCmd, []byte{nfqnlCfgCmdBind, 0, 0, 0}}},
		{{nfqaCfgParams, []byte{0, 0, 0x10, 0, nfqnlCopyPacket}}},
		{{nfqaCfgFlags, []byte{0, 0, 0, 3}}, {nfqaCfgMask, []byte{0, 0, 0, 3}}, {nfqaCfgMaxLen, []byte{0, 0, 4, 0}}},
	}
	for i := range want {
		if len(msgs[i]) != len(want[i]) {
			t.Fatalf("message %d attributes %v, want %v", i, msgs[i], want[i])
		}
		for j := range want[i] {
			if msgs[i][j].typ != want[i][j].typ || !bytes.Equal(msgs[i][j].v, want[i][j].v) {
				t.Errorf("message %d attribute %d = %v, want %v", i, j, msgs[i][j], want[i][j])
			}
		}
	}
}

func FuzzParseDatagram(f *testing.F) {
	f.Add(packetMessage(1, 2, 3, 4, []byte{0x45, 0, 0, 20}))
	f.Add(packetMessage(1, 2, 3, 0, []byte{0x45}, hwAttr(6, 2, 0x11, 0x22, 0x33, 0x44, 0x55)))
	f.Add(packetMessage(1, 2, 3, 0, nil, hwAttr(0xffff)))
	f.Add(append(ackMessage(1, unix.EPERM), packetMessage(2, 1, 1, 0, nil)...))
	b, _ := bindMessages(1, 0, 4096, 3, 4096)
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		eachMessage(b, func(m message) bool {
			if len(m.data) > len(b) {
				t.Fatalf("message data of %d bytes from a %d-byte datagram", len(m.data), len(b))
			}
			m.ackErr()
			var p Packet
			if parsePacket(m.data, &p) && len(p.Payload) > len(m.data) {
				t.Fatalf("payload of %d bytes from %d", len(p.Payload), len(m.data))
			}
			if p.HwLen > uint8(len(p.HwAddr)) {
				t.Fatalf("hardware address length %d", p.HwLen)
			}
			return true
		})
	})
}
