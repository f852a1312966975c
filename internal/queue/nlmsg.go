package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// Netlink and nfnetlink_queue wire constants (linux/netfilter/nfnetlink_queue.h).
const (
	nlmsgHeaderLen = 16
	nfgenLen       = 4 // struct nfgenmsg

	nfnlSubsysQueue = 3
	nfqnlMsgPacket  = 0
	nfqnlMsgConfig  = 2

	nfqaPacketHdr   = 1      // NFQA_PACKET_HDR
	nfqaIfindexIn   = 5      // NFQA_IFINDEX_INDEV
	nfqaIfindexOut  = 6      // NFQA_IFINDEX_OUTDEV
	nfqaHwAddr      = 9      // NFQA_HWADDR
	nfqaPayload     = 10     // NFQA_PAYLOAD
	nlaTypeMask     = 0x3fff // without NLA_F_NESTED / NLA_F_NET_BYTEORDER
	nfqaCfgCmd      = 1
	nfqaCfgParams   = 2
	nfqaCfgMaxLen   = 3
	nfqaCfgMask     = 4
	nfqaCfgFlags    = 5
	nfqnlCfgCmdBind = 1
	nfqnlCfgUnbind  = 2
	nfqnlCopyPacket = 2
)

var errTruncated = errors.New("truncated nfqueue message")

// message is one netlink message of a datagram read from the queue socket.
type message struct {
	typ  uint16
	seq  uint32
	data []byte // after the netlink header
}

// eachMessage calls fn for every netlink message in the datagram b, until fn
// returns false. It never panics on malformed input.
func eachMessage(b []byte, fn func(m message) bool) error {
	for len(b) > 0 {
		if len(b) < nlmsgHeaderLen {
			return errTruncated
		}
		n := int(binary.NativeEndian.Uint32(b))
		if n < nlmsgHeaderLen || n > len(b) {
			return fmt.Errorf("%w: length %d of %d bytes", errTruncated, n, len(b))
		}
		m := message{typ: binary.NativeEndian.Uint16(b[4:]), seq: binary.NativeEndian.Uint32(b[8:]), data: b[nlmsgHeaderLen:n]}
		if !fn(m) {
			return nil
		}
		b = b[min(align4(n), len(b)):]
	}
	return nil
}

func align4(n int) int { return (n + 3) &^ 3 }

// isPacket reports whether m is a queued packet (NFQNL_MSG_PACKET).
func (m message) isPacket() bool { return m.typ == nfnlSubsysQueue<<8|nfqnlMsgPacket }

// ackErr returns the result an NLMSG_ERROR message carries: nil for an
// acknowledgement, the errno otherwise. ok is false for other messages.
func (m message) ackErr() (err error, ok bool) {
	if m.typ != unix.NLMSG_ERROR {
		return nil, false
	}
	if len(m.data) < 4 {
		return errTruncated, true
	}
	if e := int32(binary.NativeEndian.Uint32(m.data)); e < 0 {
		return syscall.Errno(-e), true
	}
	return nil, true
}

// parsePacket fills p from the attributes of a packet message. It reports
// false when the message has no packet header (no id to give a verdict for).
// p.Payload points into data.
func parsePacket(data []byte, p *Packet) bool {
	*p = Packet{}
	if len(data) < nfgenLen {
		return false
	}
	b := data[nfgenLen:]
	hasID := false
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b))
		typ := binary.NativeEndian.Uint16(b[2:]) & nlaTypeMask
		if l < 4 || l > len(b) {
			break
		}
		v := b[4:l]
		switch typ {
		case nfqaPacketHdr: // struct nfqnl_msg_packet_hdr: be32 id, be16 proto, u8 hook
			if len(v) >= 7 {
				p.ID = binary.BigEndian.Uint32(v)
				p.Hook = v[6]
				hasID = true
			}
		case nfqaIfindexIn:
			if len(v) >= 4 {
				p.InDev = binary.BigEndian.Uint32(v)
			}
		case nfqaIfindexOut:
			if len(v) >= 4 {
				p.OutDev = binary.BigEndian.Uint32(v)
			}
		case nfqaHwAddr:
			parseHwAddr(v, p)
		case nfqaPayload:
			p.Payload = v
		}
		b = b[min(align4(l), len(b)):]
	}
	return hasID
}

// parseHwAddr takes the source link-layer address from an NFQA_HWADDR
// value (struct nfqnl_msg_packet_hw: be16 hw_addrlen, u16 pad, u8
// hw_addr[8]). A length of 0 or above 8, or a short value, leaves p.HwLen 0
// (no address known).
func parseHwAddr(v []byte, p *Packet) {
	if len(v) < 4+len(p.HwAddr) {
		return
	}
	n := int(binary.BigEndian.Uint16(v))
	if n == 0 || n > len(p.HwAddr) {
		return
	}
	copy(p.HwAddr[:], v[4:4+n])
	p.HwLen = uint8(n)
}

// appendAttr appends a netlink attribute.
func appendAttr(b []byte, typ uint16, v []byte) []byte {
	l := 4 + len(v)
	b = binary.NativeEndian.AppendUint16(b, uint16(l))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, v...)
	for range align4(l) - l {
		b = append(b, 0)
	}
	return b
}

// appendConfig appends one NFQNL_MSG_CONFIG message for queue num with the
// given attributes, asking for an acknowledgement.
func appendConfig(b []byte, seq uint32, num uint16, attrs []byte) []byte {
	start := len(b)
	b = binary.NativeEndian.AppendUint32(b, 0) // length, set below
	b = binary.NativeEndian.AppendUint16(b, nfnlSubsysQueue<<8|nfqnlMsgConfig)
	b = binary.NativeEndian.AppendUint16(b, unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, 0) // port id: the kernel fills it
	b = append(b, unix.AF_UNSPEC, unix.NFNETLINK_V0)
	b = binary.BigEndian.AppendUint16(b, num)
	b = append(b, attrs...)
	binary.NativeEndian.PutUint32(b[start:], uint32(len(b)-start))
	return b
}

// cmdAttr is an NFQA_CFG_CMD attribute (struct nfqnl_msg_config_cmd).
func cmdAttr(cmd uint8) []byte {
	return appendAttr(nil, nfqaCfgCmd, []byte{cmd, 0, 0, unix.AF_UNSPEC})
}

// bindMessages is the datagram that binds queue num with the reader's
// settings: bind, copy mode and range, flags, and the queue length. Sequence
// numbers are firstSeq, firstSeq+1, …; it returns how many messages it holds.
func bindMessages(firstSeq uint32, num uint16, copyLen, flags, maxLen uint32) ([]byte, int) {
	var b []byte
	b = appendConfig(b, firstSeq, num, cmdAttr(nfqnlCfgCmdBind))
	params := binary.BigEndian.AppendUint32(nil, copyLen)
	params = append(params, nfqnlCopyPacket)
	b = appendConfig(b, firstSeq+1, num, appendAttr(nil, nfqaCfgParams, params))
	fl := binary.BigEndian.AppendUint32(nil, flags)
	attrs := appendAttr(nil, nfqaCfgFlags, fl)
	attrs = appendAttr(attrs, nfqaCfgMask, fl)
	attrs = appendAttr(attrs, nfqaCfgMaxLen, binary.BigEndian.AppendUint32(nil, maxLen))
	b = appendConfig(b, firstSeq+2, num, attrs)
	return b, 3
}
