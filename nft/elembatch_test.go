package nft

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// rawMsg is one netlink message of an encoded batch.
type rawMsg struct {
	typ, flags uint16
	seq        uint32
	data       []byte // after the netlink header
}

// splitBatch splits an encoded batch into its messages, checking lengths
// and alignment.
func splitBatch(t testing.TB, b []byte) []rawMsg {
	t.Helper()
	var out []rawMsg
	for len(b) > 0 {
		if len(b) < nlmsgHeaderLen {
			t.Fatalf("%d bytes left, less than a header", len(b))
		}
		n := int(binary.NativeEndian.Uint32(b))
		if n < nlmsgHeaderLen || n > len(b) || n%4 != 0 {
			t.Fatalf("message length %d of %d bytes", n, len(b))
		}
		out = append(out, rawMsg{
			typ:   binary.NativeEndian.Uint16(b[4:]),
			flags: binary.NativeEndian.Uint16(b[6:]),
			seq:   binary.NativeEndian.Uint32(b[8:]),
			data:  b[nlmsgHeaderLen:n],
		})
		b = b[n:]
	}
	return out
}

// nftablesBatch returns the batch google/nftables sends for plain adds of
// elems to set, chunked like the old LoadElements.
func nftablesBatch(t testing.TB, set string, elems []Element) []netlink.Message {
	t.Helper()
	var sent []netlink.Message
	c, err := nftables.New(nftables.WithTestDial(func(req []netlink.Message) ([]netlink.Message, error) {
		if len(req) > 0 {
			sent = append(sent, req...)
		}
		return []netlink.Message{{Header: netlink.Header{Type: netlink.Error}, Data: make([]byte, 4+nlmsgHeaderLen)}}, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	s := elemSet(set)
	var encErr error
	chunks(len(elems), maxElemsPerMessage, func(lo, hi int) {
		if err := c.SetAddElements(s, timeoutElems(elems[lo:hi])); err != nil {
			encErr = err
		}
	})
	if encErr != nil {
		t.Fatal(encErr)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	return sent
}

// withoutLookupSetID removes the attribute google/nftables sends as
// NFTA_LOOKUP_SET_ID (type 3, 4 bytes) from a NEWSETELEM payload.
func withoutLookupSetID(t testing.TB, data []byte) []byte {
	t.Helper()
	out := append([]byte(nil), data[:nfgenmsgLen]...)
	found := 0
	b := data[nfgenmsgLen:]
	for len(b) > 0 {
		n := int(binary.NativeEndian.Uint16(b))
		typ := binary.NativeEndian.Uint16(b[2:])
		next := min(nlaAlign(n), len(b))
		if typ == unix.NFTA_LOOKUP_SET_ID && n == nlaHeaderLen+4 {
			found++
		} else {
			out = append(out, b[:next]...)
		}
		b = b[next:]
	}
	if found != 1 {
		t.Fatalf("google/nftables message has %d NFTA_LOOKUP_SET_ID attributes, want 1", found)
	}
	return out
}

// elemsN returns n elements from base with the timeout and comment given.
func elemsN(base string, n int, timeout time.Duration, comment string) []Element {
	out := make([]Element, n)
	for i, a := range v4s(base, n) {
		out[i] = Element{Addr: a, Timeout: timeout, Comment: comment}
	}
	return out
}

func TestElemBatchMatchesNftables(t *testing.T) {
	mixed := []Element{
		{Addr: netip.MustParseAddr("192.0.2.1")},
		{Addr: netip.MustParseAddr("192.0.2.2"), Timeout: 90 * time.Second},
		{Addr: netip.MustParseAddr("192.0.2.3"), Timeout: time.Millisecond, Comment: "port=3456 net=KaZaA"},
		{Addr: netip.MustParseAddr("192.0.2.4"), Comment: "x"},
		{Addr: netip.MustParseAddr("192.0.2.5"), Comment: "xyz"},
		{Addr: netip.MustParseAddr("192.0.2.6"), Timeout: 1500 * time.Microsecond}, // rounded up by normalize
	}
	mixed6 := []Element{
		{Addr: netip.MustParseAddr("2001:db8::1")},
		{Addr: netip.MustParseAddr("2001:db8::2"), Timeout: 24 * time.Hour},
		{Addr: netip.MustParseAddr("2001:db8::3"), Timeout: time.Hour, Comment: strings.Repeat("c", maxElemCommentLen)},
	}
	for name, tc := range map[string]struct {
		set   string
		elems []Element
	}{
		"v4 mixed":    {SetLocked4, mixed},
		"v6 mixed":    {SetPeers6, mixed6[:2]},
		"v6 comment":  {SetLocked6, mixed6[2:]},
		"v4 one":      {SetPeers4, elemsN("198.51.100.1", 1, 0, "")},
		"v4 999":      {SetPeers4, elemsN("198.51.100.1", maxElemsPerMessage-1, time.Hour, "")},
		"v4 1000":     {SetPeers4, elemsN("198.51.100.1", maxElemsPerMessage, time.Hour, "")},
		"v4 1001":     {SetPeers4, elemsN("198.51.100.1", maxElemsPerMessage+1, 0, "")},
		"v6 2000":     {SetPeers6, elemsN("2001:db8::1", 2*maxElemsPerMessage, time.Hour, "")},
		"v6 2001":     {SetPeers6, elemsN("2001:db8::1", 2*maxElemsPerMessage+1, 0, "")},
		"v4 comments": {SetLocked4, elemsN("203.0.113.1", 700, time.Minute, "port=1214 net=fasttrack")},
	} {
		t.Run(name, func(t *testing.T) {
			kind, err := writableSet(tc.set)
			if err != nil {
				t.Fatal(err)
			}
			elems, err := kind.normalizeElements(tc.elems)
			if err != nil {
				t.Fatal(err)
			}
			var b elemBatch
			b.encode(tc.set, elems)
			if len(b.buf) != encodedBatchLen(tc.set, elems) {
				t.Errorf("encoded %d bytes, encodedBatchLen %d", len(b.buf), encodedBatchLen(tc.set, elems))
			}
			mine := splitBatch(t, b.buf)
			theirs := nftablesBatch(t, tc.set, elems)
			if len(mine) != len(theirs) {
				t.Fatalf("%d messages, google/nftables sends %d", len(mine), len(theirs))
			}
			if want := (len(elems) + maxElemsPerMessage - 1) / maxElemsPerMessage; b.msgs != want || len(mine) != want+2 {
				t.Errorf("msgs %d (%d messages), want %d", b.msgs, len(mine), want)
			}
			for i, m := range mine {
				g := theirs[i]
				if m.typ != uint16(g.Header.Type) || m.flags != uint16(g.Header.Flags) {
					t.Errorf("message %d: type %#x flags %#x, google/nftables %#x %#x", i, m.typ, m.flags, g.Header.Type, g.Header.Flags)
				}
				if i > 0 && m.seq != mine[i-1].seq+1 {
					t.Errorf("message %d: sequence %d after %d", i, m.seq, mine[i-1].seq)
				}
				want := g.Data
				if m.typ == newElemType {
					want = withoutLookupSetID(t, g.Data)
				}
				if !bytes.Equal(m.data, want) {
					t.Errorf("message %d (type %#x) differs from google/nftables:\n mine   %x\n theirs %x", i, m.typ, head(m.data), head(want))
				}
			}
		})
	}
}

func head(b []byte) []byte { return b[:min(len(b), 160)] }

// TestElemBatchLayout checks the fixed parts of the batch against the
// kernel's expectations, independently of google/nftables.
func TestElemBatchLayout(t *testing.T) {
	var b elemBatch
	b.encode(SetPeers6, []Element{{Addr: netip.MustParseAddr("2001:db8::1"), Timeout: 2 * time.Second}})
	msgs := splitBatch(t, b.buf)
	if len(msgs) != 3 || b.msgs != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	begin, elem, end := msgs[0], msgs[1], msgs[2]
	marker := []byte{unix.AF_UNSPEC, unix.NFNETLINK_V0, 0, unix.NFNL_SUBSYS_NFTABLES}
	if begin.typ != unix.NFNL_MSG_BATCH_BEGIN || begin.flags != unix.NLM_F_REQUEST || !bytes.Equal(begin.data, marker) || begin.seq != b.begin {
		t.Errorf("batch begin %+v", begin)
	}
	if end.typ != unix.NFNL_MSG_BATCH_END || end.flags != unix.NLM_F_REQUEST || !bytes.Equal(end.data, marker) {
		t.Errorf("batch end %+v", end)
	}
	if elem.typ != unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_NEWSETELEM ||
		elem.flags != unix.NLM_F_REQUEST|unix.NLM_F_CREATE|unix.NLM_F_ACK ||
		!bytes.Equal(elem.data[:4], []byte{unix.NFPROTO_INET, unix.NFNETLINK_V0, 0, 0}) {
		t.Errorf("element message %+v", elem)
	}
	var table, set string
	var got []rawElem
	err := forEachAttr(elem.data[4:], func(typ uint16, p []byte) error {
		switch typ {
		case unix.NFTA_SET_ELEM_LIST_TABLE:
			table = string(p)
		case unix.NFTA_SET_ELEM_LIST_SET:
			set = string(p)
		case unix.NFTA_SET_ELEM_LIST_ELEMENTS:
			var err error
			got, err = decodeElemList(p)
			return err
		}
		return nil
	})
	if err != nil || table != TableName+"\x00" || set != SetPeers6+"\x00" || len(got) != 1 ||
		!bytes.Equal(got[0].key, netip.MustParseAddr("2001:db8::1").AsSlice()) || got[0].timeout != 2*time.Second {
		t.Errorf("element message: table %q set %q elements %+v err %v", table, set, got, err)
	}
	// Nested attributes carry NLA_F_NESTED, as google/nftables sets it.
	if typ := binary.NativeEndian.Uint16(elem.data[4+12+12+2:]); typ != unix.NFTA_SET_ELEM_LIST_ELEMENTS|unix.NLA_F_NESTED {
		t.Errorf("element list attribute type %#x", typ)
	}
}

// decodeElemList decodes an element list attribute; unlike parseElemMessage
// it accepts any index as the type of an element, as the kernel does.
func decodeElemList(list []byte) ([]rawElem, error) {
	var out []rawElem
	err := forEachAttr(list, func(_ uint16, p []byte) error {
		e, err := parseElem(p)
		out = append(out, e)
		return err
	})
	return out, err
}

// decodeBatch checks the structure of an encoded batch and returns its
// elements in order, with the number of element messages.
func decodeBatch(t testing.TB, b *elemBatch, set string) ([]rawElem, int) {
	t.Helper()
	msgs := splitBatch(t, b.buf)
	if len(msgs) < 2 || msgs[0].typ != unix.NFNL_MSG_BATCH_BEGIN || msgs[len(msgs)-1].typ != unix.NFNL_MSG_BATCH_END {
		t.Fatalf("batch of %d messages without begin/end", len(msgs))
	}
	var all []rawElem
	for i, m := range msgs {
		if m.seq != b.begin+uint32(i) {
			t.Fatalf("message %d: sequence %d, begin %d", i, m.seq, b.begin)
		}
		if i == 0 || i == len(msgs)-1 {
			continue
		}
		if m.typ != newElemType {
			t.Fatalf("message %d: type %#x", i, m.typ)
		}
		n := 0
		err := forEachAttr(m.data[nfgenmsgLen:], func(typ uint16, p []byte) error {
			switch typ {
			case unix.NFTA_SET_ELEM_LIST_SET:
				if string(p) != set+"\x00" {
					t.Errorf("message %d: set %q", i, p)
				}
			case unix.NFTA_SET_ELEM_LIST_ELEMENTS:
				if len(p)+nlaHeaderLen > maxAttrLen {
					t.Errorf("message %d: element list of %d bytes", i, len(p))
				}
				els, err := decodeElemList(p)
				n += len(els)
				all = append(all, els...)
				return err
			}
			return nil
		})
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if n == 0 || n > maxElemsPerMessage {
			t.Errorf("message %d: %d elements", i, n)
		}
	}
	if b.msgs != len(msgs)-2 {
		t.Errorf("msgs %d, %d element messages", b.msgs, len(msgs)-2)
	}
	return all, b.msgs
}

// Long comments make elements too large for 1000 in one attribute (whose
// length is a u16): messages are then closed earlier.
func TestElemBatchLongComments(t *testing.T) {
	elems := elemsN("2001:db8::1", 2500, time.Hour, strings.Repeat("n", maxElemCommentLen))
	var b elemBatch
	b.encode(SetLocked6, elems)
	got, msgs := decodeBatch(t, &b, SetLocked6)
	if len(got) != len(elems) {
		t.Fatalf("%d elements decoded, %d encoded", len(got), len(elems))
	}
	for i, e := range got {
		if !bytes.Equal(e.key, elems[i].Addr.AsSlice()) || e.timeout != time.Hour || e.comment != elems[i].Comment {
			t.Fatalf("element %d: %+v", i, e)
		}
	}
	perMsg := (maxAttrLen - nlaHeaderLen) / encodedElemLen(elems[0])
	if want := (len(elems) + perMsg - 1) / perMsg; msgs != want {
		t.Errorf("%d messages, want %d", msgs, want)
	}
}

// Reusing a batch leaves nothing of the previous one and allocates nothing.
func TestElemBatchReuse(t *testing.T) {
	big := elemsN("2001:db8::1", 3000, time.Hour, "")
	small := elemsN("192.0.2.1", 3, 0, "")
	var b elemBatch
	b.encode(SetPeers6, big)
	first := b.begin
	b.encode(SetPeers4, small)
	if b.begin == first {
		t.Error("sequence numbers reused")
	}
	got, _ := decodeBatch(t, &b, SetPeers4)
	if len(got) != 3 || b.msgs != 1 {
		t.Fatalf("after reuse: %d elements in %d messages", len(got), b.msgs)
	}
	b.encode(SetPeers6, big)
	if allocs := testing.AllocsPerRun(5, func() { b.encode(SetPeers6, big) }); allocs != 0 {
		t.Errorf("encode allocates %v times per batch", allocs)
	}
}

func TestEncodedElemLen(t *testing.T) {
	for _, e := range []Element{
		{Addr: netip.MustParseAddr("192.0.2.1")},
		{Addr: netip.MustParseAddr("192.0.2.1"), Timeout: time.Second},
		{Addr: netip.MustParseAddr("2001:db8::1"), Timeout: time.Second, Comment: "ab"},
		{Addr: netip.MustParseAddr("2001:db8::1"), Comment: "abcd"},
		{Addr: netip.MustParseAddr("2001:db8::1"), Comment: "abcde"},
	} {
		if got, want := encodedElemLen(e), len(appendElem(nil, 1, e)); got != want {
			t.Errorf("%+v: encodedElemLen %d, encoded %d bytes", e, got, want)
		}
	}
}

func TestScanAcks(t *testing.T) {
	ack := func(seq uint32, errno int32, extra int) []byte {
		req := make([]byte, nlmsgHeaderLen+extra)
		binary.NativeEndian.PutUint32(req, uint32(len(req)))
		binary.NativeEndian.PutUint32(req[8:], seq)
		return nlmsg(unix.NLMSG_ERROR, 0, append(errnoData(errno), req...))
	}
	type reply struct {
		seq   uint32
		errno int32
	}
	scan := func(b []byte) ([]reply, error) {
		var got []reply
		err := scanAcks(b, func(seq uint32, errno int32) bool {
			got = append(got, reply{seq, errno})
			return errno == 0
		})
		return got, err
	}
	dgram := append(ack(7, 0, 0), nlmsg(unix.NLMSG_NOOP, 0, nil)...)
	dgram = append(dgram, ack(8, -int32(unix.ENOENT), 40)...)
	dgram = append(dgram, ack(9, 0, 0)...)
	got, err := scan(dgram)
	if err != nil || len(got) != 2 || got[0] != (reply{7, 0}) || got[1] != (reply{8, -int32(unix.ENOENT)}) {
		t.Errorf("scan = %v %v", got, err)
	}
	// A truncated error answer still yields its errno and sequence.
	trunc := ack(5, -int32(unix.EINVAL), 5000)[:100]
	if got, err := scan(trunc); err != nil || len(got) != 1 || got[0] != (reply{5, -int32(unix.EINVAL)}) {
		t.Errorf("truncated: %v %v", got, err)
	}
	for name, b := range map[string][]byte{
		"short header": make([]byte, 10),
		"short error":  nlmsg(unix.NLMSG_ERROR, 0, errnoData(0)),
		"length 4":     append(binary.NativeEndian.AppendUint32(nil, 4), make([]byte, 16)...),
	} {
		if _, err := scan(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzElemBatch(f *testing.F) {
	f.Add(uint16(1), uint16(0), uint8(0), uint32(0), false)
	f.Add(uint16(1000), uint16(0), uint8(0), uint32(3600_000), true)
	f.Add(uint16(1001), uint16(999), uint8(10), uint32(1), false)
	f.Add(uint16(2345), uint16(17), uint8(253), uint32(86_400_000), true)
	f.Fuzz(func(t *testing.T, n, withComment uint16, commentLen uint8, timeoutMs uint32, v6 bool) {
		n = n%3000 + 1
		base, set := "10.0.0.1", SetLocked4
		if v6 {
			base, set = "2001:db8::1", SetLocked6
		}
		comment := strings.Repeat("k", int(commentLen)%254)
		elems := make([]Element, n)
		for i, a := range v4s(base, int(n)) {
			elems[i] = Element{Addr: a, Timeout: time.Duration(uint64(timeoutMs)*uint64(i%3)) * time.Millisecond}
			if withComment > 0 && i%int(withComment) == 0 {
				elems[i].Comment = comment
			}
		}
		var b elemBatch
		b.encode(set, elems)
		got, _ := decodeBatch(t, &b, set)
		if len(got) != len(elems) {
			t.Fatalf("%d elements decoded, %d encoded", len(got), len(elems))
		}
		for i, e := range got {
			w := elems[i]
			if !bytes.Equal(e.key, w.Addr.AsSlice()) || e.timeout != w.Timeout || e.comment != w.Comment {
				t.Fatalf("element %d: %+v, want %+v", i, e, w)
			}
		}
	})
}

func FuzzScanAcks(f *testing.F) {
	ack := nlmsg(unix.NLMSG_ERROR, 0, append(errnoData(-2), make([]byte, nlmsgHeaderLen)...))
	f.Add(ack)
	f.Add(append(ack, ack...))
	f.Add(ack[:30])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		calls := 0
		_ = scanAcks(b, func(uint32, int32) bool {
			calls++
			if calls*nlmsgErrorLen > len(b) {
				t.Fatalf("%d answers in %d bytes", calls, len(b))
			}
			return true
		})
	})
}
