package fasttrack

import "encoding/binary"

// FastTrack UDP message types (first payload byte).
const (
	MsgNodePing      byte = 0x27 // client → node
	MsgSupernodePong byte = 0x28 // node → client, invites a TCP session
	MsgNodePong      byte = 0x29 // node → client, "alive" without an invitation
	MsgID            byte = 0x2A // client → node, 4-byte ID
)

// MinEncType is the "minimum encryption type" most clients put after the type
// byte (00 00 00 29); some send 00 00 00 A9.
const MinEncType uint32 = 0x29

// AppendPing appends a FastTrack node ping (0x27) for the given network name:
// 27 | 00 00 00 29 | 80 | name | 00. Its length is 7+len(network).
func AppendPing(dst []byte, network string) []byte {
	dst = append(dst, MsgNodePing)
	dst = binary.BigEndian.AppendUint32(dst, MinEncType)
	dst = append(dst, 0x80)
	dst = append(dst, network...)
	return append(dst, 0)
}

// AppendSupernodePong appends a supernode pong (0x28): 28 | enc(4) | 00 |
// time increment | 00 00 | load % | 00 | name | 00. Its length is 12+len(network).
func AppendSupernodePong(dst []byte, network string, load byte) []byte {
	return appendSupernodePong(dst, network, load)
}

func appendSupernodePong[N string | []byte](dst []byte, network N, load byte) []byte {
	dst = append(dst, MsgSupernodePong)
	dst = binary.BigEndian.AppendUint32(dst, MinEncType)
	dst = append(dst, 0x00, 0x01, 0x00, 0x00, load, 0x00)
	dst = append(dst, network...)
	return append(dst, 0)
}

// AppendNodePong appends a 13-byte node pong (0x29) without an address:
// 29 | enc(4) | 01 | flag 00 | 00 00 | id(4).
func AppendNodePong(dst []byte, id uint32) []byte {
	dst = append(dst, MsgNodePong)
	dst = binary.BigEndian.AppendUint32(dst, MinEncType)
	dst = append(dst, 0x01, 0x00, 0x00, 0x00)
	return binary.BigEndian.AppendUint32(dst, id)
}

// AppendID appends the 5-byte 0x2A message carrying a 4-byte ID.
func AppendID(dst []byte, id uint32) []byte {
	dst = append(dst, MsgID)
	return binary.BigEndian.AppendUint32(dst, id)
}
