package ftsim

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/ftwall/ftwall/inspect/fasttrack"
)

// MsgType is a FastTrack UDP message type (the first payload byte). It
// encodes to JSON as "0x28"; the zero value means "none".
type MsgType byte

// String returns the type as 0xNN, or "none" for 0.
func (t MsgType) String() string {
	if t == 0 {
		return "none"
	}
	return fmt.Sprintf("0x%02x", byte(t))
}

// MarshalText implements encoding.TextMarshaler.
func (t MsgType) MarshalText() ([]byte, error) {
	return []byte(t.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler; it accepts what
// ParseMsgType accepts.
func (t *MsgType) UnmarshalText(b []byte) error {
	v, err := ParseMsgType(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// ParseMsgType parses "0x28", "28", "40" style values (hex with 0x prefix or
// decimal) and "none" or "" for 0.
func ParseMsgType(s string) (MsgType, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" || s == "none" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 0, 8)
	if err != nil {
		return 0, fmt.Errorf("FastTrack message type %q: want 0xNN (for example 0x28), a decimal byte or none", s)
	}
	return MsgType(v), nil
}

// Message types the simulator sends and understands.
const (
	TypePing          = MsgType(fasttrack.MsgNodePing)
	TypeSupernodePong = MsgType(fasttrack.MsgSupernodePong)
	TypeNodePong      = MsgType(fasttrack.MsgNodePong)
)

// message is a parsed FastTrack UDP datagram.
type message struct {
	Type    MsgType
	Network string // pings and supernode pongs
	ID      uint32 // node pongs
}

// parseMessage recognises the FastTrack UDP messages of the behaviour spec
// §3: node ping 0x27 (7+len(name) bytes), supernode pong 0x28
// (12+len(name)), node pong 0x29 (13 or 21 bytes). ok is false for anything
// else.
func parseMessage(b []byte) (m message, ok bool) {
	if len(b) == 0 {
		return message{}, false
	}
	switch MsgType(b[0]) {
	case TypePing:
		// 27 | enc(4) | 80 | name | 00
		if len(b) < 7 || b[5] != 0x80 {
			return message{}, false
		}
		name, ok := cString(b[6:])
		if !ok {
			return message{}, false
		}
		return message{Type: TypePing, Network: name}, true
	case TypeSupernodePong:
		// 28 | enc(4) | 00 | inc | 00 00 | load | 00 | name | 00
		if len(b) < 12 {
			return message{}, false
		}
		name, ok := cString(b[11:])
		if !ok {
			return message{}, false
		}
		return message{Type: TypeSupernodePong, Network: name}, true
	case TypeNodePong:
		// 29 | enc(4) | 01 | flag | 00 00 | id(4) [| ip(4) port(2) ?(2)]
		if len(b) != 13 && len(b) != 21 {
			return message{}, false
		}
		return message{Type: TypeNodePong, ID: binary.BigEndian.Uint32(b[9:13])}, true
	}
	return message{}, false
}

// cString returns the NUL-terminated printable name that fills b exactly.
func cString(b []byte) (string, bool) {
	if len(b) == 0 || b[len(b)-1] != 0 {
		return "", false
	}
	name := b[:len(b)-1]
	for _, c := range name {
		if c < 0x20 || c > 0x7e {
			return "", false
		}
	}
	return string(name), true
}
