package nft

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// LoadElements does not go through google/nftables: for 100,000 elements its
// encoder allocates ~600,000 objects (~87 MB), more CPU than the kernel takes
// to apply them. elemBatch encodes a whole element batch into one reusable
// buffer instead, and sendElemBatch writes that buffer with a single raw
// sendmsg on the Kernel's element socket.
//
// The encoding is byte for byte the one google/nftables v0.3.0 uses for
// SetAddElements (TestElemBatchMatchesNftables compares them), elements
// typed by their 1-based index in the list included, with two differences:
//   - it leaves out the 4-byte attribute google/nftables sends as
//     NFTA_LOOKUP_SET_ID (value 0): in an element-list message type 3 is
//     NFTA_SET_ELEM_LIST_ELEMENTS, so it is a bogus duplicate of the real
//     element list, which the kernel's parser overrides with the later one;
//   - a message is also closed before its element list would outgrow the
//     u16 attribute length (elements with long comments), not only after
//     maxElemsPerMessage elements. google/nftables lets the length wrap,
//     and the kernel then silently ignores the elements past the wrapped
//     length (measured: 137 of 1,000 IPv4 elements with 40-byte comments
//     were added, and no error).

const (
	newElemFlags  = unix.NLM_F_REQUEST | unix.NLM_F_CREATE | unix.NLM_F_ACK // as SetAddElements: no NLM_F_EXCL
	newElemType   = unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_NEWSETELEM
	nfgenmsgLen   = 4
	maxAttrLen    = 0xffff // netlink attribute lengths are u16
	nlmsgErrorLen = nlmsgHeaderLen + 4 + nlmsgHeaderLen
)

// elemBatch is one nfnetlink batch of NEWSETELEM messages, encoded in buf.
// Its zero value is ready to use; encode reuses buf.
type elemBatch struct {
	buf []byte
	ack []byte // read buffer for the acknowledgements
	// Sequence numbers: begin is BATCH_BEGIN's, the element messages have
	// begin+1 .. begin+msgs, BATCH_END has begin+msgs+1.
	begin uint32
	msgs  int
	// last is the last sequence number used; the next batch goes on from
	// it, so replies to one batch can never be mistaken for those of
	// another on the reused socket.
	last uint32
}

// encodedElemLen is the length of one element's NFTA_LIST_ELEM attribute,
// padding included.
func encodedElemLen(e Element) int {
	n := 3 * nlaHeaderLen // element, key, key data
	if e.Addr.Is4() {
		n += 4
	} else {
		n += 16
	}
	if e.Timeout > 0 {
		n += nlaHeaderLen + 8
	}
	if e.Comment != "" {
		n += nlaAlign(nlaHeaderLen + 2 + len(e.Comment) + 1)
	}
	return n
}

func nlaAlign(n int) int { return (n + 3) &^ 3 }

// encodedBatchLen is the length of the batch encode makes of elems when it
// puts maxElemsPerMessage elements in each message (more when long
// comments split messages earlier).
func encodedBatchLen(set string, elems []Element) int {
	const marker = nlmsgHeaderLen + nfgenmsgLen
	msg := marker + nlaAlign(nlaHeaderLen+len(set)+1) + nlaAlign(nlaHeaderLen+len(TableName)+1) + nlaHeaderLen
	n := 2*marker + (len(elems)+maxElemsPerMessage-1)/maxElemsPerMessage*msg
	for _, e := range elems {
		n += encodedElemLen(e)
	}
	return n
}

