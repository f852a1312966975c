package nft

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Netlink attribute header: u16 length (including the header), u16 type, in
// host byte order; payloads are padded to 4 bytes.
const (
	nlaHeaderLen = 4
	nlaTypeMask  = 0x3fff // without NLA_F_NESTED and NLA_F_NET_BYTEORDER
)

var errShortAttr = errors.New("truncated netlink attribute")

// forEachAttr calls fn for each attribute in b; it stops at the first error
// and never reads past b.
func forEachAttr(b []byte, fn func(typ uint16, payload []byte) error) error {
	for len(b) > 0 {
		if len(b) < nlaHeaderLen {
			return errShortAttr
		}
		n := int(binary.NativeEndian.Uint16(b))
		typ := binary.NativeEndian.Uint16(b[2:]) & nlaTypeMask
		if n < nlaHeaderLen || n > len(b) {
			return fmt.Errorf("%w: length %d of %d bytes", errShortAttr, n, len(b))
		}
		if err := fn(typ, b[nlaHeaderLen:n]); err != nil {
			return err
		}
		next := (n + 3) &^ 3
		if next >= len(b) {
			return nil
		}
		b = b[next:]
	}
	return nil
}

func beUint32(b []byte) (uint32, error) {
	if len(b) != 4 {
		return 0, fmt.Errorf("want a 4-byte attribute, got %d bytes", len(b))
	}
	return binary.BigEndian.Uint32(b), nil
}

func beUint64(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("want an 8-byte attribute, got %d bytes", len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}
