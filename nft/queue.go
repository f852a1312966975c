package nft

import (
	"encoding/binary"

	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
)

// Flags of the xtables NFQUEUE target (xt_NFQUEUE.h).
const (
	nfqFlagBypass    = 0x01
	nfqFlagCPUFanout = 0x02
)

// queueExpr returns the queue statement for backend b: the native nftables
// queue expression or the xtables NFQUEUE target (revision 3). Both use
// bypass, so traffic passes when no inspector listens, and CPU fanout when
// there is more than one queue.
func queueExpr(b Backend, num, total uint16) expr.Any {
	if b == BackendNative {
		flags := expr.QueueFlagBypass
		if total > 1 {
			flags |= expr.QueueFlagFanout
		}
		return &expr.Queue{Num: num, Total: total, Flag: flags}
	}
	info := xt.Unknown(nfqueueInfo(num, total))
	return &expr.Target{Name: "NFQUEUE", Rev: 3, Info: &info}
}

// nfqueueInfo encodes struct xt_NFQ_info_v3 {u16 queuenum; u16 queues_total;
// u16 flags;} padded to 8 bytes, in host byte order as the kernel reads it.
func nfqueueInfo(num, total uint16) []byte {
	flags := uint16(nfqFlagBypass)
	if total > 1 {
		flags |= nfqFlagCPUFanout
	}
	b := make([]byte, 8)
	binary.NativeEndian.PutUint16(b[0:], num)
	binary.NativeEndian.PutUint16(b[2:], total)
	binary.NativeEndian.PutUint16(b[4:], flags)
	return b
}

// queueBackendOf tells which backend a rule's expression belongs to;
// ok is false for non-queue expressions.
func queueBackendOf(e expr.Any) (Backend, bool) {
	switch e := e.(type) {
	case *expr.Queue:
		return BackendNative, true
	case *expr.Target:
		if e.Name == "NFQUEUE" {
			return BackendCompat, true
		}
	}
	return BackendAuto, false
}

// queueRangeOf returns the queue numbers a queue expression sends to: the
// first and how many.
func queueRangeOf(e expr.Any) (num, total uint16, ok bool) {
	switch e := e.(type) {
	case *expr.Queue:
		return e.Num, max(e.Total, 1), true
	case *expr.Target:
		if u, isU := e.Info.(*xt.Unknown); e.Name == "NFQUEUE" && isU && len(*u) >= 4 {
			b := []byte(*u)
			return binary.NativeEndian.Uint16(b[0:]), max(binary.NativeEndian.Uint16(b[2:]), 1), true
		}
	}
	return 0, 0, false
}