// encode replaces the batch with plain adds of elems (normalized already:
// addresses of the set's family, Timeout in whole milliseconds, comments
// short enough) to set, at most maxElemsPerMessage per message.
func (b *elemBatch) encode(set string, elems []Element) {
	// At most one message per element, plus BATCH_BEGIN and BATCH_END.
	seqs := uint32(len(elems) + 2)
	b.begin = b.last + 1
	b.last += seqs
	b.msgs = 0
	seq := b.begin
	b.buf = slices.Grow(b.buf[:0], encodedBatchLen(set, elems))
	b.buf = appendNlmsg(b.buf, unix.NFNL_MSG_BATCH_BEGIN, unix.NLM_F_REQUEST, seq)
	b.buf = appendNfgenmsg(b.buf, unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES)
	for i := 0; i < len(elems); {
		seq++
		b.msgs++
		msg := len(b.buf)
		b.buf = appendNlmsg(b.buf, newElemType, newElemFlags, seq)
		b.buf = appendNfgenmsg(b.buf, unix.NFPROTO_INET, 0)
		b.buf = appendStrAttr(b.buf, unix.NFTA_SET_ELEM_LIST_SET, set)
		b.buf = appendStrAttr(b.buf, unix.NFTA_SET_ELEM_LIST_TABLE, TableName)
		list := len(b.buf)
		b.buf = appendAttrHeader(b.buf, unix.NFTA_SET_ELEM_LIST_ELEMENTS|unix.NLA_F_NESTED)
		for n := 0; i < len(elems) && n < maxElemsPerMessage; n++ {
			e := elems[i]
			if n > 0 && len(b.buf)-list+encodedElemLen(e) > maxAttrLen {
				break
			}
			b.buf = appendElem(b.buf, uint16(n+1), e)
			i++
		}
		putAttrLen(b.buf, list)
		binary.NativeEndian.PutUint32(b.buf[msg:], uint32(len(b.buf)-msg))
	}
	b.buf = appendNlmsg(b.buf, unix.NFNL_MSG_BATCH_END, unix.NLM_F_REQUEST, seq+1)
	b.buf = appendNfgenmsg(b.buf, unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES)
}

// appendElem appends one element as google/nftables does: its 1-based
// index in the list as the type of a nested attribute (the kernel does not
// look at it; libnftnl numbers elements the same way), holding the nested
// key, the timeout when there is one and the comment as userdata.
func appendElem(b []byte, index uint16, e Element) []byte {
	start := len(b)
	b = appendAttrHeader(b, index|unix.NLA_F_NESTED)
	key := len(b)
	b = appendAttrHeader(b, unix.NFTA_SET_ELEM_KEY|unix.NLA_F_NESTED)
	if e.Addr.Is4() {
		a := e.Addr.As4()
		b = appendAttr(b, unix.NFTA_DATA_VALUE, a[:])
	} else {
		a := e.Addr.As16()
		b = appendAttr(b, unix.NFTA_DATA_VALUE, a[:])
	}
	putAttrLen(b, key)
	if e.Timeout > 0 {
		var ms [8]byte
		binary.BigEndian.PutUint64(ms[:], uint64(e.Timeout.Milliseconds()))
		b = appendAttr(b, unix.NFTA_SET_ELEM_TIMEOUT, ms[:])
	}
	if e.Comment != "" {
		// libnftnl userdata TLV: NFTNL_UDATA_SET_ELEM_COMMENT (0), length
		// with the NUL, the NUL-terminated text.
		u := len(b)
		b = appendAttrHeader(b, unix.NFTA_SET_ELEM_USERDATA)
		b = append(b, udataTypeComment, byte(len(e.Comment)+1))
		b = append(b, e.Comment...)
		b = append(b, 0)
		putAttrLen(b, u)
		b = pad4(b)
	}
	putAttrLen(b, start)
	return b
}

// appendNlmsg appends a netlink message header. Its length is that of a
// message with just a nfgenmsg (the batch markers); encode patches the
// length of the element messages.
func appendNlmsg(b []byte, typ, flags uint16, seq uint32) []byte {
	b = binary.NativeEndian.AppendUint32(b, nlmsgHeaderLen+nfgenmsgLen)
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, flags)
	b = binary.NativeEndian.AppendUint32(b, seq)
	return binary.NativeEndian.AppendUint32(b, 0) // port id: the kernel ignores it
}

// appendNfgenmsg appends struct nfgenmsg; res_id is big-endian.
func appendNfgenmsg(b []byte, family uint8, resID uint16) []byte {
	b = append(b, family, unix.NFNETLINK_V0)
	return binary.BigEndian.AppendUint16(b, resID)
}

// appendAttrHeader appends an attribute header whose length putAttrLen
// fills in once the payload is there.
func appendAttrHeader(b []byte, typ uint16) []byte {
	b = binary.NativeEndian.AppendUint16(b, nlaHeaderLen)
	return binary.NativeEndian.AppendUint16(b, typ)
}

// putAttrLen sets the length of the attribute starting at b[start:] to
// reach the end of b.
func putAttrLen(b []byte, start int) {
	binary.NativeEndian.PutUint16(b[start:], uint16(len(b)-start))
}

func appendAttr(b []byte, typ uint16, data []byte) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(nlaHeaderLen+len(data)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	return pad4(append(b, data...))
}

// appendStrAttr appends a NUL-terminated string attribute.
func appendStrAttr(b []byte, typ uint16, s string) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(nlaHeaderLen+len(s)+1))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, s...)
	return pad4(append(b, 0))
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// elemBatchBuffers returns socket buffer sizes for b. The kernel answers
// every element message; an error answer carries a copy of the whole failed
// message, so the receive buffer must hold the batch again (with skb
// overhead) for a failure to be reported as itself rather than as ENOBUFS.
func elemBatchBuffers(b *elemBatch) (sndbuf, rcvbuf int) {
	return 64<<10 + len(b.buf), 1<<20 + b.msgs*bytesPerAck + 3*len(b.buf)
}

// sendElemBatch writes b to the kernel as one atomic batch and waits for
// its acknowledgements; n is the number of elements, for messages. k.writeM
// is held.
//
// The batch goes out with one write(2) of the prebuilt buffer on the raw
// socket (SyscallConn) rather than netlink.Conn.SendMessages: that would
// need a []netlink.Message and copy every message into a new buffer again.
// Likewise the acknowledgements are read into one small buffer with
// read(2), not netlink.Conn.Receive, which allocates every message.
// Like writeBatch, the write and the wait for the answers are not
// interruptible: the kernel applies the batch inside the write.
func (k *Kernel) sendElemBatch(ctx context.Context, b *elemBatch, op, set string, n int) error {
	if err := k.check(ctx); err != nil {
		return err
	}
	sndbuf, rcvbuf := elemBatchBuffers(b)
	c, done, err := k.elementConn(ctx, sndbuf, rcvbuf)
	if err != nil {
		return kernelError("connect to nftables", noNftables(err))
	}
	ok := false
	defer func() { done(ok) }()
	if c.nl == nil {
		return errors.New("nft: element socket without a netlink connection")
	}
	rc, err := c.nl.SyscallConn()
	if err != nil {
		return kernelError("connect to nftables", err)
	}
	start := time.Now()
	if err := writeDatagram(rc, b.buf); err != nil {
		return k.elementWriteError(ctx, op, set, n, err)
	}
	if err := receiveElemAcks(rc, b); err != nil {
		return k.elementWriteError(ctx, op, set, n, err)
	}
	ok = true
	k.log.Debug("set elements written", "op", op, "set", set, "count", n, "messages", b.msgs, "took", time.Since(start))
	return nil
}

// writeDatagram sends buf as one datagram to the kernel (port 0, the
// default destination of an unconnected netlink socket).
func writeDatagram(rc syscall.RawConn, buf []byte) error {
	var n int
	var werr error
	if err := rc.Write(func(fd uintptr) bool {
		n, werr = unix.Write(int(fd), buf)
		return werr != unix.EAGAIN && werr != unix.EINTR
	}); err != nil {
		return err
	}
	if werr != nil {
		return fmt.Errorf("sendmsg: %w", werr)
	}
	if n != len(buf) {
		return fmt.Errorf("sendmsg: short write of %d of %d bytes", n, len(buf))
	}
	return nil
}

