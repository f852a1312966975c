package audit

import (
	"fmt"

	"github.com/gopacket/gopacket/layers"
)

// EtherTypes met on the way to the IP header.
const (
	etherIPv4   = 0x0800
	etherIPv6   = 0x86dd
	etherVLAN   = 0x8100
	etherQinQ   = 0x88a8
	etherQinQv1 = 0x9100
)

// Link-layer header lengths.
const (
	ethernetHeader = 14
	vlanTag        = 4
	sllHeader      = 16
	sll2Header     = 20
)

// linkTypeRawBSD is DLT_RAW as some BSDs write it (12); libpcap maps it to
// LINKTYPE_RAW (101) but not every writer does.
const linkTypeRawBSD layers.LinkType = 12

// maxVLANTags bounds the tag walk (QinQ stacks are two or three deep).
const maxVLANTags = 8

// unsupportedLinkError reports a link type this reader cannot decode.
type unsupportedLinkError struct{ lt layers.LinkType }

func (e unsupportedLinkError) Error() string {
	return fmt.Sprintf("link type %s (%d) is not supported; supported are Ethernet (1), Linux cooked v1 (113) and v2 (276), raw IP (101, 228, 229)",
		e.lt, uint16(e.lt))
}

// ipPayload returns the IP packet inside a link-layer frame, or nil when the
// frame carries something else (ARP, LLDP, a frame cut before the IP
// header). An unsupported link type is an error.
func ipPayload(lt layers.LinkType, b []byte) ([]byte, error) {
	var et uint16
	var off int
	switch lt {
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, linkTypeRawBSD:
		return b, nil
	case layers.LinkTypeEthernet:
		if len(b) < ethernetHeader {
			return nil, nil
		}
		et, off = be16(b[12:]), ethernetHeader
	case layers.LinkTypeLinuxSLL:
		if len(b) < sllHeader {
			return nil, nil
		}
		et, off = be16(b[14:]), sllHeader
	case layers.LinkTypeLinuxSLL2:
		if len(b) < sll2Header {
			return nil, nil
		}
		et, off = be16(b[0:]), sll2Header
	default:
		return nil, unsupportedLinkError{lt}
	}
	for range maxVLANTags {
		if et != etherVLAN && et != etherQinQ && et != etherQinQv1 {
			break
		}
		if len(b) < off+vlanTag {
			return nil, nil
		}
		et = be16(b[off+2:])
		off += vlanTag
	}
	if et != etherIPv4 && et != etherIPv6 {
		return nil, nil
	}
	return b[off:], nil
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }
