package audit

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Capture file magic numbers (first four bytes).
const (
	magicPcapngSHB   = 0x0a0d0d0a
	magicPcapMicro   = 0xa1b2c3d4
	magicPcapNano    = 0xa1b23c4d
	gzipMagic0       = 0x1f
	gzipMagic1       = 0x8b
	captureReadahead = 1 << 16
)

// errEmpty describes a file without a single byte.
var errEmpty = errors.New("empty file, not a pcap or pcapng capture")

// packetSource yields the records of one capture file. The data slice is
// only valid until the next call.
type packetSource interface {
	next() ([]byte, gopacket.CaptureInfo, layers.LinkType, error)
}

type pcapSource struct{ r *pcapgo.Reader }

func (s pcapSource) next() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	data, ci, err := s.r.ZeroCopyReadPacketData()
	return data, ci, s.r.LinkType(), err
}

type pcapngSource struct{ r *pcapgo.NgReader }

func (s pcapngSource) next() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	data, ci, err := s.r.ZeroCopyReadPacketData()
	if err != nil {
		return nil, ci, 0, err
	}
	lt, ok := ci.AncillaryData[0].(layers.LinkType)
	if !ok {
		return nil, ci, 0, errors.New("pcapng reader gave no link type")
	}
	return data, ci, lt, nil
}

// openCapture recognises a pcap or pcapng stream (optionally gzip
// compressed) by its magic number and returns a reader for its records.
func openCapture(r io.Reader) (packetSource, error) {
	br := bufio.NewReaderSize(r, captureReadahead)
	magic, err := br.Peek(4)
	if len(magic) == 0 && (err == io.EOF || err == nil) {
		return nil, errEmpty
	}
	if len(magic) >= 2 && magic[0] == gzipMagic0 && magic[1] == gzipMagic1 {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip-compressed file that cannot be decompressed: %w", err)
		}
		br = bufio.NewReaderSize(gz, captureReadahead)
		if magic, err = br.Peek(4); len(magic) == 0 && (err == io.EOF || err == nil) {
			return nil, fmt.Errorf("gzip-compressed %w", errEmpty)
		}
	}
	if len(magic) < 4 {
		return nil, fmt.Errorf("only %d bytes long, not a pcap or pcapng capture", len(magic))
	}
	be, le := binary.BigEndian.Uint32(magic), binary.LittleEndian.Uint32(magic)
	switch {
	case be == magicPcapngSHB:
		ng, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
		if err != nil {
			return nil, fmt.Errorf("damaged pcapng section header: %w", unexpectedEOF(err))
		}
		return pcapngSource{ng}, nil
	case be == magicPcapMicro || le == magicPcapMicro || be == magicPcapNano || le == magicPcapNano:
		pr, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("damaged pcap file header: %w", unexpectedEOF(err))
		}
		return pcapSource{pr}, nil
	}
	return nil, fmt.Errorf("not a pcap or pcapng capture (it starts with % x)", magic)
}

// unexpectedEOF turns the readers' bare EOF errors into a readable cause.
func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("file ends too early")
	}
	return err
}