// ackBufferSize is the read buffer for acknowledgements. Each answer is a
// datagram of its own; an error answer that copies a large failed message
// is truncated, which keeps its header, errno and the failed message's
// header: all receiveElemAcks reads.
const ackBufferSize = 8 << 10

// receiveElemAcks waits for the answer to each element message of b and
// returns the first error the kernel reports. It stops at the first error:
// the socket of a failed batch is not reused, so the rest need not be read.
//
// The kernel sends the answers after processing the whole batch, in message
// order. When one message fails, the others of the batch are still answered
// with errno 0 although nothing is applied; the failed one gets its errno.
// A failure of the batch as a whole (EPERM, a failed commit) is answered for
// BATCH_BEGIN, before any acknowledgement. So the batch is applied exactly
// when every element message is acknowledged without an error first.
func receiveElemAcks(rc syscall.RawConn, b *elemBatch) error {
	if len(b.ack) < ackBufferSize {
		b.ack = make([]byte, ackBufferSize)
	}
	// The callbacks are made once per batch, not per read.
	var (
		n      int
		rerr   error
		acked  int
		ackErr error
	)
	read := func(fd uintptr) bool {
		n, rerr = unix.Read(int(fd), b.ack)
		return rerr != unix.EAGAIN && rerr != unix.EINTR
	}
	last := uint32(b.msgs) + 1 // BATCH_END, relative to b.begin
	onAck := func(seq uint32, errno int32) bool {
		rel := seq - b.begin // wraps around like the sequence numbers
		if rel > last {
			return true // not ours: left over from an earlier batch
		}
		if errno != 0 {
			ackErr = syscall.Errno(-errno)
			return false
		}
		if rel != 0 && rel != last {
			acked++
		}
		return true
	}
	for acked < b.msgs {
		if err := rc.Read(read); err != nil {
			return err
		}
		if rerr != nil {
			return fmt.Errorf("receive acknowledgements: %w", rerr)
		}
		if n == 0 {
			return errors.New("netlink socket closed while waiting for acknowledgements")
		}
		perr := scanAcks(b.ack[:n], onAck)
		if ackErr != nil {
			return ackErr
		}
		if perr != nil {
			return fmt.Errorf("receive acknowledgements: %w", perr)
		}
	}
	return nil
}

// scanAcks calls fn with the sequence number of the request and the
// (negative) errno, or 0, of each NLMSG_ERROR message in a datagram, until
// fn returns false; other messages are skipped. The last message may be
// truncated (a read buffer smaller than an error answer that copies the
// request) as long as its errno and the request header are there. It never
// panics on malformed input.
//
// parseNetlinkMessages does not fit here: it hides successful
// acknowledgements, which are what this counts.
func scanAcks(b []byte, fn func(seq uint32, errno int32) bool) error {
	for len(b) > 0 {
		if len(b) < nlmsgHeaderLen {
			return errShortMessage
		}
		n := int(binary.NativeEndian.Uint32(b))
		typ := binary.NativeEndian.Uint16(b[4:])
		if n < nlmsgHeaderLen {
			return fmt.Errorf("%w: length %d", errShortMessage, n)
		}
		if typ == unix.NLMSG_ERROR {
			if min(n, len(b)) < nlmsgErrorLen {
				return fmt.Errorf("%w: error message of %d bytes", errShortMessage, min(n, len(b)))
			}
			errno := int32(binary.NativeEndian.Uint32(b[nlmsgHeaderLen:]))
			seq := binary.NativeEndian.Uint32(b[nlmsgHeaderLen+4+8:])
			if errno > 0 {
				errno = -errno
			}
			if !fn(seq, errno) {
				return nil
			}
		}
		next := (n + 3) &^ 3
		if next >= len(b) {
			return nil
		}
		b = b[next:]
	}
	return nil
}
